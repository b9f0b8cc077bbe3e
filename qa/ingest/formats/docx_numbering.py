"""Word's automatic numbering, rendered as a reader sees it: "4.", "1.2", "(b)", "iv.", "•".

python-docx gives a paragraph's text without its number, so a citation or a question naming
"section 4" found nothing. ``word/numbering.xml`` holds, per abstract list, each level's start,
format (decimal, lowerLetter, upperRoman, bullet, ...) and text pattern ("%1.%2."); a paragraph
names a list instance (``numId``) and a level (``ilvl``) directly or through its style. Counters
run per abstract list, as Word runs them (instances of one list continue each other), except an
instance that restarts its levels (``startOverride``), which counts on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["W", "Numbering", "format_number", "w"]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_LEVELS = 9
_BULLETS = {
    "o": "\u25e6",
    "\u00a7": "\u25aa",
    "-": "\u2013",
    "\uf0b7": "\u2022",
    "\uf0a7": "\u25aa",
    "\uf0d8": "\u27a2",
    "\uf076": "\u2756",
    "\uf0fc": "\u2713",
}
_ONES = "zero one two three four five six seven eight nine ten".split()


def w(name: str) -> str:
    """The Clark name of a WordprocessingML element or attribute: ``w("p")`` -> ``{...main}p``."""
    return f"{{{W}}}{name}"


def _val(element, child: str, default: str = "") -> str:
    found = element.find(w(child)) if element is not None else None
    return found.get(w("val"), default) if found is not None else default


def _roman(number: int) -> str:
    out = []
    for value, digits in (
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ):
        count, number = divmod(number, value)
        out.append(digits * count)
    return "".join(out)


def format_number(number: int, kind: str) -> str:
    """``number`` in Word's number format ``kind``; formats not listed read as decimal."""
    if kind in ("lowerLetter", "upperLetter") and number > 0:
        letter = chr(ord("a") + (number - 1) % 26) * ((number - 1) // 26 + 1)  # 27 -> "aa", as Word
        return letter.upper() if kind == "upperLetter" else letter
    if kind in ("lowerRoman", "upperRoman") and number > 0:
        return _roman(number).upper() if kind == "upperRoman" else _roman(number)
    if kind == "decimalZero":
        return f"{number:02d}"
    if kind == "ordinal":
        suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
        return f"{number}{suffix}"
    if kind == "cardinalText" and 0 <= number <= 10:
        return _ONES[number].capitalize()
    if kind == "none":
        return ""
    return str(number)


def _bullet(pattern: str) -> str:
    """A bullet as a reader sees it: symbol-font code points (Symbol, Wingdings) as the Unicode
    signs they draw, "o" in Courier New as a hollow bullet."""
    pattern = pattern.strip()
    if pattern in _BULLETS:
        return _BULLETS[pattern]
    return "".join(c if c.isprintable() else "\u2022" for c in pattern) or "\u2022"


@dataclass(frozen=True)
class _Level:
    start: int = 1
    kind: str = "decimal"
    pattern: str = "%1."
    suffix: str = " "
    legal: bool = False
    restart: int = -1
    """Restart after this level (0-based) is used; -1: after any higher level; -2: never."""
    style: str = ""
    """The paragraph style this level numbers (a heading style linked to a numbered list)."""


def _level(lvl) -> _Level:
    restart = _val(lvl, "lvlRestart")
    suffix = _val(lvl, "suff", "tab")
    return _Level(
        start=int(_val(lvl, "start", "1") or 1),
        kind=_val(lvl, "numFmt", "decimal"),
        pattern=_val(lvl, "lvlText", ""),
        suffix="" if suffix == "nothing" else " ",
        legal=lvl.find(w("isLgl")) is not None and _val(lvl, "isLgl", "1") not in ("0", "false"),
        restart=-1 if not restart else (int(restart) - 1 if int(restart) > 0 else -2),
        style=_val(lvl, "pStyle"),
    )


@dataclass
class _Counters:
    values: list[int] = field(default_factory=lambda: [0] * _LEVELS)
    used: list[bool] = field(default_factory=lambda: [False] * _LEVELS)


class Numbering:
    """The numbers of one document's numbered paragraphs, counted in the order they are asked for."""

    def __init__(self, root=None, list_styles: dict[str, str] | None = None) -> None:
        self._abstract: dict[str, dict[int, _Level]] = {}
        self._links: dict[str, str] = {}
        self._nums: dict[str, tuple[str, dict[int, _Level], dict[int, int]]] = {}
        self._counters: dict[str, _Counters] = {}
        if root is None:
            return
        for abstract in root.iterfind(w("abstractNum")):
            key = abstract.get(w("abstractNumId"), "")
            self._abstract[key] = {
                int(lvl.get(w("ilvl"), "0")): _level(lvl) for lvl in abstract.iterfind(w("lvl"))
            }
            link = _val(abstract, "numStyleLink")
            if link and list_styles and link in list_styles:
                self._links[key] = list_styles[link]  # the levels are those of the style's list
        for num in root.iterfind(w("num")):
            levels, starts = {}, {}
            for override in num.iterfind(w("lvlOverride")):
                ilvl = int(override.get(w("ilvl"), "0"))
                if override.find(w("lvl")) is not None:
                    levels[ilvl] = _level(override.find(w("lvl")))
                if override.find(w("startOverride")) is not None:
                    starts[ilvl] = int(_val(override, "startOverride", "1") or 1)
            self._nums[num.get(w("numId"), "")] = (_val(num, "abstractNumId"), levels, starts)

    def _levels(self, abstract: str, seen: int = 0) -> dict[int, _Level]:
        if abstract in self._links and seen < 5:
            linked = self._nums.get(self._links[abstract])
            if linked is not None:
                return self._levels(linked[0], seen + 1)
        return self._abstract.get(abstract, {})

    def label(self, num_id: str, ilvl: int | None, style: str = "") -> str:
        """The number (or bullet) of the next paragraph of list ``num_id`` at level ``ilvl`` (when
        None, the level that numbers ``style``, else 0), with the space that follows it; "" when
        the list is unknown or numbers nothing."""
        if num_id not in self._nums or num_id == "0":
            return ""
        abstract, overrides, starts = self._nums[num_id]
        levels = self._levels(abstract) | overrides
        if ilvl is None:
            ilvl = next((i for i, lv in sorted(levels.items()) if style and lv.style == style), 0)
        ilvl = min(max(ilvl, 0), _LEVELS - 1)
        level = levels.get(ilvl)
        if level is None:
            return ""
        key = "num:" + num_id if starts else "abstract:" + abstract
        counters = self._counters.get(key)
        if counters is None:
            counters = self._counters[key] = _Counters()
            for i, start in starts.items():
                if 0 <= i < _LEVELS:
                    counters.values[i], counters.used[i] = start - 1, True
        self._count(counters, levels, ilvl, level)
        if level.kind == "bullet":
            text = _bullet(level.pattern)
        else:
            text = self._render(levels, counters, level)
        return text + level.suffix if text.strip() else ""

    @staticmethod
    def _count(counters: _Counters, levels: dict[int, _Level], ilvl: int, level: _Level) -> None:
        if counters.used[ilvl]:
            counters.values[ilvl] += 1
        else:
            counters.values[ilvl], counters.used[ilvl] = level.start, True
        for deeper in range(ilvl + 1, _LEVELS):
            restart = levels.get(deeper, _Level()).restart
            if restart == -1 or (restart >= 0 and restart >= ilvl):
                counters.used[deeper] = False

    @staticmethod
    def _render(levels: dict[int, _Level], counters: _Counters, level: _Level) -> str:
        out, i, pattern = [], 0, level.pattern
        while i < len(pattern):
            char = pattern[i]
            if char == "%" and i + 1 < len(pattern) and pattern[i + 1].isdigit():
                shown = int(pattern[i + 1]) - 1
                other = levels.get(shown, _Level())
                value = counters.values[shown] if counters.used[shown] else other.start
                out.append(format_number(value, "decimal" if level.legal else other.kind))
                i += 2
            else:
                out.append(char)
                i += 1
        return "".join(out)
