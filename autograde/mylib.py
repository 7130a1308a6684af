"""Build the learner's own library, ``mynnbook/``, from the learner's chapter notebooks.

For each chapter notebook found (``chapters/NN_topic/NN_topic.ipynb`` of a checkout, or
``NN_topic/NN_topic.ipynb`` folders as nbgrader fetches them), in chapter order:

1. run its exported cells, its exercises and its visible test cells (no demo cells) in a fresh Python,
   with the library built so far for the earlier chapters (:func:`nnbook.mine.use_my_library`);
2. an exercise *passed* when its test cell ``test_<grade id>`` ran without error, is *failing* (with the
   first line of the error) otherwise, and is *not started* while it still holds the stub;
3. export the passing exercises through the book's own export code (:func:`autograde.book.build.export_cells`,
   which refuses stubs, ``NotImplementedError``, ``TODO`` and markers as it does for ``nnbook/``) into
   ``mynnbook/<module>.py``, and record everything in ``mynnbook/status.json``.

The library is written beside the chapter folders and copied into each chapter folder (so that a
chapter handed in carries the library it was run with). ``nnbook-mine`` runs this and prints the
progress view (:func:`nnbook.mine.progress_text`).

Usage::

    nnbook-mine                 # in the book's folder, a chapter folder, or the folder holding them
    nnbook-mine --no-build      # only show the progress view of the last build
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from .book.export import BuildError, export_cell, export_cells
from .cells import defined_names, directives, grade_id, is_exercise, is_test
from nnbook.mine import ENV, LIBRARY_DIR, NOTICES, STATUS_FILE, course_folders, progress_text  # noqa: F401

STUB = ("NotImplementedError", "YOUR CODE HERE")
TIMEOUT = 300.0          # seconds for one chapter's visible tests
MESSAGE_CHARS = 300


def _first_line(text: str) -> str:
    line = next((l.strip() for l in str(text).splitlines() if l.strip()), "")
    return line[:MESSAGE_CHARS] + ("..." if len(line) > MESSAGE_CHARS else "")


def _sections(nb) -> dict[int, str]:
    """Cell index -> the number of the ``## N.M Title`` section it is in ("2.4"), if any."""
    found, current = {}, None
    for i, cell in enumerate(nb.cells):
        if cell.get("cell_type") == "markdown":
            for line in str(cell.get("source", "")).splitlines():
                m = re.match(r"^##\s+(\d+(?:\.\d+)*)\s", line)
                if m:
                    current = m[1]
        found[i] = current
    return found


# ----------------------------------------------------------------------------- running the visible tests
def _run_cells_child(job_file: str) -> int:
    """In a fresh Python: run the job's cells in order in one namespace, report each as JSON on stdout."""
    job = json.loads(Path(job_file).read_text())
    os.chdir(job["cwd"])
    os.environ.setdefault("MPLBACKEND", "Agg")
    import io
    import contextlib
    from nnbook.mine import use_my_library
    with contextlib.redirect_stdout(io.StringIO()):
        use_my_library(quiet=True)
    ns = {"__name__": "__main__"}
    results = []
    for cell in job["cells"]:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(compile(cell["source"], f"<{cell['id'] or 'cell'}>", "exec"), ns)
            results.append({"id": cell["id"], "ok": True})
        except BaseException as e:  # noqa: BLE001 - every failure is a result, even SystemExit
            results.append({"id": cell["id"], "ok": False,
                            "message": _first_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)})
    sys.__stdout__.write(json.dumps(results))
    return 0


