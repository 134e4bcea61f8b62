"""Per-session CSRF tokens for the sandbox's HTML forms."""

from __future__ import annotations

import secrets

from flask import abort, request, session

_SESSION_KEY = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token, created on first use (exposed to templates)."""
    token = session.get(_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[_SESSION_KEY] = token
    return str(token)


def check_csrf() -> None:
    """Abort with 400 unless the submitted form carries the session's token."""
    expected = session.get(_SESSION_KEY)
    submitted = request.form.get(_SESSION_KEY, "")
    if not expected or not secrets.compare_digest(str(expected), submitted):
        abort(400, description="CSRF token missing or invalid. Reload the page and try again.")
