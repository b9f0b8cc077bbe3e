"""Writing evaluation files: atomic replacement, and CSV cells a spreadsheet will not execute.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return as a formula. Questions, comments and document text can start that way, so every text
cell written to a CSV gets a leading ``'`` in that case (the usual neutralisation); reading a
CSV back with :func:`from_spreadsheet` removes it again, so an exported file is still a valid
question file. Every CSV opens with a byte-order mark (:data:`BOM`): Excel reads a UTF-8 file
without one in the machine's legacy code page, so "café" showed as "cafÃ©"; the project's own
readers (``qa eval``'s questions) read ``utf-8-sig``, which drops it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from qa.atomic import atomic_write as replace_file
from qa.errors import QuestionFileError

__all__ = ["BOM", "FORMULA_STARTS", "atomic_write", "csv_text", "from_spreadsheet", "spreadsheet_safe"]

BOM = "\ufeff"
"""The byte-order mark a CSV opens with, so that a spreadsheet reads it as UTF-8."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""


def spreadsheet_safe(value: object) -> object:
    """``value`` for a CSV cell: text that a spreadsheet would run as a formula gets a leading '.

    Numbers pass unchanged (a negative number is not a formula); booleans, lists and dicts
    become JSON text first, None an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def from_spreadsheet(text: str) -> str:
    """The inverse of :func:`spreadsheet_safe` for a text cell read back from a CSV."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (the :data:`BOM`, then the header) with every cell passed through
    :func:`spreadsheet_safe`."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(h) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def atomic_write(path: Path, text: str, *, what: str = "") -> None:
    """Replace ``path`` with ``text`` as :func:`qa.atomic.atomic_write` does, so a reader never
    sees half; an OS error becomes a :class:`QuestionFileError`.

    ``what`` names the file in the error message ("the report "). The file follows the umask
    like any file a user writes (0644 by default): runs, reports and exports hold no secrets.
    """
    try:
        replace_file(Path(path), text, make_folder=False, mode=0o666)  # a mistyped folder is an error
    except OSError as exc:
        raise QuestionFileError(f"cannot write {what}{path}: {exc.strerror}") from None
