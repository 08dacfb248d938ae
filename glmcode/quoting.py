"""Untrusted names (file names, definitions read from files) made safe to put on one line.

A file name may hold a newline, a terminal escape or a bidi control: listed as it is, a tracked
file named `evil\\nREADME.md 99B: def pwned` would read as a second, fake entry of the project
map. `quote_name` quotes such a name the way git does (`core.quotePath`): in double quotes with
C-style escapes, `"evil\\nREADME.md 99B: def pwned"`; a plain name is left as it is. `escape`
only replaces the characters, for text that is not a name (a definition's label).
"""

from __future__ import annotations

import re

_SPECIAL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
"""C0 and C1 controls, DEL, bidirectional controls, Unicode line and paragraph separators, BOM."""
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}


def _one(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def escape(text: str) -> str:
    """`text` with every control, bidi control and line separator written as an escape (`\\n`,
    `\\x1b`, `\\u202e`): one line, nothing a terminal or a reader takes as layout."""
    return _SPECIAL.sub(_one, text)


def quote_name(name: str) -> str:
    """`name` as it is, or, when it holds a character `escape` replaces, a backslash or a double
    quote, in double quotes with those escaped (`"a\\nb"`, `"say \\"hi\\".txt"`), as git quotes paths."""
    if not _SPECIAL.search(name) and '"' not in name and "\\" not in name:
        return name
    return '"' + escape(name.replace("\\", "\\\\").replace('"', '\\"')) + '"'
