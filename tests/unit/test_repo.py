"""The repository keeps its promises: one dependency list, README commands CI runs, a complete table of contents."""

import re
import shutil
import subprocess
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return set(project["dependencies"]) | set(extras["book"]) | set(extras["dev"])


def test_environment_yml_agrees_with_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert set(p for p in pip if not p.startswith("-e")) == _requirements()
    assert any(p.startswith("-e") for p in pip), "environment.yml installs the ksc package itself"


def _readme_commands():
    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [
        line.strip() for block in blocks for line in block.splitlines() if line.strip() and not line.startswith("#")
    ]


def test_ci_runs_the_readme_test_and_build_commands():
    commands = _readme_commands()
    test_command = next(c for c in commands if "pytest" in c)
    build_command = next(c for c in commands if "ksc build" in c and "--out" not in c and "-f" not in c.split())
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci and build_command.split("&&")[-1].strip() in ci


def test_toc_lists_every_notebook():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = {c["file"] for part in toc["parts"] for c in part["chapters"]}
    stems = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    assert {f"notebooks/{s}" for s in stems} <= files  # the website's page of a chapter has its repository path


def _ruff():
    found = Path(sys.executable).with_name("ruff")
    return str(found) if found.exists() else shutil.which("ruff")


def test_package_and_tests_are_ruff_clean():
    ruff = _ruff()
    assert ruff, "ruff is a dev dependency: pip install -e '.[book,dev]'"
    for command in ([ruff, "check", "ksc", "tests"], [ruff, "format", "--check", "ksc", "tests"]):
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(command[1:])}:\n{done.stdout}{done.stderr}"
