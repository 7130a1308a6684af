"""``nnbook-grade --scheduler tcp://HOST:PORT``: the same grading on a ``dask.distributed`` cluster.

What runs where:

* **the client** (``nnbook-grade``) prepares the course as on one machine (release, due date, each
  learner's files laid out in ``course/submitted``), then sends *batches* of learners as Dask tasks
  (:func:`grade_batch`): each task carries the bytes of its learners' files -- client and workers
  share no disk -- and returns plain data (scores, comments, late penalties, the autograded notebook
  and feedback page as bytes). The client is the gradebook's **single writer**: each batch that
  comes back is written in one transaction (:func:`autograde.grader.gradebook.write_graded`), with
  the digest of what was graded, so a rerun skips what is already in the gradebook unchanged.
* **each worker** holds a :class:`GradingSlot` worker plugin for its lifetime (until the next run
  registers its own): a scratch folder with the book's ``solutions/`` (sent inside the plugin), one
  local nbgrader course per chapter with its own SQLite gradebook, and the warm sandbox slot that
  :mod:`autograde.grader.plugins` keeps per process. A task runs nbgrader's own ``autograde`` and
  ``generate_feedback`` there, exactly as the process pool does on one machine.

Faults: a worker that dies mid-batch loses nothing -- the scheduler gives the batch to another worker
(Dask's ``allowed-failures``), and the writer writes each learner once; a batch that keeps killing
workers becomes a grader error for its learners. A scheduler that goes away ends the run with
:class:`SchedulerLost`; what was written stays, and the same command continues from the gradebook.

``scheduler="local"`` (or ``"local:N"``) starts a ``LocalCluster`` of N worker processes on this
machine: the same code path, without a cluster.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import io
import json
import os
import shutil
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PLUGIN = "nnbook-grading"


class SchedulerLost(RuntimeError):
    """The Dask scheduler cannot be reached (never, or no longer)."""


# ----------------------------------------------------------------------------- the book, as bytes
def book_bundle() -> tuple[bytes, str]:
    """The book's ``solutions/`` as a zip (what a worker needs to release a chapter and to know the
    chapters' modules), and its digest."""
    from .. import paths

    sol = paths.solutions_dir()
    buf = io.BytesIO()
    h = hashlib.sha256()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(sol.rglob("*")):
            rel = p.relative_to(sol)
            if not p.is_file() or p.is_symlink() or any(part.startswith(".") or part == "__pycache__"
                                                         for part in rel.parts):
                continue
            data = p.read_bytes()
            h.update(str(rel).encode() + b"\0" + hashlib.sha256(data).digest())
            info = zipfile.ZipInfo(str(rel), date_time=(2000, 1, 1, 0, 0, 0))
            z.writestr(info, data, zipfile.ZIP_DEFLATED)
    return buf.getvalue(), h.hexdigest()


def _safe_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and "\0" not in name


