"""Ids from requests (posted by our own pages, or in a URL's query), read without trusting
them: only plain ASCII digits a bigint holds are an id (`str.isdigit` also takes "²", which
`int` refuses, and any number of digits)."""

MAX_ID = 2**63 - 1


def as_id(text: str) -> int | None:
    """`text` as a row id, or None when it can't be one (not plain ASCII digits, or beyond
    what a bigint holds): callers treat that as "no such row", never as an error."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
