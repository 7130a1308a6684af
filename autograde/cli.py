"""``nnbook-grade``: grade a whole class in one command.

    nnbook-grade SUBMISSIONS CHAPTER [CHAPTER ...] -o OUT [-j N]
    nnbook-grade --watch [--class-dir DIR] [--chapters CH,...]   (grade each submission on arrival)

SUBMISSIONS is a folder in nbgrader's ``submitted/<learner>/<chapter>/`` layout
(the folder itself or its parent) or a zip of one. OUT receives ``grades.csv``,
``feedback/<learner>/<chapter>.html``, ``summary.txt`` and ``course/`` (an nbgrader
course with its own gradebook, release and autograded notebooks).
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
    args = p.parse_args(argv)

    from .course import _ensure_bin_on_path, SOLUTIONS
    from .pipeline import grade
    from .sandbox import Limits

    _ensure_bin_on_path()
    for ch in args.chapters:
        if not (SOLUTIONS / ch / f"{ch}.ipynb").exists():
            p.error(f"no chapter {ch} in {SOLUTIONS}")
    if not args.submissions.exists():
        p.error(f"{args.submissions} does not exist")
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    _, summary = grade(args.submissions, args.chapters, args.out, jobs=args.jobs, limits=limits,
                       use_sandbox=not args.no_sandbox, progress=not args.quiet,
                       feedback=not args.no_feedback)
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
