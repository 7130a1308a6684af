"""The instructor's class report: one self-contained HTML page per run (``OUT/report.html``).

Per chapter: the score distribution, lateness, and per graded exercise (test cell) the pass
rate, a score histogram (matplotlib, embedded as PNG data, so the page reads offline and can be
mailed), and the most frequent failure messages grouped (numbers in a message are masked when
grouping, so "expected 3.5, got 2.0" and "expected 1.0, got 0.0" count as one mistake), with
counts and who made them. Then every learner who could not be graded and why, and every other
note. Everything that comes from a submission (names, messages, notes) is HTML-escaped; the page
has no script.
"""
from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

from . import late

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
NOT_GRADABLE = ("no submission", "not a valid notebook", "submission folder is empty", "has no notebook",
                "grading failed", "not graded", "nbgrader autograde failed")

CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
h1{font-size:1.6em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;
vertical-align:top;text-align:left}th{background:#f0f0f0}td.num{text-align:right}
.bar{background:#4a7;height:.8em;display:inline-block}.msg{font-family:monospace;white-space:pre-wrap;
max-width:40em;word-break:break-word}
table.failures td.msg{min-width:24em}table.failures td.who{min-width:10em}.who{color:#555;font-size:.9em;max-width:20em}
img.hist{width:260px;height:auto}.muted{color:#777}
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def histogram(scores: list[float], max_score: float, title: str) -> str:
    """A histogram of ``scores`` (0..max) as a PNG data URL."""
    import matplotlib
    matplotlib.use("agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(3.2, 1.8))
    top = max(max_score, max(scores or [0.0]), 1e-9)
    n_bins = int(min(10, max(1, round(top)))) + 1 if float(top).is_integer() else 10
    edges = np.linspace(-top / (2 * (n_bins - 1 or 1)), top + top / (2 * (n_bins - 1 or 1)), n_bins + 1) \
        if n_bins > 1 else np.array([-0.5, 0.5])
    ax.hist(scores, bins=edges, color="#4a7", edgecolor="white")
    ax.set_xlabel("score")
    ax.set_ylabel("learners")
    ax.set_title(title, fontsize=9)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def failure_key(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else "(no message)"
    return NUMBER.sub("#", first)[:300]


def chapter_stats(c, exercises: list[str]) -> list[dict]:
    """Per exercise: max, scores, pass rate, failure groups (learners not gradable left out)."""
    rows = []
    gradable = {sid: r for sid, r in c.results.items() if not _not_gradable(r)}
    for gid in exercises:
        scores, fails = [], defaultdict(list)
        mx = 0.0
        for sid, r in sorted(gradable.items()):
            x = r.cells.get(gid)
            if x is None:
                continue
            mx = max(mx, x.max_score)
            scores.append(x.score)
            if x.score < x.max_score:
                msgs = x.errors or ["(lost points without an error message)"]
                fails[failure_key(msgs[0])].append((sid, msgs[0]))
        passed = sum(1 for s in scores if s >= mx > 0)
        groups = sorted(fails.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        rows.append({"grade_id": gid, "max": mx, "scores": scores, "n": len(scores), "passed": passed,
                     "rate": passed / len(scores) if scores else 0.0, "failures": groups})
    return rows


def _not_gradable(r) -> bool:
    return bool(r.problem) and any(k in r.problem for k in NOT_GRADABLE) and r.total == 0


def render(out: Path, classes: list, state: dict | None = None, title: str = "Class report") -> str:
    from .reports import exercise_ids
    out = Path(out)
    root = out / "course"
    state = state or {}
    people = state.get("learners", {})
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
             f"style-src 'unsafe-inline'\"><title>{_e(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{_e(title)}</h1>"]
    learners = sorted({sid for c in classes for sid in c.results})
    parts.append(f"<p>{len(learners)} learners, chapters {_e(', '.join(c.chapter for c in classes))}. "
                 "Learners who could not be graded are left out of the pass rates and histograms.</p>")
    for c in classes:
        ex = exercise_ids(root, c.chapter)
        stats = chapter_stats(c, ex)
        times = late.times(root, c.chapter, sorted(c.results))
        totals = [r.total - times.get(sid, {}).get("penalty", 0.0)
                  for sid, r in c.results.items() if not _not_gradable(r)]
        mx = max([r.max_total for r in c.results.values()] or [0.0])
        n_late = sum(1 for t in times.values() if t["seconds_late"] > 0)
        due = next((t["due"] for t in times.values() if t.get("due")), "")
        parts.append(f"<h2 id='ch-{_e(c.chapter)}'>{_e(c.chapter)}</h2>")
        parts.append(f"<p>{len(c.results)} learners; {len(totals)} graded; mean "
                     f"{(sum(totals) / len(totals) if totals else 0):.1f} of {mx:g}. "
                     + (f"Due {_e(due)}: {n_late} late, penalties {sum(t['penalty'] for t in times.values()):g} "
                        "points in all." if due else "No due date given (--due).") + "</p>")
        parts.append(f"<img class='hist' alt='histogram of {_e(c.chapter)} totals' "
                     f"src='{histogram(totals, mx, c.chapter + ' total')}'>")
        parts.append("<table class='exercises'><tr><th>exercise (test cell)</th><th>points</th><th>passed</th>"
                     "<th>pass rate</th><th>scores</th><th>most frequent failures</th></tr>")
        for s in stats:
            fails = "".join(
                f"<tr><td class='num'>{len(who)}</td><td class='msg'>{_e(who[0][1][:400])}</td>"
                f"<td class='who'>{_e(', '.join(sid for sid, _ in who[:8]))}{' …' if len(who) > 8 else ''}</td></tr>"
                for key, who in s["failures"][:5])
            fails = (f"<table class='failures'><tr><th>count</th><th>message (example)</th><th>learners</th></tr>"
                     f"{fails}</table>") if fails else "<span class='muted'>none</span>"
            parts.append(
                f"<tr class='exercise' data-grade-id='{_e(s['grade_id'])}'><td>{_e(s['grade_id'])}</td>"
                f"<td class='num'>{s['max']:g}</td><td class='num'>{s['passed']} / {s['n']}</td>"
                f"<td class='num rate'>{100 * s['rate']:.0f} %<br><span class='bar' "
                f"style='width:{int(60 * s['rate'])}px'></span></td>"
                f"<td><img class='hist' alt='histogram of {_e(s['grade_id'])}' "
                f"src='{histogram(s['scores'], s['max'], s['grade_id'])}'></td><td>{fails}</td></tr>")
        parts.append("</table>")
        if times:
            late_rows = "".join(
                f"<tr><td>{_e(sid)}</td><td>{_e(t['submitted'])}</td><td>{_e(late.late_text(t['seconds_late']))}</td>"
                f"<td class='num'>{t['penalty']:g}</td></tr>"
                for sid, t in sorted(times.items()) if t["seconds_late"] > 0)
            if late_rows:
                parts.append("<h3>Late submissions</h3><table class='late'><tr><th>learner</th><th>submitted</th>"
                             f"<th>late by</th><th>penalty</th></tr>{late_rows}</table>")
    bad, noted = [], []
    for c in classes:
        for sid, r in sorted(c.results.items()):
            if r.problem:
                (bad if _not_gradable(r) else noted).append((sid, c.chapter, r.problem))
    for raw, why in sorted(state.get("refused", {}).items()):
        bad.append((raw, "(all)", why))
    parts.append("<h2 id='not-graded'>Could not be graded</h2>")
    if bad:
        parts.append("<table class='not-graded'><tr><th>learner</th><th>chapter</th><th>why</th></tr>"
                     + "".join(f"<tr><td>{_e(sid)}{_name(people, sid)}</td><td>{_e(ch)}</td><td class='msg'>{_e(why)}</td></tr>"
                               for sid, ch, why in bad) + "</table>")
    else:
        parts.append("<p>Every learner was graded.</p>")
    parts.append("<h2 id='notes'>Graded, with notes</h2>")
    if noted or state.get("notes"):
        parts.append("<table class='notes'><tr><th>learner</th><th>chapter</th><th>note</th></tr>"
                     + "".join(f"<tr><td>{_e(sid)}{_name(people, sid)}</td><td>{_e(ch)}</td><td class='msg'>{_e(n)}</td></tr>"
                               for sid, ch, n in noted)
                     + "".join(f"<tr><td>(the upload)</td><td></td><td class='msg'>{_e(n)}</td></tr>"
                               for n in state.get("notes", []))
                     + "</table>")
    else:
        parts.append("<p>No notes.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _name(people: dict, sid: str) -> str:
    name = people.get(sid, {}).get("name")
    return f" <span class='muted'>({_e(name)})</span>" if name and name != sid else ""


def write(out: Path, classes: list, state: dict | None = None) -> Path:
    path = Path(out) / "report.html"
    path.write_text(render(out, classes, state), encoding="utf-8")
    return path
