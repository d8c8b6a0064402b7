"""Bad inputs and interruptions, as a new user produces them: each is refused or reported in one line.

The table below is the list of inputs tried for issue 13: the command, the exit status and the one
line it must print. A refusal happens before anything runs, so it leaves no run folder behind.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ksc.book import cli, runs

ROOT = Path(__file__).resolve().parents[2]
SMOKE = str(ROOT / "tests" / "smoke.yml")
PAGES = (ROOT / "_toc.yml").read_text().count("file:") + 1  # the root page and every file the toc names
KSC = str(Path(sys.executable).with_name("ksc"))

NOT_YAML = "n_train: [64, 128\nepochs: 1\n"
NOT_A_MAPPING = "- n_train\n- 64\n"
BAD_SECTION = "01_evolution: 5\n"
UNKNOWN_SECTION = "evolution:\n  n_train: 64\n"

# (command after `ksc`, files to create (name -> text), exit status, what the one line says)
REFUSED = [
    (["run", "01", "-p", "r", ".nan"], {}, "r = nan is not allowed: a finite number in (0.0, 4.0]"),
    (["run", "01", "-p", "learning_rate", ".inf"], {}, "learning_rate = inf is not allowed: a finite number"),
    (["run", "06", "-p", "warmup_fraction", ".inf"], {}, "warmup_fraction = inf is not allowed: a finite number"),
    (["run", "01", "-p", "n_train", "1000000000"], {}, "n_train = 1000000000 is not allowed: at most "),
    (["run", "01", "-p", "n_train", "100000000"], {}, "n_train = 100000000 is not allowed: at most "),
    (["run", "02", "-p", "n_seeds", "1000000"], {}, "n_seeds = 1000000 is not allowed: at most "),
    (["run", "01", "-p", "latent_dim", "100000000", "-p", "k", "4"], {}, "latent_dim = 100000000 is not allowed"),
    (["run", "89", "-p", "members", "[1, 10000000]"], {}, "members = [1, 10000000] is not allowed: every value"),
    (["run", "01", "-p", "seed", "4294967296"], {}, "seed = 4294967296 is not allowed: an integer from 0 to"),
    (["run", "03", "-p", "data_seed", "4294967295"], {}, "data_seed = 4294967295 is not allowed"),
    (["run", "01", "-p", "k", "0"], {}, "k = 0 is not allowed: an integer from 1 to 128"),
    (["run", "01", "-p", "k", "200"], {}, "k = 200 is not allowed: an integer from 1 to 128"),
    (["run", "01", "-p", "results_dir", "x"], {}, "results_dir is set by ksc"),
    (["run", "01", "-p", "kk", "3"], {}, "unknown parameter(s) ['kk']"),
    (["run", "10", "-p", "resample_epochs", "[12]"], {}, "resample_epochs[0] = 12 is not allowed: an integer from 1"),
    (["run", "10", "-p", "models", "[v1, v2]"], {}, "including 'dense_relu', 'v3', 'v4'"),
    (["run", "10", "-p", "k_aux", "129"], {}, "k_aux = 129 is not allowed: an integer from 1 to 128"),
    (["run", "09", "-p", "sae_kinds", "[relu_l1, topk_auxk]"], {}, "including 'jumprelu', 'gated'"),
    (["run", "09", "-p", "target_l0", "200"], {}, "target_l0 = 200 is not allowed: an integer from 1 to 128"),
    (["run", "09", "-p", "jumprelu_theta0", "0"], {}, "jumprelu_theta0 = 0 is not allowed: a finite number in (0.0"),
    (["run", "09", "-p", "wide_latents", "100000000"], {}, "wide_latents = 100000000 is not allowed: at most "),
    (["run", "99"], {}, "chapter '99' is not one of"),
    (["run", "01", "-f", "missing.yml"], {}, "parameter file missing.yml does not exist"),
    (["run", "01", "-f", "bad.yml"], {"bad.yml": NOT_YAML}, "bad.yml, line 2, column 7 is not valid YAML"),
    (["run", "01", "-f", "list.yml"], {"list.yml": NOT_A_MAPPING}, "must map names to values, not hold a list"),
    (["build", "-f", "bad.yml"], {"bad.yml": NOT_YAML}, "is not valid YAML"),
    (["build", "-f", "section.yml"], {"section.yml": BAD_SECTION}, "01_evolution: its section of the parameter"),
    (["build", "-f", "unknown.yml"], {"unknown.yml": UNKNOWN_SECTION}, "evolution is not a chapter"),
    (["build", "--only", "01_evolution", "-f", "k.yml"], {"k.yml": "01_evolution:\n  k: 0\n"}, "k = 0 is not"),
    (["sweep", "00", "-p", "n_show", "0,-1"], {}, "no point of the sweep is valid; point 1/2 (n_show=0) not run"),
    (["check", "no-such-site"], {}, "no-such-site holds no built website (no index.html)"),
    (["check", "empty"], {"empty/.keep": ""}, "empty holds no built website"),
    (["check", "site"], {"site/index.html": "<html></html>"}, f"site lacks {PAGES} page(s) the table of contents"),
]


@pytest.mark.parametrize("command, files, message", REFUSED, ids=[" ".join(c[0]) for c in REFUSED])
def test_a_bad_input_is_refused_in_one_line_before_anything_runs(
    command, files, message, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = sorted(tmp_path.rglob("*"))
    if command[0] in ("run", "sweep"):
        command = command + ["--runs", "runs"]
    status = cli.main(command)
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and message in err[0], err
    assert sorted(tmp_path.rglob("*")) == before  # no run folder, no results file, nothing half-written


def test_a_sweep_runs_every_valid_point_and_lists_the_others(tmp_path, capsys):
    status = cli.main(["sweep", "00", "-f", SMOKE, "-p", "n_show", "4,0,8", "--runs", str(tmp_path)])
    captured = capsys.readouterr()
    assert status == 1  # one point of three could not run
    assert captured.err.strip().splitlines() == [
        "point 2/3 (n_show=0) not run: n_show = 0 is not allowed: an integer from 1 to 20"
    ]
    assert "sweep finished: 2 of 3 points ran" in captured.out
    folder = next(tmp_path.iterdir())
    assert sorted(p.name for p in folder.iterdir()) == ["01-n_show=4", "03-n_show=8", "metrics.csv"]
    assert sorted(pd.read_csv(folder / "metrics.csv").n_show.unique()) == [4, 8]


def test_a_failing_point_is_listed_and_the_sweep_goes_on(failing_chapter, tmp_path):
    notebook, lines = failing_chapter, []
    done = runs.sweep(notebook, {"n_train": [10, 20]}, {}, tmp_path / "runs", log=lines.append)
    assert (done.points, done.ran, len(done.failed)) == (2, 0, 2)
    assert (
        "point 1/2 (n_train=10) failed: 98_fails failed in cell 3: RuntimeError: the data would not load"
        in (done.failed[0])
    )
    assert sum("failed" in line for line in lines) == 2  # both points were tried
    assert done.table.read_text().strip() == ""


def test_plain_papermill_refuses_a_parameter_the_chapter_does_not_declare(tmp_path):
    papermill = str(Path(sys.executable).with_name("papermill"))
    for name in ("foo", "k"):  # foo is no parameter of the book; k is one, but not chapter 00's
        done = subprocess.run(
            [papermill, str(ROOT / "notebooks" / "00_data.ipynb"), str(tmp_path / "out.ipynb"), "-p", name, "3"]
            + ["-p", "n_train", "20", "-p", "n_val", "5", "-p", "n_test", "10", "-p", "results_dir", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert f"ParameterError: {name} = 3 is not a parameter of 00_data" in done.stderr
        assert not (tmp_path / "00_data.json").exists()


def _kernels() -> int:
    """Running Jupyter kernels on this machine (from /proc)."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            count += b"ipykernel_launcher" in cmdline.read_bytes()
        except OSError:  # the process ended while we looked
            pass
    return count


