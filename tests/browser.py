"""Shared steps of the browser journeys (Playwright, headless Chromium)."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.conftest import PASSWORD
from tests.pagerduty_fixtures import US_USER

SANDBOX_PASSWORD = "correct-horse-sandbox"  # shown on the sandbox's sign-in page
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def phone(browser: Browser, scheme: str) -> BrowserContext:
    """A 390 px phone whose system colour scheme is light or dark (the pages follow it)."""
    return browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]


def overflow(page: Page) -> int:
    """How far the widest element of the page's content sticks out to the right."""
    return int(
        page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('main *')].map(
                e => e.getBoundingClientRect().right - document.documentElement.clientWidth))"""
        )
    )


_CONTRAST = """() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/) || c.match(/color\\(srgb ([^)]+)\\)/);
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    const scale = c.startsWith('color(') ? 255 : 1;
    return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((v, i) => v * top[3] + below[i] * (1 - top[3]));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) { layers.push(c); if (c[3] === 1) break; }
    }
    let rgb = [255, 255, 255];
    for (const layer of layers.reverse()) rgb = over(layer, rgb);
    return rgb;
  };
  const lum = (rgb) => {
    const [r, g, b] = rgb.map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const found = [];
  const check = (el, prop, need) => {
    const bg = background(el.parentElement || el);
    const ink = over(parse(getComputedStyle(el)[prop]), background(el));
    const r = ratio(ink, prop === 'color' ? background(el) : bg);
    const what = `${el.className || el.tagName} "${el.textContent.trim().slice(0, 30)}"`;
    if (r < need) found.push(`${what} ${prop} ${r.toFixed(2)}:1`);
  };
  const texts = '.badge, .flash, .text-bad, .muted, .state-banner h2, header a, main a, main p';
  document.querySelectorAll(texts).forEach((el) => {
    if (el.offsetParent && el.textContent.trim()) check(el, 'color', 4.5);
  });
  document.querySelectorAll('.flash, .state-banner').forEach((el) => {
    check(el, 'borderLeftColor', 3);
  });
  return found;
}"""


def low_contrast(page: Page) -> list[str]:
    """The visible text (the app's states, badges, flashes, links, muted words) under 4.5:1
    against what is behind it, and state borders under 3:1, in the page's theme."""
    return list(page.evaluate(_CONTRAST))


def sign_in(page: Page, base: str, email: str) -> None:
    """Through our own login page."""
    page.set_default_timeout(10_000)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main").get_by_role("button", name=re.compile("^sign in$", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def authorize_on_sandbox(page: Page, sandbox_url: str) -> None:
    """Press "Connect PagerDuty" and sign in on the sandbox; leaves the consent page open."""
    page.get_by_role("button", name="Connect PagerDuty").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(sandbox_url)}/identity/oauth/authorize"))
    expect(page.get_by_role("heading", name="Sign in to PagerDuty")).to_be_visible()
    # The sandbox shows its users and their password on the sign-in page.
    expect(page.locator(".hint")).to_contain_text(US_USER)
    expect(page.locator(".hint")).to_contain_text(SANDBOX_PASSWORD)
    page.fill("input[name=email]", US_USER)
    page.fill("input[name=password]", SANDBOX_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    expect(page.locator(".card")).to_contain_text(f"Signed in as {US_USER}")
