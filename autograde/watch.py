"""``nnbook-grade --watch``: grade each submission the moment it reaches the exchange.

JupyterHub starts this as a managed service running as the instructor (autograde/hub/). Every
``--interval`` seconds it looks at nbgrader's inbound folder of each released chapter; when a
learner has submitted (or resubmitted) it

1. collects the submission with nbgrader's own ``collect`` into ``course/inbox/<learner>/<chapter>/``
   (through :class:`SafeCollect`: only entries owned by the learner they name, no symlinks, no
   special files, size limits) -- the raw files, exactly as submitted;
2. grades it with the class pipeline (:func:`autograde.grader.driver.grade_chapter`: sandboxed, tests in
   the judge, scores in the course's gradebook via nbgrader ``autograde``; the latest submission
   replaces earlier grades) and lets nbgrader's ``generate_feedback`` write the feedback page;
3. releases the feedback (nbgrader ``release_feedback``), so that the learner's *Fetch Feedback*
   in the Assignment List finds it.

Submissions that arrive together are graded together, in parallel. A submission that breaks the
grader is noted in ``course/watch.log`` and skipped until the learner submits again: the service
never stops for one notebook.

    nnbook-grade --watch [--class-dir /srv/nnbook] [--chapters 01_neuron,02_activations] [-j N] [--db URL]

``--db URL`` (default ``$NNBOOK_DB``) puts the class gradebook at that nbgrader ``db_url`` (e.g.
``postgresql://USER@HOST/DB``), as ``nnbook-grade --db`` does: remembered in
``course/.nnbook/db_url`` (mode 0600) and used by every later run; default SQLite in ``course/gradebook.db``.
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import logging
import os
import pwd
import shutil
import signal
import stat
import sys
import time
import traceback
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect, groupby
from nbgrader.utils import parse_utc

log = logging.getLogger("nnbook.watch")

COURSE_ID = "nnbook"
INBOX = "inbox"                     # raw collected submissions (nbgrader's submitted_directory for collect)
STATE = ".nnbook/watch-state.json"  # (learner, chapter) -> timestamp graded
MAX_FILES = 200
MAX_DEPTH = 8


# ----------------------------------------------------------------------------- nbgrader plug-in
class SafeCollect(ExchangeCollect):
    """nbgrader's ``collect`` for a collector who can read more than the learners can.

    Stock collect trusts the inbound folder: the learner named in an entry's name, symbolic links
    (followed when copying: a learner's link to the course's solutions would be collected as that
    learner's notebook), named pipes (block the copy). Here an inbound entry counts only when it
    is a real directory owned by the account it names, and only regular files are copied, read
    without following links, within nbgrader's size limits."""

    def _trusted(self, path: str, username: str) -> bool:
        try:
            st = os.lstat(path)
            owner = pwd.getpwuid(st.st_uid).pw_name
        except (OSError, KeyError):
            return False
        if not stat.S_ISDIR(st.st_mode):
            self.log.warning("ignored inbound entry %s: not a directory", os.path.basename(path))
            return False
        if owner != username:
            self.log.warning("ignored inbound entry %s: it names %s but belongs to %s",
                             os.path.basename(path), username, owner)
            return False
        return True

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail("Course not found: {}".format(self.inbound_path))
        student_id = self.coursedir.student_id if self.coursedir.student_id else "*"
        pattern = os.path.join(glob.escape(self.inbound_path), "{}+{}+*".format(student_id, self.coursedir.assignment_id))
        records = []
        for path in glob.glob(pattern):
            try:
                rec = self._path_to_record(path)
            except Exception:  # noqa: BLE001 - an unparsable name is a learner's mistake, not ours
                self.log.warning("ignored inbound entry %s: not nbgrader's name format", os.path.basename(path))
                continue
            if rec["username"] and self._trusted(path, rec["username"]):
                records.append(rec)
        self.duedate = None
        self.src_records = [self._sort_by_timestamp(v)[0] for v in groupby(records, lambda r: r["username"]).values()]

    def do_copy(self, src, dest, log=None):
        max_file = 1000 * self.coursedir.max_file_size          # nbgrader's limits are in kB
        max_dir = 1000 * self.coursedir.max_dir_size
        budget = {"bytes": max_dir, "files": MAX_FILES}
        os.makedirs(dest, exist_ok=True)
        self._copy_tree(src, dest, 0, max_file, budget)

    def _copy_tree(self, src: str, dest: str, depth: int, max_file: int, budget: dict) -> None:
        if depth > MAX_DEPTH:
            return
        with os.scandir(src) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            if any(fnmatch.fnmatch(entry.name, pat) for pat in self.coursedir.ignore):
                continue
            target = os.path.join(dest, entry.name)
            if entry.is_dir(follow_symlinks=False):
                os.makedirs(target, exist_ok=True)
                self._copy_tree(entry.path, target, depth + 1, max_file, budget)
                continue
            if not entry.is_file(follow_symlinks=False):
                self.log.warning("not collected: %s (not a regular file)", entry.path)
                continue
            if budget["files"] <= 0:
                self.log.warning("not collected: %s (more than %d files)", entry.path, MAX_FILES)
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as e:
                self.log.warning("not collected: %s (%s)", entry.path, e)
                continue
            with os.fdopen(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    continue
                data = f.read(max_file + 1)
            if len(data) > max_file or len(data) > budget["bytes"]:
                self.log.warning("not collected: %s (larger than %d bytes)", entry.path, max_file)
                continue
            budget["bytes"] -= len(data)
            budget["files"] -= 1
            with open(target, "wb") as out:
                out.write(data)


# ----------------------------------------------------------------------------- the service
class Watcher:
    def __init__(self, class_dir: Path, chapters: list[str] | None = None, jobs: int | None = None,
                 limits=None, use_sandbox: bool = True, db: str | None = None):
        """``db``: the gradebook's database URL (nbgrader's ``db_url``), remembered for the course
        (:func:`autograde.grader.gradebook.set_db_url`); ``None`` keeps the one remembered, else SQLite."""
        from .grader.driver import ensure_bin_on_path
        from .grader.gradebook import normalize_db_url, set_db_url
        from .sandbox import Limits
        ensure_bin_on_path()
        os.environ.setdefault("MPLBACKEND", "agg")
        self.class_dir = Path(class_dir).resolve()
        self.root = self.class_dir / "course"
        self.exchange = self.class_dir / "exchange"
        self.inbox = self.root / INBOX
        if db:
            set_db_url(self.root, normalize_db_url(db))
        self.jobs = jobs or min(os.cpu_count() or 1, 4)
        self.limits = limits or Limits()
        self.use_sandbox = use_sandbox
        self.chapters = chapters or self._all_chapters()
        self.state_path = self.root / STATE
        self.state: dict[str, str] = {}
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text())
            except ValueError:
                self.state = {}
        self._seen: dict[str, tuple] = {}
        self.graded: list[dict] = []          # one record per graded submission (for tests and the benchmark)

    @staticmethod
    def _all_chapters() -> list[str]:
        from .book.build import find_chapters
        return [ch.name for ch in find_chapters()]

    def _config(self, **course) -> dict:
        return {"CourseDirectory": {"course_id": COURSE_ID, **course},
                "Exchange": {"root": str(self.exchange)},
                "ExchangeFactory": {"collect": "autograde.watch.SafeCollect"}}

    def _api(self, **course):
        from nbgrader.apps import NbGraderAPI
        from .grader.driver import course_config
        return NbGraderAPI(config=course_config(self.root, self._config(**course)))

    # ---- release
    def release(self) -> None:
        """Generate and release every chapter not yet in the exchange's outbound folder."""
        from .grader.driver import course_config, prepare_course
        for ch in self.chapters:
            if (self.exchange / COURSE_ID / "outbound" / ch).is_dir():
                continue
            api = prepare_course(self.root, ch, course_config(self.root, self._config()))
            res = api.release_assignment(ch)
            if not res["success"]:
                raise RuntimeError(f"release_assignment {ch} failed:\n{res.get('error') or res['log']}")
            log.info("released %s", ch)

    # ---- one pass
    def _inbound_signature(self, chapter: str) -> tuple:
        inbound = self.exchange / COURSE_ID / "inbound"
        try:
            names = sorted(n for n in os.listdir(inbound) if f"+{chapter}+" in n)
        except OSError:
            return ()
        return tuple(names)

    def pending(self, chapter: str) -> list[str]:
        """Collect when the inbound folder changed; learners whose collected submission is ungraded."""
        sig = self._inbound_signature(chapter)
        if sig and sig != self._seen.get(chapter):
            res = self._api(submitted_directory=INBOX).collect(chapter, update=True)
            if not res["success"]:
                log.error("collect %s failed: %s", chapter, (res.get("error") or res["log"])[-500:])
            else:
                self._seen[chapter] = sig
        todo = []
        if not self.inbox.is_dir():
            return todo
        for learner_dir in sorted(self.inbox.iterdir()):
            ts = learner_dir / chapter / "timestamp.txt"
            if ts.is_file():
                stamp = ts.read_text().strip()
                if self.state.get(f"{learner_dir.name}/{chapter}") != stamp:
                    todo.append(learner_dir.name)
        return todo

    def grade(self, chapter: str, learners: list[str]) -> None:
        """Grade ``learners``' collected submissions together; fall back to one at a time on a failure."""
        try:
            self._grade(chapter, learners)
        except Exception:  # noqa: BLE001 - never stop the service
            log.error("grading %s for %s failed:\n%s", chapter, ", ".join(learners), traceback.format_exc())
            if len(learners) > 1:
                for learner in learners:
                    self.grade(chapter, [learner])
            else:
                self._mark(chapter, learners[0], error=True)

    def _mark(self, chapter: str, learner: str, error: bool = False) -> None:
        ts = self.inbox / learner / chapter / "timestamp.txt"
        self.state[f"{learner}/{chapter}"] = ts.read_text().strip() if ts.is_file() else "?"
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        os.replace(tmp, self.state_path)

    def _grade(self, chapter: str, learners: list[str]) -> None:
        from .grader import driver
        t0 = time.monotonic()
        stamps = {l: (self.inbox / l / chapter / "timestamp.txt").read_text().strip() for l in learners}
        extra = {"LearnerFigures": {"submissions": str(self.inbox)}}
        result = driver.grade_chapter(chapter, self.inbox, self.class_dir, jobs=self.jobs, limits=self.limits,
                                        use_sandbox=self.use_sandbox, learners=learners, progress=False,
                                        feedback=True, extra_config=extra)
        released = self._api()
        self._record_timestamps(chapter, stamps)
        for learner in learners:
            if learner in result.grader_errors:        # the grader failed, not the learner: no grade, no feedback
                log.error("grading %s %s failed (grader error, not released): %s", learner, chapter,
                          result.grader_errors[learner][-500:])
                self._mark(chapter, learner, error=True)
                continue
            fb = self.root / "feedback" / learner / chapter
            ok = (fb / f"{chapter}.html").is_file()
            if ok:
                for name in ("timestamp.txt", "submission_secret.txt"):
                    src = self.inbox / learner / chapter / name
                    if src.is_file():
                        shutil.copy(src, fb / name)
                ok = (fb / "submission_secret.txt").is_file()
            if ok:
                res = released.release_feedback(chapter, learner)
                ok = res["success"]
                if not ok:
                    log.error("release_feedback %s %s failed: %s", chapter, learner, (res.get("error") or res["log"])[-300:])
            r = result.results.get(learner)
            score = f"{r.total:g}/{r.max_total:g}" if r else "?"
            log.info("graded %s %s (submitted %s): %s%s%s", learner, chapter, stamps[learner], score,
                     "; feedback released" if ok else "; NO feedback released",
                     f"; notes: {r.problem}" if r and r.problem else "")
            self.graded.append({"learner": learner, "chapter": chapter, "timestamp": stamps[learner],
                                "score": r.total if r else None, "feedback": ok, "at": time.time()})
            self._mark(chapter, learner)
        log.info("%s: %d submission(s) graded in %.1f s", chapter, len(learners), time.monotonic() - t0)

    def _record_timestamps(self, chapter: str, stamps: dict[str, str]) -> None:
        """The gradebook keeps when each graded submission was made (formgrader shows it)."""
        from nbgrader.api import Gradebook

        from .grader.gradebook import db_url
        try:
            with Gradebook(db_url(self.root), COURSE_ID) as gb:
                for learner, stamp in stamps.items():
                    try:
                        sub = gb.find_submission(chapter, learner)
                        sub.timestamp = parse_utc(stamp)
                    except Exception:  # noqa: BLE001
                        continue
                gb.db.commit()
        except Exception:  # noqa: BLE001 - a timestamp is a nicety, never a reason to fail
            log.warning("could not record submission times:\n%s", traceback.format_exc())

    def once(self) -> int:
        n = 0
        for ch in self.chapters:
            try:
                todo = self.pending(ch)
            except Exception:  # noqa: BLE001
                log.error("looking for %s submissions failed:\n%s", ch, traceback.format_exc())
                continue
            if todo:
                self.grade(ch, todo)
                n += len(todo)
        return n

    def run(self, interval: float = 1.0, stop=None) -> None:
        self.release()
        log.info("watching %s for %s", self.exchange / COURSE_ID / "inbound", ", ".join(self.chapters))
        while stop is None or not stop():
            if not self.once():
                time.sleep(interval)


def _setup_logging() -> None:
    fmt = logging.Formatter("%(asctime)s nnbook-grade --watch: %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.StreamHandler(sys.stdout)]
    if os.environ.get("NNBOOK_WATCH_LOG"):
        handlers.append(logging.FileHandler(os.environ["NNBOOK_WATCH_LOG"]))
    for h in handlers:
        h.setFormatter(fmt)
        log.addHandler(h)
    log.setLevel(logging.INFO)
    log.propagate = False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nnbook-grade --watch", description=__doc__.split("\n\n")[0])
    p.add_argument("--class-dir", type=Path, default=Path(os.environ.get("NNBOOK_CLASS_DIR", "/srv/nnbook")),
                   help="the class folder: exchange/ and course/ (default /srv/nnbook)")
    p.add_argument("--chapters", default="", help="comma-separated chapters (default: all)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the exchange (default 1)")
    p.add_argument("-j", "--jobs", type=int, default=None, help="submissions graded at once (default: cores, at most 4)")
    p.add_argument("--cell-timeout", type=float, default=120)
    p.add_argument("--notebook-timeout", type=float, default=600)
    p.add_argument("--memory-mb", type=int, default=2048)
    p.add_argument("--no-sandbox", action="store_true")
    p.add_argument("--once", action="store_true", help="release, grade what is waiting, then exit")
    p.add_argument("--db", metavar="URL", default=os.environ.get("NNBOOK_DB") or None,
                   help="the class gradebook's database (nbgrader's db_url), e.g. postgresql://USER@HOST/DB "
                        "(default $NNBOOK_DB; the hub passes it so: not on the command line, which every "
                        "account can read); remembered for the course; default SQLite in course/gradebook.db")
    args = p.parse_args(argv)
    if args.db:
        from .grader.gradebook import db_url_problem
        if problem := db_url_problem(args.db):
            p.error(problem)
    from .sandbox import Limits
    _setup_logging()
    chapters = [c for c in args.chapters.split(",") if c] or None
    w = Watcher(args.class_dir, chapters, args.jobs,
                Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout, memory_mb=args.memory_mb),
                use_sandbox=not args.no_sandbox, db=args.db)
    if args.db:
        from .grader.gradebook import db_url, redact
        log.info("gradebook: %s", redact(db_url(w.root)))
    if args.once:
        w.release()
        w.once()
        return 0
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    w.run(args.interval, stop=lambda: bool(stopping))
    return 0


if __name__ == "__main__":
    sys.exit(main())
