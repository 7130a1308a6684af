"""The class-grading pipeline (``nnbook-grade``) on a demo class of chapter 01, end to end.

One graded class run (real bubblewrap sandboxes, real nbgrader gradebook, autograde
and generate_feedback) holds every fault, tamper and isolation case; the tests
below read its results. A second, serial run of a few learners checks that
re-grading is safe and that parallel and serial runs agree.
"""
import csv
import json
import sqlite3
from pathlib import Path

import nbformat
import pytest

from autograde import cells, cli, demo_class, paths, sandbox
from autograde.grader import judge
from autograde.grader.driver import grade_chapter
from autograde.sandbox import slot as sandbox_slot
from notebooks import read, solution_path, with_cells
from test_ch01_grading import MUTANTS

CHAPTER = "01_neuron"
REPO = paths.course_root()
FULL = 17.0

pytestmark = pytest.mark.slow


def probe_cell(out: Path) -> str:
    """Learner code that tries to reach what it must not; prints BLOCKED/LEAK per attempt."""
    targets = {
        "gradebook": out / "course" / "gradebook.db",
        "solutions": REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb",
        "course source": out / "course" / "source" / CHAPTER / f"{CHAPTER}.ipynb",
        "other learner (course)": out / "course" / "submitted" / "correct-000" / CHAPTER / f"{CHAPTER}.ipynb",
        "other learner (upload)": out / "demo" / "submitted" / "correct-000" / CHAPTER / f"{CHAPTER}.ipynb",
        "reference module file": REPO / "nnbook" / "neuron.py",
    }
    lines = ["import socket, importlib"]
    for what, path in targets.items():
        lines += [f"try:\n    open({str(path)!r}, 'rb').read(10)\n    print('LEAK {what}')",
                  f"except OSError:\n    print('BLOCKED {what}')"]
    lines += ["try:\n    socket.create_connection(('1.1.1.1', 80), timeout=3)\n    print('LEAK network')",
              "except OSError:\n    print('BLOCKED network')",
              "try:\n    importlib.import_module('nnbook.neuron')\n    print('LEAK reference module')",
              "except ImportError:\n    print('BLOCKED reference module')",
              "import nnbook.testing\nprint('OK nnbook.testing importable')"]
    return "\n".join(lines)


PRINTS_ITS_ARGUMENTS = "def weighted_sum(x, w, b):\n    print('ARGS:', list(x), list(w), b)\n    return float(np.dot(w, x) + b)"
WRONG_WEIGHTED_SUM = "def weighted_sum(x, w, b):\n    return float(np.dot(w, x))"     # forgets the bias
NUMPY_PATCH = ("import numpy as np, builtins\nnp.allclose = lambda *a, **k: True\n"
               "np.isclose = lambda a, b, **k: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)\n"
               "np.array_equal = lambda *a, **k: True\nbuiltins.isinstance = lambda *a: True")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    out = tmp_path_factory.mktemp("class")
    demo = out / "demo"
    manifest = demo_class.build(CHAPTER, 30, demo, mistakes=MUTANTS)
    sub = demo / "submitted"
    solution = read(solution_path(CHAPTER))
    # extra learners: isolation probe, and a wrong answer that also attacks NumPy and builtins
    nb = with_cells(solution, {})
    nb.cells.insert(5, nbformat.v4.new_code_cell(probe_cell(out)))
    (sub / "probe" / CHAPTER).mkdir(parents=True)
    nbformat.write(nb, sub / "probe" / CHAPTER / f"{CHAPTER}.ipynb")
    nb = with_cells(solution, {"weighted_sum": WRONG_WEIGHTED_SUM})
    nb.cells.insert(3, nbformat.v4.new_code_cell(NUMPY_PATCH))
    (sub / "wrong-plus-hack" / CHAPTER).mkdir(parents=True)
    nbformat.write(nb, sub / "wrong-plus-hack" / CHAPTER / f"{CHAPTER}.ipynb")
    nb = with_cells(solution, {"weighted_sum": PRINTS_ITS_ARGUMENTS})
    (sub / "print-args" / CHAPTER).mkdir(parents=True)
    nbformat.write(nb, sub / "print-args" / CHAPTER / f"{CHAPTER}.ipynb")
    nb = with_cells(solution, {"weighted_sum": WRONG_WEIGHTED_SUM})
    (sub / "wrong-plain" / CHAPTER).mkdir(parents=True)
    nbformat.write(nb, sub / "wrong-plain" / CHAPTER / f"{CHAPTER}.ipynb")
    assert cli.main([str(demo), CHAPTER, "-o", str(out), "-j", "2", "--cell-timeout", "4",
                     "--notebook-timeout", "60", "-q"]) == 0
    with open(out / "grades.csv") as f:
        rows = {r["learner"]: r for r in csv.DictReader(f)}
    return {"out": out, "manifest": manifest, "rows": rows}


