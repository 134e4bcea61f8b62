"""Timestamps read back from a JSON object built in SQL: aware whichever database wrote
them (PostgreSQL with its offset, SQLite as naive UTC text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alerts_saas.json_values import moment


def test_postgresqls_text_keeps_its_offset() -> None:
    at = moment("2026-12-01T09:08:55.123456+01:00")
    assert at == datetime(2026, 12, 1, 8, 8, 55, 123456, tzinfo=UTC)
    assert at.utcoffset() == timedelta(hours=1)


def test_sqlites_naive_text_is_utc() -> None:
    at = moment("2026-12-01 09:08:55.123456")
    assert at == datetime(2026, 12, 1, 9, 8, 55, 123456, tzinfo=UTC)
    assert at > datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=0)))


def test_nothing_is_none() -> None:
    assert moment(None) is None and moment("") is None
