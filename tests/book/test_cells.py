"""Every chapter opens with the Colab setup cell and ends with the provenance of its run."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ksc.book import cells as chapter_cells
from ksc.book import notebooks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
URL, BRANCH = chapter_cells.repository()


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_setup_cell_comes_first_and_provenance_cell_last(path):
    code = _code_cells(path)
    assert code[0].id == chapter_cells.SETUP_ID, "run `python -m ksc.book.cells` to add the shared cells"
    assert code[0].source == chapter_cells.setup_source(URL, BRANCH), "run `python -m ksc.book.cells`"
    assert "parameters" in code[1].metadata.get("tags", [])  # papermill injects right after it
    assert code[-1].id == chapter_cells.PROVENANCE_ID and code[-1].source == chapter_cells.PROVENANCE_SOURCE


def test_installing_the_cells_is_idempotent(tmp_path):
    copy = tmp_path / "chapter.ipynb"
    shutil.copy(NOTEBOOKS[0], copy)
    assert chapter_cells.install(copy) is False
    nb = nbformat.read(copy, as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") not in (chapter_cells.SETUP_ID, chapter_cells.PROVENANCE_ID)]
    nbformat.write(nb, copy)
    assert chapter_cells.install(copy) is True
    assert copy.read_bytes() == NOTEBOOKS[0].read_bytes()


def test_the_repository_url_is_written_in_one_place():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    holders = [
        f
        for f in tracked
        if not f.startswith("notebooks/") and (ROOT / f).is_file() and URL in (ROOT / f).read_text(errors="replace")
    ]
    assert holders == ["_config.yml"]  # the notebooks' copies are written from it, and checked above


def test_outside_colab_the_setup_cell_installs_nothing_and_prints_one_line():
    done = subprocess.run(
        [sys.executable, "-c", chapter_cells.setup_source(URL, BRANCH)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "tensorflow backend" in lines[0] and ("CPU" in lines[0] or "GPU" in lines[0])


def test_every_chapter_page_shows_the_provenance_of_its_run(smoke_book):
    from ksc.runtime.results import read_results

    for stem in [nb.stem for nb in notebooks.chapters(ROOT)]:
        prov = read_results(smoke_book / "src" / "book" / "results" / f"{stem}.json")["provenance"]
        page = (smoke_book / "_build" / "html" / "notebooks" / f"{stem}.html").read_text()
        table = re.search(
            r'How this page was computed\.</strong></p><table class="ksc-provenance">(.*?)</table>', page, flags=re.S
        ).group(1)
        for value in (f"{prov['wall_seconds']:.1f} s", prov["device"], prov["finished_at"]):
            assert f"<td>{value}</td>" in table
        assert f"{prov['keras_backend']} backend" in table
