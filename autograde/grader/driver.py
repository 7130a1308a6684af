"""``nnbook-grade``'s engine: nbgrader's own ``autograde`` and ``generate_feedback``, learners in parallel.

For each chapter: the chapter's *current* source is copied into the output's course and released
there (``generate_assignment``); each learner's files are laid out in ``course/submitted/``
(:func:`lay_out`); then worker processes run ``NbGraderAPI.autograde`` for one learner at a time
-- the same Autograde converter, with the same plug-ins (:mod:`autograde.grader.plugins`), that
``nbgrader autograde`` and formgrader use -- each worker keeping its warm sandbox between
learners, and then ``generate_feedback``. Scores are read back from the gradebook.

A failure of the grader itself (not of the learner's code) is reported as a grader error: the
learner's row says so and ``nnbook-grade`` exits non-zero.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import re
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .. import paths
from .gradebook import NotebookResult, read_results, tune_sqlite
from .plugins import _strip_forged_notes, add_notes


@dataclass
class ClassResult:
    chapter: str
    results: dict[str, NotebookResult]
    problems: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0
    timing: dict[str, float] = field(default_factory=dict)   # summed seconds per phase
    grader_errors: dict[str, str] = field(default_factory=dict)
    stats: dict = field(default_factory=dict)                 # on a Dask cluster: batches, workers, writes


# ----------------------------------------------------------------------------- the course
def course_config(root: Path, extra: dict | None = None):
    """The book's nbgrader configuration, for a course in ``root`` with its own gradebook (nbgrader's
    ``db_url``: SQLite in ``root``, or the database ``--db`` named for this course)."""
    from traitlets.config import Config, PyFileConfigLoader

    from .gradebook import db_url

    config = PyFileConfigLoader(paths.nbgrader_config_file().name, path=str(paths.nbgrader_config_file().parent)).load_config()
    config.merge(Config({
        "CourseDirectory": {"root": str(root), "source_directory": "source", "release_directory": "release",
                            "db_url": db_url(root)},
        "Application": {"log_level": "WARN"},
    }))
    if extra:
        config.merge(Config(extra))
    return config


def ensure_bin_on_path() -> None:
    """nbgrader shells out to ``alembic``, which lives next to this interpreter."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def prepare_course(root: Path, chapter: str, config):
    """Copy the chapter's current source into ``root/source`` and release it; return the nbgrader API."""
    from nbgrader.apps import NbGraderAPI

    ensure_bin_on_path()
    root.mkdir(parents=True, exist_ok=True)
    src = root / "source" / chapter
    if src.exists():
        shutil.rmtree(src)      # a re-grade uses the source as it is now, never an old copy
    shutil.copytree(paths.solutions_dir() / chapter, src)
    api = NbGraderAPI(config=config)
    result = api.generate_assignment(chapter, force=True)
    if not result["success"]:
        raise RuntimeError(f"generate_assignment {chapter} failed:\n{result['log']}\n{result.get('error')}")
    return api


LIBRARY_DIR = "mynnbook"                  # the learner's own library (nnbook-mine), handed in with the chapter
LIBRARY_FILE = re.compile(r"^(?:[a-z_][a-z0-9_]{0,40}\.py|status\.json)$")
LIBRARY_FILE_BYTES = 1_000_000


def _copy_library(src: Path, dest: Path) -> None:
    """The learner's library folder, if handed in: its modules and status.json, plain files only (no links,
    no subfolders, nothing large). It runs in the learner's sandbox like the rest of their code."""
    if not src.is_dir() or src.is_symlink():
        return
    for p in sorted(src.iterdir())[:64]:
        if LIBRARY_FILE.match(p.name) and p.is_file() and not p.is_symlink() and p.stat().st_size <= LIBRARY_FILE_BYTES:
            dest.mkdir(exist_ok=True)
            shutil.copy(p, dest / p.name)


