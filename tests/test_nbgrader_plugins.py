"""The book's plug-ins inside nbgrader itself: ``nbgrader autograde`` (the command formgrader's button
runs) grades this course through the sandbox and the judge; a re-grade uses the current source; a
failure of the grader is reported as the grader's, never as a learner's 0."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograde import cli, paths
from autograde.course import grade_submissions, read_results
from autograde.grader import plugins
from autograde.grader.driver import course_config
from notebooks import read, solution_path, with_cells

CHAPTER = "01_neuron"
pytestmark = pytest.mark.slow

PROBE = f"""
import os
for what, path in [("solutions", {str(paths.source_notebook(CHAPTER))!r}), ("library", {str(paths.library_dir() / 'neuron.py')!r})]:
    try:
        open(path).read(10)
        print("LEAK", what)
    except OSError:
        print("BLOCKED", what)
try:   # inside the sandbox this path, if writable at all, is the sandbox's own: the host's stays untouched
    open({str(paths.course_root() / 'pwned.txt')!r}, "w").write("x")
except OSError:
    pass
import numpy as np
np.allclose = lambda *a, **k: True
"""


def test_nbgrader_autograde_command_grades_through_the_sandbox(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(paths.solutions_dir() / CHAPTER, course / "source" / CHAPTER)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(paths.nbgrader_config_file())!r})\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
        "c.SandboxedExecute.cell_timeout = 60\n")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    nbgrader = [str(Path(sys.executable).parent / "nbgrader")]
    r = subprocess.run(nbgrader + ["generate_assignment", CHAPTER, "--force"], cwd=course, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    solution = read(solution_path(CHAPTER))
    hostile = with_cells(solution, {"weighted_sum": "def weighted_sum(x, w, b):\n    return float(np.dot(w, x))"})
    hostile.cells.insert(3, nbformat.v4.new_code_cell(PROBE))
    for learner, nb in {"ana": solution, "mallory": hostile}.items():
        (course / "submitted" / learner / CHAPTER).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / learner / CHAPTER / f"{CHAPTER}.ipynb")
    r = subprocess.run(nbgrader + ["autograde", CHAPTER, "--force"], cwd=course, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    config = course_config(course)
    config.CourseDirectory.source_directory = "source"
    results = read_results(course, CHAPTER, ["ana", "mallory"], config)
    assert results["ana"].total == 17
    assert results["mallory"].total == 15           # the wrong weighted_sum costs its own 2 points
    graded = nbformat.read(course / "autograded" / "mallory" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    text = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "LEAK" not in text and text.count("BLOCKED") == 2, text
    assert not (paths.course_root() / "pwned.txt").exists()


def test_a_regrade_uses_the_current_source(tmp_path):
    # an old copy of the chapter whose first test cell always fails sits in the course already
    old = tmp_path / "course" / "source" / CHAPTER
    shutil.copytree(paths.solutions_dir() / CHAPTER, old)
    nb = read(old / f"{CHAPTER}.ipynb")
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_weighted_sum":
            c.source = "assert False, 'an old, broken test'"
    nbformat.write(nb, old / f"{CHAPTER}.ipynb")
    results = grade_submissions(CHAPTER, {"ana": solution_path(CHAPTER)}, tmp_path)
    assert results["ana"].total == 17, results["ana"].cells["test_weighted_sum"]


def test_a_grader_failure_is_not_a_learners_zero(tmp_path, monkeypatch):
    def broken(self, nb, resources):
        raise RuntimeError("the sandbox could not start (simulated)")
    monkeypatch.setattr(plugins.SandboxedExecute, "preprocess", broken)
    sub = tmp_path / "in" / "submitted" / "ana" / CHAPTER
    sub.mkdir(parents=True)
    shutil.copy(solution_path(CHAPTER), sub / f"{CHAPTER}.ipynb")
    code = cli.main([str(tmp_path / "in"), CHAPTER, "-o", str(tmp_path / "out"), "-j", "1", "-q", "--no-feedback"])
    assert code == 1
    with open(tmp_path / "out" / "grades.csv") as f:
        row = next(csv.DictReader(f))
    assert row[f"{CHAPTER}:total"] == "" and row[f"{CHAPTER}:test_weighted_sum"] == ""
    assert "GRADER ERROR" in row["problems"] and "simulated" in row["problems"]
    assert "GRADER ERROR" in (tmp_path / "out" / "summary.txt").read_text()


@pytest.mark.parametrize("change, valid", [
    ({}, True), ({"solution": True, "task": True}, False), ({"solution": True}, True), ({"grade": "yes"}, False), ({"points": -1}, False),
    ({"points": "10"}, False), ({"extra": 1}, False), ({"grade_id": 7}, False), ({"schema_version": 2}, False),
    ({"schema_version": 4}, False), ({"schema_version": "3"}, False), ({"locked": None}, False),
])
def test_metadata_check_decides_and_words_as_nbgrader_does(change, valid):
    """CheckCellMetadataOnce (nbgrader's CheckCellMetadata with the schema checked once, not per cell)
    accepts and refuses exactly the metadata nbgrader's own validator does, with the same error."""
    from nbgrader.nbgraderformat import MetadataValidator

    nb = read(solution_path(CHAPTER))
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))
    cell.metadata.nbgrader.update(change)
    outcomes = []
    for validator in (MetadataValidator, plugins.OnceCheckedValidator):
        try:
            validator().validate_nb(nb)
            outcomes.append(None)
        except Exception as e:  # noqa: BLE001 - the comparison is the point
            outcomes.append((type(e).__name__, str(e)))
    assert outcomes[0] == outcomes[1]
    assert (outcomes[0] is None) == valid, outcomes[0]
    config = plugins.autograde_config()["Autograde"]
    assert plugins.CheckCellMetadataOnce in config["sanitize_preprocessors"]
    assert plugins.CheckCellMetadataOnce in config["autograde_preprocessors"]
