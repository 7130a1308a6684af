"""nnbook-grade on what an LMS hands out, end to end: a Canvas zip of a demo class of 40, with a
due date and a late penalty, Canvas and Moodle import files, regrading one learner; and the CSV
rules (formats as documented, nothing read as a formula)."""
import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograde import cli, demo_class, lms
from lms_layouts import as_canvas, as_moodle, canvas_name, zip_folder
from notebooks import learner_path

CH = "01_neuron"
FULL = 17.0
DUE = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
FAST = ["--cell-timeout", "10", "--notebook-timeout", "60", "-j", "2", "-q"]


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def rows_by(path: Path, key: str = "learner") -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return {r[key]: r for r in csv.DictReader(f)}


# ----------------------------------------------------------------------------- CSV rules (fast)
@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", "=HYPERLINK(\"http://x\")"])
def test_no_cell_is_a_formula(text):
    assert lms.cell(text) == "'" + text


@pytest.mark.parametrize("value, text", [(12.0, "12"), (10.8, "10.8"), (-1.5, "-1.5"), ("-1.5", "-1.5"),
                                         ("alice", "alice"), ("", ""), (None, "")])
def test_numbers_stay_numbers(value, text):
    assert lms.cell(value) == text


# ----------------------------------------------------------------------------- a graded Canvas class
@pytest.fixture(scope="module")
def canvas_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("canvas")
    manifest = demo_class.build(CH, 40, base / "demo")
    on_time = (DUE - dt.timedelta(hours=2)).timestamp()
    times = {l: on_time for l in manifest["learners"]}
    times["correct-001"] = (DUE + dt.timedelta(hours=30)).timestamp()        # 2 started days late
    times["correct-002"] = (DUE + dt.timedelta(minutes=5)).timestamp()       # 1 started day late
    ids = as_canvas(base / "demo", CH, base / "dl", late={"correct-001", "correct-002"}, times=times)
    # hostile additions: a formula for a name, a link to the solutions, and a 1 GiB bomb entry
    formula = base / "dl" / f"=HYPERLINK(x)_39001_99001_{CH}.ipynb"
    shutil.copy(base / "demo" / "submitted" / "correct-000" / CH / f"{CH}.ipynb", formula)
    os.utime(formula, (on_time, on_time))
    z = zip_folder(base / "dl", base / "canvas.zip")
    size = z.stat().st_size
    with zipfile.ZipFile(z, "a") as zf:
        link = zipfile.ZipInfo(f"mallory_39002_99002_{CH}.ipynb")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "../../solutions/01_neuron/01_neuron.ipynb")
        bomb = zipfile.ZipInfo(f"bomber_39003_99003_{CH}.ipynb")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(bomb, "w", force_zip64=True) as f:
            for _ in range(64):
                f.write(b"\0" * (1 << 24))
    assert z.stat().st_size - size < 2 * 2**20                               # the bomb adds about 1 MB
    out = base / "graded"
    rc = cli.main([str(z), CH, "-o", str(out), "--due", DUE.isoformat(), "--late-penalty", "10%/day",
                   "--lms", "canvas", "--lms", "moodle", *FAST])
    return base, manifest, ids, out, rc


@pytest.mark.slow
def test_canvas_zip_graded_exactly(canvas_class):
    base, manifest, ids, out, rc = canvas_class
    assert rc == 0
    rows = rows_by(out / "grades.csv")
    # every demo learner with a file, under its Canvas name, plus the three hostile ones
    assert set(rows) == {n for n, _ in ids.values()} | {"HYPERLINK_x", "mallory", "bomber"}
    for learner, info in manifest["learners"].items():
        if learner not in ids:
            continue
        r = rows[canvas_name(learner)]
        exp = info["expected"]
        penalty = float(r[f"{CH}:penalty"])
        raw = float(r[f"{CH}:total"]) + penalty
        if exp is None:
            assert raw < FULL, learner
        elif all(v is not None for v in exp.values()):
            assert raw == sum(exp.values()), (learner, r)
            for gid, v in exp.items():
                assert float(r[f"{CH}:{gid}"]) == v, (learner, gid)
    # the renamed learner came through the file name and was graded in full
    assert float(rows[canvas_name("fault-renamed")][f"{CH}:total"]) == FULL


