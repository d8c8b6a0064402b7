"""A chapter opened on Google Colab, simulated: a fresh runtime runs the chapter's first cell, then the chapter.

The stand-in runtime is a new virtual environment that sees this environment's packages the way a
Colab runtime has its own preinstalled (TensorFlow, Keras, NumPy, pandas, IPython ...), with a
``google.colab`` module imported at start-up as on Colab, and with the book machinery (papermill,
Jupyter Book, Selenium) made unimportable, since Colab does not have it. The repository address in the
first cell points at a local clone (``git+file://``) instead of GitHub; everything else in the cell is
what ``ksc.book.cells`` writes into every chapter.
"""

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from ksc.book import cells

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "01_evolution.ipynb"
NOT_ON_COLAB = ("papermill", "jupyter_book", "sphinx", "selenium")

STARTUP = f"""
import importlib.abc, sys

class _NotOnColab(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {NOT_ON_COLAB!r}:
            raise ImportError(f"{{name}} is not installed on Colab")
        return None

sys.meta_path.insert(0, _NotOnColab())
import google.colab  # on Colab this module is loaded when the runtime starts
"""


def _run(*command, **kwargs):
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """(python of the stand-in runtime, its site-packages, the name of its Jupyter kernel, a clone's file:// URL)."""
    base = tmp_path_factory.mktemp("colab")
    clone = base / "clone"
    _run("git", "clone", "--quiet", str(ROOT), str(clone))
    branch = _run("git", "rev-parse", "--abbrev-ref", "HEAD", cwd=clone).stdout.strip()
    runtime = base / "runtime"
    # without a pip of its own: the preinstalled one (this environment's, a current pip as on Colab) installs into it
    _run(sys._base_executable, "-m", "venv", "--without-pip", str(runtime))
    python = runtime / "bin" / "python"
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip())
    # the preinstalled packages: this environment's site-packages, after the runtime's own
    (site / "preinstalled.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s own module."""\n')
    (site / "sitecustomize.py").write_text(STARTUP)
    kernels = base / "jupyter"
    spec = kernels / "kernels" / "colab-stand-in"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "Colab stand-in", "language": "python"})
    )
    return python, site, kernels, f"file://{clone}", branch


def _installed(site: Path) -> set[str]:
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


def test_a_chapter_runs_on_a_fresh_colab_runtime_after_its_first_cell(colab, tmp_path, monkeypatch):
    python, site, kernels, url, branch = colab
    probe = subprocess.run([str(python), "-c", "import papermill"], capture_output=True, text=True)
    assert probe.returncode == 1 and "not installed on Colab" in probe.stderr  # the stand-in lacks the machinery
    before = _installed(site)
    assert "ksc" not in before

    nb = nbformat.read(CHAPTER, as_version=4)
    setup = next(c for c in nb.cells if c.get("id") == cells.SETUP_ID)
    assert setup.source == cells.setup_source(*cells.repository())  # the committed cell is the generated one
    setup.source = cells.setup_source(url, branch)  # the same cell, pointed at the local clone
    source = tmp_path / CHAPTER.name
    nbformat.write(nb, source)

    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    smoke = yaml.safe_load((ROOT / "tests" / "smoke.yml").read_text())[CHAPTER.stem]
    executed = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(source),
        str(executed),
        parameters={**smoke, "results_dir": "results"},
        kernel_name="colab-stand-in",
        cwd=str(tmp_path),
        progress_bar=False,
    )

    # the first cell installed ksc, and nothing else: Colab's TensorFlow, Keras and NumPy are left alone
    assert _installed(site) - before == {"ksc"}
    code = "import ksc, keras; print(ksc.__file__); print(keras.__file__)"
    where = _run(str(python), "-c", code, cwd=tmp_path).stdout.split()  # where the chapter's kernel found them
    assert Path(where[0]).is_relative_to(site) and not Path(where[1]).is_relative_to(site)
    code = "import importlib.metadata as m; print('\\n'.join(r for r in m.requires('ksc') if 'extra ==' not in r))"
    core = {
        re.split(r"[<>=!~ ;\[]", line)[0].lower()
        for line in _run(str(python), "-c", code, cwd=tmp_path).stdout.split("\n")
        if line
    }
    # no backend, no book machinery; sp80022suite is NIST's C code for chapter 12, gguf and tokenizers read chapter 13's
    # language model and its tokenizer
    science = {"keras", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib", "pyyaml", "sp80022suite"}
    assert core == science | {"gguf", "tokenizers"}
    first = nbformat.read(executed, as_version=4).cells[1]
    assert first.get("id") == cells.SETUP_ID
    assert "backend" in "".join(o.get("text", "") for o in first.outputs)

    record = json.loads((tmp_path / "results" / f"{CHAPTER.stem}.json").read_text())
    assert record["parameters"]["n_train"] == smoke["n_train"]
    assert len(record["metrics"]) > 0 and all(row["test_mse"] > 0 for row in record["metrics"] if "test_mse" in row)
    assert os.path.getsize(executed) > 10_000
