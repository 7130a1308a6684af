"""What ``nnbook-grade`` writes for the instructor: ``grades.csv``, ``summary.txt`` and the feedback pages.

Everything here reads the graded course (``OUT/course``) and the :class:`ClassResult` of each chapter.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from . import cells, inert


def exercise_ids(root: Path, chapter: str) -> list[str]:
    """Grade ids of the chapter's autograded test cells, in the order of the release."""
    return cells.test_ids(nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4))


def write_reports(out: Path, classes: list, state: dict | None = None) -> str:
    """grades.csv, feedback/<learner>/<chapter>.html and summary.txt in ``out``; return the summary."""
    from .lms import write_grades

    out = Path(out).resolve()
    root = out / "course"
    write_grades(out, classes, state)                       # grades.csv: scores, times, lateness, penalties
    fb = out / "feedback"
    for c in classes:
        for l in c.results:
            src = root / "feedback" / l / c.chapter / f"{c.chapter}.html"
            if src.exists():
                (fb / l).mkdir(parents=True, exist_ok=True)
                shutil.copy(src, fb / l / f"{c.chapter}.html")
    lines = []
    for c in classes:
        n = getattr(c, "graded", len(c.results))            # intake.finish: --student regrades only some
        lines.append(f"== {c.chapter}: {n} learners graded in {c.seconds:.1f} s "
                     f"({c.seconds / max(n, 1):.2f} s per notebook; "
                     + ", ".join(f"{k} {v:.1f} s" for k, v in c.timing.items()) + ")")
        if getattr(c, "stats", None):
            lines.append("   on the Dask cluster: " + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in c.stats.items()))
        width = max([len(inert.csv_cell(l)) for l in c.results] + [7])
        for l, r in sorted(c.results.items()):
            mark = f"  !! {r.problem}" if r.problem else ""
            score = "  GRADER ERROR" if r.grader_error else f"{r.total:5g} / {r.max_total:<5g}"
            lines.append(f"  {inert.csv_cell(l):<{width}}  {score}{mark}")
        if c.grader_errors:
            lines.append(f"  !! {len(c.grader_errors)} learner(s) could not be graded because of a grader error")
    lines.append(f"grades: {out / 'grades.csv'}")
    lines.append(f"feedback pages: {fb}/<learner>/<chapter>.html")
    text = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(text)
    return text