def lay_out(sub_dir: Path | None, chapter: str, release, target: Path) -> list[str]:
    """Put one learner's files for ``chapter`` into ``target`` (their folder in ``course/submitted``).

    The notebook is the one named like the chapter, else the only other notebook; a missing,
    empty or unreadable one becomes the released notebook, noted. Returns the notes."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    notes: list[str] = []
    nb = None
    name = f"{chapter}.ipynb"
    if sub_dir is None or not sub_dir.is_dir():
        notes.append("no submission: the folder for this chapter is missing")
    else:
        found = sorted(p for p in sub_dir.glob("*.ipynb") if p.is_file() and not p.is_symlink())
        path = sub_dir / name if (sub_dir / name) in found else (found[0] if found else None)
        if path is None:
            notes.append("no submission: " + ("the submission folder is empty" if not any(sub_dir.iterdir())
                                              else f"the submission folder has no notebook (expected {name})"))
        else:
            if path.name != name:
                notes.append(f"notebook named {path.name} instead of {name}; graded it anyway")
            extra = [p.name for p in found if p != path]
            if extra:
                notes.append(f"extra notebook(s) ignored: {', '.join(extra)}")
            try:
                nb = nbformat.reads(path.read_bytes().decode("utf-8", errors="replace"), as_version=4)
                if not isinstance(nb.get("cells"), list):
                    raise ValueError("no cells")
                _strip_forged_notes(nb)
            except Exception as e:  # noqa: BLE001 - any unreadable file is reported, not raised
                notes.append(f"no submission: {path.name} is not a valid notebook "
                             f"({type(e).__name__}: {str(e)[:150]})")
                nb = None
            for p in sub_dir.iterdir():          # the learner's other files (data, modules) go along
                if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb":
                    shutil.copy(p, target / p.name)
            _copy_library(sub_dir / LIBRARY_DIR, target / LIBRARY_DIR)
    if nb is None:
        nb = nbformat.from_dict(release)
    add_notes(nb, notes)
    nbformat.write(nb, target / name)
    return notes


# ----------------------------------------------------------------------------- workers
_API = None


def _quiet_gradebook_warnings() -> None:
    """nbgrader 0.9's gradebook triggers this SQLAlchemy notice on every submission (harmless, and
    one line per learner would drown the progress bar); nbgrader's own warnings stay on."""
    import warnings

    from sqlalchemy.exc import SAWarning
    warnings.filterwarnings("ignore", message=r"Object of type <\w+> not in session", category=SAWarning)


def _worker_api(config):
    global _API
    if _API is None:
        from nbgrader.apps import NbGraderAPI
        _quiet_gradebook_warnings()
        _API = NbGraderAPI(config=config)
    return _API


def _grade_one(chapter: str, learner: str, config) -> dict:
    """nbgrader autograde of one learner, in a worker process."""
    t0 = time.monotonic()
    api = _worker_api(config)
    res = api.autograde(chapter, learner, force=True, create=True)
    out = {"learner": learner, "seconds": time.monotonic() - t0, "error": None}
    if not res["success"]:
        out["error"] = "nbgrader autograde failed: " + (str(res.get("log") or "")[-1500:] + "\n"
                                                        + str(res.get("error") or ""))[-2500:]
    return out


def _feedback_some(chapter: str, learners: list[str], others: list[str], config) -> dict[str, str]:
    """nbgrader generate_feedback for ``learners``, in a worker: one nbgrader run for all of them
    (``student_id_exclude`` leaves out ``others``), so the page templates are compiled once per
    worker, not once per learner. Returns {learner: why it failed} (one at a time after a failure)."""
    api = _worker_api(config)
    api.coursedir.student_id_exclude = ",".join(others)
    try:
        res = api.generate_feedback(chapter, force=True)
    finally:
        api.coursedir.student_id_exclude = ""
    if res["success"]:
        return {}
    failed = {}
    for learner in learners:
        fb = api.generate_feedback(chapter, learner, force=True)
        if not fb["success"]:
            failed[learner] = "nbgrader generate_feedback failed: " + str(fb.get("error") or fb["log"])[-300:]
    return failed


