"""The trusted judge: runs one learner notebook, the learner's cells in a sandboxed kernel and the
graded test cells here, against proxies -- with IPython semantics, so nbgrader scores the outputs
exactly as it scores a stock kernel's.

Every name the chapter's solution cells define (:func:`autograde.cells.solution_names` of the
trusted source notebook) is looked up in the learner's kernel before a test cell runs: plain data
comes back as a value, anything else (functions, objects, generators) as a :class:`Remote` whose
calls, attribute reads, item access and iteration are forwarded to the kernel. Only plain data
ever crosses back (:mod:`autograde.sandbox.wire`), so the test code -- NumPy, builtins,
``nnbook.testing``, the assertions -- runs in this process where learner code cannot reach it.

A test cell runs in an IPython shell of its own (:class:`JudgeShell`): magics work, the value of
its last expression becomes an ``execute_result`` (nbgrader's partial credit), and stdout and
stderr stay separate streams in the order they were written (nbgrader gives 0 to a test cell with
any stderr). What the learner's code prints while a test calls it reaches the test's streams --
except during the test's hidden part (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``),
whose learner output, and the messages of learner exceptions, are withheld: printing the
arguments must not reveal a hidden test's inputs.
"""
from __future__ import annotations

import builtins
import io
import pickle
import re
import sys
import time
import warnings
from dataclasses import dataclass, field

import cloudpickle
import numpy as np

from ..sandbox import wire
from ..sandbox.slot import Kernel, KernelDied, KernelTimeout, Slot
from ..sandbox.textlimit import limit_text, was_cut

MAX_RESTARTS = 3
HIDDEN_BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS\s*$")
HIDDEN_END = re.compile(r"^\s*#+\s*END HIDDEN TESTS\s*$")
WITHHELD = {
    "stdout": "[output of your code during the hidden tests is not shown]\n",
    "stderr": "[your code wrote to standard error during the hidden tests; not shown]\n",
}


class LearnerError(Exception):
    """An exception of a learner-defined type raised by the learner's code."""