def _cells(graded, learner):
    row = graded["rows"][learner]
    return {k.split(":", 1)[1]: float(v) for k, v in row.items()
            if k.startswith(CHAPTER + ":test_")}


def test_every_learner_is_in_the_gradebook_csv(graded):
    learners = set(graded["manifest"]["learners"]) | {"probe", "wrong-plus-hack", "wrong-plain", "print-args"}
    assert set(graded["rows"]) == learners
    with sqlite3.connect(graded["out"] / "course" / "gradebook.db") as db:
        subs = db.execute("select count(*) from submitted_assignment").fetchone()[0]
        dup = db.execute("select count(*) from (select notebook_id, cell_id, count(*) c from grade "
                         "group by notebook_id, cell_id having c > 1)").fetchone()[0]
        courses = db.execute("select distinct course_id from assignment").fetchall()
    assert subs == len(learners) and dup == 0
    # every assignment is the course's (nbgrader 0.9's own preprocessors also add an empty "default_course" row)
    assert courses == [("nnbook",)], courses


@pytest.mark.parametrize("kind", ["fault", "hack", "correct", "blank"])
def test_exact_scores_from_the_manifest(graded, kind):
    checked = 0
    for learner, info in graded["manifest"]["learners"].items():
        if not learner.startswith(kind):
            continue
        got = _cells(graded, learner)
        for gid, expected in info["expected"].items():
            if expected is not None:
                assert got[gid] == expected, f"{learner} ({info['description']}): {gid} got {got[gid]}, " \
                                             f"expected {expected}; problems: {graded['rows'][learner]['problems']}"
                checked += 1
    assert checked >= 6


def test_forged_points_earn_nothing_and_crash_nothing(graded):
    row = graded["rows"]["fault-forged-points"]
    assert float(row["total"]) == FULL and float(row[f"{CHAPTER}:max"]) == FULL, row
    assert "claimed grading metadata" in row["problems"], row["problems"]


def test_solution_cell_retyped_to_markdown_is_restored_as_nbgrader_does(graded):
    # nbgrader's OverwriteCells gives the cell back its type: the learner's code runs and earns its points
    row = graded["rows"]["fault-solution-to-markdown"]
    assert float(row["total"]) == FULL and "restored as code" in row["problems"], row


def test_wrong_answers_lose_points_on_their_exercise(graded):
    wrong = [l for l in graded["manifest"]["learners"] if l.startswith("wrong-")]
    assert len(wrong) >= 3
    for learner in wrong:
        gid = "test_" + learner.split("-")[1]
        assert _cells(graded, learner)[gid] == 0, learner


def test_tampering_earns_nothing(graded):
    assert _cells(graded, "wrong-plus-hack") == _cells(graded, "wrong-plain")
    # weighted_sum without its bias costs its own 2 points; perceptron, which calls it, keeps its points
    assert float(graded["rows"]["wrong-plain"]["total"]) == FULL - 2


