"""Benchmark (not a test): stock ``nbgrader autograde`` vs ``nnbook-grade`` on one demo class.

    python bench/grade_bench.py [--chapter 01_neuron] [--learners 100] [--jobs 2] [--all-kinds]

Builds a demo class (``autograde.demo_class``), then grades it

1. with stock nbgrader: one ``nbgrader autograde <chapter>`` command on a fresh course
   (one kernel per notebook, one notebook at a time);
2. with ``nnbook-grade -j N --no-feedback`` (the same work: scores in a gradebook);
3. with ``nnbook-grade -j N`` (plus feedback pages, grades.csv and the summary).

Prints wall time, seconds per notebook and the ratio, the machine load (``uptime``),
and checks that stock and nnbook-grade agree on every test cell of every honest
submission. By default the class holds honest submissions only (correct, wrong,
blank): the faulty and hostile ones would make stock nbgrader wait for its cell
timeout or allocate 50 GB on a shared machine; ``--all-kinds`` includes them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def run(cmd, cwd=None, env=None) -> float:
    t = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}")
    return time.monotonic() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chapter", default="01_neuron")
    p.add_argument("--learners", type=int, default=100)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--all-kinds", action="store_true", help="include faulty and hostile submissions")
    p.add_argument("--workdir", type=Path, default=None)
    a = p.parse_args()

    from autograde import demo_class
    from autograde.course import read_results, stock_config
    from autograde.grader.driver import course_config, ensure_bin_on_path, prepare_course

    ensure_bin_on_path()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="grade-bench-"))
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    demo = work / "demo"
    if a.all_kinds:
        manifest = demo_class.build(a.chapter, a.learners, demo)
    else:
        # build more than needed, keep the honest ones, then top up with correct answers
        manifest = demo_class.build(a.chapter, a.learners + 40, demo)
        keep = [l for l, m in manifest["learners"].items() if m["honest"]][: a.learners]
        for l in list(manifest["learners"]):
            if l not in keep:
                shutil.rmtree(demo / "submitted" / l)
                del manifest["learners"][l]
    learners = sorted(manifest["learners"])
    n = len(learners)
    kinds = {}
    for l in learners:
        kinds[l.split("-")[0]] = kinds.get(l.split("-")[0], 0) + 1
    print(f"demo class: {n} learners ({', '.join(f'{v} {k}' for k, v in kinds.items())}), chapter {a.chapter}, "
          f"{os.cpu_count()} cores")
    print("load before:", uptime())

    env = dict(os.environ, MPLBACKEND="agg")
    bindir = Path(sys.executable).parent
    # 1. stock nbgrader: a fresh course, the submissions copied in, one command
    stock = work / "stock"
    prepare_course(stock, a.chapter, stock_config(stock))
    shutil.copytree(demo / "submitted", stock / "submitted")
    (stock / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(REPO / 'autograde' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(stock)!r}\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{stock}/gradebook.db'\n"
        "c.ExecutePreprocessor.timeout = 60\n"
        "# the baseline: nbgrader's own preprocessors (a Jupyter kernel per notebook), not the book's plug-ins\n"
        "from nbgrader.converters.autograde import Autograde\n"
        "c.Autograde.sanitize_preprocessors = Autograde.class_traits()['sanitize_preprocessors'].default()\n"
        "c.Autograde.autograde_preprocessors = Autograde.class_traits()['autograde_preprocessors'].default()\n")
    t_stock = run([str(bindir / "nbgrader"), "autograde", a.chapter, "--force"], cwd=stock, env=env)
    print(f"stock done in {t_stock:.1f} s;", uptime())

    # 2./3. nnbook-grade
    grade = [str(bindir / "nnbook-grade"), str(demo), a.chapter, "-j", str(a.jobs), "-q",
             "--cell-timeout", "60", "--notebook-timeout", "300"]
    t_fast = run(grade + ["-o", str(work / "fast"), "--no-feedback"], env=env)
    print(f"nnbook-grade --no-feedback done in {t_fast:.1f} s;", uptime())
    t_full = run(grade + ["-o", str(work / "full")], env=env)
    print(f"nnbook-grade (with feedback) done in {t_full:.1f} s;", uptime())

    # agreement on honest submissions
    stock_res = read_results(stock, a.chapter, learners, stock_config(stock))
    fast_res = read_results(work / "fast" / "course", a.chapter, learners, course_config(work / "fast" / "course"))
    disagree = []
    honest = [l for l in learners if manifest["learners"][l]["honest"]]
    for l in honest:
        s = {g: c.score for g, c in stock_res[l].cells.items()}
        f = {g: c.score for g, c in fast_res[l].cells.items()}
        if s != f:
            disagree.append((l, s, f))
    print()
    print(f"| run | wall time | s per notebook | speed-up vs stock |")
    print(f"|---|---|---|---|")
    print(f"| stock `nbgrader autograde` (1 process) | {t_stock:.1f} s | {t_stock / n:.2f} | 1.0x |")
    print(f"| `nnbook-grade -j {a.jobs} --no-feedback` | {t_fast:.1f} s | {t_fast / n:.2f} | {t_stock / t_fast:.1f}x |")
    print(f"| `nnbook-grade -j {a.jobs}` (+ feedback, csv) | {t_full:.1f} s | {t_full / n:.2f} | "
          f"{t_stock / t_full:.1f}x |")
    print()
    print(f"honest submissions compared: {len(honest)}; disagreeing: {len(disagree)}")
    for l, s, f in disagree[:10]:
        print(f"  {l}: stock {s} nnbook-grade {f}")
    print("load after:", uptime())
    print(f"(work folder: {work})")
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
