"""The two cells every chapter shares: a setup cell first and a provenance cell last.

- The setup cell (the first code cell) installs ``ksc`` when the notebook runs on Google Colab and
  prints the Keras backend and device. The repository URL lives in one place, ``_config.yml``
  (``repository: url:`` and ``branch:``); Colab receives the notebook alone and cannot read that
  file, so the URL is written into the cell.
- The provenance cell (the last code cell) shows what ran the chapter and for how long, read back
  from the results file the chapter has just written.

After changing the URL, or when adding a chapter, run::

    python -m ksc.chapter_cells        # writes both cells into every notebook in notebooks/

A test fails while any notebook's shared cells differ from what this module writes.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_ID, PROVENANCE_ID = "colab-setup", "run-provenance"
SETUP_TAGS, PROVENANCE_TAGS = ["hide-input"], ["remove-input"]

PROVENANCE_SOURCE = '''from ksc.results import show_provenance

show_provenance(results_dir, CHAPTER)'''


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) of the book's repository, from the Jupyter Book configuration."""
    repo = (yaml.safe_load(Path(config).read_text()) or {}).get("repository") or {}
    if not repo.get("url"):
        raise ValueError(f"{config} has no repository: url:")
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_source(url: str, branch: str) -> str:
    """The setup cell's code: a pip install that only runs on Colab, then one line about the runtime."""
    return f'''# Setup: on Google Colab, install the ksc package from the book's repository; elsewhere, only report.
import sys

if "google.colab" in sys.modules:
    # On a GPU runtime JAX is often faster than TensorFlow; to use it, uncomment the next line.
    # import os; os.environ["KERAS_BACKEND"] = "jax"
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "ksc @ git+{url}@{branch}"], check=True)

from ksc.results import describe_runtime

print(describe_runtime())'''


def _index(nb, cell_id: str) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if c.get("id") == cell_id), None)


def _cell(source: str, cell_id: str, tags: list[str]):
    return nbformat.v4.new_code_cell(source, id=cell_id, metadata={"tags": list(tags)})


def install(path: Path, config: Path = ROOT / "_config.yml") -> bool:
    """Puts the setup cell before the first code cell and the provenance cell last; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    setup = _cell(setup_source(*repository(config)), SETUP_ID, SETUP_TAGS)
    index = _index(nb, SETUP_ID)
    if index is None:
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first_code, setup)
    else:
        nb.cells[index] = setup
    index = _index(nb, PROVENANCE_ID)
    if index is not None:
        del nb.cells[index]
    nb.cells.append(_cell(PROVENANCE_SOURCE, PROVENANCE_ID, PROVENANCE_TAGS))
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        print(f"{path}: {'shared cells written' if install(path) else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
