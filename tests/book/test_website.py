"""The website a reader gets: launch buttons, numbered figures, measured times, and every page in a real browser."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from ksc.book import browser, notebooks
from ksc.book import cells as chapter_cells

ROOT = Path(__file__).resolve().parents[2]
STEMS = [nb.stem for nb in notebooks.chapters(ROOT)]
needs_chromium = pytest.mark.skipif(
    not (Path(browser.CHROMIUM).exists() and Path(browser.CHROMEDRIVER).exists()),
    reason="Debian packages chromium and chromium-driver are not installed",
)


def _page(smoke_book, stem):
    return (smoke_book / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()


def test_every_chapter_offers_its_executed_notebook_for_download(smoke_book):
    html = smoke_book / "_build" / "html"
    for stem in STEMS:
        assert f'href="../_sources/notebooks/{stem}.ipynb"' in _page(smoke_book, stem)
        assert (html / "_sources" / "notebooks" / f"{stem}.ipynb").stat().st_size > 1000


def test_colab_buttons_open_the_committed_source_notebooks(smoke_book):
    url, branch = chapter_cells.repository()
    repo = url.removeprefix("https://github.com/")
    for stem in STEMS:
        links = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', _page(smoke_book, stem)))
        assert len(links) == 1, f"{stem}: {links}"
        prefix = f"https://colab.research.google.com/github/{repo}/blob/{branch}/"
        link = links.pop()
        assert link.startswith(prefix)
        path = link.removeprefix(prefix)
        assert path == f"notebooks/{stem}.ipynb"
        subprocess.run(["git", "ls-files", "--error-unmatch", path], cwd=ROOT, check=True, capture_output=True)


def test_every_figure_is_numbered_per_chapter_and_captioned(smoke_book):
    for stem in STEMS:
        page = _page(smoke_book, stem)
        images = re.findall(r'<img[^>]+src="[^"]*_images/', page)
        numbered = re.findall(
            r'<figure class="[^"]*" id="fig-[^"]+">\s*<img[^>]*>\s*<figcaption>\s*<p>'
            r'<span class="caption-number">Fig\. ([\d.]+) </span><span class="caption-text">\S',
            page,
        )
        assert images and len(numbered) == len(images), (
            f"{stem}: {len(images)} images, {len(numbered)} numbered figures"
        )
        assert numbered == [f"{int(stem[:2])}.{n}" for n in range(1, len(numbered) + 1)]  # Fig. 3.1, 3.2, ...


def test_the_reproducing_page_shows_each_chapters_measured_time(smoke_book):
    page = (smoke_book / "_build" / "html" / "book" / "reproducing.html").read_text()
    page = page[page.index("wall time (s)") :]  # the table, not the navigation's links
    total = 0.0
    for stem in STEMS:
        seconds = json.loads((smoke_book / "src" / "book" / "results" / f"{stem}.json").read_text())["provenance"][
            "wall_seconds"
        ]
        total += seconds
        row = re.search(rf"notebooks/{stem}\.html.*?</tr>", page, flags=re.S).group(0)
        assert f">{seconds:.1f}<" in row
    assert f"{total:.1f}" in page


@needs_chromium
def test_every_page_opens_in_chromium_without_a_broken_image_link_script_or_cell(smoke_book):
    html, shots = smoke_book / "_build" / "html", smoke_book / "_build" / "screenshots"
    report = browser.check_site(html, shots)
    assert set(report) >= {f"notebooks/{stem}.html" for stem in STEMS} | {"book/intro.html", "book/reproducing.html"}
    assert {page: problems for page, problems in report.items() if problems} == {}
    for page in report:
        shot = shots / (page.replace("/", "__") + ".png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5000


@needs_chromium
def test_the_browser_check_reports_each_kind_of_breakage(tmp_path):
    (tmp_path / "good.html").write_text(
        '<html><body><p id="here">fine</p><a href="bad.html">a page</a>'
        '<a href="good.html#here">an anchor</a></body></html>'
    )
    (tmp_path / "bad.html").write_text(
        '<html><body><img src="missing.png"><a href="nowhere.html">x</a><a href="good.html#gone">y</a>'
        '<div class="cell_output"><div class="output traceback">ValueError</div></div>'
        '<div class="cell_output"><div class="output stderr"><pre>/tmp/ipykernel_1/2.py:1: SomeWarning: careful'
        "</pre></div></div>"
        "<script>notDefinedAnywhere()</script>"
        '<table><tr><td style="min-width: 3000px">a table wider than the page</td></tr></table>'
        '<div class="cell_input"><pre style="width: 300px; overflow-x: auto">' + "x = 1  # " + "long " * 100 + "</pre>"
        "</div></body></html>"
    )
    (tmp_path / "index.html").write_text('<html><body><a href="good.html">start</a></body></html>')
    report = browser.check_site(tmp_path, tmp_path / "shots")
    assert report["good.html"] == [] and report["index.html"] == []
    problems = " | ".join(report["bad.html"])
    for expected in (
        "missing image missing.png",
        "broken link nowhere.html: no such file",
        "broken link good.html#gone: no such anchor",
        "error cell",
        "console error",
        "notDefinedAnywhere",
        "page wider than the window",
        'wider than the text column: table "a table wider than the page"',
        'code line wider than the column: "x = 1  # long long',
        "stderr output (a warning?): /tmp/ipykernel_1/2.py:1: SomeWarning: careful",
        "path of the machine that built it: /tmp/ipykernel_1/2.py:1:",
    ):
        assert expected in problems
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["bad.html.png", "good.html.png", "index.html.png"]


def test_no_page_shows_a_path_of_the_machine_that_built_it(smoke_book):
    html = smoke_book / "_build" / "html"
    machine_paths = {str(smoke_book), str(ROOT), str(Path.home())}
    for page in html.rglob("*.html"):
        text = page.read_text(errors="replace")
        shown = [p for p in machine_paths if p in text]
        assert shown == [], f"{page.relative_to(html)} shows {shown}"
