"""Test helpers shared by every chapter's tests-of-tests.

A *mutant* is the solution notebook with one solution cell replaced by a typical
wrong answer; grading it through the real nbgrader must cost that exercise points.
"""
from __future__ import annotations

import copy
import textwrap
from pathlib import Path

import nbformat

from autograde import paths

REPO = paths.course_root()


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


# ---- the checks every chapter's tests of the tests make -------------------------------------------

def exercise_ids(chapter: str) -> set[str]:
    """Grade ids of the chapter's solution (exercise) cells."""
    return {grade_id(c) for c in read(solution_path(chapter)).cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def mutant_ids(mutants: dict) -> list[str]:
    """Student ids of the mutant submissions, for ``pytest.mark.parametrize``."""
    return [f"{gid}--{label}" for gid, variants in mutants.items() for label, _ in variants]


def assert_mutants_cover_every_exercise(chapter: str, mutants: dict, test_cells: dict | None = None,
                                        min_exercises: int = 4) -> None:
    """Every exercise has >= 3 wrong answers; every graded test cell belongs to one exercise."""
    exercises = exercise_ids(chapter)
    assert exercises == set(mutants), f"exercises without wrong answers to test: {sorted(exercises ^ set(mutants))}"
    assert len(exercises) >= min_exercises
    assert all(len(v) >= 3 for v in mutants.values()), {g: len(v) for g, v in mutants.items() if len(v) < 3}
    solutions = {grade_id(c): c.source for c in read(solution_path(chapter)).cells if grade_id(c) in exercises}
    unmarked = {g: "\n".join(l for l in src.splitlines() if "SOLUTION" not in l).strip() for g, src in solutions.items()}
    same = [f"{g}--{label}" for g, variants in mutants.items() for label, src in variants
            if textwrap.dedent(src).strip() == unmarked[g]]
    assert not same, f"these 'wrong answers' are the solution itself: {same}"
    cells = {t for e in exercises for t in (test_cells or {}).get(e, [f"test_{e}"])}
    assert cells == set(graded_test_ids(read(solution_path(chapter)))), "every graded test cell belongs to one exercise"


def assert_full_marks(result, chapter: str, total: float) -> None:
    """The solution, graded as a submission: no problem noted, every test cell at full marks."""
    assert result.problem is None, result.problem
    assert len(result.cells) == len(graded_test_ids(read(solution_path(chapter))))
    failed = {g: c.errors for g, c in result.cells.items() if c.score < c.max_score}
    assert not failed, f"the solution lost points: {failed}"
    assert result.total == result.max_total == total


def assert_stubs_score_zero(result) -> None:
    """The untouched learner notebook: 0 points, and every failure is the stub's NotImplementedError."""
    assert result.total == 0, {g: c.score for g, c in result.cells.items()}
    for gid, cell in result.cells.items():
        assert cell.errors and all(e.startswith("NotImplementedError") for e in cell.errors), (gid, cell.errors)


def assert_warning_costs_nothing(result, test_id: str, warning_text: str) -> None:
    """A correct answer that makes NumPy warn keeps full marks; the warning reached the learner on stdout."""
    assert result.total == result.max_total, {g: c.errors for g, c in result.cells.items() if c.errors}
    assert warning_text in result.cells[test_id].stdout, result.cells[test_id].stdout


def assert_mutant_caught(graded: dict, student: str, test_cells: dict | None = None) -> None:
    """A wrong answer loses points on its own exercise's test cell(s), each with a teaching AssertionError."""
    exercise = student.split("--")[0]
    ids = (test_cells or {}).get(exercise, [f"test_{exercise}"])
    lost = [graded[student].cells[t] for t in ids if graded[student].cells[t].score < graded[student].cells[t].max_score]
    assert lost, f"{student} kept all points of {ids}"
    for cell in lost:
        assert cell.errors and all(e.startswith("AssertionError") for e in cell.errors), (
            f"{student} should fail {cell.grade_id} with a teaching AssertionError, got {cell.errors}")