def _read_tree(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder``, subfolders included, as ``{relative path: bytes}`` (links are
    not followed): a learner's files go to the worker whole, the library ``mynnbook/`` that
    :func:`autograde.grader.driver.lay_out` kept with them too (tests/test_dask.py checks it is used there)."""
    out = {}
    if folder.is_dir():
        for p in sorted(folder.rglob("*")):
            if p.is_file() and not p.is_symlink():
                out[str(p.relative_to(folder))] = p.read_bytes()
    return out


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        if not _safe_name(name):
            raise ValueError(f"refused file name {name!r}")
        dest = folder / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)


# ----------------------------------------------------------------------------- the worker side
try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # pragma: no cover - dask is a dependency; this keeps the module importable
    WorkerPlugin = object


class GradingSlot(WorkerPlugin):
    """A Dask worker plugin: this worker's grading state for its lifetime.

    ``book``: the zip from :func:`book_bundle`; ``warm``: ``[(chapter, execute traits)]`` whose sandbox
    slot is started at setup, so the first batch does not pay for it. Grading is one batch at a time
    per worker process (a lock): run workers with ``--nthreads 1`` and as many processes as cores."""

    name = PLUGIN

    def __init__(self, book: bytes, digest: str, warm: list[tuple[str, dict]] = ()):
        self.book, self.digest, self.warm = book, digest, list(warm)
        self.scratch: Path | None = None
        self.courses: dict = {}
        self.lock = threading.Lock()
        self.batches = 0

    def __getstate__(self):
        return {"book": self.book, "digest": self.digest, "warm": self.warm}

    def __setstate__(self, state):
        self.__init__(state["book"], state["digest"], state["warm"])

    async def setup(self, worker):
        self.worker_address = worker.address
        self.scratch = Path(worker.local_directory) / f"nnbook-{self.digest[:12]}"
        await asyncio.to_thread(self._setup)

    def _setup(self):
        from .. import paths
        from .driver import _quiet_gradebook_warnings
        from .gradebook import tune_sqlite

        with self.lock:
            if self.scratch.exists():
                shutil.rmtree(self.scratch)
            book = self.scratch / "book"
            with zipfile.ZipFile(io.BytesIO(self.book)) as z:
                _write_tree(book / "solutions", {n: z.read(n) for n in z.namelist()})
            paths.set_course_root(book)
            os.environ["NNBOOK_COURSE"] = str(book)
            tune_sqlite()
            _quiet_gradebook_warnings()
            for chapter, execute in self.warm:
                self._slot(chapter, execute)

    def _slot(self, chapter: str, execute: dict):
        """The warm sandbox slot SandboxedExecute will use for ``chapter`` (the same key)."""
        import nbformat

        from .. import cells, paths
        from ..sandbox import Limits
        from .plugins import get_slot

        src = nbformat.read(paths.source_notebook(chapter), as_version=4)
        limits = Limits(**{k: execute[k] for k in ("cell_timeout", "notebook_timeout", "memory_mb", "file_mb",
                                                   "processes", "open_files") if k in execute})
        return get_slot(cells.default_exp(src), limits, execute.get("sandbox", True), str(self.scratch / "stages"))

    def teardown(self, worker):
        from .plugins import close_slots
        with self.lock:
            close_slots()
            self.courses.clear()
            if self.scratch is not None:
                shutil.rmtree(self.scratch, ignore_errors=True)

    # -- one local nbgrader course per chapter and configuration
    def course(self, chapter: str, extra: dict, due: str | None):
        import datetime as dt

        from ..late import set_due
        from .driver import _quiet_gradebook_warnings, course_config, prepare_course

        key = hashlib.sha256(json.dumps([chapter, extra, due], sort_keys=True, default=str).encode()).hexdigest()[:16]
        if key not in self.courses:
            extra = copy.deepcopy(extra)
            extra.setdefault("SandboxedExecute", {})["stage_root"] = str(self.scratch / "stages")
            root = self.scratch / "courses" / key
            config = course_config(root, extra)
            _quiet_gradebook_warnings()
            api = prepare_course(root, chapter, config)
            set_due(api, chapter, dt.datetime.fromisoformat(due) if due else None)
            self.courses[key] = (root, api)
        return self.courses[key]


def _local_results(api, chapter: str, learner: str) -> dict:
    """What nbgrader recorded for ``learner`` in the worker's local gradebook, as plain data."""
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        sub = gb.find_submission(chapter, learner)
        out = {"timestamp": sub.timestamp.isoformat() if sub.timestamp else None,
               "grades": [], "comments": [], "penalties": {}}
        for nb in sub.notebooks:
            out["penalties"][nb.name] = nb.late_submission_penalty
            for g in nb.grades:
                out["grades"].append({"name": g.name, "notebook": nb.name, "auto_score": g.auto_score})
            for c in nb.comments:
                out["comments"].append({"name": c.name, "notebook": nb.name, "auto_comment": c.auto_comment})
    return out


def grade_batch(chapter: str, extra: dict, due: str | None, jobs: list[dict], feedback: bool) -> dict:
    """A Dask task: nbgrader ``autograde`` (and ``generate_feedback``) of a batch of learners, in this
    worker's local course. ``jobs``: ``[{learner, files: {name: bytes}, digest}]``. Returns plain data:
    ``{"worker", "pid", "results": [{learner, error, seconds, timestamp, grades, comments, penalties,
    autograded: {name: bytes}, feedback: {name: bytes}, feedback_error, digest}]}``."""
    from distributed import get_worker
    from nbgrader.api import Gradebook, MissingEntry

    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN)
    if plugin is None:
        raise RuntimeError("this Dask worker has no nnbook grading plug-in (register GradingSlot first)")
    with plugin.lock:
        root, api = plugin.course(chapter, extra, due)
        for step in ("submitted", "autograded", "feedback"):      # only this batch's learners are here
            shutil.rmtree(root / step, ignore_errors=True)
        results = []
        for job in jobs:
            learner = job["learner"]
            t0 = time.monotonic()
            r = {"learner": learner, "digest": job["digest"], "error": None, "feedback_error": None,
                 "autograded": {}, "feedback": {}}
            try:
                with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
                    try:
                        gb.remove_submission(chapter, learner)     # nothing left from an earlier batch
                    except MissingEntry:
                        pass
                _write_tree(root / "submitted" / learner / chapter, job["files"])
                res = api.autograde(chapter, learner, force=True, create=True)
                if not res["success"]:
                    r["error"] = "nbgrader autograde failed: " + (str(res.get("log") or "")[-1500:] + "\n"
                                                                  + str(res.get("error") or ""))[-2500:]
                else:
                    r.update(_local_results(api, chapter, learner))
                    r["autograded"] = _read_tree(root / "autograded" / learner / chapter)
            except Exception as e:  # noqa: BLE001 - the grader failed on this learner, not the batch
                r["error"] = f"grading failed on {worker.address}: {type(e).__name__}: {e}"
            r["seconds"] = time.monotonic() - t0
            results.append(r)
        graded = [r for r in results if not r["error"]]
        t_fb = time.monotonic()
        if feedback and graded:
            fb = api.generate_feedback(chapter, force=True)
            for r in graded:
                if not fb["success"]:
                    one = api.generate_feedback(chapter, r["learner"], force=True)
                    if not one["success"]:
                        r["feedback_error"] = ("nbgrader generate_feedback failed: "
                                               + str(one.get("error") or one["log"])[-300:])
                r["feedback"] = _read_tree(root / "feedback" / r["learner"] / chapter)
        plugin.batches += 1
        return {"worker": worker.address, "pid": os.getpid(), "results": results,
                "feedback_seconds": time.monotonic() - t_fb}