def find_learners(submitted: Path) -> list[str]:
    return sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.name.startswith("."))


def execute_traits(limits, use_sandbox: bool) -> dict:
    """``SandboxedExecute``'s configuration for these limits."""
    return {"cell_timeout": limits.cell_timeout, "notebook_timeout": limits.notebook_timeout,
            "memory_mb": limits.memory_mb, "file_mb": limits.file_mb, "processes": limits.processes,
            "open_files": limits.open_files, "sandbox": use_sandbox}


def grade_chapter(chapter: str, submitted: Path, out: Path, *, jobs: int | None = None, limits=None,
                  use_sandbox: bool = True, learners: list[str] | None = None, progress: bool = True,
                  feedback: bool = True, extra_config: dict | None = None, due=None, session=None,
                  batch_size: int | None = None) -> ClassResult:
    """Grade every learner's ``submitted/<learner>/<chapter>/`` into the course in ``out/course``.

    ``session``: a :class:`autograde.grader.cluster.Session` -- grade on its Dask cluster (workers get the
    files as bytes, the client writes the gradebook in batches of ``batch_size`` learners); without it,
    on this machine's process pool (``jobs`` processes)."""
    from ..sandbox import Limits, warn_if_unsandboxed

    t0 = time.monotonic()
    limits = limits or Limits()
    jobs = jobs or os.cpu_count() or 1
    out = Path(out).resolve()
    root = out / "course"
    learners = learners if learners is not None else find_learners(submitted)
    warn_if_unsandboxed(use_sandbox)
    tune_sqlite()
    # worker processes end without running atexit handlers: their sandboxes' staged libraries live in
    # the course (left from the last run, for inspection) and are cleared when the next run starts
    stages = root / ".nnbook" / "stages"
    shutil.rmtree(stages, ignore_errors=True)
    execute = {**execute_traits(limits, use_sandbox), "stage_root": str(stages)}
    extra = {"SandboxedExecute": execute}
    if extra_config:
        from traitlets.config import Config
        merged = Config(extra)
        merged.merge(Config(extra_config))
        extra = merged
    config = course_config(root, extra)
    api = prepare_course(root, chapter, config)
    from ..late import set_due
    set_due(api, chapter, due)                              # the gradebook assignment's duedate
    release = nbformat.read(root / "release" / chapter / f"{chapter}.ipynb", as_version=4)
    problems: dict[str, list[str]] = {}
    for learner in learners:
        sub = submitted / learner / chapter
        problems[learner] = lay_out(sub if sub.is_dir() else None, chapter, release,
                                    root / "submitted" / learner / chapter)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(learners), desc=f"grading {chapter}", unit="learner", file=sys.stderr)
    grader_errors: dict[str, str] = {}
    timing = {"autograde (workers)": 0.0}
    stats = {}
    if session is not None:
        from . import cluster
        ran = cluster.run(session, chapter, root, learners, extra=_plain(extra), config=config, feedback=feedback,
                          due=due.isoformat() if due is not None else None, batch_size=batch_size, bar=bar)
        grader_errors, timing, stats = ran["grader_errors"], ran["timing"], ran["stats"]
        for learner, why in ran["feedback_errors"].items():
            problems[learner].append(why)
    else:
        from .gradebook import forget_digests
        forget_digests(config.CourseDirectory.db_url, config.CourseDirectory.course_id, chapter, learners)
        _run_pool(chapter, learners, config, root, jobs, feedback, bar, grader_errors, timing, problems)
    if bar:
        bar.close()
    results = read_results(root, chapter, learners, config)
    for learner, res in results.items():
        notes = [n for n in res.notes if n not in problems.get(learner, [])]
        all_notes = list(dict.fromkeys(problems.get(learner, []) + notes))     # each note once
        if learner in grader_errors:
            res.grader_error = grader_errors[learner]
            all_notes.append(f"GRADER ERROR (not the learner's fault; not graded): {grader_errors[learner]}")
        res.notes = all_notes
        if all_notes:
            res.problem = "; ".join(all_notes)
    return ClassResult(chapter, results, problems, time.monotonic() - t0, timing, grader_errors, stats)


