from qa.ingest.headings import SectionMap, find_headings


def test_markdown_headings_outside_code_make_a_path():
    text = "# Manual\n\nIntro.\n\n## Rules\n\nText.\n\n```\n# not a heading\n```\n\n### Variables\n\nMore.\n"
    sections = SectionMap(text)
    assert [(h.level, h.title) for h in sections.headings] == [(1, "Manual"), (2, "Rules"), (3, "Variables")]
    assert sections.path(text.index("More")) == ("Manual", "Rules", "Variables")
    assert sections.path(text.index("Intro")) == ("Manual",)


def test_setext_headings_and_siblings():
    text = (
        "TRIGGERS\n========\n\nIntroduction\n------------\n\nA trigger.\n\nConcepts\n--------\n\nEach one.\n"
    )
    sections = SectionMap(text)
    assert [(h.level, h.title) for h in sections.headings] == [
        (1, "TRIGGERS"),
        (2, "Introduction"),
        (2, "Concepts"),
    ]
    assert sections.path(text.index("Each")) == ("TRIGGERS", "Concepts")


def test_a_plain_text_title_line_is_its_only_heading():
    assert [h.title for h in find_headings("Bread baking basics\n\nMix flour and water.")] == [
        "Bread baking basics"
    ]
    assert find_headings("Mix flour and water. Then wait for the dough to rise.") == []


def test_text_without_lines_has_no_sections():
    assert SectionMap("human trafficking trade humans purpose forced labour " * 20).path(10) == ()


def test_a_setext_heading_inside_a_box_of_stars_is_a_heading():
    box = "*" * 30
    text = (
        "Terms\n=====\n\n5. Ending\n---------\n\nIt ends.\n\n"
        f"{box}\n*{' ' * 28}*\n*  6. No warranty{' ' * 11}*\n*  -------------{' ' * 13}*\n"
        f"*  As is.{' ' * 20}*\n{box}\n\n7. Courts\n---------\n\nAny court.\n"
    )
    sections = SectionMap(text)
    assert [(h.level, h.title) for h in sections.headings] == [
        (1, "Terms"),
        (2, "5. Ending"),
        (2, "6. No warranty"),
        (2, "7. Courts"),
    ]
    assert sections.path(text.index("As is")) == ("Terms", "6. No warranty")
    mismatched = f"Notes\n\n{box}\n*  a line{' ' * 20}*\n*  ---{' ' * 25}|\n"  # not one box
    assert [h.title for h in find_headings(mismatched)] == ["Notes"]


def test_starred_section_lines_are_headings_under_the_title_line():
    text = (
        "IJG JPEG LIBRARY:  SYSTEM ARCHITECTURE\n\nThis file gives an overview.\n\n\n"
        "*** System features ***\n\nTwo parts.\n\n\n*** Poor man's object-oriented programming ***\n\n"
        "An object is a struct.  We use *** nowhere else.\n"
    )
    sections = SectionMap(text)
    assert [(h.level, h.title) for h in sections.headings] == [
        (1, "IJG JPEG LIBRARY:  SYSTEM ARCHITECTURE"),
        (2, "System features"),
        (2, "Poor man's object-oriented programming"),
    ]
    assert sections.path(text.index("An object")) == (
        "IJG JPEG LIBRARY:  SYSTEM ARCHITECTURE",
        "Poor man's object-oriented programming",
    )
    assert sections.headings[1].start == text.index("*** System")


def test_a_short_numbered_line_between_blank_lines_is_a_heading():
    text = (
        "                    GNU GENERAL PUBLIC LICENSE\n\n  0. Definitions.\n\n"
        '  "This License" refers to version 3.\n\n  4. Conveying Verbatim Copies.\n\n'
        "  You may convey copies.\n\n"
        "1. Master control for module selection and initialization.  This has two\n"
        "responsibilities.\n\n2. Keep it short, and write it down.\n\n"
        "3. the list item in lower case\n"
    )
    sections = SectionMap(text)
    assert [(h.level, h.title) for h in sections.headings] == [
        (1, "GNU GENERAL PUBLIC LICENSE"),
        (2, "0. Definitions."),
        (2, "4. Conveying Verbatim Copies."),
    ]
    assert sections.path(text.index("You may")) == (
        "GNU GENERAL PUBLIC LICENSE",
        "4. Conveying Verbatim Copies.",
    )


def test_setext_headings_keep_a_first_line_that_is_no_heading_out():
    text = "Notes on triggers\n\nIntroduction\n------------\n\nA trigger.\n\n1. Details\n\nMore.\n"
    assert [h.title for h in find_headings(text)] == ["Introduction", "1. Details"]
