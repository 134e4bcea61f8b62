"""Names people type that the product writes elsewhere (an organization's, in every email
subject and page title): one line of text, refused in words otherwise."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError

from alerts_saas.words import listed

_NAMED = {"\n": "a line break", "\r": "a line break", "\t": "a tab"}


def _shown(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if char in "\u2028\u2029\x85\x0b\x0c":
        return "a line break"
    return f"a control character (U+{ord(char):04X})"


def one_line_name(value: str) -> None:
    """Refuses control characters (line breaks, tabs, C0 and C1 controls) and Unicode's line
    and paragraph separators: a line break in an email's subject is refused by the mail
    library, and none belongs in a name."""
    found = [c for c in value if unicodedata.category(c) in ("Cc", "Zl", "Zp")]
    if found:
        shown = listed(list(dict.fromkeys(_shown(c) for c in found)))
        raise ValidationError(
            f"Keep the name to one line of plain text; this has {shown}.", code="control"
        )
