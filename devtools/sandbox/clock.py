"""Timestamps as the sandbox writes them."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(dt: datetime | None) -> str | None:
    """PagerDuty-style timestamp, e.g. ``2024-01-15T10:00:00Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def iso_precise(dt: datetime) -> str:
    """Timestamp with microseconds, for receipt times."""
    return dt.isoformat(timespec="microseconds").replace("+00:00", "Z")
