"""Test helpers shared by every chapter's tests-of-tests.

A *mutant* is the solution notebook with one solution cell replaced by a typical
wrong answer; grading it through the real nbgrader must cost that exercise points.
"""
from __future__ import annotations

import copy
import re
import shutil
import tempfile
import textwrap
from pathlib import Path

import nbformat

from autograde import cells, paths

REPO = paths.course_root()


def solution_path(chapter: str) -> Path:
    return REPO / "solutions" / chapter / f"{chapter}.ipynb"


def learner_path(chapter: str) -> Path:
    return REPO / "chapters" / chapter / f"{chapter}.ipynb"


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


grade_id = cells.grade_id
graded_test_ids = cells.test_ids


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


def trimmed(nb) -> nbformat.NotebookNode:
    """The notebook without its demo cells (plots, timings, demo training runs).

    A learner may delete any cell that is neither graded nor exported; the autograder only needs the
    imports, the exercises, the exported helpers and the test cells. Mutants, variants and cascades are
    graded in this form to keep the suite fast (what the test cells decide does not depend on the demos);
    the solution and the learner notebook are graded whole, and stock ``nbgrader validate`` runs the
    variants in the whole learner notebook (:func:`assert_stock_validate_passes`)."""
    nb = nbformat.from_dict(copy.deepcopy(nb))
    nb.cells = [cell for cell in nb.cells
                if cell.cell_type != "code" or cell.metadata.get("nbgrader") or "#| export" in cell.source
                or cell.source.lstrip().startswith(("import ", "from "))]
    return nb


def mutant_submissions(chapter: str, mutants: dict[str, list[tuple[str, str]]],
                       trim: bool = True) -> dict[str, nbformat.NotebookNode]:
    """{student_id: notebook} with one wrong answer each; student ids are ``<grade_id>--<label>``.
    ``trim``: without the demo cells (:func:`trimmed`)."""
    solution = read(solution_path(chapter))
    if trim:
        solution = trimmed(solution)
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


def own_test_ids(student: str, test_cells: dict | None = None) -> list[str]:
    """The test cells of the exercise a ``<grade_id>--<label>`` submission rewrote."""
    exercise = student.split("--")[0]
    return (test_cells or {}).get(exercise, [f"test_{exercise}"])


def assert_hint_names_cause(graded: dict, student: str, hints: dict, test_cells: dict | None = None) -> None:
    """The failure message of ``student``'s own exercise contains ``hints[student]`` (the hint for its cause)."""
    errors = [e for t in own_test_ids(student, test_cells) for e in graded[student].cells[t].errors]
    assert any(hints[student] in e for e in errors), f"{student}: expected a hint with {hints[student]!r}, got {errors}"


def assert_others_keep_points(graded: dict, student: str, allowed=(), test_cells: dict | None = None,
                              exercise: str | None = None) -> None:
    """One mistake costs one exercise (``exercise``, default the one the student id names): no test cell
    outside it loses points, but those ``allowed``."""
    own = set(own_test_ids(exercise or student, test_cells))
    lost = {g: c.errors for g, c in graded[student].cells.items() if g not in own and c.score < c.max_score}
    assert set(lost) <= set(allowed), f"{student} (one mistake) also cost points on other exercises: {lost}"


def assert_mutant_caught(graded: dict, student: str, test_cells: dict | None = None,
                         hints: dict | None = None, isolated: bool = False) -> None:
    """A wrong answer loses points on its own exercise's test cell(s), each with a teaching AssertionError.

    ``hints`` ({student id: substring}) names, for the mutants where it matters, a piece of text the
    failure message must contain: the hint that names that mistake's actual cause. With ``isolated``,
    no other exercise may lose points (one mistake costs one exercise)."""
    ids = own_test_ids(student, test_cells)
    lost = [graded[student].cells[t] for t in ids if graded[student].cells[t].score < graded[student].cells[t].max_score]
    assert lost, f"{student} kept all points of {ids}"
    for cell in lost:
        assert cell.errors and all(e.startswith("AssertionError") for e in cell.errors), (
            f"{student} should fail {cell.grade_id} with a teaching AssertionError, got {cell.errors}")
    if (hints or {}).get(student):
        assert_hint_names_cause(graded, student, hints, test_cells)
    if isolated:
        assert_others_keep_points(graded, student, (), test_cells)


# ---- VARIANTS: correct answers written differently ------------------------------------------------
# A chapter's ``VARIANTS`` table has the shape of ``MUTANTS``: {exercise grade id: [(label, source), ...]}.
# Each variant is a correct implementation in another style; it must earn full marks from the grader
# (``grade_submissions``, hidden tests included) and pass stock nbgrader's Validate on the learner notebook.

