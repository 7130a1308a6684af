"""``nnbook-grade``: grade a whole class in one command.

    nnbook-grade SUBMISSIONS CHAPTER [CHAPTER ...] -o OUT [-j N]

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

    from . import paths
    from .grader.driver import ensure_bin_on_path, grade
    from .sandbox import Limits

    ensure_bin_on_path()
    for ch in args.chapters:
        if not paths.source_notebook(ch).exists():
            p.error(f"no chapter {ch} in {paths.SOLUTIONS}")
    if not args.submissions.exists():
        p.error(f"{args.submissions} does not exist")
    limits = Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                    memory_mb=args.memory_mb)
    classes, summary = grade(args.submissions, args.chapters, args.out, jobs=args.jobs, limits=limits,
                             use_sandbox=not args.no_sandbox, progress=not args.quiet,
                             feedback=not args.no_feedback)
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