@pytest.mark.slow
def test_lateness_and_penalty(canvas_class):
    base, manifest, ids, out, rc = canvas_class
    rows = rows_by(out / "grades.csv")
    late2 = rows[canvas_name("correct-001")]
    assert late2[f"{CH}:submitted"] == "2026-12-02T18:00:00+00:00"
    assert late2[f"{CH}:late"] == "1 d 6 h"
    assert float(late2[f"{CH}:penalty"]) == pytest.approx(3.4)            # 2 started days x 10 % of 17
    assert float(late2[f"{CH}:total"]) == pytest.approx(13.6)
    late1 = rows[canvas_name("correct-002")]
    assert float(late1[f"{CH}:penalty"]) == pytest.approx(1.7)
    on_time = rows[canvas_name("correct-003")]
    assert on_time[f"{CH}:late"] == "" and float(on_time[f"{CH}:penalty"]) == 0
    assert on_time[f"{CH}:submitted"] == "2026-12-01T10:00:00+00:00"
    # nbgrader's own export shows the same due date, time, penalty and score
    exported = out / "export.csv"
    r = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(exported),
                        f"--CourseDirectory.root={out / 'course'}",
                        f"--CourseDirectory.db_url=sqlite:///{out / 'course' / 'gradebook.db'}"],
                       capture_output=True, text=True, cwd=out / "course",
                       env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"})
    assert r.returncode == 0, r.stderr
    ex = rows_by(exported, "student_id")
    e = ex[canvas_name("correct-001")]
    assert e["duedate"] == "2026-12-01 12:00:00" and e["timestamp"] == "2026-12-02 18:00:00"
    assert float(e["late_submission_penalty"]) == pytest.approx(3.4) and float(e["score"]) == pytest.approx(13.6)
    assert float(ex[canvas_name("correct-003")]["late_submission_penalty"]) == 0


@pytest.mark.slow
def test_hostile_uploads_noted_never_graded(canvas_class):
    base, manifest, ids, out, rc = canvas_class
    rows = rows_by(out / "grades.csv")
    assert float(rows["mallory"][f"{CH}:total"]) == 0 and "symbolic link" in rows["mallory"]["problems"]
    assert float(rows["bomber"][f"{CH}:total"]) == 0
    assert "zip bomb" in rows["bomber"]["problems"] or "MB" in rows["bomber"]["problems"]
    unpacked = sum(p.stat().st_size for p in (out / "intake").rglob("*") if p.is_file())
    assert unpacked < 200 * 2**20
    # the formula name: graded (it is the solution), written quoted, never as a formula
    f = rows["HYPERLINK_x"]
    assert float(f[f"{CH}:total"]) == FULL
    assert f["name"] == "'=HYPERLINK(x)"
    for path in [out / "grades.csv", *sorted((out / "lms").glob("*.csv"))]:
        for row in read_csv(path):
            for value in row:
                assert not value.startswith(lms.FORMULA_START) or value.lstrip("-").replace(".", "").isdigit(), \
                    (path.name, value)