_VARIANT_ROUND: dict[str, str] = {}     # variant id -> the combined submission that holds it (the last chapter's)


def variant_submissions(chapter: str, variants: dict[str, list[tuple[str, str]]],
                        trim: bool = True) -> dict[str, nbformat.NotebookNode]:
    """{"variants-<k>": the solution notebook with the k-th variant of *every* exercise}, k up to the longest
    list (shorter lists start over). Variants are all correct, so one notebook holds one of each exercise:
    a chapter's variants cost as many graded notebooks as its longest list, not one each (stock validate
    combines them the same way, :func:`combined_variant_notebooks`). :func:`assert_variant_full_marks`
    finds the notebook of a variant id ``<grade_id>--<label>``."""
    solution = read(solution_path(chapter))
    if trim:
        solution = trimmed(solution)
    rounds = max(len(v) for v in variants.values())
    out, where = {}, {}
    for k in range(rounds):
        chosen = {}
        for gid, v in variants.items():
            label, source = v[k % len(v)]
            chosen[gid] = source
            where.setdefault(f"{gid}--{label}", f"variants-{k}")
        out[f"variants-{k}"] = with_cells(solution, chosen)
    _VARIANT_ROUND.update(where)
    return out


variant_ids = mutant_ids


def assert_variants_cover_every_exercise(chapter: str, variants: dict, min_per_exercise: int = 3) -> None:
    """Every exercise has >= ``min_per_exercise`` correct variants, none of them the solution's own text."""
    exercises = exercise_ids(chapter)
    assert exercises == set(variants), f"exercises without correct variants: {sorted(exercises ^ set(variants))}"
    short = {g: len(v) for g, v in variants.items() if len(v) < min_per_exercise}
    assert not short, f"fewer than {min_per_exercise} variants: {short}"
    labels = [f"{g}--{label}" for g, v in variants.items() for label, _ in v]
    assert len(labels) == len(set(labels)), "variant labels must be unique per exercise"


def assert_variant_full_marks(graded: dict, student: str) -> None:
    """A correct answer written differently keeps every point of the chapter, with no note from the grader
    (graded in the notebook :func:`variant_submissions` put it in, next to correct variants of the others)."""
    name = _VARIANT_ROUND.get(student, student)
    result = graded[name]
    assert result.problem is None, f"{student} (in {name}): {result.problem}"
    lost = {g: c.errors for g, c in result.cells.items() if c.score < c.max_score}
    assert not lost, f"the correct variant {student} (graded in {name}, with a variant of every exercise) lost points: {lost}"


def combined_variant_notebooks(chapter: str, variants: dict) -> dict[str, nbformat.NotebookNode]:
    """Learner notebooks (as released) with the k-th variant of every exercise filled in, for every k.

    Variants are all correct, so one notebook can hold one variant of each exercise: stock nbgrader then
    validates a chapter's variants in a few kernel runs instead of one per variant."""
    learner = read(learner_path(chapter))
    rounds = max(len(v) for v in variants.values())
    out = {}
    for k in range(rounds):
        chosen = {gid: v[k % len(v)][1] for gid, v in variants.items()}
        out[f"variants-{k}"] = with_cells(learner, chosen)
    return out


def stock_validate(nb: nbformat.NotebookNode, folder: Path, name: str, timeout: int = 600) -> dict:
    """Run stock nbgrader's Validator (what the Validate button runs) on ``nb``; return its result dict.

    An empty dict means every visible test passed. Kernels use IPC transport (no TCP port races)."""
    from nbgrader.validator import Validator
    from traitlets.config import Config

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    # Each kernel gets sockets of its own (a short folder: a socket path must stay under 108 bytes).
    # The stalls once blamed on kernels side by side (both idle, the client waiting until the cell
    # timeout) came from the chapters' ipywidgets.interact cells under nbclient, which nbgrader runs
    # notebooks with; the chapters use nnbook.live.interact, which draws a still figure under nbgrader.
    sockets = Path(tempfile.mkdtemp(prefix="nbk-"))
    config = Config({"Execute": {"timeout": timeout, "startup_timeout": 300},
                     "KernelManager": {"transport": "ipc", "ip": str(sockets / "k")},
                     "Validator": {"validate_all": True}})
    try:
        return Validator(config=config).validate(str(path))
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def assert_stock_validate_passes(chapter: str, variants: dict, folder: Path) -> None:
    """Every combined variant notebook passes stock nbgrader validate (no failed, changed or retyped cell)."""
    problems = {}
    for name, nb in combined_variant_notebooks(chapter, variants).items():
        result = stock_validate(nb, folder, name)
        if result:
            problems[name] = {k: [c.get("raw_error", c.get("source", ""))[-800:] for c in v] for k, v in result.items()}
    assert not problems, f"stock nbgrader validate rejected correct variants: {problems}"


