"""Email subjects on one line, for every email the product sends.

A subject is a header: Django refuses one with a line break (BadHeaderError, a 500 or a
failed send), and a name typed by a person (an organization's, an alert's, an inviter's)
can hold one, or did before forms refused it.
"""

from __future__ import annotations

import re

# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators.
_BREAKS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(subject: str) -> str:
    """`subject` on one line: each run of spaces, line breaks and other control characters
    becomes one space; none at either end."""
    return " ".join(_BREAKS.sub(" ", subject).split())