def test_ctrl_c_stops_the_run_in_one_line_and_marks_its_folder(tmp_path):
    kernels_before = _kernels()
    earlier = tmp_path / "runs" / "00_data-earlier"
    earlier.mkdir(parents=True)
    (earlier / "00_data.json").write_text("{}")
    process = subprocess.Popen(
        [KSC, "run", "01", "-f", SMOKE, "-p", "epochs", "200", "--runs", str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, which a terminal's Ctrl-C signals as a whole
        # as typed in a terminal: a job started in the background by a non-interactive shell (as CI may
        # start this test) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("runs/01_evolution-*/.01_evolution.running.ipynb")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.5)
    time.sleep(3)
    os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ksc run interrupted: 01_evolution interrupted after"), err
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert folders[0] == "00_data-earlier" and folders[1].endswith("-interrupted") and len(folders) == 2
    marked = tmp_path / "runs" / folders[1]
    assert [p.name for p in marked.iterdir()] == ["01_evolution.interrupted.ipynb"]  # visible, nothing hidden
    assert (earlier / "00_data.json").read_text() == "{}"
    assert "without encryption" not in out + err  # the kernel runs on Unix sockets
    assert _kernels() == kernels_before  # its kernel is shut down, not left running


def test_results_files_are_readable_like_any_file_written(tmp_path):
    from ksc.runtime.results import write_results

    path = write_results(tmp_path, "x", parameters={}, metrics=[], wall_seconds=1.0)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert json.loads(path.read_text())["chapter"] == "x"