def _plain(config) -> dict:
    """A traitlets configuration (or a dict of them) as plain dicts, to send to a Dask worker."""
    if isinstance(config, dict):
        return {str(k): _plain(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_plain(v) for v in config]
    return config


def _run_pool(chapter, learners, config, root, jobs, feedback, bar, grader_errors, timing, problems):
    """One machine: ``jobs`` worker processes (each keeping its warm sandbox) autograde one learner at a
    time, then write feedback pages for a share of the learners each."""
    ctx = mp.get_context("fork")
    workers = max(1, min(jobs, len(learners) or 1))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(_grade_one, chapter, learner, config): learner for learner in learners}
        for fut in as_completed(futures):
            learner = futures[fut]
            try:
                data = fut.result()
            except Exception as e:  # noqa: BLE001 - e.g. a worker process killed
                data = {"error": f"grading failed: {type(e).__name__}: {e}", "seconds": 0}
            timing["autograde (workers)"] += data["seconds"]
            if data["error"]:
                grader_errors[learner] = data["error"]
            if bar:
                bar.update(1)
        graded = [l for l in learners if l not in grader_errors]
        if feedback and graded:
            t_fb = time.monotonic()
            everyone = sorted(p.name for p in (root / "autograded").iterdir() if p.is_dir())
            chunks = [graded[k::workers] for k in range(workers) if graded[k::workers]]
            fbs = {pool.submit(_feedback_some, chapter, chunk, [l for l in everyone if l not in chunk], config): chunk
                   for chunk in chunks}
            for fut in as_completed(fbs):
                try:
                    failed = fut.result()
                except Exception as e:  # noqa: BLE001
                    failed = {l: f"feedback failed: {type(e).__name__}: {e}" for l in fbs[fut]}
                for learner, why in failed.items():
                    problems[learner].append(why)
            timing["feedback pages"] = time.monotonic() - t_fb


def grade(submissions: Path, chapters: list[str], out: Path, *, students: list[str] | None = None,
          due=None, late_penalty: str | None = None, lms: list[str] | None = None, report: bool = True,
          scheduler: str | None = None, db: str | None = None, **kwargs) -> tuple[list[ClassResult], str]:
    """Everything ``nnbook-grade`` does: a folder or a zip in (any layout :mod:`autograde.intake`
    reads), reports out. ``students``: grade only these, keeping everyone else's results.

    ``scheduler``: a Dask scheduler's address (``tcp://HOST:PORT``, or ``local[:N]``) to grade on
    (:mod:`autograde.grader.cluster`); ``db``: the gradebook's database URL (nbgrader's ``db_url``,
    e.g. ``postgresql://user@host/db``), remembered for this output folder; default SQLite in
    ``OUT/course/gradebook.db``."""
    from .. import intake as intake_mod, late, lms as lms_mod, report as report_mod
    from ..reports import write_reports
    from .gradebook import normalize_db_url, set_db_url

    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if db:
        set_db_url(out / "course", normalize_db_url(db))
    intake = intake_mod.collect(Path(submissions), chapters, out, students=students)
    if due is not None or late_penalty:
        from traitlets.config import Config
        merged = Config(late.config(late_penalty))
        merged.merge(Config(kwargs.pop("extra_config", None) or {}))
        kwargs["extra_config"] = merged
    session = None
    if scheduler is not None:
        from ..sandbox import Limits
        from . import cluster
        session = cluster.connect(scheduler, chapters=chapters, jobs=kwargs.get("jobs"),
                                  execute=execute_traits(kwargs.get("limits") or Limits(),
                                                         kwargs.get("use_sandbox", True)))
    try:
        classes = [grade_chapter(ch, intake.submitted, out, learners=list(intake.learners), due=due,
                                 session=session, **kwargs) for ch in chapters]
    finally:
        if session is not None:
            session.close()
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
