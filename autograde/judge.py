"""The trusted judge: runs one learner notebook, the learner's cells in a sandboxed
kernel and the graded test cells here, against proxies.

Every name the chapter's solution cells define (read from the trusted source
notebook with :mod:`ast`) is looked up in the learner's kernel before a test cell
runs: plain data comes back as a value, anything else (functions, objects,
generators) as a :class:`Remote` whose calls, attribute reads, item access and
iteration are forwarded to the kernel. Only plain data ever crosses back
(:mod:`autograde.wire`), so the test code -- NumPy, builtins, ``nnbook.testing``,
the assertions themselves -- runs in this process where learner code cannot
reach it. Arguments the learner's function modified in place are copied back
into the judge's objects (``check_unchanged`` works); random Generators get their
advanced state back.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import pickle
import time
from dataclasses import dataclass, field

import cloudpickle
import numpy as np

from . import wire
from .sandbox import Kernel, KernelDied, KernelTimeout, Slot

MAX_STDOUT = 64 * 1024
MAX_LINE = 2000
MAX_RESTARTS = 3


class LearnerError(Exception):
    """An exception of a learner-defined type raised by the learner's code."""


def _exception_from(reply: dict) -> BaseException:
    ename = str(reply.get("ename", "Error"))[:100]
    evalue = str(reply.get("evalue", ""))
    cls = getattr(builtins, ename, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (StopAsyncIteration,):
        try:
            return cls(evalue) if evalue else cls()
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError needs 5 arguments
            pass
    return LearnerError(f"{ename}: {evalue}")


def limit_text(text: str, limit: int = MAX_STDOUT) -> str:
    lines = []
    for line in text.split("\n"):
        if len(line) > MAX_LINE:
            line = line[:MAX_LINE] + f" ... [{len(line) - MAX_LINE} more characters not shown]"
        lines.append(line)
    text = "\n".join(lines)
    if len(text) > limit:
        text = text[:limit] + f"\n... [output limit: {len(text) - limit} more characters not shown]\n"
    return text


class Remote:
    """A learner object that stays in the kernel; every use is a round trip."""

    __slots__ = ("_k", "_target", "_repr")

    def __init__(self, kernel: Kernel, target: dict, rep: str = ""):
        object.__setattr__(self, "_k", kernel)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_repr", rep)

    # -- plumbing
    def _ask(self, op: str, payload=None, **extra):
        blobs = [] if payload is None else [_dumps(payload)]
        try:
            header, rblobs = self._k.request({"op": op, "target": self._target, **extra}, blobs)
        except KernelTimeout as e:
            raise TimeoutError(f"your code did not finish within the time limit ({e})") from None
        except KernelDied as e:
            raise RuntimeError(f"your kernel died while running your code: {e}") from None
        for stream in ("stdout", "stderr"):
            text = header.get(stream)
            if isinstance(text, str) and text:
                print(limit_text(text), end="" if text.endswith("\n") else "\n")
        if not header.get("ok"):
            raise _exception_from(header)
        make = lambda hid, r: Remote(self._k, {"handle": hid}, r)  # noqa: E731
        value = wire.decode(header["value"], rblobs, make) if "value" in header else None
        return header, rblobs, value, make

    def __call__(self, *args, **kwargs):
        header, rblobs, value, make = self._ask("call", (args, kwargs))
        cb = header.get("copyback") or {}
        try:
            for i, new in cb.get("args", []):
                if isinstance(i, int) and 0 <= i < len(args):
                    _copy_into(args[i], wire.decode(new, rblobs, make))
            for k, new in cb.get("kwargs", []):
                if k in kwargs:
                    _copy_into(kwargs[k], wire.decode(new, rblobs, make))
        except wire.WireError:
            pass
        return value

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("attr", name=name)[2]

    def __setattr__(self, name, value):
        self._ask("setattr", value, name=name)

    def __getitem__(self, key):
        return self._ask("item", key)[2]

    def __setitem__(self, key, value):
        self._ask("setitem", (key, value))

    def __iter__(self):
        it = self._ask("iter")[2]
        return it if isinstance(it, Remote) else iter(it)

    def __next__(self):
        return self._ask("next")[2]

    def __len__(self):
        value = self._ask("len")[2]
        if type(value) is not int:
            raise TypeError("len() of a learner object did not return an int")
        return value

    def __repr__(self):
        return self._repr or "<learner object>"


def _dumps(obj) -> bytes:
    buf = io.BytesIO()

    class P(cloudpickle.Pickler):
        def persistent_id(self, o):
            if type(o) is Remote:
                t = object.__getattribute__(o, "_target")
                return ("H", t["handle"]) if "handle" in t else ("N", t["name"])
            return None
    P(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def _copy_into(orig, new) -> None:
    """Make ``orig`` (a judge object passed to the learner) look like the learner left it."""
    if isinstance(new, tuple) and len(new) == 2 and new[0] == "__rng_state__":
        if isinstance(orig, np.random.Generator):
            try:
                orig.bit_generator.state = new[1]
            except Exception:  # noqa: BLE001 - a malformed state just is not copied back
                pass
        return
    if isinstance(orig, np.ndarray) and isinstance(new, np.ndarray):
        if orig.shape == new.shape and orig.flags.writeable:
            try:
                orig[...] = new
            except (TypeError, ValueError):
                pass
    elif isinstance(orig, dict) and isinstance(new, dict):
        for k in list(orig):
            if k not in new:
                del orig[k]
        for k, v in new.items():
            if k in orig and isinstance(orig[k], (np.ndarray, dict, list)) and type(v) is type(orig[k]):
                _copy_into(orig[k], v)
            else:
                orig[k] = v
    elif isinstance(orig, list) and isinstance(new, list):
        if len(orig) == len(new):
            for i, v in enumerate(new):
                if isinstance(orig[i], (np.ndarray, dict, list)) and type(v) is type(orig[i]):
                    _copy_into(orig[i], v)
                else:
                    orig[i] = v
        else:
            orig[:] = new


def solution_names(source_nb) -> list[str]:
    """Top-level names defined by the solution cells of the trusted source notebook."""
    names: list[str] = []
    for cell in source_nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not md.get("solution"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.append(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    return list(dict.fromkeys(names))


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def run_test(kernel: Kernel, source: str, names: list[str], grade_id: str) -> list[dict]:
    """Run one trusted test cell here, the solution names being proxies into ``kernel``."""
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    out = io.StringIO()
    outputs: list[dict] = []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            for name in names:
                try:
                    ns[name] = Remote(kernel, {"name": name})._ask("get")[2]
                except NameError:
                    pass        # not defined by the learner: the test's own NameError says so
            code = compile(source, f"<{grade_id}>", "exec")
            exec(code, ns)  # noqa: S102 - trusted instructor code
    except BaseException as e:  # noqa: BLE001 - any failure of the test is the learner's result
        ename = type(e).__name__ if not isinstance(e, LearnerError) else str(e).split(":", 1)[0]
        evalue = str(e) if not isinstance(e, LearnerError) else str(e).split(": ", 1)[-1]
        text = limit_text(out.getvalue())
        if text:
            outputs.append(stream(text))
        outputs.append(error(ename, limit_text(evalue, 8000)))
        return outputs
    text = limit_text(out.getvalue())
    if text:
        outputs.append(stream(text))
    return outputs


@dataclass
class NotebookRun:
    outputs: dict[int, list[dict]] = field(default_factory=dict)    # cell index -> outputs
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_notebook(slot: Slot, cells: list, tests: dict[str, str], names: list[str], files_from,
                 skip_all: str | None = None) -> NotebookRun:
    """Execute ``cells`` (normalised nbformat cells); graded test cells (grade id in ``tests``)
    run in the judge with their trusted source from ``tests``."""
    run = NotebookRun()
    t0 = time.monotonic()
    limits = slot.limits
    deadline = t0 + limits.notebook_timeout
    if skip_all:
        for i, cell in enumerate(cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in tests:
                run.outputs[i] = [error("SubmissionError", skip_all)]
        return run
    kernel = slot.fork(files_from)
    kernel.deadline = deadline
    done: list[int] = []        # learner cells that ran (replayed after a restart)
    restarts = 0
    gave_up: str | None = None

    def restart(reason_cell: int | None) -> Kernel | None:
        nonlocal restarts, gave_up
        restarts += 1
        if restarts > MAX_RESTARTS:
            gave_up = f"not run: the kernel was restarted {MAX_RESTARTS} times already"
            return None
        k = slot.fork(files_from)
        k.deadline = deadline
        for j in done:
            try:
                k.request({"op": "run", "source": cells[j].source},
                          timeout=max(1.0, min(limits.cell_timeout, deadline - time.monotonic())))
            except (KernelDied, KernelTimeout):
                gave_up = "not run: the kernel died again while re-running the earlier cells"
                return None
        return k

    try:
        for i, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            remaining = deadline - time.monotonic()
            if gave_up or kernel is None:
                run.outputs[i] = [error("NotRun", gave_up or "the kernel is gone")]
                continue
            if remaining <= 0:
                msg = f"the notebook time limit of {limits.notebook_timeout:.0f} s was reached before this cell"
                if f"time limit {limits.notebook_timeout:.0f}" not in " ".join(run.problems):
                    run.problems.append(f"notebook time limit {limits.notebook_timeout:.0f} s reached; "
                                        "later cells were not run")
                run.outputs[i] = [error("TimeoutError", msg)]
                continue
            if gid in tests:
                kernel.limits = limits
                run.outputs[i] = run_test(kernel, tests[gid], names, gid)
                if kernel.dead:
                    run.problems.append(f"{gid}: the kernel stopped during the test ({kernel.dead}); restarted")
                    kernel = restart(None)
                continue
            timeout = min(limits.cell_timeout, remaining)
            try:
                header, _ = kernel.request({"op": "run", "source": cell.source}, timeout=timeout)
            except KernelTimeout:
                run.outputs[i] = [error("TimeoutError", f"this cell did not finish within {timeout:.0f} s and "
                                        "was stopped; the notebook continued without it")]
                run.problems.append(f"cell {i + 1}: stopped after {timeout:.0f} s (endless loop?)")
                kernel = restart(i)
                continue
            except KernelDied as e:
                run.outputs[i] = [error("KernelDied", f"the kernel stopped while running this cell ({e}): "
                                        "os._exit, a crash or the memory limit; the cells before it were "
                                        "run again in a new kernel and grading continued without it")]
                run.problems.append(f"cell {i + 1}: the kernel died (os._exit, crash or memory limit)")
                kernel = restart(i)
                continue
            outs = []
            for name in ("stdout", "stderr"):
                text = header.get(name)
                if isinstance(text, str) and text:
                    outs.append(stream(limit_text(text), name))
            if any("more characters not shown]" in o.get("text", "") for o in outs):
                run.problems.append(f"cell {i + 1}: output cut to the output limit")
            if not header.get("ok"):
                ename, evalue = str(header.get("ename", "Error"))[:100], str(header.get("evalue", ""))
                outs.append(error(ename, limit_text(evalue, 8000)))
                if ename == "MemoryError":
                    run.problems.append(f"cell {i + 1}: MemoryError (memory limit {limits.memory_mb} MB)")
            run.outputs[i] = outs
            done.append(i)
    finally:
        if gave_up:
            run.problems.append(gave_up)
        if kernel is not None:
            kernel.close()
        slot.clean()
        run.seconds = time.monotonic() - t0
    return run
