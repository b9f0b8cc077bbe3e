"""Make the held-out Word document and slide deck from Debian's texts (see README.md).

    python benchmarks/heldout/convert.py    # needs pandoc (Debian: apt-get install pandoc)

- ``apache-2.0.docx``: /usr/share/common-licenses/Apache-2.0 (base-files) as a Word document. The
  plain text becomes Markdown first, word for word: the title lines, one heading per numbered
  section ("2. Grant of Copyright License." split from the sentence that follows it on the same
  line), paragraphs unwrapped, the appendix's notice kept as a preformatted block.
- ``systemd-coding-style.pptx``: systemd's CODING_STYLE.md (its front matter dropped) as slides:
  the ``#`` title slide, then one slide per ``##`` section with its bullets.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
APACHE = Path("/usr/share/common-licenses/Apache-2.0")
CODING_STYLE = Path("/usr/share/doc/systemd/CODING_STYLE.md.gz")


def apache_markdown(text: str) -> str:
    """The licence's text as Markdown with its sections as headings; every word kept."""
    lines = text.splitlines()
    head, body = lines[:5], lines[5:]
    title, version, url = (line.strip() for line in head[1:4])
    out = [f"# {title}", "", version, "", f"<{url}>", ""]
    blocks = [b for b in "\n".join(body).split("\n\n") if b.strip()]
    appendix = next(i for i, b in enumerate(blocks) if b.strip().startswith("APPENDIX:"))
    for block in blocks[: appendix + 2]:
        para = " ".join(block.split())
        numbered = re.match(r"(\d+\. [A-Z][^.]*\.)(?: (.*))?$", para)
        if para.isupper() or para.startswith("APPENDIX:"):
            out += [f"## {para}", ""]
        elif numbered:
            out += [f"### {numbered.group(1)}", ""]
            out += [numbered.group(2), ""] if numbered.group(2) else []
        else:  # "(a) ..." stays a paragraph, not a list
            out += [re.sub(r"^\(", r"\\(", para), ""]
    notice = "\n\n".join(blocks[appendix + 2 :])  # the notice to copy, line for line
    out += ["```", "\n".join(line[3:] for line in notice.splitlines()), "```", ""]
    return "\n".join(out)


def coding_style_markdown(text: str) -> str:
    """CODING_STYLE.md without its Jekyll front matter."""
    return re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S).lstrip()


def pandoc(markdown: str, out: Path, *extra: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".md", encoding="utf-8") as f:
        f.write(markdown)
        f.flush()
        subprocess.run(["pandoc", "-f", "markdown", f.name, "-o", str(out), *extra], check=True)


def main() -> None:
    pandoc(apache_markdown(APACHE.read_text(encoding="utf-8")), HERE / "docs" / "apache-2.0.docx")
    style = gzip.decompress(CODING_STYLE.read_bytes()).decode("utf-8")
    pandoc(coding_style_markdown(style), HERE / "docs" / "systemd-coding-style.pptx", "--slide-level=2")


if __name__ == "__main__":
    main()
