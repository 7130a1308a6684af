"""Repository rules: clean notebooks, agreeing package lists, the two README commands, no absolute paths."""
import json
import re
import subprocess
import tomllib

import pytest

from notebooks import REPO

NOTEBOOKS = sorted(p for d in ("solutions", "chapters") for p in (REPO / d).rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_notebook_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.relative_to(REPO)}: cells {dirty} have outputs or execution counts"


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_pyproject_and_environment_yml_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]}
    conda = set()
    for line in (REPO / "environment.yml").read_text().splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+)", line)
        if m and m[1] not in ("conda-forge",):
            conda.add(_name(m[1]))
    conda -= {"python", "pip"}
    assert pip == conda, f"only in pyproject.toml: {sorted(pip - conda)}; only in environment.yml: {sorted(conda - pip)}"


def test_required_packages_and_python():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = {_name(r): r for r in project["dependencies"]}
    for name in ("jupyterlab", "notebook", "numpy", "matplotlib", "nbgrader", "ipywidgets"):
        assert name in deps, name
    assert project["requires-python"] == ">=3.11"


def test_readme_commands_and_ci():
    readme = (REPO / "README.md").read_text()
    assert "make start" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert [l for l in ci.splitlines() if l and not l.startswith("#") and not l.startswith("set ")
            and not l.startswith("cd ")] == ["make test"]


def test_no_absolute_paths_in_config():
    for path in [REPO / "nbgrader_config.py", REPO / "autograde" / "nbgrader_config.py"]:
        text = path.read_text()
        assert not re.search(r"""["'](/|[A-Za-z]:\\)""", text), f"absolute path in {path.name}"


def test_nothing_generated_or_cached_is_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    junk = [t for t in tracked if "__pycache__" in t or t.endswith(".pyc") or ".ipynb_checkpoints" in t
            or t.endswith("gradebook.db") or ".egg-info" in t]
    assert not junk, junk
