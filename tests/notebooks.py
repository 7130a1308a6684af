"""Test helpers shared by every chapter's tests-of-tests.

A *mutant* is the solution notebook with one solution cell replaced by a typical
wrong answer; grading it through the real nbgrader must cost that exercise points.
"""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent


def solution_path(chapter: str) -> Path:
    return REPO / "solutions" / chapter / f"{chapter}.ipynb"


def learner_path(chapter: str) -> Path:
    return REPO / "chapters" / chapter / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def graded_test_ids(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def with_cells(nb, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cells with the given grade ids get new source code."""
    new = copy.deepcopy(nb)
    todo = dict(replacements)
    for cell in new.cells:
        gid = grade_id(cell)
        if gid in todo:
            cell.source = textwrap.dedent(todo.pop(gid)).strip("\n")
    if todo:
        raise KeyError(f"no cells with grade ids {sorted(todo)}")
    return new


def mutant_submissions(chapter: str, mutants: dict[str, list[tuple[str, str]]]) -> dict[str, nbformat.NotebookNode]:
    """{student_id: notebook} with one wrong answer each; student ids are ``<grade_id>--<label>``."""
    solution = read(solution_path(chapter))
    subs = {}
    for gid, variants in mutants.items():
        for label, source in variants:
            subs[f"{gid}--{label}"] = with_cells(solution, {gid: source})
    return subs
