"""nnbook installed without the checkout: a built wheel into a fresh virtual environment (dependencies
from PyPI through pip's cache), then ``pip install .`` (not editable) over it, each grading a demo class.

The book's notebooks are found through ``--course`` / ``$NNBOOK_COURSE`` (autograde/paths.py); the
installed packages are the ones imported (not the checkout), and learner code cannot read the
installed reference module from inside the sandbox.
"""
import csv
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
import pytest

from autograde import demo_class, paths
from notebooks import solution_path

pytestmark = pytest.mark.slow
REPO = paths.course_root()
CH = "01_neuron"


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory):
    """The committed tree (as a clean clone has it), outside the checkout."""
    dest = tmp_path_factory.mktemp("clone")
    archive = dest / "src.tar"
    run(["git", "-C", REPO, "archive", "--format=tar", "-o", archive, "HEAD"])
    with tarfile.open(archive) as t:
        t.extractall(dest / "src", filter="data")
    return dest / "src"


def fresh_venv(where: Path) -> Path:
    run([sys.executable, "-m", "venv", where])
    return where / "bin"


def grade_demo(bin_: Path, course: Path, work: Path, how: str) -> dict:
    """Run the installed nnbook-grade on a small demo class from a folder with no book in it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NNBOOK_COURSE", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_}:{env['PATH']}"
    probe = run([bin_ / "python", "-c", "import autograde.paths, nnbook, json; print(json.dumps("
                 "[autograde.paths.__file__, nnbook.__file__]))"], cwd=work, env=env)
    for f in json.loads(probe.stdout):
        assert str(bin_.parent) in f, f"imported {f}, not the installed package"
    # without a book: a clear error naming the ways to give one
    r = subprocess.run([bin_ / "nnbook-grade", work, CH, "-o", work / "x"], cwd=work, env=env,
                       capture_output=True, text=True)
    assert r.returncode != 0 and "--course" in r.stderr and "NNBOOK_COURSE" in r.stderr, r.stderr
    site = Path(json.loads(probe.stdout)[1]).parent
    demo = work / "demo"
    manifest = demo_class.build(CH, 30, demo)
    keep = ["correct-000", "blank-000", "hack-numpy-patch",
            next(l for l in manifest["learners"] if l.startswith("wrong-"))]
    for d in (demo / "submitted").iterdir():
        if d.name not in keep:
            import shutil
            shutil.rmtree(d)
    # a learner who reads the *installed* reference module from disk
    nb = nbformat.read(solution_path(CH), as_version=4)
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            c.source = (f"try:\n    exec(open({str(site / 'neuron.py')!r}).read())\nexcept OSError as e:\n"
                        f"    print('blocked', e)")
    (demo / "submitted" / "reader" / CH).mkdir(parents=True)
    nbformat.write(nb, demo / "submitted" / "reader" / CH / f"{CH}.ipynb")
    out = work / f"graded-{how}"
    args = [bin_ / "nnbook-grade", demo, CH, "-o", out, "-j", "2", "-q", "--cell-timeout", "20", "--lms", "canvas"]
    if how == "env":
        run(args, cwd=work, env={**env, "NNBOOK_COURSE": str(course)})
    else:
        run(args + ["--course", course], cwd=work, env=env)
    with open(out / "grades.csv", newline="") as f:
        rows = {r["learner"]: r for r in csv.DictReader(f)}
    assert (out / "report.html").exists() and (out / "lms" / "canvas_grades.csv").exists()
    return rows


def check(rows: dict):
    assert float(rows["correct-000"][f"{CH}:total"]) == 17
    assert float(rows["blank-000"][f"{CH}:total"]) == 0
    assert float(rows["hack-numpy-patch"][f"{CH}:total"]) == 0
    wrong = next(r for l, r in rows.items() if l.startswith("wrong-"))
    assert 0 < float(wrong[f"{CH}:total"]) < 17
    assert float(rows["reader"][f"{CH}:total"]) == 0


@pytest.fixture(scope="module")
def wheel_venv(clean_copy, tmp_path_factory):
    """A fresh virtual environment with the built wheel and its dependencies (from PyPI, through pip's
    cache): the one full install of this module; the second test reinstalls the package alone."""
    where = tmp_path_factory.mktemp("install")
    wheels = where / "wheels"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheels, clean_copy])
    wheel = next(wheels.glob("nnbook-*.whl"))
    bin_ = fresh_venv(where / "venv")
    # --no-compile: byte-compiling the ~40 packages' every module up front took a third of this install
    # (39 s -> 26 s here); what the tests import is compiled when it is imported, as for any user
    run([bin_ / "python", "-m", "pip", "install", "--quiet", "--no-compile", wheel])
    return bin_


def test_wheel_in_fresh_venv(clean_copy, wheel_venv, tmp_path):
    run([wheel_venv / "python", "-m", "pip", "check"])          # every declared dependency is there
    work = tmp_path / "elsewhere"
    work.mkdir()
    check(grade_demo(wheel_venv, clean_copy, work, "course"))


def test_pip_install_dot_in_fresh_venv(clean_copy, wheel_venv, tmp_path):
    """``pip install .`` from the source folder (what `make class-env` does): the package replaced in place."""
    run([wheel_venv / "python", "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", "."],
        cwd=clean_copy)
    installed = run([wheel_venv / "python", "-c", "import autograde.paths as p; print(p.__file__)"], cwd="/")
    assert str(wheel_venv.parent) in installed.stdout and str(clean_copy) not in installed.stdout, installed.stdout
    work = tmp_path / "elsewhere"
    work.mkdir()
    check(grade_demo(wheel_venv, clean_copy, work, "env"))
