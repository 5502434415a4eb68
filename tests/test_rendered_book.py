"""The rendered book in a real browser: build it (short mode), serve it on localhost, and open every
page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Each page must load with no JavaScript error and no failed request in the console, show every image,
let every animation player step to another frame, and link only to pages and anchors that exist.
Screenshots of every page are saved in artifacts/screenshots/.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BUILD = ROOT / "_build" / "browser"
SHOTS = ROOT / "artifacts" / "screenshots"
REPOSITORY = "https://github.com/example-org/diffusion-book"  # launch buttons need one; any GitHub URL will do
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="needs Chromium at /usr/bin/chromium (Debian: apt-get install chromium); .ci/run installs it")


def toc_pages():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]


@pytest.fixture(scope="module")
def site():
    """Build the book in short mode into _build/browser and serve it on a free localhost port."""
    shutil.rmtree(BUILD, ignore_errors=True)  # fresh: a cached execution may predate a checkpoint or setting
    jb = Path(sys.executable).parent / "jupyter-book"
    env = {**os.environ, "DIFFUSION_BOOK_SHORT": "1", "DIFFUSION_BOOK_REPOSITORY_URL": REPOSITORY}
    env.pop("MPLBACKEND", None)  # the kernel must use its inline backend, or figures never reach the page
    proc = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(BUILD), "--all", "-W", "-n", "--keep-going"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    html = BUILD / "_build" / "html"
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", html
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.parametrize("page_name", toc_pages())
def test_page_in_browser(site, browser, page_name):
    base, html_dir = site
    url = urljoin(base, page_name + ".html")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text}"))
    page.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"))
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1000)  # let MathJax and the players run

    # every image is present and non-empty
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.currentSrc || e.src, e.naturalWidth, e.naturalHeight])")
    empty = [src[:80] for src, w, h in images if not (w > 0 and h > 0)]
    assert not empty, f"{page_name}: images not loaded: {empty}"
    if (ROOT / (page_name + ".py")).exists():  # a chapter shows figures, not only animation players
        figures = page.locator("img:not([id^='_anim_img'])").count()
        assert figures > 0, f"{page_name}: no figures on the page"

    # every animation player steps to another frame when driven
    players = page.eval_on_selector_all("img[id^='_anim_img']", "els => els.map(e => e.id)")
    for img_id in players:
        before = page.get_attribute(f"#{img_id}", "src")
        page.locator(f"#{img_id}").locator("xpath=ancestor::div[contains(@class, 'animation')]") \
            .locator("button[title='Next frame']").click()
        page.wait_for_timeout(100)
        after = page.get_attribute(f"#{img_id}", "src")
        assert after and after != before, f"{page_name}: animation {img_id} did not move to another frame"

    # equations were typeset by the book's own MathJax (no CDN)
    if page.locator("div.math").count():
        assert page.locator("mjx-container").count() > 0, f"{page_name}: MathJax did not typeset the equations"

    # a chapter offers its notebook for download (the link is checked with the others below)
    if (ROOT / (page_name + ".py")).exists():
        assert page.locator("a[href$='.ipynb']").count() > 0, f"{page_name}: no notebook download link"

    # a chapter has launch buttons that open its notebook (made by binder/postBuild) in JupyterLab on Binder
    if (ROOT / (page_name + ".py")).exists():
        binder = page.eval_on_selector_all("a[href^='https://mybinder.org']", "els => els.map(e => e.href)")
        assert binder == [f"https://mybinder.org/v2/gh/example-org/diffusion-book/main?urlpath=lab/tree/{page_name}.ipynb"], \
            f"{page_name}: Binder launch links {binder}"
        assert page.locator(f"a[href='{REPOSITORY}']").count() > 0, f"{page_name}: no repository button"

    # internal links resolve to existing pages and anchors
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
    for href in sorted(set(hrefs)):
        target, fragment = urldefrag(href)
        if urlparse(target).netloc != urlparse(base).netloc:
            continue
        path = html_dir / urlparse(target).path.lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        assert path.exists(), f"{page_name}: broken link {href}"
        if fragment and path.suffix == ".html":
            text = path.read_text(errors="replace")
            assert re.search(rf'id="{re.escape(fragment)}"', text), f"{page_name}: missing anchor {href}"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (page_name.replace("/", "_") + ".png")), full_page=True)
    page.close()
    assert not problems, f"{page_name}:\n" + "\n".join(problems)


def test_pages_stay_light(site):
    """Animations are embedded frames: keep each page to a few hundred KB."""
    _, html_dir = site
    for page_name in toc_pages():
        size = (html_dir / (page_name + ".html")).stat().st_size
        assert size < 900_000, f"{page_name}.html is {size / 1e3:.0f} KB"
