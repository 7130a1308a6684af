"""autograde.report: the class report's numbers, grouping and escaping (from known results)."""
import base64
import html
import re
import shutil
from pathlib import Path

import pytest

from autograde import report
from autograde.course import CellResult, NotebookResult
from autograde.grader.driver import ClassResult
from autograde.reports import exercise_ids
import nbformat
from notebooks import learner_path

CH = "01_neuron"
EVIL = "<script>alert('x')</script><img src=x onerror=alert(1)>"


def make_class(out: Path) -> ClassResult:
    """Six learners of chapter 01: 3 full marks, 2 with the same mistake (different numbers), 1 not graded."""
    release = out / "course" / "release" / CH
    release.mkdir(parents=True)
    shutil.copy(learner_path(CH), release / f"{CH}.ipynb")
    ids = exercise_ids(out / "course", CH)
    from autograde import cells
    full = {cells.grade_id(c): float(c.metadata["nbgrader"]["points"])
            for c in nbformat.read(learner_path(CH), as_version=4).cells if cells.is_test(c)}
    assert set(ids) == set(full) and "test_weighted_sum" in full

    def nb(student, lose=None, msg=None, problem=None):
        cells = {}
        for gid, pts in full.items():
            score = 0.0 if gid == lose else float(pts)
            cells[gid] = CellResult(gid, score, float(pts), [msg] if gid == lose and msg else [])
        return NotebookResult(student, CH, cells, problem)

    results = {
        "ana": nb("ana"), "bo": nb("bo"), "cy": nb("cy"),
        "dee": nb("dee", "test_weighted_sum", "AssertionError: weighted_sum: expected 3.5, got 2.5\nHint: bias"),
        EVIL: nb(EVIL, "test_weighted_sum", f"AssertionError: weighted_sum: expected 1.25, got 0.25\nHint {EVIL}"),
        "zed": NotebookResult("zed", CH, {g: CellResult(g, 0.0, float(p)) for g, p in full.items()},
                              "no submission: invalid.ipynb is not a valid notebook (JSONDecodeError: <b>)"),
    }
    return ClassResult(CH, results)


def test_numbers_and_groups(tmp_path):
    c = make_class(tmp_path)
    stats = {s["grade_id"]: s for s in report.chapter_stats(c, exercise_ids(tmp_path / "course", CH))}
    ws = stats["test_weighted_sum"]
    assert ws["n"] == 5 and ws["passed"] == 3 and ws["rate"] == pytest.approx(0.6)   # zed is left out
    assert sorted(ws["scores"]) == [0, 0, 2, 2, 2]
    # one group: the numbers differ, the mistake is the same
    assert len(ws["failures"]) == 1
    key, who = ws["failures"][0]
    assert key == "AssertionError: weighted_sum: expected #, got #"
    assert sorted(sid for sid, _ in who) == sorted(["dee", EVIL])
    assert stats["test_perceptron"]["rate"] == 1.0 and stats["test_perceptron"]["failures"] == []


def test_page_escapes_everything_and_embeds_images(tmp_path):
    c = make_class(tmp_path)
    state = {"refused": {"link-folder": "the learner folder 'link-folder' is a symbolic link"},
             "notes": [f"zip entry '../x' points outside the upload {EVIL}"], "learners": {}}
    page = report.render(tmp_path, [c], state)
    assert "<script" not in page and "onerror=alert" not in page.replace(html.escape("onerror=alert"), "")
    assert html.escape(EVIL) in page
    # pass rates, failure counts and the not-graded list
    assert "3 / 5" in page and "60 %" in page
    assert "zed" in page and "not a valid notebook" in page and "link-folder" in page
    imgs = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(imgs) == 1 + len(exercise_ids(tmp_path / "course", CH))   # the chapter's totals, one per exercise
    for data in imgs:
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Content-Security-Policy" in page and "<script" not in page
