"""Every browser journey listens for Content-Security-Policy violations (conftest.py turns
this on for every context a test opens): an inline script or style, or anything loaded from
elsewhere, that the policy refused fails the test that showed it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext

# Runs in every page and frame before the page's own scripts.
_LISTEN = """document.addEventListener("securitypolicyviolation", (e) => {
  window.__tripwireCspViolation(
    `${location.pathname}: ${e.effectiveDirective} refused ${e.blockedURI || "inline"}` +
    (e.sourceFile ? ` (${e.sourceFile}:${e.lineNumber})` : "") +
    (e.sample ? ` "${e.sample}"` : "")
  );
});"""


def watch_csp(context: BrowserContext, found: list[str]) -> None:
    """Append to `found` each violation reported in any page of `context`."""

    def report(_source: Any, text: str) -> None:
        found.append(text)

    context.expose_binding("__tripwireCspViolation", report)
    context.add_init_script(_LISTEN)


def watching(new_context: Callable[..., BrowserContext], found: list[str]) -> Callable[..., Any]:
    """`Browser.new_context` that watches each context it opens."""

    def opened(self: Any, *args: Any, **kwargs: Any) -> BrowserContext:
        context = new_context(self, *args, **kwargs)
        watch_csp(context, found)
        return context

    return opened