# ---- CASCADES: one mistake costs one exercise ------------------------------------------------------
# A chapter's ``CASCADES`` table: {label: (exercise grade id, wrong source, {other grade id: correct source})}.
# The submission has the wrong answer in the first exercise and, in the others, correct answers that call
# it; only the wrong exercise's test cells may lose points.

def cascade_submissions(chapter: str, cascades: dict) -> dict[str, nbformat.NotebookNode]:
    """{"cascade--<label>": solution notebook with one wrong exercise and correct ones that build on it}."""
    solution = trimmed(read(solution_path(chapter)))
    return {f"cascade--{label}": with_cells(solution, {gid: src, **(others or {})})
            for label, (gid, src, others) in cascades.items()}


def cascade_ids(cascades: dict) -> list[str]:
    return [f"cascade--{label}" for label in cascades]


def assert_only_its_own_exercise_loses(graded: dict, student: str, cascades: dict, test_cells: dict | None = None) -> None:
    """The wrong exercise loses points; every other exercise, even one that calls it, keeps full marks."""
    gid = cascades[student.split("--", 1)[1]][0]
    ids = own_test_ids(gid, test_cells)
    result = graded[student]
    assert result.problem is None, result.problem
    assert any(result.cells[t].score < result.cells[t].max_score for t in ids), f"{student}: {gid} kept its points"
    assert_others_keep_points(graded, student, (), test_cells, exercise=gid)


# ---- the Korean edition: the same tests of the tests, on the Korean notebooks --------------------------
# The Korean solution is the English one with its markdown cells translated (what nnbook-build makes
# chapters-ko/ from); the Korean learner notebook is chapters-ko/'s. A cheap pass: the solution, the
# learner notebook and the first mutant of every exercise, graded in one run.
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def korean_solution(chapter: str) -> nbformat.NotebookNode:
    from autograde.book import translations
    source = solution_path(chapter)
    return translations.translated_notebook(read(source), translations.load(source, "ko"))


def korean_learner_path(chapter: str) -> Path:
    return REPO / "chapters-ko" / chapter / f"{chapter}.ipynb"


def korean_submissions(chapter: str, mutants: dict[str, list[tuple[str, str]]]) -> dict[str, nbformat.NotebookNode]:
    """{"ko-solution", "ko-learner", "ko:<grade_id>--<label>" (first mutant of each exercise)}."""
    solution = korean_solution(chapter)
    subs = {"ko-solution": solution, "ko-learner": korean_learner_path(chapter)}
    short = trimmed(solution)
    for gid, variants in mutants.items():
        label, source = variants[0]
        subs[f"ko:{gid}--{label}"] = with_cells(short, {gid: source})
    return subs


# three English words in a row (outside `code`): a sentence left in English
ENGLISH_PROSE = re.compile(r"(?<![\w.])[A-Za-z]{2,}(?:[ \t]+[A-Za-z]{2,}){2,}(?![\w(])")


def english_prose(text: str) -> list[str]:
    """The runs of English words in ``text`` (code in backticks, and values such as ``nan`` or ``True``
    an array or a result prints, left out); [] for a Korean message."""
    text = re.sub(r"`[^`]*`", "", text)
    return ENGLISH_PROSE.findall(re.sub(r"\b(nan|inf|True|False|None)\b", "0", text))


def assert_korean_edition(graded: dict, chapter: str, total: float, mutants: dict,
                          test_cells: dict | None = None) -> None:
    """Full marks for the Korean solution, 0 for the Korean learner notebook, every first mutant
    caught with an AssertionError whose message is in Korean: Hangul, ``힌트:`` where the test gives a
    hint, and no English sentence left in it (the description of what was checked included)."""
    assert_full_marks(graded["ko-solution"], chapter, total)
    assert_stubs_score_zero(graded["ko-learner"])
    in_english = {}
    for gid, variants in mutants.items():
        student = f"ko:{gid}--{variants[0][0]}"
        result = graded[student]
        ids = own_test_ids(f"{gid}--x", test_cells)
        lost = [result.cells[t] for t in ids if result.cells[t].score < result.cells[t].max_score]
        assert lost, f"{student} kept all points of {ids}"
        for cell in lost:
            assert cell.errors and all(e.startswith("AssertionError") for e in cell.errors), (student, cell.errors)
            for e in cell.errors:
                if not HANGUL.search(e) or "Hint:" in e or english_prose(e.split(":", 1)[1]):
                    in_english[gid] = (e, english_prose(e))
    assert not in_english, f"messages not in Korean: {in_english}"
