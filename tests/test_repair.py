"""Submission repair (``RepairTestCells``): whatever the learner did to the notebook's structure or
metadata, the graded cells come back as released and the learner's own work is kept."""
import copy

import nbformat
import pytest

from autograde import cells
from autograde.grader.plugins import NOTES_KEY, add_notes, notes_of, repair
from notebooks import learner_path, read, solution_path

CHAPTER = "01_neuron"


@pytest.fixture
def release():
    return read(learner_path(CHAPTER))


def answered(release):
    """The release with the learner's answers (the solution's code) in the exercise cells."""
    nb = copy.deepcopy(release)
    solution = {cells.grade_id(c): c.source for c in read(solution_path(CHAPTER)).cells if cells.is_exercise(c)}
    for c in nb.cells:
        if cells.is_exercise(c):
            c.source = solution[cells.grade_id(c)]
    return nb


def graded_layout(nb):
    return [(cells.grade_id(c), c.cell_type, cells.nbgrader_meta(c).get("points")) for c in nb.cells
            if cells.grade_id(c)]


def test_an_untouched_notebook_needs_no_repair(release):
    nb = answered(release)
    notes = repair(nb, release)
    assert notes == []
    assert graded_layout(nb) == graded_layout(release)


def test_deleted_moved_and_retyped_test_cells_come_back_in_place(release):
    nb = answered(release)
    ids = cells.test_ids(release)
    nb.cells = [c for c in nb.cells if cells.grade_id(c) != ids[0]]                   # deleted
    i = next(i for i, c in enumerate(nb.cells) if cells.grade_id(c) == ids[1])
    nb.cells.insert(0, nb.cells.pop(i))                                                # moved to the top
    j = next(j for j, c in enumerate(nb.cells) if cells.grade_id(c) == ids[2])
    nb.cells[j] = nbformat.v4.new_markdown_cell(nb.cells[j].source, metadata=nb.cells[j].metadata)   # retyped
    notes = repair(nb, release)
    assert graded_layout(nb) == graded_layout(release)
    text = " ".join(notes)
    assert "deleted" in text and "moved" in text and "changed to markdown" in text
    for gid in ids:                                    # each test right after its exercise, as released
        k = next(k for k, c in enumerate(nb.cells) if cells.grade_id(c) == gid)
        rk = next(k for k, c in enumerate(release.cells) if cells.grade_id(c) == gid)
        assert cells.grade_id(nb.cells[k - 1]) == cells.grade_id(release.cells[rk - 1])


def test_forged_metadata_is_restored_from_the_course(release):
    nb = answered(release)
    ex = next(c for c in nb.cells if cells.is_exercise(c))
    ex.metadata["nbgrader"].update(grade=True, points=1000, solution=False, locked=True)
    nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": True, "points": 50, "grade_id": "bonus", "schema_version": 3}}))
    nb.cells.append(nbformat.v4.new_code_cell("y = 2", metadata={"nbgrader": {"grade": True, "points": 5}}))
    nb.cells.append(nbformat.v4.new_code_cell("z = 3", metadata={"nbgrader": "not a dict"}))
    notes = repair(nb, release)
    assert graded_layout(nb) == graded_layout(release)
    assert sum(float(cells.nbgrader_meta(c).get("points", 0)) for c in nb.cells) == \
        sum(float(cells.nbgrader_meta(c).get("points", 0)) for c in release.cells)
    assert [c.source for c in nb.cells[-3:]] == ["x = 1", "y = 2", "z = 3"]          # the code is kept
    assert all("nbgrader" not in c.metadata for c in nb.cells[-3:])
    text = " ".join(notes)
    assert "restored from the course" in text and "claimed grading metadata" in text


def test_duplicated_cells_keep_one_graded_copy(release):
    nb = answered(release)
    ex = next(i for i, c in enumerate(nb.cells) if cells.is_exercise(c))
    test = next(i for i, c in enumerate(nb.cells) if cells.is_test(c))
    nb.cells.insert(test + 1, copy.deepcopy(nb.cells[test]))
    nb.cells.insert(ex + 1, copy.deepcopy(nb.cells[ex]))
    notes = repair(nb, release)
    assert graded_layout(nb) == graded_layout(release)
    assert " ".join(notes).count("more than once") == 2


def test_a_retyped_exercise_is_code_again(release):
    nb = answered(release)
    i = next(i for i, c in enumerate(nb.cells) if cells.is_exercise(c))
    nb.cells[i] = nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)
    notes = repair(nb, release)
    assert nb.cells[i].cell_type == "code" and "def " in nb.cells[i].source
    assert any("restored as code" in n for n in notes)


def test_junk_cells_are_dropped_and_said(release):
    nb = answered(release)
    nb.cells.insert(1, {"cell_type": "widget", "source": "x", "metadata": {}})
    nb.cells.insert(1, 42)
    nb.cells.insert(1, {"cell_type": "code", "source": ["print(1)\n", "print(2)"], "metadata": [],
                        "outputs": [{"output_type": "stream", "name": "stdout", "text": "fake"}]})
    notes = repair(nb, release)
    assert graded_layout(nb) == graded_layout(release)
    mine = nb.cells[1]
    assert mine.source == "print(1)\nprint(2)" and mine.outputs == [] and isinstance(mine.metadata, dict)
    assert sum("not a code, markdown or raw cell" in n for n in notes) == 2


def test_notes_are_inert_markdown_and_can_be_read_back():
    nb = nbformat.v4.new_notebook()
    add_notes(nb, ["notebook named <img src=x onerror=alert(1)>.ipynb", "second *note*"])
    add_notes(nb, ["third"])
    cell = nb.cells[0]
    assert notes_of(nb) == ["notebook named <img src=x onerror=alert(1)>.ipynb", "second *note*", "third"]
    assert "<img" not in cell.source and "&lt;img" in cell.source and "\\*note\\*" in cell.source
    assert len([c for c in nb.cells if NOTES_KEY in c.metadata]) == 1
