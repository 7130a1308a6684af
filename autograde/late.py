"""Due dates and late penalties, the nbgrader way.

The due date of a chapter is its gradebook assignment's ``duedate`` (:func:`set_due`); each
submission's time is nbgrader's ``timestamp.txt`` (kept by :mod:`autograde.intake`), so
nbgrader itself computes how late a submission is, and its ``AssignLatePenalties``
preprocessor asks the plug-in configured as ``AssignLatePenalties.plugin_class`` for the
penalty. :class:`LatePenalty` is that plug-in (a :class:`nbgrader.plugins.LateSubmissionPlugin`)
with a few policies::

    none          no penalty (lateness is still shown)
    zero          a late notebook scores 0 (nbgrader's own 'zero')
    10%/day       10 % of the notebook's score per started day late (also %/hour)
    2/day         2 points per started day late (also /hour)

capped at the notebook's score. ``nbgrader export`` then shows the due date, the submission
time, the penalty and the final score, as does ``grades.csv``.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Unicode, validate, TraitError

POLICY = re.compile(r"^(?:(?P<word>none|zero)|(?P<amount>\d+(?:\.\d+)?)(?P<pct>%?)/(?P<unit>day|hour))$")


class LatePenalty(LateSubmissionPlugin):
    """nbgrader late-submission plug-in: ``none``, ``zero``, ``P%/day``, ``P%/hour``, ``N/day``, ``N/hour``."""

    policy = Unicode("none", help="none | zero | P%/day | P%/hour | N/day | N/hour").tag(config=True)

    @validate("policy")
    def _check(self, proposal):
        if not POLICY.match(proposal["value"].strip()):
            raise TraitError(f"late-penalty policy {proposal['value']!r}: use none, zero, 10%/day, 2/hour ...")
        return proposal["value"].strip()

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        return penalty(self.policy, score or 0.0, total_seconds_late)


def penalty(policy: str, score: float, seconds_late: float) -> float | None:
    m = POLICY.match(policy.strip())
    if m is None:
        raise ValueError(f"late-penalty policy {policy!r}: use none, zero, 10%/day, 2/hour ...")
    if seconds_late <= 0 or m["word"] == "none":
        return None
    if m["word"] == "zero":
        return score
    units = math.ceil(seconds_late / (86400 if m["unit"] == "day" else 3600))
    amount = float(m["amount"]) * units
    value = score * amount / 100 if m["pct"] else amount
    return min(score, value)


def parse_due(text: str) -> dt.datetime:
    """An ISO date/time (``2026-12-01``, ``2026-12-01T23:59``, ``...+01:00``); naive means UTC.
    A date alone means the end of that day."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            d = dt.datetime.fromisoformat(text.strip()) + dt.timedelta(days=1, microseconds=-1)
        else:
            d = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--due {text!r}: not an ISO date or time (2026-12-01 or 2026-12-01T23:59+01:00)") from None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.timezone.utc)
    return d.astimezone(dt.timezone.utc)


def config(policy: str | None) -> dict:
    """The nbgrader configuration that makes ``AssignLatePenalties`` use :class:`LatePenalty`."""
    if policy:
        penalty(policy, 0.0, 0)             # fail early on a bad policy
    return {"AssignLatePenalties": {"plugin_class": "autograde.late.LatePenalty"},
            "LatePenalty": {"policy": policy or "none"}}


def set_due(api, chapter: str, due: dt.datetime | None) -> None:
    """Write the due date into the gradebook assignment (nbgrader stores naive UTC)."""
    if due is None:
        return
    with api.gradebook as gb:
        gb.update_or_create_assignment(chapter, duedate=due.astimezone(dt.timezone.utc).replace(tzinfo=None))


def times(root: Path, chapter: str, learners: list[str]) -> dict[str, dict]:
    """``{learner: {submitted, due, seconds_late, penalty}}`` as nbgrader's gradebook has them."""
    from nbgrader.api import Gradebook, MissingEntry
    from .grader.gradebook import db_url
    found = {}
    url = db_url(root)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return found
    with Gradebook(url) as gb:
        for sid in learners:
            try:
                sub = gb.find_submission(chapter, sid)
            except MissingEntry:
                continue
            nb_pen = sum((n.late_submission_penalty or 0.0) for n in sub.notebooks)
            found[sid] = {
                "submitted": sub.timestamp.replace(tzinfo=dt.timezone.utc).isoformat(timespec="seconds")
                if sub.timestamp else "",
                "due": sub.duedate.replace(tzinfo=dt.timezone.utc).isoformat(timespec="seconds")
                if sub.duedate else "",
                "seconds_late": float(sub.total_seconds_late or 0.0),
                "penalty": float(nb_pen),
            }
    return found


def late_text(seconds: float) -> str:
    if seconds <= 0:
        return ""
    d, rem = divmod(int(math.ceil(seconds)), 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    return " ".join(p for p in (f"{d} d" if d else "", f"{h} h" if h else "", f"{m} min" if m and not d else "")
                    if p) or "< 1 min"
