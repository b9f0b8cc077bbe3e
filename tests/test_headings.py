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
