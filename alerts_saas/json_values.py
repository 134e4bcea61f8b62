"""Values read back from a JSON object built in SQL (`JSONObject`, one subquery for several
columns of a row): PostgreSQL writes a timestamp as ISO 8601 with its offset, SQLite (the
embedded default) as the naive UTC text Django keeps."""

from __future__ import annotations

from datetime import UTC, datetime


def moment(text: str | None) -> datetime | None:
    """A timestamp from a JSON object, aware (UTC when the database wrote it naive)."""
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
