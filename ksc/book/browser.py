"""Every page of a built website, opened in headless Chromium the way a reader opens it.

A local HTTP server on 127.0.0.1 serves ``_build/html``; Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium) loads each page and we collect what a reader would see
broken: a papermill error cell, an image that did not load, a link to a page or anchor of the site
that does not exist, and JavaScript console errors. A full-page screenshot of every page is saved.
"""

from __future__ import annotations

import functools
import re
import tempfile
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the background-networking flags Chromium calls home at start-up, which a closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
WIDTH, HEIGHT, MAX_SCREENSHOT_HEIGHT = 1280, 900, 12000

_PAGE_STATE = r"""
const MACHINE_PATH = /(\/tmp\/|\/home\/|\/root\/|\/work\/|site-packages\/)[^\s'"]*/g;
return {
  brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  errorOutputs: document.querySelectorAll('.cell_output .traceback, .cell_output .output.error').length,
  // what a cell printed to stderr (warnings), and paths of the machine that built the page
  stderrOutputs: [...document.querySelectorAll('.cell_output .output.stderr')]
    .map(el => el.innerText.trim().split('\n')[0].slice(0, 100)),
  machinePaths: [...new Set((document.body?.innerText ?? '').match(MACHINE_PATH) ?? [])].slice(0, 3),
  papermillError: (document.body?.innerText ?? '').includes('An Exception was encountered at'),
  pageWidth: document.documentElement.scrollWidth,
  viewport: window.innerWidth,
  tooWide: (() => {
    // what reaches past the text column without a scroll box of its own inside the column
    const article = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
    const right = article.getBoundingClientRect().right + 1;
    // a box the reader can scroll; overflow hidden would cut the content off instead
    const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
    const boxed = el => {
      for (let a = el.parentElement; a && a !== article; a = a.parentElement) {
        if (scrolls(a) && a.getBoundingClientRect().right <= right) return true;
      }
      return false;
    };
    const label = el => el.tagName.toLowerCase() + ' "' + (el.innerText || el.getAttribute('src') || '')
      .trim().split('\n')[0].slice(0, 40) + '"';
    const wide = [...article.querySelectorAll('table, img, pre, .cell_output, svg')]
      .filter(el => el.getBoundingClientRect().right > right && !boxed(el)).map(label);
    // code as the reader sees it: a line of a code cell that does not fit its column
    const code = [...article.querySelectorAll('.cell_input pre, div.highlight pre')]
      .filter(el => el.scrollWidth > el.clientWidth + 1)
      .map(el => 'code line wider than the column: "' + ([...el.innerText.split('\n')]
        .sort((a, b) => b.length - a.length)[0] || '').trim().slice(0, 50) + '"');
    return [...new Set([...wide.map(w => 'wider than the text column: ' + w), ...code])];
  })(),
};
"""


class SiteMissing(RuntimeError):
    """The folder given is not a built website, or lacks pages the book's table of contents names."""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder: Path):
    """A local HTTP server for ``folder``; yields its base URL (``http://127.0.0.1:<port>/``)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium():
    """Headless Chromium with a fresh profile, its console log recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="ksc-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        driver.set_page_load_timeout(120)
        try:
            yield driver
        finally:
            driver.quit()


def pages(html: Path) -> list[str]:
    """Every HTML page of the site, relative to its root (the theme's own files excluded)."""
    return sorted(
        p.relative_to(html).as_posix() for p in html.rglob("*.html") if not p.relative_to(html).parts[0].startswith("_")
    )


@functools.cache
def _anchors(path: Path) -> frozenset:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(errors="replace")))


def broken_link(href: str, base: str, html: Path) -> str | None:
    """Why an internal link does not resolve (missing file or anchor), or None; outside links are not followed."""
    if not href.startswith(base):
        return None
    parts = urlsplit(href)
    target = html / unquote(parts.path).lstrip("/")
    if parts.path.endswith("/"):
        target = target / "index.html"
    if not target.is_file():
        return f"broken link {href[len(base) :]}: no such file"
    if parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in _anchors(target):
        return f"broken link {href[len(base) :]}: no such anchor"
    return None


def _screenshot(driver, path: Path):
    """The whole page: the window is made as tall as the page (up to a limit), shot, and set back."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(height, MAX_SCREENSHOT_HEIGHT))
    driver.save_screenshot(str(path))
    driver.set_window_size(WIDTH, HEIGHT)


def _automatic_favicon_request(message: str, base: str) -> bool:
    """Chromium asks for /favicon.ico on its own, e.g. on the site's redirect page (index.html), whose 404 only
    the console sees; sometimes the redirect leaves before the request, so the error comes and goes."""
    return message.startswith(f"{base}favicon.ico ") and "404" in message


def check_page(driver, base: str, page: str, html: Path, screenshot: Path | None = None) -> list[str]:
    """What is broken on one page, as short sentences (empty when nothing is)."""
    driver.get_log("browser")  # drop what earlier pages left behind
    driver.get(base + page)
    state = driver.execute_script(_PAGE_STATE)
    problems = [f"missing image {src}" for src in state["brokenImages"]]
    problems += sorted({why for why in (broken_link(h, base, html) for h in state["links"]) if why})
    if state["pageWidth"] > state["viewport"]:
        problems.append(f"page wider than the window ({state['pageWidth']} > {state['viewport']} px)")
    problems += state["tooWide"]
    if state["errorOutputs"] or state["papermillError"]:
        problems.append(f"error cell ({state['errorOutputs']} error outputs)")
    problems += [f"stderr output (a warning?): {line}" for line in state["stderrOutputs"]]
    problems += [f"path of the machine that built it: {path}" for path in state["machinePaths"]]
    problems += [
        f"console error: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not _automatic_favicon_request(entry["message"], base)
    ]
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        _screenshot(driver, screenshot)
    return problems


def toc_pages(toc: Path) -> list[str]:
    """The page every entry of a Jupyter Book ``_toc.yml`` becomes (``notebooks/01_evolution.html``, ...)."""
    data = yaml.safe_load(Path(toc).read_text()) or {}
    files = [data.get("root")]

    def walk(entries):
        for entry in entries or ():
            files.append(entry.get("file"))
            walk(entry.get("sections"))

    for part in data.get("parts") or [data]:
        walk(part.get("chapters"))
    return [f"{Path(f).with_suffix('').as_posix()}.html" for f in files if f]


def check_site(html: Path, screenshots: Path | None = None, toc: Path | None = None) -> dict[str, list[str]]:
    """Page -> its problems, for every page of the site in ``html``; screenshots as ``<page>.png``.

    A missing or empty site, or one without a page the table of contents names, raises
    :class:`SiteMissing` before the browser starts.
    """
    html = Path(html)
    if not (html / "index.html").is_file():
        raise SiteMissing(f"{html} holds no built website (no index.html): build it first with `ksc build`")
    missing = [page for page in toc_pages(toc) if not (html / page).is_file()] if toc else []
    if missing:
        raise SiteMissing(f"{html} lacks {len(missing)} page(s) the table of contents names: {', '.join(missing)}")
    report = {}
    with serve(html) as base, chromium() as driver:
        for page in pages(html):
            shot = None if screenshots is None else Path(screenshots) / (page.replace("/", "__") + ".png")
            report[page] = check_page(driver, base, page, html, shot)
    return report
