"""A throw-away nbgrader course in a folder: release a chapter, take submissions, autograde them.

Everything here drives the real nbgrader (``generate_assignment``, ``autograde``,
its sqlite gradebook); this module only lays out the course directory and reads
the results back. The test suite grades solution notebooks, learner notebooks
and deliberately wrong submissions through it::

    results = grade_submissions("01_neuron", {"alice": nb_or_path}, workdir)
    results["alice"].total, results["alice"].cells["test_weighted_sum"].errors
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import paths


def _ensure_bin_on_path() -> None:
    # nbgrader shells out to `alembic`, which lives next to this interpreter.
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


@dataclass
class CellResult:
    """The autograded outcome of one graded test cell."""
    grade_id: str
    score: float
    max_score: float
    errors: list[str] = field(default_factory=list)   # "ename: evalue" of each error output
    stdout: str = ""


@dataclass
class NotebookResult:
    """The autograded outcome of one learner's notebook for one chapter."""
    student: str
    chapter: str
    cells: dict[str, CellResult]
    problem: str | None = None                         # why grading could not complete, if it could not

    @property
    def total(self) -> float:
        return sum(c.score for c in self.cells.values())

    @property
    def max_total(self) -> float:
        return sum(c.max_score for c in self.cells.values())


def _config(root: Path, extra: dict | None = None):
    from traitlets.config import Config, PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(paths.autograde_dir())).load_config()
    config.merge(Config({
        "CourseDirectory": {"root": str(root), "source_directory": "source",
                            "release_directory": "release", "db_url": f"sqlite:///{root}/gradebook.db"},
        "Application": {"log_level": "WARN"},
    }))
    if extra:
        config.merge(Config(extra))
    return config


def prepare_course(root: Path, chapter: str, extra_config: dict | None = None):
    """Copy the chapter's source into ``root/source`` and release it there; return the nbgrader API."""
    from nbgrader.apps import NbGraderAPI

    _ensure_bin_on_path()
    # Grading needs no pictures: the non-interactive backend skips rendering every figure to PNG
    # (about 1.5 s per notebook). Kernels inherit this process's environment.
    os.environ["MPLBACKEND"] = "agg"
    root.mkdir(parents=True, exist_ok=True)
    src = root / "source" / chapter
    if not src.exists():
        shutil.copytree(paths.solutions_dir() / chapter, src)
    api = NbGraderAPI(config=_config(root, extra_config))
    result = api.generate_assignment(chapter, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {chapter} failed:\n{result['log']}\n{result.get('error')}")
    return api


def write_submission(submitted: Path, chapter: str, student: str, notebook) -> None:
    """Lay out one submission as ``submitted/<student>/<chapter>/<chapter>.ipynb`` (replacing any earlier one)."""
    folder = Path(submitted) / student / chapter
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    target = folder / f"{chapter}.ipynb"
    if isinstance(notebook, (str, Path)):
        shutil.copy(notebook, target)
    elif isinstance(notebook, bytes):
        target.write_bytes(notebook)
    else:
        nbformat.write(notebook, target)


def read_results(root: Path, chapter: str, students: list[str]) -> dict[str, NotebookResult]:
    """Scores from nbgrader's gradebook, error messages from the autograded notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    results = {}
    with Gradebook(f"sqlite:///{root}/gradebook.db") as gb:
        for student in students:
            cells: dict[str, CellResult] = {}
            problem = None
            try:
                sub = gb.find_submission_notebook(chapter, chapter, student)
                for grade in sub.grades:
                    if grade.cell_type != "code" or grade.max_score == 0:
                        continue
                    cells[grade.name] = CellResult(grade.name, float(grade.score or 0.0), float(grade.max_score))
            except MissingEntry:
                problem = "not graded: nbgrader recorded no submission"
            nb_path = root / "autograded" / student / chapter / f"{chapter}.ipynb"
            if nb_path.exists():
                nb = nbformat.read(nb_path, as_version=4)
                for cell in nb.cells:
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    if gid in cells:
                        for out in cell.get("outputs", []):
                            if out.output_type == "error":
                                cells[gid].errors.append(f"{out.ename}: {out.evalue}")
                            elif out.output_type == "stream" and out.name == "stdout":
                                cells[gid].stdout += out.text
            results[student] = NotebookResult(student, chapter, cells, problem)
    return results


def grade_submissions(chapter: str, submissions: dict, workdir: Path,
                      extra_config: dict | None = None) -> dict[str, NotebookResult]:
    """Autograde ``submissions`` ({student: notebook node, path or raw bytes}) through the class pipeline.

    The learners' code runs in sandboxed kernels and the graded test cells in a trusted
    judge (``autograde.pipeline``); nbgrader's own autograde then scores the recorded
    outputs in its gradebook (``workdir/course/gradebook.db``). Learners are graded in
    parallel on all cores.
    """
    from .pipeline import grade_submissions as _grade

    return _grade(chapter, submissions, Path(workdir), extra_config=extra_config)


def grade_submissions_stock(chapter: str, submissions: dict, workdir: Path,
                            extra_config: dict | None = None) -> dict[str, NotebookResult]:
    """The same with stock nbgrader (one kernel per notebook, in this process): the benchmark's baseline."""
    root = Path(workdir)
    api = prepare_course(root, chapter, extra_config)
    for student, notebook in submissions.items():
        write_submission(root / "submitted", chapter, student, notebook)
    # One nbgrader run for the whole batch ("*" = every submitted student).
    result = api.autograde(chapter, "*", force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader autograde {chapter} failed:\n{result['log']}\n{result.get('error')}")
    return read_results(root, chapter, list(submissions))
