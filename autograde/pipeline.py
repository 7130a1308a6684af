"""Grade a whole class: normalise submissions, run them in parallel sandboxes, let nbgrader score.

Phase A (parallel, ``-j`` processes, no gradebook access): each worker process
owns a :class:`~autograde.sandbox.Slot` and, per learner, normalises the
submission (:func:`normalise`) and runs it with :func:`~autograde.judge.run_notebook`.
Phase B (this process only, the single gradebook writer): for each finished
learner, the real ``nbgrader autograde`` runs with :class:`InjectOutputs` in place of
its ``Execute`` preprocessor -- nbgrader sanitises, restores the locked test cells,
scores with ``SaveAutoGrades`` -- and ``nbgrader generate_feedback`` (with
``ClearHiddenTests``) writes the feedback page. Results do not depend on the
order in which learners finish.
"""
from __future__ import annotations

import copy
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from . import judge, sandbox
from .course import NotebookResult, prepare_course, read_results, write_submission

RESULTS = ".nnbook"


# ----------------------------------------------------------------------------- nbgrader plug-in
class InjectOutputs(NbGraderPreprocessor):
    """Stands in for nbgrader's ``Execute``: puts the judge's outputs into the notebook."""

    results_dir = Unicode("", help="folder with <student>/<assignment>.json from the judge").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.results_dir) / info["student"] / f"{info['assignment']}.json"
        data = json.loads(path.read_text())
        outputs = {int(k): v for k, v in data["outputs"].items()}
        by_gid = data.get("by_grade_id", {})
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            outs = by_gid.get(gid) if gid in by_gid else outputs.get(i, [])
            cell.outputs = [nbformat.from_dict(o) for o in outs]
            cell.execution_count = None
        if data.get("problems"):
            note = "**Grader's notes on this submission:**\n\n" + "\n".join(f"* {p}" for p in data["problems"])
            nb.cells.insert(0, nbformat.v4.new_markdown_cell(note))
        return nb, resources


def nbgrader_config(results_dir: Path, cell_timeout: float) -> dict:
    return {
        "Autograde": {"autograde_preprocessors": [
            "autograde.pipeline.InjectOutputs",
            "nbgrader.preprocessors.IgnorePattern",
            "nbconvert.preprocessors.ClearMetadataPreprocessor",
            "nbgrader.preprocessors.LimitOutput",
            "nbgrader.preprocessors.SaveAutoGrades",
            "nbgrader.preprocessors.AssignLatePenalties"]},   # CheckCellMetadata already ran when sanitising
        "InjectOutputs": {"results_dir": str(results_dir)},
        # nbgrader #917: feedback must not show hidden tests
        "GenerateFeedback": {"preprocessors": [
            "nbgrader.preprocessors.GetGrades",
            "nbgrader.preprocessors.ClearHiddenTests",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]},
        "ClearHiddenTests": {"enforce_metadata": False},
        "ExecutePreprocessor": {"timeout": int(cell_timeout)},
    }