def test_faults_are_explained(graded):
    rows = graded["rows"]
    expect = {
        "fault-invalid-json": "not a valid notebook", "fault-empty-folder": "empty",
        "fault-renamed": "my_work.ipynb", "fault-extra-notebook": "scratch.ipynb",
        "fault-endless-loop": "stopped after", "fault-memory-bomb": "MemoryError",
        "fault-output-flood": "output limit", "fault-os-exit": "kernel died", "fault-segfault": "kernel died",
        "fault-test-deleted": "deleted", "fault-test-moved-first": "moved",
        "fault-test-to-markdown": "changed to markdown", "fault-duplicate-ids": "more than once",
        "fault-forged-points": "restored from the course",
    }
    for learner, words in expect.items():
        assert words in rows[learner]["problems"], (learner, rows[learner]["problems"])
        notes = rows[learner]["problems"].split("; ")
        assert len(notes) == len(set(notes)), f"{learner}: a note is shown more than once: {notes}"
    summary = (graded["out"] / "summary.txt").read_text()
    assert "fault-endless-loop" in summary and "stopped after" in summary


def test_isolation(graded):
    nb = nbformat.read(graded["out"] / "course" / "autograded" / "probe" / CHAPTER / f"{CHAPTER}.ipynb",
                       as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "LEAK" not in text, text
    for what in ("gradebook", "solutions", "course source", "other learner (course)", "other learner (upload)",
                 "reference module file", "network", "reference module"):
        assert f"BLOCKED {what}" in text, (what, text)
    assert "OK nnbook.testing importable" in text
    assert float(graded["rows"]["probe"]["total"]) == FULL


def test_feedback_pages(graded):
    fb = graded["out"] / "feedback"
    for learner in graded["rows"]:
        page = fb / learner / f"{CHAPTER}.html"
        assert page.exists(), learner
        html = page.read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "default_rng(101)" not in html, learner
        assert page.stat().st_size < 2_000_000, (learner, page.stat().st_size)
    html = (fb / "wrong-plain" / f"{CHAPTER}.html").read_text()
    assert "should be 1.0, got 2.0" in html            # the visible test's teaching message
    assert "Grader&#39;s notes" in (fb / "fault-os-exit" / f"{CHAPTER}.html").read_text() or \
        "Grader's notes" in (fb / "fault-os-exit" / f"{CHAPTER}.html").read_text()


def test_hidden_tests_inputs_stay_hidden(graded):
    """What the learner's code prints while a hidden test calls it is withheld; visible tests keep theirs."""
    assert float(graded["rows"]["print-args"]["total"]) == FULL
    page = (graded["out"] / "feedback" / "print-args" / f"{CHAPTER}.html").read_text()
    visible = page.count("ARGS:")
    assert visible >= 1 and "output of your code during the hidden tests is not shown" in page
    graded_nb = nbformat.read(graded["out"] / "course" / "autograded" / "print-args" / CHAPTER / f"{CHAPTER}.ipynb",
                              as_version=4)
    test = next(c for c in graded_nb.cells if cells.grade_id(c) == "test_weighted_sum")
    text = "".join(o.get("text", "") for o in test.outputs)
    assert "ARGS:" in text and "output of your code during the hidden tests is not shown" in text, text
    # every ARGS line on the page comes from a visible part of some test (the page shows no more than that)
    shown = sum("".join(o.get("text", "") for o in c.outputs).count("ARGS:") for c in graded_nb.cells
                if c.cell_type == "code")
    in_code = sum(c.source.count("ARGS:") for c in graded_nb.cells if not cells.is_test(c))
    assert visible == shown + in_code, (visible, shown, in_code)


def test_regrading_serially_gives_the_same_result(graded):
    out = graded["out"]
    subset = ["correct-000", "fault-os-exit", "hack-numpy-patch", "wrong-plain", "fault-empty-folder"]
    res = grade_chapter(CHAPTER, out / "demo" / "submitted", out, jobs=1, learners=subset,
                        limits=sandbox.Limits(cell_timeout=4, notebook_timeout=60), progress=False)
    for learner in subset:
        got = {g: c.score for g, c in res.results[learner].cells.items()}
        assert got == _cells(graded, learner), learner
    with sqlite3.connect(out / "course" / "gradebook.db") as db:
        assert db.execute("select count(*) from submitted_assignment").fetchone()[0] == len(graded["rows"])


def test_without_bubblewrap_grading_still_works_and_warns(tmp_path):
    stage = tmp_path / "stage"
    sandbox.stage_library(stage, "neuron", [])
    slot = sandbox.Slot(stage, "neuron", sandbox.Limits(cell_timeout=5, notebook_timeout=30), sandbox=False)
    try:
        assert not slot.sandboxed
        msg = sandbox.warn_if_unsandboxed(False)
        assert msg and "WITHOUT" in msg
        src = read(solution_path(CHAPTER))
        tests = {cells.grade_id(c): c.source for c in src.cells if cells.is_test(c)}
        run = judge.run_notebook(slot, src.cells, tests, cells.solution_names(src), None)
        errors = {i: o for i, o in run.outputs.items() if any(x["output_type"] == "error" for x in o)}
        assert not errors and len(run.outputs) > len(tests)
    finally:
        slot.destroy()


def test_zip_is_unpacked_safely(tmp_path):
    import zipfile

    from autograde.grader.driver import find_learners
    from autograde.intake import unpack_zip
    z = tmp_path / "class.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("export/submitted/ana/01_neuron/01_neuron.ipynb", "{}")
        f.writestr("export/submitted/bo/01_neuron/01_neuron.ipynb", "{}")
        f.writestr("../../evil.txt", "outside")
        f.writestr("__MACOSX/._junk", "")
    root = unpack_zip(z, tmp_path / "unzipped")
    assert root == tmp_path / "unzipped" / "export" / "submitted"
    assert find_learners(root) == ["ana", "bo"]
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_sandbox_binds_an_interpreter_under_tmp_after_its_private_tmp(monkeypatch, tmp_path):
    """bwrap mounts in order: a venv under /tmp (a CI checkout) must be bound after the private /tmp, not hidden by it."""
    captured = {}

    class FakePopen:
        def __init__(self, cmd, **kwargs):
            captured["cmd"] = cmd

        def poll(self):
            return 0

    monkeypatch.setattr(sandbox_slot.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(sandbox_slot, "bwrap_available", lambda: (True, "test"))
    monkeypatch.setattr(sandbox_slot.sys, "prefix", "/tmp/a-ci-checkout/.venv")
    for sub in ("grader", "lib", "mpl"):
        (tmp_path / sub).mkdir()
    sandbox.Slot(tmp_path, None, sandbox.Limits(), sandbox=True)
    cmd = captured["cmd"]
    tmpfs = cmd.index("--tmpfs")
    assert cmd[tmpfs + 1] == "/tmp"
    binds = [i for i, arg in enumerate(cmd[:-3]) if arg in ("--ro-bind", "--bind") and cmd[i + 2].startswith("/tmp")]
    assert binds, "the venv under /tmp is not bound at all"
    assert all(i > tmpfs for i in binds), f"--tmpfs /tmp (argument {tmpfs}) would hide the binds at {binds}"


def test_grading_works_with_the_python_installation_under_tmp(tmp_path):
    """A CI checkout under /tmp puts the virtual environment there: every learner's fresh /tmp must not hide
    it (a module the warm kernel had not imported yet would be missing: "No module named IPython.core...")."""
    import subprocess
    import sys
    import sysconfig

    assert str(tmp_path).startswith("/tmp/")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    site.rmdir()
    site.symlink_to(sysconfig.get_paths()["purelib"])    # reached only through the path under /tmp
    code = ("import sys; from autograde.course import grade_submissions\n"
            f"r = grade_submissions({CHAPTER!r}, {{'ana': {str(solution_path(CHAPTER))!r}}}, {str(tmp_path / 'w')!r})['ana']\n"
            "print('TOTAL', r.total, r.max_total, sys.prefix)\n"
            "print('ERRORS', {g: c.errors for g, c in r.cells.items() if c.errors})")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"TOTAL {FULL} {FULL} {venv}" in out.stdout, out.stdout


def test_the_judge_shell_leaves_the_graders_main_module_alone():
    """The judge's IPython shell is embedded in the grader: sys.modules['__main__'] stays the grader's, so a
    Dask LocalCluster (multiprocessing spawn) still starts in a process that graded in the judge before."""
    import sys

    before = sys.modules["__main__"]
    shell = judge.judge_shell()
    result = shell.run_cell("def where():\n    return __name__\nwhere()", store_history=False)
    assert result.result == "__main__" and sys.modules["__main__"] is before
