"""Grading from Python: what the chapters' tests of the tests (and the benchmarks) call.

    results = grade_submissions("01_neuron", {"alice": nb_or_path}, workdir)
    results["alice"].total, results["alice"].cells["test_weighted_sum"].errors

:func:`grade_submissions` grades through the book's nbgrader plug-ins (sandbox + judge), exactly as
``nnbook-grade`` does; :func:`grade_submissions_stock` grades with stock nbgrader (its own
``Execute``: one Jupyter kernel per notebook), the baseline that parity tests and benchmarks compare with.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat

from .grader.driver import course_config, ensure_bin_on_path, grade_chapter, prepare_course
from .grader.gradebook import CellResult, NotebookResult, read_results

__all__ = ["CellResult", "NotebookResult", "grade_submissions", "grade_submissions_stock", "read_results",
           "stock_config", "write_submission"]


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


def grade_submissions(chapter: str, submissions: dict, workdir: Path, **kwargs) -> dict[str, NotebookResult]:
    """``{student: notebook node, path or raw bytes}`` -> ``{student: NotebookResult}``, graded as
    ``nnbook-grade`` grades (in parallel, sandboxed; no feedback pages unless ``feedback=True``)."""
    workdir = Path(workdir)
    raw = workdir / "raw"
    for student, notebook in submissions.items():
        write_submission(raw, chapter, student, notebook)
    kwargs.setdefault("progress", False)
    kwargs.setdefault("feedback", False)
    result = grade_chapter(chapter, raw, workdir, learners=list(submissions), **kwargs)
    if result.grader_errors:
        raise RuntimeError(f"the grader failed (not the learners): {result.grader_errors}")
    return result.results


def stock_config(root: Path, extra_config: dict | None = None):
    """The course's configuration with nbgrader's stock preprocessor lists (its own ``Execute``)."""
    from nbgrader.converters.autograde import Autograde
    from traitlets.config import Config

    config = course_config(root, extra_config)
    config.merge(Config({"Autograde": {
        "sanitize_preprocessors": list(Autograde.class_traits()['sanitize_preprocessors'].default()),
        "autograde_preprocessors": list(Autograde.class_traits()['autograde_preprocessors'].default())}}))
    return config


def grade_submissions_stock(chapter: str, submissions: dict, workdir: Path,
                            extra_config: dict | None = None) -> dict[str, NotebookResult]:
    """The same with stock nbgrader (one kernel per notebook, in this process): the baseline."""
    root = Path(workdir)
    # Grading needs no pictures: the non-interactive backend skips rendering every figure to PNG.
    os.environ["MPLBACKEND"] = "agg"
    config = stock_config(root, extra_config)
    api = prepare_course(root, chapter, config)
    for student, notebook in submissions.items():
        write_submission(root / "submitted", chapter, student, notebook)
    ensure_bin_on_path()
    # One nbgrader run for the whole batch ("*" = every submitted student).
    result = api.autograde(chapter, "*", force=True, create=True)
    if not result["success"]:
        raise RuntimeError(f"nbgrader autograde {chapter} failed:\n{result['log']}\n{result.get('error')}")
    return read_results(root, chapter, list(submissions), config)