def _exception_from(reply: dict, hidden: bool = False) -> BaseException:
    """The learner's exception, rebuilt from plain data (a builtin type when it was one).

    ``hidden``: raised while a hidden test ran; the test sees the real message, but if the exception
    ends the test cell, the learner's feedback does not show it (:func:`run_test`)."""
    ename = str(reply.get("ename", "Error"))[:100]
    evalue = str(reply.get("evalue", ""))
    exc = None
    cls = getattr(builtins, ename, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls not in (StopAsyncIteration,):
        try:
            exc = cls(evalue) if evalue else cls()
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError needs 5 arguments
            exc = None
    if exc is None:
        exc = LearnerError(f"{ename}: {evalue}")
    if hidden:
        _HIDDEN_EXCEPTIONS.add(id(exc))
        _KEEP.append(exc)
    return exc


_HIDDEN_EXCEPTIONS: set[int] = set()
_KEEP: list = []        # keeps ids valid while the test cell runs


# ----------------------------------------------------------------------------- the running test
class _Test:
    """What the proxies need to know about the test cell running now."""

    def __init__(self, source: str, shell):
        self.shell = shell
        self.hidden = hidden_lines(source)
        self.whole_cell_hidden = bool(self.hidden) and source.lstrip().startswith("%%")
        self.withheld: set[str] = set()

    def in_hidden_part(self) -> bool:
        if not self.hidden:
            return False
        if self.whole_cell_hidden:
            return True
        ns = self.shell.user_ns
        line = None
        f = sys._getframe(1)
        while f is not None:             # the outermost frame of the cell's own code
            if f.f_globals is ns and f.f_code.co_name == "<module>":
                line = f.f_lineno
            f = f.f_back
        return line is None or line in self.hidden

    def emit(self, name: str, text: str) -> None:
        stream = sys.stdout if name == "stdout" else sys.stderr
        if self.in_hidden_part():
            if name not in self.withheld:
                self.withheld.add(name)
                stream.write(WITHHELD[name])
            return
        stream.write(limit_text(text))
        if not text.endswith("\n"):
            stream.write("\n")


_TEST: _Test | None = None


def hidden_lines(source: str) -> set[int]:
    """1-based line numbers of ``source`` inside its hidden-test regions (markers included)."""
    hidden, inside = set(), False
    for n, line in enumerate(source.splitlines(), 1):
        if HIDDEN_BEGIN.match(line):
            inside = True
        if inside:
            hidden.add(n)
        if HIDDEN_END.match(line):
            inside = False
    return hidden


# ----------------------------------------------------------------------------- proxies
class Remote:
    """A learner object that stays in the kernel; every use is a round trip."""

    __slots__ = ("_k", "_target", "_repr", "__weakref__")

    def __init__(self, kernel: Kernel, target: dict, rep: str = ""):
        object.__setattr__(self, "_k", kernel)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_repr", rep)

    def __del__(self):
        hid = object.__getattribute__(self, "_target").get("handle")
        if hid is not None:
            object.__getattribute__(self, "_k").released.append(hid)

    # -- plumbing
    def _ask(self, op: str, payload=None, **extra):
        blobs = [] if payload is None else [_dumps(payload)]
        # the test's NumPy error state applies to the learner's code it calls (np.errstate in a test cell)
        extra.setdefault("errstate", np.geterr())
        try:
            header, rblobs = self._k.request({"op": op, "target": self._target, **extra}, blobs)
        except KernelTimeout as e:
            raise TimeoutError(f"your code did not finish within the time limit ({e})") from None
        except KernelDied as e:
            raise RuntimeError(f"your kernel died while running your code: {e}") from None
        test = _TEST
        for name in ("stdout", "stderr"):
            text = header.get(name)
            if isinstance(text, str) and text:
                if test is not None:
                    test.emit(name, text)
                else:
                    print(limit_text(text), end="", file=sys.stdout if name == "stdout" else sys.stderr)
        if not header.get("ok"):
            raise _exception_from(header, hidden=test is not None and test.in_hidden_part())
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


class _ProxiesByReference:
    """Proxies travel as references to the learner's objects they stand for."""

    def persistent_id(self, o):
        if type(o) is Remote:
            t = object.__getattribute__(o, "_target")
            return ("H", t["handle"]) if "handle" in t else ("N", t["name"])
        return None


class _Pickler(_ProxiesByReference, cloudpickle.Pickler):
    """By value (functions of the test cell too), except proxies."""


class _PlainPickler(_ProxiesByReference, pickle.Pickler):
    """The same for plain data, in the C pickler (a sixth of cloudpickle's cost per call)."""


_PLAIN_SCALARS = (int, float, bool, str, bytes, complex, type(None))


def _is_plain(obj, depth: int = 0) -> bool:
    """Only containers, numbers, strings, plain arrays and proxies: nothing plain pickle could take
    by reference (a function of the test cell must travel by value, which only cloudpickle does)."""
    t = type(obj)
    if t in _PLAIN_SCALARS or t is Remote:
        return True
    if depth > 8:
        return False
    if t is tuple or t is list:
        return len(obj) <= 64 and all(_is_plain(v, depth + 1) for v in obj)
    if t is dict:
        return len(obj) <= 64 and all(type(k) is str and _is_plain(v, depth + 1) for k, v in obj.items())
    if t is np.ndarray:
        return not obj.dtype.hasobject
    return isinstance(obj, np.generic) and not isinstance(obj, np.object_)


def _dumps(obj) -> bytes:
    """Arguments for the learner's code, pickled by value; proxies travel as references."""
    buf = io.BytesIO()
    pickler = _PlainPickler if _is_plain(obj) else _Pickler
    pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
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


# ----------------------------------------------------------------------------- the judge's shell
class _Streams:
    """stdout and stderr of a test cell: kept apart, in the order written (as a kernel's iopub)."""

    def __init__(self):
        self.chunks: list[list] = []

    def writer(self, name: str):
        streams = self

        class W(io.TextIOBase):
            encoding, errors = "utf-8", "replace"

            def write(self, s):
                s = str(s)
                if s:
                    if streams.chunks and streams.chunks[-1][0] == name:
                        streams.chunks[-1][1].append(s)
                    else:
                        streams.chunks.append([name, [s]])
                return len(s)

            def writable(self):
                return True

            def isatty(self):
                return False
        return W()

    def outputs(self) -> list[dict]:
        return [stream(limit_text("".join(parts)), name) for name, parts in self.chunks if "".join(parts)]


def _make_shell():
    from IPython.core.displayhook import DisplayHook
    from IPython.core.display_trap import DisplayTrap
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Recorder(DisplayHook):
        """The last expression's value becomes an ``execute_result``, as in a kernel."""
        results: list = []

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            self.results.append({k: v for k, v in format_dict.items() if k == "text/plain"})

        def finish_displayhook(self):
            pass

    class JudgeShell(InteractiveShell):
        """Runs trusted test cells; tracebacks are reported as error outputs, never printed
        (a printed traceback would show the hidden tests' source)."""

        def _showtraceback(self, etype, evalue, stb):
            pass

        def showsyntaxerror(self, filename=None, running_compiled_code=False):
            pass

        def init_sys_modules(self):
            # as IPython's embedded shells do: the grader's own ``__main__`` stays in sys.modules (with the
            # shell's module there, multiprocessing's spawn -- a Dask LocalCluster's nannies -- fails later
            # in the same process: "module '__main__' has no attribute '__spec__'")
            pass

    config = Config({"HistoryManager": {"enabled": False}, "InteractiveShell": {"colors": "nocolor"}})
    shell = JudgeShell(config=config)
    shell.displayhook = Recorder(shell=shell, cache_size=0)
    shell.display_trap = DisplayTrap(hook=shell.displayhook)
    return shell


_SHELL = None


def judge_shell():
    """This process's judge shell (made once: an IPython shell costs a few hundred milliseconds)."""
    global _SHELL
    if _SHELL is None:
        _SHELL = _make_shell()
    return _SHELL


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def error(ename: str, evalue: str) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def run_test(kernel: Kernel, source: str, names: list[str], grade_id: str) -> list[dict]:
    """Run one trusted test cell in the judge shell, the solution names being proxies into ``kernel``."""
    global _TEST
    shell = judge_shell()
    streams = _Streams()
    shell.displayhook.results = []
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams.writer("stdout"), streams.writer("stderr")
    _TEST = _Test(source, shell)
    exc = None
    try:
        with warnings.catch_warnings():      # a test that routes warnings does so for itself only
            ns = shell.user_ns
            for name in names:
                ns.pop(name, None)
                try:
                    ns[name] = Remote(kernel, {"name": name})._ask("get")[2]
                except NameError:
                    pass        # not defined by the learner: the test's own NameError says so
            result = shell.run_cell(source, store_history=False, silent=False)
            exc = result.error_before_exec or result.error_in_exec
    except BaseException as e:  # noqa: BLE001 - e.g. the kernel died while a proxy was fetched
        exc = e
    finally:
        _TEST = None
        sys.stdout, sys.stderr = old
    outputs = streams.outputs()
    if exc is not None:
        if isinstance(exc, LearnerError):
            ename, _, evalue = str(exc).partition(": ")
        else:
            ename, evalue = type(exc).__name__, str(exc)
        if id(exc) in _HIDDEN_EXCEPTIONS:
            from nnbook.i18n import gettext
            evalue = gettext("raised by your code during a hidden test (its message is not shown)")
        outputs.append(error(ename, limit_text(evalue, 8000)))
    else:
        outputs += [{"output_type": "execute_result", "data": data, "metadata": {}, "execution_count": None}
                    for data in shell.displayhook.results]
    _HIDDEN_EXCEPTIONS.clear()
    _KEEP.clear()
    return outputs


# ----------------------------------------------------------------------------- a whole notebook
@dataclass
class NotebookRun:
    outputs: dict[int, list[dict]] = field(default_factory=dict)    # cell index -> outputs
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_notebook(slot: Slot, cells: list, tests: dict[str, str], names: list[str], files_from) -> NotebookRun:
    """Execute ``cells`` in order: graded test cells (grade id in ``tests``) here with their trusted
    source from ``tests``, every other code cell in a kernel forked from ``slot``."""
    from threadpoolctl import threadpool_limits

    from ..cells import grade_id

    run = NotebookRun()
    t0 = time.monotonic()
    limits = slot.limits
    deadline = t0 + limits.notebook_timeout
    judge_shell().reset(new_session=False)
    kernel = slot.fork(files_from)
    kernel.deadline = deadline
    done: list[int] = []        # learner cells that ran (replayed after a restart)
    restarts = 0
    gave_up: str | None = None

    def restart() -> Kernel | None:
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
        with threadpool_limits(limits=1):     # the judge's own NumPy: one BLAS thread per worker
            for i, cell in enumerate(cells):
                if cell.cell_type != "code":
                    continue
                gid = grade_id(cell)
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
                        kernel = restart()
                    continue
                timeout = min(limits.cell_timeout, remaining)
                try:
                    header, _ = kernel.request({"op": "run", "source": cell.source}, timeout=timeout)
                except KernelTimeout:
                    run.outputs[i] = [error("TimeoutError", f"this cell did not finish within {timeout:.0f} s and "
                                            "was stopped; the notebook continued without it")]
                    run.problems.append(f"cell {i + 1}: stopped after {timeout:.0f} s (endless loop?)")
                    kernel = restart()
                    continue
                except KernelDied as e:
                    run.outputs[i] = [error("KernelDied", f"the kernel stopped while running this cell ({e}): "
                                            "os._exit, a crash or the memory limit; the cells before it were "
                                            "run again in a new kernel and grading continued without it")]
                    run.problems.append(f"cell {i + 1}: the kernel died (os._exit, crash or memory limit)")
                    kernel = restart()
                    continue
                outs = []
                for name in ("stdout", "stderr"):
                    text = header.get(name)
                    if isinstance(text, str) and text:
                        outs.append(stream(limit_text(text), name))
                if any(was_cut(o["text"]) for o in outs):
                    run.problems.append(f"cell {i + 1}: output cut to the output limit")
                results = header.get("results")
                if header.get("ok") and isinstance(results, list):
                    outs += [{"output_type": "execute_result", "data": {"text/plain": limit_text(r)},
                              "metadata": {}, "execution_count": None} for r in results[:8] if isinstance(r, str)]
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
