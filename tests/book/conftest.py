"""Shared fixtures: the whole book built once per test session, at the tiny scale of tests/smoke.yml."""

from pathlib import Path

import pytest

from ksc.book import build as book

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "tests" / "smoke.yml"


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """The output folder of ``ksc build --out <tmp> -f tests/smoke.yml``: src/book/{chapters,results}, _build/html."""
    out = tmp_path_factory.mktemp("book")
    book.build(out=out, parameter_file=SMOKE, log=lambda *args: None)
    return out