def run_visible_tests(nb, cwd: Path, library: Path | None, timeout: float = TIMEOUT) -> tuple[dict, str]:
    """Run ``nb``'s exported, exercise and test cells; ``({cell id: (ok, message)}, error)``."""
    cells = []
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        src = str(cell.get("source", ""))
        if is_test(cell) or is_exercise(cell) or "export" in directives(src):
            cells.append({"id": grade_id(cell) or "", "source": src})
    with tempfile.TemporaryDirectory(prefix="nnbook-mine-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"cwd": str(cwd), "cells": cells}))
        env = {**os.environ, ENV: str(library) if library else "book", "PYTHONHASHSEED": "0"}
        env.pop("NBGRADER_EXECUTION", None)
        for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(k, "1")
        try:
            r = subprocess.run([sys.executable, "-m", "autograde.mylib", "--run-cells", str(job)], env=env,
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {}, f"the chapter's tests did not finish within {timeout:.0f} s"
    try:
        results = json.loads(r.stdout)
    except ValueError:
        return {}, f"the chapter's tests stopped: {_first_line(r.stderr[-2000:]) or f'exit code {r.returncode}'}"
    return {x["id"]: (x["ok"], x.get("message", "")) for x in results if x.get("id")}, ""


# ----------------------------------------------------------------------------- one chapter
def chapter_library(nb_path: Path, library: Path | None, timeout: float = TIMEOUT) -> tuple[dict, str | None, str]:
    """``(chapter status, module text or None, module name)`` for one learner notebook."""
    chapter = nb_path.parent.name
    number = chapter[:2]
    rel = f"{chapter}/{nb_path.name}"
    try:
        mtime_ns = nb_path.stat().st_mtime_ns           # the notebook as saved when it was built
        nb = nbformat.read(nb_path, as_version=4)
    except Exception as e:  # noqa: BLE001 - an unreadable notebook is reported, the rest still builds
        return {"module": None, "exercises": [], "error": f"cannot read {rel}: {type(e).__name__}"}, None, ""
    if not isinstance(nb.get("cells"), list):
        return {"module": None, "exercises": [], "error": f"{rel} has no cells"}, None, ""
    from .cells import default_exp
    module = default_exp(nb) or ""
    sections = _sections(nb)
    results, error = run_visible_tests(nb, nb_path.parent, library, timeout)
    exercises, passed_cells, yours, book = [], set(), [], {}
    refused: dict[int, str] = {}
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not is_exercise(cell):
            continue
        gid = grade_id(cell) or f"cell {index}"
        src = str(cell.get("source", ""))
        exported = "export" in directives(src)
        names = defined_names(src, public_only=True)
        test = f"test_{gid}"
        ran, message = results.get(test, results.get(gid, (False, error or "its test did not run")))
        if any(s in src for s in STUB):
            state, message = "not started", ""
        elif ran:
            state = "passed"
        else:
            state = "failing"
        entry = {"id": gid, "test": test, "names": names, "status": state, "library": exported,
                 "section": f"{number} §{sections.get(index)}" if sections.get(index) else number}
        if state == "failing":
            entry["message"] = message
        if state == "passed" and exported:
            try:
                export_cell(cell, f"{rel}, cell {index}", "")
                passed_cells.add(index)
            except BuildError as e:
                refused[index] = str(e).split(": ", 1)[-1]
        entry["exported"] = index in passed_cells
        if index in refused:
            entry["refused"] = refused[index]
        exercises.append(entry)
        if exported:
            for n in names:
                if entry["exported"]:
                    yours.append(n)
                else:
                    book[n] = NOTICES[state].format(name=n, test=test, why=refused.get(index, ""),
                                                    section=entry["section"])

    def include(index, cell):
        if is_exercise(cell):
            return index in passed_cells
        # given code stays the book's; its imports come along so that the file reads on its own
        return not defined_names(str(cell.get("source", "")), public_only=True)

    text = None
    if module:
        try:
            _, text = export_cells(nb, rel, chapter, include=include, refused={},
                                   made_by="by `nnbook-mine`: your passing exercises (your library)")
        except BuildError as e:
            error = error or str(e)
    status = {"module": module, "notebook": str(nb_path), "mtime_ns": mtime_ns, "exercises": exercises,
              "yours": yours, "book": book}
    if error:
        status["error"] = error
    return status, text, module


# ----------------------------------------------------------------------------- the whole library
def build_library(start: Path, chapters: list[str] | None = None, timeout: float = TIMEOUT,
                  log=None) -> dict:
    """Build ``mynnbook/`` for the chapter notebooks under ``start``; return its status (``status.json``)."""
    root, notebooks = course_folders(start)
    target = root / LIBRARY_DIR
    old = {}
    if (target / STATUS_FILE).is_file():
        try:
            old = json.loads((target / STATUS_FILE).read_text())
        except ValueError:
            old = {}
    status = {"version": 1, "library": str(target),
              "built": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"), "chapters": {}, "modules": {}}
    with tempfile.TemporaryDirectory(prefix=".mynnbook-build-", dir=root) as tmp:
        work = Path(tmp) / LIBRARY_DIR
        work.mkdir()
        for nb_path in notebooks:
            chapter = nb_path.parent.name
            if chapters and chapter not in chapters:
                if chapter in (old.get("chapters") or {}):       # keep what an earlier build found
                    status["chapters"][chapter] = old["chapters"][chapter]
                    module = old["chapters"][chapter].get("module")
                    if module and (target / f"{module}.py").is_file():
                        shutil.copy(target / f"{module}.py", work / f"{module}.py")
                        status["modules"][module] = old["modules"].get(module, {})
                    (work / STATUS_FILE).write_text(json.dumps(status, indent=1))
                continue
            if log:
                log(f"running the visible tests of {chapter} ...")
            info, text, module = chapter_library(nb_path, work, timeout)
            status["chapters"][chapter] = {k: v for k, v in info.items() if k not in ("yours", "book")}
            if module and text is not None:
                (work / f"{module}.py").write_text(text)
                status["modules"][module] = {"chapter": chapter, "yours": info["yours"], "book": info["book"]}
            (work / STATUS_FILE).write_text(json.dumps(status, indent=1))   # the later chapters use it
        if not (work / STATUS_FILE).is_file():
            (work / STATUS_FILE).write_text(json.dumps(status, indent=1))
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(work, target)
    for nb_path in notebooks:               # a copy in each chapter folder travels with a hand-in
        local = nb_path.parent / LIBRARY_DIR
        if local.resolve() == target.resolve():
            continue
        shutil.rmtree(local, ignore_errors=True)
        shutil.copytree(target, local)
        local_status = dict(status, library=str(local))
        (local / STATUS_FILE).write_text(json.dumps(local_status, indent=1))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nnbook-mine", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="only these chapters (default: every chapter found)")
    parser.add_argument("--folder", default=".", help="the book's folder, a chapter folder, or the folder "
                                                      "holding your chapter folders (default: here)")
    parser.add_argument("--no-build", action="store_true", help="only show the progress view of the last build")
    parser.add_argument("--run-cells", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_cells:
        return _run_cells_child(args.run_cells)
    root, notebooks = course_folders(Path(args.folder))
    if not notebooks:
        print(f"nnbook-mine: no chapter notebooks (NN_topic/NN_topic.ipynb) in or under {root}", file=sys.stderr)
        return 2
    if args.no_build:
        from nnbook.mine import read_status
        print(progress_text(read_status(root / LIBRARY_DIR)))
        return 0
    status = build_library(root, args.chapters or None, log=lambda m: print(m, file=sys.stderr))
    print(progress_text(status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