# ----------------------------------------------------------------------------- normalising
def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def normalise(sub_dir: Path | None, chapter: str, release) -> tuple[object, list[str], str | None]:
    """The learner's notebook in a shape nbgrader can grade: ``(notebook, problems, skip_all)``.

    Graded test cells come from the release (the learner cannot change them), each
    placed right after the learner's cell that precedes it in the release; missing,
    duplicated or retyped ones are repaired and reported. ``skip_all`` says why
    nothing can run (no notebook, invalid JSON)."""
    problems: list[str] = []
    if sub_dir is None or not sub_dir.is_dir():
        return copy.deepcopy(release), ["no submission folder for this chapter"], \
            "no submission: the folder for this chapter is missing"
    expected = sub_dir / f"{chapter}.ipynb"
    found = sorted(p for p in sub_dir.glob("*.ipynb") if p.is_file())
    if not expected.exists():
        if not found:
            what = "the submission folder is empty" if not any(sub_dir.iterdir()) else \
                f"the submission folder has no notebook (expected {expected.name})"
            return copy.deepcopy(release), [what], f"no submission: {what}"
        problems.append(f"notebook named {found[0].name} instead of {expected.name}; graded it anyway")
        path = found[0]
    else:
        path = expected
    extra = [p.name for p in found if p != path]
    if extra:
        problems.append(f"extra notebook(s) ignored: {', '.join(extra)}")
    try:
        nb = nbformat.reads(path.read_bytes().decode("utf-8", errors="replace"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as e:  # noqa: BLE001 - any unreadable file is reported, not raised
        msg = f"{path.name} is not a valid notebook ({type(e).__name__}: {str(e)[:150]})"
        return copy.deepcopy(release), [msg], f"no submission: {msg}"

    test_cells = {_gid(c): c for c in release.cells
                  if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                  and not c.metadata.get("nbgrader", {}).get("solution")}
    learner_cells, seen, order = [], set(), []
    moved = set()
    for cell in nb.cells:
        if cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        gid = _gid(cell)
        if gid in test_cells:
            if gid in seen:
                problems.append(f"test cell {gid} appears more than once; the copies were ignored")
                continue
            seen.add(gid)
            order.append(gid)
            exercise = gid[len("test_"):] if gid.startswith("test_") else None
            if exercise and exercise not in {_gid(c) for c in learner_cells} and \
                    any(_gid(c) == exercise for c in nb.cells):
                moved.add(gid)
            if cell.cell_type != "code":
                problems.append(f"test cell {gid} was changed to {cell.cell_type}; restored")
            continue
        if gid is not None:
            if gid in {_gid(c) for c in learner_cells}:
                problems.append(f"grade id {gid} appears more than once; the copy lost its grading metadata")
                cell = copy.deepcopy(cell)
                del cell.metadata["nbgrader"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        learner_cells.append(cell)
    missing = [g for g in test_cells if g not in seen]
    for g in missing:
        problems.append(f"test cell {g} was deleted; restored from the course and run")
    # put every test cell right after the learner cell holding the release's preceding grade id
    out = list(learner_cells)
    rel = release.cells
    for gid, tcell in test_cells.items():
        idx = next(i for i, c in enumerate(rel) if _gid(c) == gid)
        anchor = None
        for c in reversed(rel[:idx]):
            g = _gid(c)
            if g is not None and g not in test_cells:
                anchor = g
                break
        pos = next((i + 1 for i, c in enumerate(out) if anchor is not None and _gid(c) == anchor), None)
        if pos is None:
            pos = len(out)
        while pos < len(out) and _gid(out[pos]) in test_cells:   # several tests of one exercise: keep release order
            pos += 1
        out.insert(pos, copy.deepcopy(tcell))
    placed = [_gid(c) for c in out if _gid(c) in test_cells]
    if moved or order != [g for g in placed if g in seen]:
        problems.append(f"test cell(s) {', '.join(sorted(moved)) or 'reordered'} moved; "
                        "each was run right after its exercise")
    nb.cells = out
    nb.metadata = copy.deepcopy(release.metadata)
    return nb, problems, None


# ----------------------------------------------------------------------------- phase A (workers)
_SLOT: sandbox.Slot | None = None


def _init_worker(stage: str, blocked: str, limits: sandbox.Limits, use_sandbox: bool):
    global _SLOT
    os.environ["MPLBACKEND"] = "agg"
    import nnbook.testing  # noqa: F401 - warnings to stdout in the judge too
    _SLOT = sandbox.Slot(Path(stage), blocked, limits, use_sandbox)


def _grade_one(chapter: str, learner: str, sub_dir: str | None, release_path: str, source_path: str,
               course_root: str) -> dict:
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(source_path, as_version=4)
    tests = {_gid(c): c.source for c in source.cells
             if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
             and not c.metadata.get("nbgrader", {}).get("solution")}
    names = judge.solution_names(source)
    sub = Path(sub_dir) if sub_dir else None
    nb, problems, skip_all = normalise(sub, chapter, release)
    target = Path(course_root) / "submitted" / learner / chapter
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    nbformat.write(nb, target / f"{chapter}.ipynb")
    if sub is not None and (sub / "timestamp.txt").is_file():      # intake: the submission time, for nbgrader
        shutil.copy(sub / "timestamp.txt", target / "timestamp.txt")
    try:
        run = judge.run_notebook(_SLOT, nb.cells, tests, names, sub if not skip_all else None, skip_all)
    except Exception as e:  # noqa: BLE001 - a grader failure must not stop the batch
        run = judge.NotebookRun()
        msg = f"grading failed: {type(e).__name__}: {e}"
        run.outputs = {i: [judge.error("GraderError", msg)] for i, c in enumerate(nb.cells) if _gid(c) in tests}
        run.problems.append(msg)
        try:
            _SLOT.restart()
        except Exception:  # noqa: BLE001
            pass
    by_gid = {_gid(nb.cells[i]): o for i, o in run.outputs.items() if _gid(nb.cells[i]) in tests}
    return {"learner": learner, "outputs": {str(k): v for k, v in run.outputs.items()}, "by_grade_id": by_gid,
            "problems": problems + run.problems, "seconds": run.seconds}


_API = None


def _feedback_one(chapter: str, learner: str, course_root: str, extra: dict) -> str | None:
    """nbgrader generate_feedback for one learner (reads the gradebook only), in a worker."""
    global _API
    if _API is None:
        from nbgrader.apps import NbGraderAPI
        from .course import _config
        _cache_templates()
        _API = NbGraderAPI(config=_config(Path(course_root), extra))
    fb = _API.generate_feedback(chapter, learner, force=True)
    return None if fb["success"] else "nbgrader generate_feedback failed: " + str(fb.get("error") or fb["log"])[-300:]


def _cache_templates() -> None:
    """Compile nbconvert's Jinja templates once per worker process, not once per feedback page."""
    import jinja2
    from nbconvert.exporters.templateexporter import TemplateExporter

    class Cache(jinja2.BytecodeCache):
        store: dict = {}

        def load_bytecode(self, bucket):
            code = self.store.get(bucket.key)
            if code is not None:
                bucket.code = code

        def dump_bytecode(self, bucket):
            self.store[bucket.key] = bucket.code

    original = TemplateExporter._create_environment
    if getattr(original, "_nnbook_cached", False):
        return
    cache = Cache()

    def create(self):
        env = original(self)
        env.bytecode_cache = cache
        return env
    create._nnbook_cached = True
    TemplateExporter._create_environment = create


_TUNED = False


def tune_sqlite() -> None:
    """WAL journal for the gradebook: readers (feedback workers) never block the one writer,
    and a commit costs no fsync of the whole database."""
    global _TUNED
    if _TUNED:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    _TUNED = True


# ----------------------------------------------------------------------------- the class
@dataclass
class ClassResult:
    chapter: str
    results: dict[str, NotebookResult]
    problems: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)   # summed seconds per phase


def chapter_modules() -> dict[str, str]:
    """chapter -> nnbook module name, from each source notebook's ``#| default_exp``."""
    from .build import find_chapters, _directives
    mods = {}
    for ch in find_chapters():
        nb = nbformat.read(ch.source, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and "default_exp" in _directives(cell.source):
                mods[ch.name] = _directives(cell.source)["default_exp"].strip()
                break
    return mods


def find_learners(submitted: Path) -> list[str]:
    return sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))


def unpack_zip(zip_path: Path, dest: Path) -> Path:
    """Extract a zip of ``[submitted/]<learner>/<chapter>/...`` safely; return the submitted root.

    The extraction is :func:`autograde.intake.safe_extract` (size, entry and ratio caps; no links)."""
    from .intake import Caps, _descend, safe_extract
    safe_extract(zip_path, dest, Caps())
    return _descend(dest, [])


def grade_chapter(chapter: str, submitted: Path, out: Path, *, jobs: int | None = None,
                  limits: sandbox.Limits | None = None, use_sandbox: bool = True,
                  learners: list[str] | None = None, progress: bool = True,
                  feedback: bool = True, extra_config: dict | None = None, due=None) -> ClassResult:
    """Grade every learner's ``submitted/<learner>/<chapter>/`` into the course in ``out/course``."""
    t0 = time.monotonic()
    limits = limits or sandbox.Limits()
    jobs = jobs or os.cpu_count() or 1
    out = Path(out).resolve()
    root = out / "course"
    results_dir = root / RESULTS / "results"
    learners = learners if learners is not None else find_learners(submitted)
    sandbox.warn_if_unsandboxed(use_sandbox)
    tune_sqlite()
    import warnings
    warnings.filterwarnings("ignore", module="nbgrader")     # SQLAlchemy "not in session" chatter
    warnings.filterwarnings("ignore", message=".*not in session.*")
    extra = nbgrader_config(results_dir, limits.cell_timeout)
    if extra_config:
        from traitlets.config import Config
        merged = Config(extra)
        merged.merge(Config(extra_config))
        extra = {k: dict(v) for k, v in merged.items()}
    api = prepare_course(root, chapter, extra)
    from .late import set_due
    set_due(api, chapter, due)                              # the gradebook assignment's duedate
    release_path = root / "release" / chapter / f"{chapter}.ipynb"
    source_path = root / "source" / chapter / f"{chapter}.ipynb"
    mods = chapter_modules()
    blocked = mods.get(chapter)
    earlier = [m for c, m in mods.items() if c < chapter]
    stage = root / RESULTS / f"stage-{chapter}"
    sandbox.stage_library(stage, blocked, earlier)
    problems: dict[str, list[str]] = {}
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(learners), desc=f"grading {chapter}", unit="learner", file=sys.stderr)
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(learners) or 1)), mp_context=ctx,
                             initializer=_init_worker,
                             initargs=(str(stage), blocked, limits, use_sandbox)) as pool:
        futures = {}
        for learner in learners:
            sub = submitted / learner / chapter
            futures[pool.submit(_grade_one, chapter, learner, str(sub) if sub.is_dir() else None,
                                str(release_path), str(source_path), str(root))] = learner
        feedbacks = {}
        timing = {"run notebooks (workers)": 0.0, "nbgrader autograde (one writer)": 0.0}
        for fut in as_completed(futures):
            learner = futures[fut]
            try:
                data = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. a worker process killed
                data = {"learner": learner, "outputs": {}, "by_grade_id": {},
                        "problems": [f"grading failed: {type(e).__name__}: {e}"], "seconds": 0}
                _grade_failed_outputs(data, chapter, root)
            problems[learner] = data["problems"]
            timing["run notebooks (workers)"] += data.get("seconds", 0)
            t_ag = time.monotonic()
            dest = results_dir / learner
            dest.mkdir(parents=True, exist_ok=True)
            (dest / f"{chapter}.json").write_text(json.dumps(data))
            res = api.autograde(chapter, learner, force=True, create=True)
            if not res["success"]:
                problems[learner].append("nbgrader autograde failed: " + (res.get("error") or res["log"])[-500:])
            timing["nbgrader autograde (one writer)"] += time.monotonic() - t_ag
            if feedback and res["success"]:
                feedbacks[pool.submit(_feedback_one, chapter, learner, str(root), extra)] = learner
            if bar:
                bar.update(1)
        for fut in as_completed(feedbacks):
            try:
                msg = fut.result()
            except Exception as e:  # noqa: BLE001
                msg = f"feedback failed: {type(e).__name__}: {e}"
            if msg:
                problems[feedbacks[fut]].append(msg)
    if bar:
        bar.close()
    results = read_results(root, chapter, learners)
    for learner, res in results.items():
        notes = problems.get(learner) or []
        if notes:
            res.problem = "; ".join(notes) if res.problem is None else res.problem + "; " + "; ".join(notes)
    return ClassResult(chapter, results, problems, time.monotonic() - t0, timing)


