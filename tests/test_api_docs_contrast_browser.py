"""The API docs page's title and section headings ("Ingest", "Alerts", ...) are readable in
dark mode as in light, both as drawn on the screen (Swagger UI's colours are inverted by a
CSS filter in dark mode) and as a checker reads the page's colours (axe-core, which does not
see the filter: it read dark words on the dark page, 1.76:1). At least WCAG AA's 4.5:1."""

from __future__ import annotations

import base64

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from tests.browser import LAPTOP, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAGS = ("Ingest", "Alerts", "Activity")
CONTRAST = {
    "runOnly": {"type": "rule", "values": ["color-contrast"]},
    "resultTypes": ["violations"],
}
# The contrast between a picture's commonest colour (what is behind the words) and the colour
# furthest from it in luminance (the words' strokes), by WCAG's formula.
_CONTRAST = """async (data) => {
  const img = new Image();
  img.src = "data:image/png;base64," + data;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  const lum = (i) => {
    const c = [px[i], px[i + 1], px[i + 2]].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const counts = new Map();
  for (let i = 0; i < px.length; i += 4) {
    const key = px[i] + "," + px[i + 1] + "," + px[i + 2];
    const seen = counts.get(key) || { n: 0, i };
    seen.n += 1;
    counts.set(key, seen);
  }
  const back = lum([...counts.values()].sort((a, b) => b.n - a.n)[0].i);
  let far = back;
  for (let i = 0; i < px.length; i += 4) {
    const l = lum(i);
    if (Math.abs(l - back) > Math.abs(far - back)) far = l;
  }
  return (Math.max(back, far) + 0.05) / (Math.min(back, far) + 0.05);
}"""


def _on_screen(blank: Page, png: bytes) -> float:
    return float(blank.evaluate(_CONTRAST, base64.b64encode(png).decode()))


def _checker_finds(page: Page) -> list[str]:
    """What axe-core finds of too little contrast in the title and the section headings."""
    page.evaluate(Axe().axe_script)
    found = page.evaluate(
        # The title's version badges (Swagger UI's own green) are not a heading's words.
        "(o) => axe.run({include: [['.swagger-ui h1'], ['.swagger-ui .opblock-tag']],"
        " exclude: [['.swagger-ui h1 .version-stamp'], ['.swagger-ui h1 .version']]}, o)",
        CONTRAST,
    )
    return [
        f"{' '.join(node['target'])}: {node['any'][0]['message'][:120]}"
        for violation in found["violations"]
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize(
    ("scheme", "viewport"),
    [("dark", PHONE), ("dark", LAPTOP), ("light", LAPTOP)],
    ids=["phone-dark", "laptop-dark", "laptop-light"],
)
def test_the_docs_headings_are_readable(
    browser: Browser, live_server, screenshot, scheme: str, viewport: dict
) -> None:
    context = browser.new_context(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{live_server.url}/api/v1/docs")
    blank = context.new_page()  # no Content-Security-Policy: it reads a picture's pixels
    for tag in TAGS:
        heading = page.locator(f"#operations-tag-{tag} a").first
        heading.wait_for()
        assert _on_screen(blank, heading.screenshot()) >= 4.5, tag
    assert _on_screen(blank, page.locator("h1").first.screenshot()) >= 4.5
    assert _checker_finds(page) == []
    screenshot(page, f"api-docs-{scheme}")
    context.close()