@pytest.mark.slow
def test_canvas_import_file(canvas_class):
    base, manifest, ids, out, rc = canvas_class
    data = read_csv(out / "lms" / "canvas_grades.csv")
    # Canvas's gradebook import: these five columns, then one per assignment; "Points Possible" row
    assert data[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", CH]
    assert data[1] == ["Points Possible", "", "", "", "", "17"]
    by_id = {r[1]: r for r in data[2:]}
    for learner, (name, uid) in ids.items():
        assert by_id[uid][0] == name
    grades = rows_by(out / "grades.csv")
    assert by_id[ids["correct-001"][1]][5] == grades[canvas_name("correct-001")][f"{CH}:total"] == "13.6"
    assert by_id[ids["blank-000"][1]][5] == "0"
    assert len(data) - 2 == len(grades)


@pytest.mark.slow
def test_moodle_gradebook_file(canvas_class):
    base, manifest, ids, out, rc = canvas_class
    data = read_csv(out / "lms" / "moodle_grades.csv")
    assert data[0] == ["Username", "Full name", CH]
    assert {r[0] for r in data[1:]} == set(rows_by(out / "grades.csv"))


@pytest.mark.slow
def test_regrade_one_learner_keeps_the_others(canvas_class, tmp_path):
    base, manifest, ids, out, rc = canvas_class
    before = rows_by(out / "grades.csv")
    # the instructor lets correct-003 resubmit: a blank notebook this time, on time
    dl = tmp_path / "dl"
    shutil.copytree(base / "dl", dl)
    name, uid = ids["correct-003"]
    target = next(dl.glob(f"{name}_{uid}_*"))
    shutil.copy(learner_path(CH), target)
    t = (DUE - dt.timedelta(hours=1)).timestamp()
    os.utime(target, (t, t))
    rc2 = cli.main([str(dl), CH, "-o", str(out), "--student", name, "--due", DUE.isoformat(),
                    "--late-penalty", "10%/day", "--lms", "canvas", *FAST])
    assert rc2 == 0
    after = rows_by(out / "grades.csv")
    assert set(after) == set(before)
    assert float(after[name][f"{CH}:total"]) == 0 and float(before[name][f"{CH}:total"]) == FULL
    assert after[name][f"{CH}:submitted"] == "2026-12-01T11:00:00+00:00"
    for other in set(before) - {name}:
        assert after[other] == before[other], other
    canvas = {r[1]: r for r in read_csv(out / "lms" / "canvas_grades.csv")[2:]}
    assert canvas[uid][5] == "0" and len(canvas) == len(before)


def test_unknown_student_and_empty_upload_fail_loudly(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "alice_notes.txt").write_text("x")
    assert cli.main([str(empty), CH, "-o", str(tmp_path / "o"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "no learner's submission" in err and "Canvas bulk download" in err and "Moodle" in err
    assert not (tmp_path / "o" / "grades.csv").exists()


# ----------------------------------------------------------------------------- Moodle
@pytest.mark.slow
def test_moodle_download_graded_with_worksheet(tmp_path):
    manifest = demo_class.build(CH, 30, tmp_path / "demo")
    keep = ["correct-000", "blank-000", next(l for l in manifest["learners"] if l.startswith("wrong-"))]
    for d in (tmp_path / "demo" / "submitted").iterdir():
        if d.name not in keep:
            shutil.rmtree(d)
    ids = as_moodle(tmp_path / "demo", CH, tmp_path / "moodle")
    z = zip_folder(tmp_path / "moodle", tmp_path / "moodle.zip")
    out = tmp_path / "graded"
    assert cli.main([str(z), CH, "-o", str(out), "--lms", "moodle", *FAST]) == 0
    grades = rows_by(out / "grades.csv")
    assert float(grades[ids["correct-000"][0]][f"{CH}:total"]) == FULL
    assert grades[ids["correct-000"][0]]["name"] == "Correct 000"
    assert float(grades[ids["blank-000"][0]][f"{CH}:total"]) == 0
    sheet = read_csv(out / "lms" / f"moodle_worksheet_{CH}.csv")
    # Moodle's "Upload grading worksheet" needs these three columns by name
    assert {"Identifier", "Grade", "Last modified (grade)"} <= set(sheet[0])
    col = {h: i for i, h in enumerate(sheet[0])}
    by_id = {r[col["Identifier"]]: r for r in sheet[1:]}
    assert by_id[f"Participant {ids['correct-000'][1]}"][col["Grade"]] == "17"
    assert by_id[f"Participant {ids['blank-000'][1]}"][col["Grade"]] == "0"
    assert len(by_id) == 3
    state = json.loads((out / "course" / ".nnbook" / "learners.json").read_text())
    assert state["learners"][ids["correct-000"][0]]["lms_id"] == ids["correct-000"][1]
