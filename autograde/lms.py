"""Grades out: ``grades.csv`` and the files Canvas's and Moodle's grade imports accept.

Every cell we write goes through :func:`cell`: text starting with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return gets a leading single quote, so that no spreadsheet reads a learner's
name or a grader's note as a formula (OWASP "CSV injection"); numbers are written as numbers.

Formats (headers as the LMSs document them):

* **Canvas** (Grades > Import; Canvas Community guide "How do I import grades in the
  Gradebook?"): the columns ``Student, ID, SIS User ID, SIS Login ID, Section`` then one column
  per assignment, named like the assignment (Canvas offers to create assignments it does not
  know), an optional second row ``Points Possible``. This is the layout Canvas's own gradebook
  export writes and its import reads back (instructure/canvas-lms, ``app/models/course.rb``,
  the gradebook CSV: ``["Student", "ID"]``, ``"SIS User ID", "SIS Login ID"``, ``"Section"``,
  the assignments, then a ``Points Possible`` row). Canvas matches rows on ``ID`` (the Canvas
  user id: in a Canvas bulk download it is the number after the learner's name, which
  :mod:`autograde.intake` keeps), else on ``SIS User ID`` / ``SIS Login ID``.
* **Moodle**, gradebook import (Grade administration > Import > CSV file;
  ``grade/import/csv/classes/load_data.php``): any header; at import the instructor maps one
  column to the user (``userid``, ``username``, ``useridnumber`` or ``useremail``) and each other
  column to a grade item. We write ``Username, Full name`` then one column per chapter:
  map *Username* to *username* (the learner ids are taken to be Moodle usernames).
* **Moodle**, assignment grading worksheet (Assignment > "Upload grading worksheet";
  ``mod/assign/feedback/offline/importgradeslib.php`` finds the columns ``Identifier``,
  ``Grade`` and ``Last modified (grade)``): one file per chapter, rows
  ``Participant <id>`` -- the id in a Moodle download's folder name -- for learners that came
  from a Moodle download.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from . import inert, late

FORMULA_START = inert.FORMULA_STARTS        # what a spreadsheet reads as a formula


def cell(value) -> str:
    """A CSV cell that no spreadsheet evaluates: numbers as numbers, text never as a formula."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:g}"
    text = "" if value is None else str(value)
    try:
        float(text)
        return text                        # "-1.5" is a number, not a formula
    except ValueError:
        return inert.csv_cell(text)


def write_csv(path: Path, rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        for row in rows:
            w.writerow([cell(v) for v in row])


def _exercises(root: Path, chapter: str) -> list[str]:
    from .reports import exercise_ids
    return exercise_ids(root, chapter)


def table(out: Path, classes: list, state: dict | None = None) -> tuple[list[str], list[list]]:
    """The rows of ``grades.csv``: learner x exercise, with times, lateness and penalties."""
    out = Path(out)
    root = out / "course"
    people = (state or {}).get("learners", {})
    learners = sorted({sid for c in classes for sid in c.results})
    header = ["learner", "name"]
    ex = {c.chapter: _exercises(root, c.chapter) for c in classes}
    when = {c.chapter: late.times(root, c.chapter, learners) for c in classes}
    for c in classes:
        header += [f"{c.chapter}:{gid}" for gid in ex[c.chapter]]
        header += [f"{c.chapter}:submitted", f"{c.chapter}:late", f"{c.chapter}:penalty",
                   f"{c.chapter}:total", f"{c.chapter}:max"]
    header += ["total", "max", "problems"]
    rows = []
    for sid in learners:
        row = [sid, people.get(sid, {}).get("name", sid)]
        total = mx = 0.0
        notes = []
        for c in classes:
            r = c.results.get(sid)
            t = when[c.chapter].get(sid, {})
            if r is not None and r.grader_error:            # not graded: no score to show (nor a 0)
                row += [""] * len(ex[c.chapter]) + [t.get("submitted", ""), "", "", "", ""]
            else:
                for gid in ex[c.chapter]:
                    x = r.cells.get(gid) if r else None
                    row.append(x.score if x else 0.0)
                pen = t.get("penalty", 0.0)
                score = max(0.0, (r.total if r else 0.0) - pen)
                m = r.max_total if r else 0.0
                row += [t.get("submitted", ""), late.late_text(t.get("seconds_late", 0.0)), pen, score, m]
                total, mx = total + score, mx + m
            if r and r.problem:
                notes.append(f"{c.chapter}: {r.problem}")
        row += [total, mx, " | ".join(notes)]
        rows.append(row)
    return header, rows


def write_grades(out: Path, classes: list, state: dict | None = None) -> Path:
    header, rows = table(out, classes, state)
    path = Path(out) / "grades.csv"
    write_csv(path, [header] + rows)
    return path


def write_lms(out: Path, classes: list, kind: str, state: dict | None = None) -> list[Path]:
    """Write the import file(s) for ``kind`` (``canvas`` or ``moodle``) into ``out/lms/``."""
    header, rows = table(out, classes, state)
    people = (state or {}).get("learners", {})
    col = {h: i for i, h in enumerate(header)}
    chapters = [c.chapter for c in classes]
    maxima = {ch: max([r[col[f"{ch}:max"]] for r in rows] or [0.0]) for ch in chapters}
    dest = Path(out) / "lms"
    written = []
    if kind == "canvas":
        data = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *chapters],
                ["Points Possible", "", "", "", "", *[maxima[ch] for ch in chapters]]]
        for r in rows:
            sid = r[0]
            p = people.get(sid, {})
            canvas_id = p.get("lms_id", "") if p.get("source") == "Canvas" else ""
            data.append([p.get("name", sid), canvas_id, "", "" if canvas_id else sid, "",
                         *[r[col[f"{ch}:total"]] for ch in chapters]])
        path = dest / "canvas_grades.csv"
        write_csv(path, data)
        written.append(path)
    elif kind == "moodle":
        data = [["Username", "Full name", *chapters]]
        for r in rows:
            p = people.get(r[0], {})
            data.append([r[0], p.get("name", r[0]), *[r[col[f"{ch}:total"]] for ch in chapters]])
        path = dest / "moodle_grades.csv"
        write_csv(path, data)
        written.append(path)
        now = dt.datetime.now(dt.timezone.utc).strftime("%A, %d %B %Y, %I:%M %p")
        for ch in chapters:
            sheet = [["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)"]]
            for r in rows:
                p = people.get(r[0], {})
                if p.get("source") == "Moodle" and p.get("lms_id"):
                    sheet.append([f"Participant {p['lms_id']}", p.get("name", r[0]),
                                  r[col[f"{ch}:total"]], r[col[f"{ch}:max"]], now])
            if len(sheet) > 1:
                path = dest / f"moodle_worksheet_{ch}.csv"
                write_csv(path, sheet)
                written.append(path)
    else:
        raise ValueError(f"unknown LMS {kind!r}: canvas or moodle")
    return written
