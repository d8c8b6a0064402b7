"""The ``ksc`` command as a user types it: list, run and sweep, at the tiny scale of tests/smoke.yml."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ksc.book import cli, execute, notebooks, runs

ROOT = Path(__file__).resolve().parents[2]
SMOKE = str(ROOT / "tests" / "smoke.yml")
NOTEBOOKS = notebooks.chapters(ROOT)


@pytest.mark.parametrize(
    "text, value",
    [
        ("16", 16),
        ("0.5", 0.5),
        ("1e-3", 0.001),
        ("true", True),
        ("[2, 4]", [2, 4]),
        ("abs", "abs"),
        ("-3", -3),
    ],
)
def test_command_line_values_are_typed(text, value):
    parsed = runs.parse_value(text)
    assert parsed == value and type(parsed) is type(value)


def test_sweep_values_split_on_commas_outside_brackets():
    assert runs.split_values("4,8,16") == ["4", "8", "16"]
    assert runs.split_values("[2,4],[8]") == ["[2,4]", "[8]"]


def test_list_shows_every_chapter_and_parameter_with_its_default_and_meaning(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for notebook in NOTEBOOKS:
        assert notebook.stem in out
        for name, info in notebooks.notebook_parameters(notebook).items():
            assert f"{name} = {info['default']}" in out and info["help"].strip() in out


def test_a_chapter_is_found_by_number_name_or_stem():
    assert runs.find_chapter("01") == runs.find_chapter("evolution") == runs.find_chapter("01_evolution")
    with pytest.raises(runs.ParameterError, match="is not one of"):
        runs.find_chapter("99")


def _run(args, capsys):
    status = cli.main(args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_run_writes_a_new_folder_each_time_and_a_failed_run_touches_no_earlier_one(tmp_path, capsys, failing_chapter):
    status, out, _ = _run(["run", "00", "-f", SMOKE, "-p", "n_test", "24", "--runs", str(tmp_path)], capsys)
    assert status == 0
    first = next(tmp_path.iterdir())
    assert first.name.startswith("00_data-") and sorted(p.name for p in first.iterdir()) == [
        "00_data.ipynb",
        "00_data.json",
    ]
    record = json.loads((first / "00_data.json").read_text())
    assert record["parameters"]["n_test"] == 24 and record["parameters"]["n_train"] == 64  # -p over -f
    assert "cell " in out and "[00_data]" in out  # progress lines
    before = {p: p.read_bytes() for p in first.iterdir()}

    status, _, _ = _run(["run", "00", "-f", SMOKE, "-p", "n_test", "24", "--runs", str(tmp_path)], capsys)
    assert status == 0 and len(list(tmp_path.iterdir())) == 2  # same parameters, same second: still a new folder

    with pytest.raises(execute.ChapterFailed, match="98_fails failed in cell 3: RuntimeError: the data would not load"):
        runs.run(failing_chapter, {}, tmp_path, log=lambda *args: None)
    failed = next(p for p in tmp_path.iterdir() if p.name.startswith("98_fails-"))
    assert [p.name for p in failed.iterdir()] == ["98_fails.failed.ipynb"]
    assert {p: p.read_bytes() for p in first.iterdir()} == before


def test_run_refuses_unknown_parameters_before_running(tmp_path, capsys):
    status, _, err = _run(["run", "01", "-p", "kk", "3", "--runs", str(tmp_path)], capsys)
    assert status == 1 and "unknown parameter(s) ['kk']" in err and not tmp_path.joinpath("x").exists()
    assert list(tmp_path.iterdir()) == []


def test_sweep_runs_the_grid_and_writes_one_table(tmp_path, capsys):
    status, out, _ = _run(
        ["sweep", "00", "-f", SMOKE, "-p", "data_seed", "0,1", "-p", "n_test", "24", "--runs", str(tmp_path)], capsys
    )
    assert status == 0
    folder = next(tmp_path.iterdir())
    table = pd.read_csv(folder / "metrics.csv")
    assert sorted(set(zip(table.data_seed, table.n_test))) == [(0, 24), (1, 24)]  # a single value is fixed
    assert table.run.nunique() == 2 and (table.groupby("run").size() == table.groupby("run").size().iloc[0]).all()
    for run_folder in folder.glob("0*"):
        record = json.loads((run_folder / "00_data.json").read_text())
        rows = table[table.run == run_folder.name]
        assert rows["mean-predictor test MSE"].tolist() == pytest.approx(
            [r["mean-predictor test MSE"] for r in record["metrics"]]
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_papermill_help_notebook_lists_every_parameter_with_its_meaning(path):
    done = subprocess.run(
        [str(Path(sys.executable).with_name("papermill")), "--help-notebook", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    listed = " ".join(done.stdout.split())  # papermill wraps each meaning onto the next line
    for name, info in notebooks.notebook_parameters(path).items():
        assert f"{name}: " in listed and " ".join(info["help"].split()) in listed