def _grade_failed_outputs(data: dict, chapter: str, root: Path) -> None:
    """When a worker died, still give nbgrader a notebook and error outputs for every test."""
    release = nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    target = root / "submitted" / data["learner"] / chapter
    if not (target / f"{chapter}.ipynb").exists():
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(release, target / f"{chapter}.ipynb")
    msg = data["problems"][0]
    data["by_grade_id"] = {_gid(c): [judge.error("GraderError", msg)] for c in release.cells
                           if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


# ----------------------------------------------------------------------------- reports
def exercise_ids(root: Path, chapter: str) -> list[str]:
    release = nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    return [_gid(c) for c in release.cells if c.cell_type == "code"
            and c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.get("nbgrader", {}).get("solution")]


def write_reports(out: Path, classes: list[ClassResult], state: dict | None = None) -> str:
    """grades.csv, feedback/<learner>/<chapter>.html and summary.txt in ``out``; return the summary."""
    out = Path(out).resolve()
    root = out / "course"
    from .lms import write_grades
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
        width = max([len(l) for l in c.results] + [7])
        for l, r in sorted(c.results.items()):
            mark = f"  !! {r.problem}" if r.problem else ""
            lines.append(f"  {l:<{width}}  {r.total:5g} / {r.max_total:<5g}{mark}")
    lines.append(f"grades: {out / 'grades.csv'}")
    lines.append(f"feedback pages: {fb}/<learner>/<chapter>.html")
    text = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(text)
    return text


def grade(submissions: Path, chapters: list[str], out: Path, *, students: list[str] | None = None,
          due=None, late_penalty: str | None = None, lms: list[str] | None = None, report: bool = True,
          **kwargs) -> tuple[list[ClassResult], str]:
    """Everything ``nnbook-grade`` does: a folder or a zip in (any layout :mod:`autograde.intake`
    reads), reports out. ``students``: grade only these, keeping everyone else's results."""
    from . import intake as intake_mod, late, lms as lms_mod, report as report_mod
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    intake = intake_mod.collect(Path(submissions), chapters, out, students=students)
    if due is not None or late_penalty:
        from traitlets.config import Config
        merged = Config(late.config(late_penalty))
        merged.merge(Config(kwargs.pop("extra_config", None) or {}))
        kwargs["extra_config"] = {k: dict(v) for k, v in merged.items()}
    classes = [grade_chapter(ch, intake.submitted, out, learners=list(intake.learners), due=due, **kwargs)
               for ch in chapters]
    classes, state = intake_mod.finish(out, classes, intake)
    summary = (f"read {submissions} as {intake.layout}: {len(intake.learners)} learner(s)"
               + (f" (only {', '.join(intake.learners)}; everyone else as graded before)" if students else "")
               + "".join(f"\n  !! {n}" for n in intake.notes)
               + "".join(f"\n  !! {k!r}: {v}" for k, v in intake.refused.items()) + "\n")
    summary += write_reports(out, classes, state)
    for kind in lms or []:
        for path in lms_mod.write_lms(out, classes, kind, state):
            summary += f"{kind} import file: {path}\n"
    if report:
        summary += f"class report: {report_mod.write(out, classes, state)}\n"
    (out / "summary.txt").write_text(summary)
    return classes, summary


def grade_submissions(chapter: str, submissions: dict, workdir: Path, **kwargs) -> dict[str, NotebookResult]:
    """``{student: notebook node, path or raw bytes}`` -> ``{student: NotebookResult}`` via the pipeline."""
    workdir = Path(workdir)
    raw = workdir / "raw"
    for student, notebook in submissions.items():
        write_submission(raw, chapter, student, notebook)
    kwargs.setdefault("progress", False)
    kwargs.setdefault("feedback", False)
    return grade_chapter(chapter, raw, workdir, learners=list(submissions), **kwargs).results
