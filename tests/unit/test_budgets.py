"""The chapters' time budgets: one per chapter, and the order a parallel build starts them in."""

from pathlib import Path

from ksc.runtime import budgets

ROOT = Path(__file__).resolve().parents[2]


def test_every_chapter_has_a_positive_budget_and_every_budget_a_chapter():
    stems = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    declared = budgets.budgets()
    assert set(declared) == stems
    assert all(seconds > 0 for seconds in declared.values())


def test_costliest_first_puts_large_budgets_and_unknown_chapters_first_and_keeps_book_order_on_ties():
    known = {"00_a": 10, "01_b": 40, "02_c": 10, "03_d": 25}
    assert budgets.costliest_first(["00_a", "01_b", "02_c", "03_d"], known) == ["01_b", "03_d", "00_a", "02_c"]
    assert budgets.costliest_first(["00_a", "04_new"], known) == ["04_new", "00_a"]
