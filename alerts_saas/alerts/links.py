"""Links an alert carries (a runbook, a dashboard): the web addresses in its description and
its custom details whose value is one. The alert's page shows the description's as links;
its triggers send them all in PagerDuty's `links`, so the person paged reaches the runbook
from the incident.

Only http and https addresses become links; anything else (javascript:, data:, a bare
domain) stays text. The page escapes the description and wraps each address in a link of
its own making: nothing typed in a description is ever markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?'\"\u2019\u201d\u00bb"  # ends the sentence, not the address
MAX_LINKS = 5  # sent with a trigger, besides Tripwire's own
MAX_HREF = 2048  # longer is no runbook link; the page shows it as text
MAX_LABEL = 60


def _trimmed(found: str) -> str:
    """The address without the punctuation that ends its sentence; a closing parenthesis
    only when the address has no opening one (a wiki's "Page_(disambiguation)" keeps it)."""
    while found and (
        found[-1] in TRAILING or (found[-1] == ")" and found.count("(") < found.count(")"))
    ):
        found = found[:-1]
    return found


def _is_link(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[oops": a bracket that makes no IPv6 host is text, not a link
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and len(url) <= MAX_HREF


def _addresses(text: str) -> list[tuple[int, str]]:
    """Each address in `text` that makes a link, with where it starts."""
    found = ((m.start(), _trimmed(m.group(0))) for m in URL.finditer(text))
    return [(start, url) for start, url in found if _is_link(url)]


def linked(text: str) -> SafeString:
    """`text`, escaped, with each http(s) address a link opening in a new tab that tells the
    page it leads to nothing of ours (rel="noopener noreferrer")."""
    parts: list[str] = []
    last = 0
    for start, url in _addresses(text):
        parts.append(escape(text[last:start]))
        parts.append(
            format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, url)
        )
        last = start + len(url)
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 (each part escaped or built by format_html)


def _label(text: str, start: int, url: str) -> str:
    """What the description calls the address: the words just before it when they end with
    a colon ("Runbook: https://…"), else the address itself."""
    before = re.split(r"[.!?]\s|\n", text[:start])[-1].strip()
    if before.endswith(":") and 1 < len(before) <= MAX_LABEL:
        return before[:-1].strip()
    return url


def trigger_links(description: str, details: Mapping[str, object]) -> list[dict[str, str]]:
    """The links for a trigger (PagerDuty's `links`: href and text): the description's
    addresses, then each custom detail whose whole value is one (named by its key); each
    address once, at most `MAX_LINKS`."""
    found = [(url, _label(description, start, url)) for start, url in _addresses(description)]
    for key, value in details.items():
        if isinstance(value, str) and _is_link(value.strip()) and URL.fullmatch(value.strip()):
            found.append((value.strip(), str(key)))
    links: dict[str, str] = {}
    for url, text in found:
        links.setdefault(url, text)
    return [{"href": url, "text": text} for url, text in list(links.items())[:MAX_LINKS]]
