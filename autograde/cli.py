"""``nnbook-grade``: grade a whole class in one command.

    nnbook-grade SUBMISSIONS CHAPTER [CHAPTER ...] -o OUT [-j N]
    nnbook-grade --watch [--class-dir DIR] [--chapters CH,...] [--db URL]   (grade each submission on arrival)

SUBMISSIONS is a folder or a zip: nbgrader's ``submitted/<learner>/<chapter>/`` layout,
a Canvas or Moodle bulk download, or flat ``<learner>_<chapter>.ipynb`` files
(``autograde/intake.py``). OUT receives ``grades.csv``, ``report.html`` (the class report),
``feedback/<learner>/<chapter>.html``, ``summary.txt``, ``lms/`` (with ``--lms``) and
``course/`` (an nbgrader course with its own gradebook, release and autograded notebooks).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--watch" in argv:                                   # the hub's grading service (autograde/watch.py)
        from .watch import main as watch_main
        return watch_main([a for a in argv if a != "--watch"])
    p = argparse.ArgumentParser(prog="nnbook-grade", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", type=Path, help="submitted/ folder (or its parent) or a .zip of it")
    p.add_argument("chapters", nargs="+", help="chapter names, e.g. 01_neuron")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count(), help="learners graded at once (default: all cores)")
    p.add_argument("--cell-timeout", type=float, default=120, help="seconds per cell (default 120)")
    p.add_argument("--notebook-timeout", type=float, default=600, help="seconds per notebook (default 600)")
    p.add_argument("--memory-mb", type=int, default=2048, help="memory limit per learner kernel (default 2048)")
    p.add_argument("--no-sandbox", action="store_true", help="do not use bubblewrap (resource limits only)")
    p.add_argument("--no-feedback", action="store_true", help="skip the feedback pages")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade (or regrade) only this learner, keeping everyone else's results in OUT (repeatable)")
    p.add_argument("--due", metavar="WHEN", help="due date, ISO (2026-12-01 = end of that day, UTC; "
                   "or 2026-12-01T23:59+01:00): goes into the gradebook; lateness from submission times")
    p.add_argument("--late-penalty", metavar="POLICY", default=None,
                   help="none (default), zero, 10%%/day, 10%%/hour, 2/day, 2/hour (nbgrader's late-submission plug-in)")
    p.add_argument("--lms", action="append", choices=["canvas", "moodle"],
                   help="also write OUT/lms/ import files for this LMS's gradebook (repeatable)")
    p.add_argument("--no-report", action="store_true", help="skip the class report (report.html)")
    p.add_argument("--course", type=Path, metavar="DIR",
                   help="the book's folder (with solutions/); default: $NNBOOK_COURSE, the current folder, "
                        "or the checkout nnbook is installed from")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on this Dask cluster (tcp://HOST:PORT of a dask.distributed scheduler; "
                        "'local' or 'local:N' starts N worker processes here); default: a process pool here")
    p.add_argument("--batch", type=int, metavar="N", help="with --scheduler: learners per Dask task (default: "
                   "up to 8, about three batches per worker)")
    p.add_argument("--db", metavar="URL", help="the gradebook's database (nbgrader's db_url), e.g. "
                   "postgresql://USER@HOST/DB; remembered for OUT; default SQLite in OUT/course/gradebook.db")
    args = p.parse_args(argv)

    from . import paths
    from .grader.cluster import SchedulerLost
    from .grader.driver import ensure_bin_on_path, grade
    from .intake import NoSubmissions
    from .late import parse_due
    from .sandbox import Limits

    ensure_bin_on_path()
    try:
        paths.set_course_root(args.course)
        solutions = paths.solutions_dir()
    except paths.CourseNotFound as e:
        p.error(str(e))
    for ch in args.chapters:
        if not (solutions / ch / f"{ch}.ipynb").exists():
            p.error(f"no chapter {ch} in {solutions}")
    if not args.submissions.exists():
        p.error(f"{args.submissions} does not exist")
    try:
        due = parse_due(args.due) if args.due else None
        if args.late_penalty:
            from .late import penalty
            penalty(args.late_penalty, 0.0, 0)
    except ValueError as e:
        p.error(str(e))
    if args.db:
        from .grader.gradebook import db_url_problem
        if problem := db_url_problem(args.db):
            p.error(problem)
    if args.batch is not None and args.batch < 1:
        p.error("--batch must be at least 1")
    if args.scheduler:
        import logging
        # a lost scheduler is reported below in one sentence, not as distributed's reconnect traceback
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    try:
        classes, summary = grade(args.submissions, args.chapters, args.out, jobs=args.jobs, limits=limits,
                                 use_sandbox=not args.no_sandbox, progress=not args.quiet,
                                 feedback=not args.no_feedback, students=args.student, due=due,
                                 late_penalty=args.late_penalty, lms=args.lms, report=not args.no_report,
                                 scheduler=args.scheduler, db=args.db, batch_size=args.batch)
    except NoSubmissions as e:
        print(f"nnbook-grade: {e}", file=sys.stderr)
        return 2
    except SchedulerLost as e:
        print(f"nnbook-grade: {e}", file=sys.stderr)
        return 3
    print(summary)
    errors = {l: e for c in classes for l, e in c.grader_errors.items()}
    if errors:
        print(f"nnbook-grade: the grader failed on {len(errors)} learner(s); they were NOT graded "
              "(their rows in grades.csv have no scores):", file=sys.stderr)
        for learner, e in sorted(errors.items()):
            print(f"  {learner}: {e[-300:]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
