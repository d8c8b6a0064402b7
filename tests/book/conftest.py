"""Shared fixtures: the whole book built once per test session, at the tiny scale of tests/smoke.yml."""

from pathlib import Path

import nbformat
import pytest

from ksc.book import build as book

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "tests" / "smoke.yml"


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """The output folder of ``ksc build --out <tmp> -f tests/smoke.yml --workers 2``: src/book/{chapters,results},
    _build/html. Built on a Dask LocalCluster of two workers, so every test of the book tests the parallel build
    (test_cluster.py compares a chapter of it with the same chapter run serially)."""
    out = tmp_path_factory.mktemp("book")
    book.build(out=out, parameter_file=SMOKE, log=lambda *args: None, workers=2)
    return out


def write_chapter(folder: Path, stem: str, parameters: str, code: str) -> Path:
    """A chapter of two cells (``parameters``, then ``code``) at ``folder/notebooks/<stem>.ipynb``."""
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": kernel})
    nb.cells = [
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    path = folder / "notebooks" / f"{stem}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def chapter_writer():
    """:func:`write_chapter`, for tests that need a small chapter of their own."""
    return write_chapter


@pytest.fixture
def failing_chapter(tmp_path_factory) -> Path:
    """A chapter (in a repository-like folder of its own) that passes the parameter check and fails while it runs."""
    return write_chapter(
        tmp_path_factory.mktemp("repository"),
        "98_fails",
        "n_train = 10",
        "raise RuntimeError('the data would not load')",
    )