# ----------------------------------------------------------------------------- the client side
@dataclass
class Session:
    """A connection to a Dask cluster with the grading plug-in registered on its workers."""
    client: object
    address: str
    cluster: object = None                       # a LocalCluster this session started
    warm: list = field(default_factory=list)
    owned: bool = True                           # False: the caller's Client, left open

    def close(self):
        try:
            if self.owned:
                self.client.close()
        except Exception:  # noqa: BLE001 - a scheduler already gone
            pass
        if self.cluster is not None:
            self.cluster.close()


def connect(scheduler: str, *, chapters: list[str] = (), execute: dict | None = None, jobs: int | None = None,
            timeout: float = 30) -> Session:
    """Connect to ``scheduler`` (``tcp://HOST:PORT``, ``local[:N]`` for a LocalCluster of N worker
    processes, or an already connected ``distributed.Client``, left open) and register :class:`GradingSlot` (the book, and the chapters to warm up) on every worker,
    present and future."""
    from distributed import Client, LocalCluster

    cluster = None
    if not isinstance(scheduler, str):           # a connected distributed.Client (dask-gateway, a notebook)
        client, address, owned = scheduler, getattr(scheduler.scheduler, "address", "the scheduler"), False
        book, digest = book_bundle()
        warm = [(ch, execute or {}) for ch in chapters]
        client.register_plugin(GradingSlot(book, digest, warm), name=PLUGIN)
        return Session(client, address, None, warm, owned)
    if scheduler == "local" or scheduler.startswith("local:"):
        n = int(scheduler.split(":", 1)[1]) if ":" in scheduler else (jobs or os.cpu_count() or 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise SchedulerLost(f"cannot reach the Dask scheduler at {address}: {e}") from None
    book, digest = book_bundle()
    warm = [(ch, execute or {}) for ch in chapters]
    session = Session(client, address, cluster, warm)
    try:
        client.register_plugin(GradingSlot(book, digest, warm), name=PLUGIN)
    except Exception:
        session.close()
        raise
    return session


def _workers(client) -> int:
    try:
        return max(1, len(client.scheduler_info(n_workers=-1)["workers"]))
    except Exception:  # noqa: BLE001
        return 1


def _lost(client) -> bool:
    return getattr(client, "status", "running") not in ("running",)


def run(session: Session, chapter: str, root: Path, learners: list[str], *, extra: dict, due: str | None,
        config, feedback: bool, batch_size: int | None = None, bar=None) -> dict:
    """Grade ``learners`` (laid out in ``root/submitted``) on the cluster, writing each batch that comes
    back into the gradebook. Returns ``{"grader_errors", "feedback_errors", "timing", "stats"}``.
    Learners whose submission (and chapter, and configuration) is unchanged since the writer recorded
    them are not sent again."""
    from distributed import as_completed
    from distributed.client import FutureCancelledError

    from .driver import _quiet_gradebook_warnings
    from .gradebook import done_digests, redact, write_graded

    _quiet_gradebook_warnings()
    client = session.client
    url, course_id = config.CourseDirectory.db_url, config.CourseDirectory.course_id
    release = (root / "release" / chapter / f"{chapter}.ipynb").read_bytes()
    salt = hashlib.sha256(release + (root / "source" / chapter / f"{chapter}.ipynb").read_bytes()
                          + json.dumps([extra, due, feedback], sort_keys=True, default=str).encode()).digest()
    jobs, skipped = [], []
    done = done_digests(url, course_id, chapter)
    for learner in learners:
        files = _read_tree(root / "submitted" / learner / chapter)
        h = hashlib.sha256(salt)
        for name, data in files.items():
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        digest = h.hexdigest()
        if done.get(learner) == digest and (root / "autograded" / learner / chapter / f"{chapter}.ipynb").exists():
            skipped.append(learner)
            continue
        jobs.append({"learner": learner, "files": files, "digest": digest})
    if bar is not None and skipped:
        bar.update(len(skipped))
    workers = _workers(client)
    size = batch_size or max(1, min(8, -(-len(jobs) // (workers * 3)) if jobs else 1))
    batches = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    stats = {"workers": workers, "batch_size": size, "batches": len(batches), "skipped (already graded)": len(skipped),
             "written": 0, "duplicates ignored": 0, "workers used": set(), "write seconds": 0.0}
    grader_errors: dict[str, str] = {}
    feedback_errors: dict[str, str] = {}
    timing = {"autograde (workers)": 0.0, "feedback pages (workers)": 0.0}
    written: set[str] = set()
    window = max(2, 2 * workers)                       # batches in flight: the client does not hold them all
    pending = list(enumerate(batches))
    token = hashlib.sha256(os.urandom(16)).hexdigest()[:10]

    def submit(i, batch):
        fut = client.submit(grade_batch, chapter, extra, due, batch, feedback, pure=False,
                            key=f"nnbook-{chapter}-{token}-{i}")
        return fut

    owners = {}
    ac = as_completed()
    for _ in range(min(window, len(pending))):
        i, batch = pending.pop(0)
        f = submit(i, batch)
        owners[f.key] = batch
        ac.add(f)
    try:
        for fut in ac:
            batch = owners.pop(fut.key)
            try:
                out = fut.result()
            except (FutureCancelledError, asyncio.CancelledError, OSError, TimeoutError) as e:
                if _lost(client) or "scheduler" in str(e).lower():
                    raise SchedulerLost(str(e)) from None
                out = {"results": [{"learner": j["learner"], "error": f"grading failed: {type(e).__name__}: {e}",
                                    "seconds": 0} for j in batch]}
            except Exception as e:  # noqa: BLE001 - KilledWorker (the batch killed several workers), a bug
                if _lost(client):
                    raise SchedulerLost(str(e)) from None
                out = {"results": [{"learner": j["learner"], "error": f"grading failed: {type(e).__name__}: {e}",
                                    "seconds": 0} for j in batch]}
            if "worker" in out:
                stats["workers used"].add(out["worker"])
            fresh = []
            for r in out["results"]:
                if r["learner"] in written:
                    stats["duplicates ignored"] += 1
                    continue
                timing["autograde (workers)"] += r.get("seconds", 0)
                if r["error"]:
                    grader_errors[r["learner"]] = r["error"]
                    continue
                _write_tree(root / "autograded" / r["learner"] / chapter, r["autograded"])
                if feedback:
                    _write_tree(root / "feedback" / r["learner"] / chapter, r["feedback"])
                if r.get("feedback_error"):
                    feedback_errors[r["learner"]] = r["feedback_error"]
                fresh.append(r)
            timing["feedback pages (workers)"] += out.get("feedback_seconds", 0.0)
            t_w = time.monotonic()
            stats["written"] += write_graded(url, course_id, chapter, fresh)
            stats["write seconds"] += time.monotonic() - t_w
            written.update(r["learner"] for r in fresh)
            if bar is not None:
                bar.update(len(out["results"]))
            if pending:
                i, nxt = pending.pop(0)
                f = submit(i, nxt)
                owners[f.key] = nxt
                ac.add(f)
    except SchedulerLost as e:
        raise SchedulerLost(
            f"the Dask scheduler at {session.address} is gone ({e or 'connection lost'}); "
            f"{len(written) + len(skipped)} of {len(learners)} learner(s) of {chapter} are in the gradebook "
            f"({redact(url)}). Run the same command again (with a running scheduler): it continues from the "
            "gradebook without regrading them.") from None
    stats["workers used"] = len(stats["workers used"])
    return {"grader_errors": grader_errors, "feedback_errors": feedback_errors, "timing": timing, "stats": stats}
