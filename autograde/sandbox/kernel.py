"""The learner-side kernel: runs *inside* the sandbox, speaks :mod:`wire` over a socket.

Started once per grading slot as a *zygote*: it imports NumPy, Matplotlib,
ipywidgets and IPython and builds an (unused) IPython shell, then waits. For
every learner notebook the judge asks it to ``fork``: the child gets a fresh
socket (passed to the judge with SCM_RIGHTS), and is confined by :mod:`isolation`
(process 1 of a new PID namespace, fresh /proc, /tmp and home, resource limits, no
capabilities, seccomp) before it runs that learner's cells -- so a learner costs a
``fork()``, not a Python start-up. The zygote itself never runs learner code, is not
dumpable and is invisible to learners; ``clean`` kills a learner's whole PID namespace.

Child operations: ``run`` a cell (IPython semantics: magics, last expression),
``get`` a global, ``call`` / ``attr`` / ``item`` / ``iter`` / ``next`` / ``len``
on a global or on a handle. Results go back as plain data via :func:`wire.encode`;
anything else stays here as a handle. Arguments arrive pickled (they come from
the trusted judge); after a call the (possibly mutated) arguments are sent back
so that in-place changes become visible to the judge.

Standard library, NumPy and IPython only: the ``autograde`` package is not
visible in the sandbox.
"""
import io
import os
import pickle
import signal
import socket
import sys
import traceback
import warnings

import wire  # copied next to this file in the sandbox
from textlimit import MAX_TEXT, limit_text

# Bound at import: learner code that patches builtins later cannot change what this module uses.
from builtins import (abs, all, any, bool, dict, enumerate, getattr, hasattr, isinstance, iter, len,  # noqa: E402,A004
                      list, max, min, next, repr, setattr, str, tuple, type)


class Capture:
    """A bounded text sink standing in for sys.stdout / sys.stderr."""

    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0
        self.encoding, self.errors = "utf-8", "replace"

    def write(self, s):
        s = str(s)
        room = MAX_TEXT - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def flush(self):
        pass

    def isatty(self):
        return False

    def writable(self):
        return True

    def fileno(self):
        raise OSError("captured stream has no file descriptor")

    def text(self):
        return limit_text("".join(self.parts), dropped=self.dropped)


def warm_up():
    os.environ.setdefault("MPLBACKEND", "agg")
    mpl = os.environ.get("MPLCONFIGDIR")
    if mpl and os.path.isdir(mpl) and not os.access(mpl, os.W_OK):    # the read-only font cache: a writable copy
        import shutil
        try:
            shutil.copytree(mpl, "/tmp/nnbook-mpl", dirs_exist_ok=True)
            os.environ["MPLCONFIGDIR"] = "/tmp/nnbook-mpl"
        except OSError:
            pass
    import numpy  # noqa: F401
    try:
        import matplotlib
        matplotlib.use("agg")
        import matplotlib.pyplot  # noqa: F401
    except Exception:  # noqa: BLE001
        pass
    try:
        import ipywidgets  # noqa: F401
    except Exception:  # noqa: BLE001
        pass
    from IPython.core.display_trap import DisplayTrap
    from IPython.core.displayhook import DisplayHook
    from IPython.core.interactiveshell import InteractiveShell

    class Results(DisplayHook):
        """A cell's last expression becomes an ``execute_result`` (its text), as in a Jupyter kernel."""
        results = []

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            text = format_dict.get("text/plain")
            if isinstance(text, str):
                self.results.append(limit_text(text))

        def finish_displayhook(self):
            pass

    shell = InteractiveShell.instance(colors="nocolor")
    shell.history_manager.enabled = False
    shell.displayhook = Results(shell=shell, cache_size=0)
    shell.display_trap = DisplayTrap(hook=shell.displayhook)
    return shell


# ----------------------------------------------------------------------------- child
_ERR_KEYS = ("divide", "over", "under", "invalid")
_ERR_MODES = ("ignore", "warn", "raise", "call", "print", "log")


def _errstate(value):
    """A NumPy error state sent by the judge, checked (``None`` when there is none to apply)."""
    if not isinstance(value, dict):
        return None
    state = {k: v for k, v in value.items() if k in _ERR_KEYS and v in _ERR_MODES and v != "call"}
    return state or None


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


class _Unpickler(pickle.Unpickler):
    """The judge's arguments (trusted), with its proxies turned back into the objects they stand for."""

    def __init__(self, file, child):
        super().__init__(file)
        self.child = child

    def persistent_load(self, pid):
        if pid[0] == "H":
            return self.child.handles[pid[1]]
        return self.child.resolve({"name": pid[1]})


class Child:
    def __init__(self, sock, shell):
        self.sock, self.shell = sock, shell
        self.handles, self.next_id = {}, 1

    def handle_of(self, value):
        hid = self.next_id
        self.next_id += 1
        self.handles[hid] = value
        try:
            r = repr(value)[:200]
        except Exception:  # noqa: BLE001
            r = f"<{type(value).__name__}>"
        return {"H": hid, "r": r}

    def resolve(self, target):
        if "handle" in target:
            return self.handles[target["handle"]]
        name = target["name"]
        ns = self.shell.user_ns
        if name not in ns:
            raise NameError(f"name '{name}' is not defined")
        return ns[name]

    def loads(self, blob):
        return _Unpickler(io.BytesIO(blob), self).load()

    def reply(self, header, value=None, has_value=False, copyback=None):
        blobs = []
        if has_value:
            header["value"] = wire.encode(value, blobs, self.handle_of)
        if copyback is not None:
            header["copyback"] = copyback(blobs)
        wire.send(self.sock, header, blobs)

    def serve(self):
        while True:
            try:
                header, blobs = wire.recv(self.sock)
            except EOFError:
                os._exit(0)
            for hid in header.get("release") or ():
                self.handles.pop(hid, None)
            op = header.get("op")
            out, err = Capture(), Capture()
            old = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = out, err
            old_showwarning = warnings.showwarning
            if op != "run":
                # The judge is running a test cell, and every test cell imports nnbook.testing, which in a
                # stock kernel sends Python warnings to stdout: do the same, so scores agree with nbgrader's.
                warnings.showwarning = _warning_to_stdout
            result, has_value, copyback, error = None, False, None, None
            errstate = _errstate(header.get("errstate")) if op != "run" else None
            try:
                if errstate:
                    # the test cell's NumPy error state (np.errstate(over="raise") ...) holds for the learner's
                    # code it calls, as it would in a stock kernel where both run in one process
                    import numpy as np
                    saved_err = np.seterr(**errstate)
                if op == "run":
                    self.shell.displayhook.results = []
                    res = self.shell.run_cell(header["source"], store_history=False, silent=False)
                    exc = res.error_before_exec or res.error_in_exec
                    if exc is not None:
                        error = exc
                elif op == "get":
                    result, has_value = self.resolve(header["target"]), True
                elif op == "call":
                    fn = self.resolve(header["target"])
                    args, kwargs = self.loads(blobs[0]) if blobs else ((), {})
                    before = _snapshot(args, kwargs)
                    result, has_value = fn(*args, **kwargs), True
                    copyback = self.make_copyback(args, kwargs, before)
                elif op == "attr":
                    result, has_value = getattr(self.resolve(header["target"]), header["name"]), True
                elif op == "setattr":
                    setattr(self.resolve(header["target"]), header["name"], self.loads(blobs[0]))
                elif op == "item":
                    result, has_value = self.resolve(header["target"])[self.loads(blobs[0])], True
                elif op == "setitem":
                    key, value = self.loads(blobs[0])
                    self.resolve(header["target"])[key] = value
                elif op == "iter":
                    result, has_value = iter(self.resolve(header["target"])), True
                elif op == "next":
                    result, has_value = next(self.resolve(header["target"])), True
                elif op == "len":
                    result, has_value = len(self.resolve(header["target"])), True
                elif op == "release":
                    pass                      # the handles in header["release"] were freed above
                else:
                    raise ValueError(f"unknown op {op!r}")
            except BaseException as e:  # noqa: BLE001 - everything is reported to the judge
                error = e
            finally:
                sys.stdout, sys.stderr = old
                warnings.showwarning = old_showwarning
                if errstate:
                    np.seterr(**saved_err)
            reply = {"ok": error is None, "stdout": out.text(), "stderr": err.text()}
            if op == "run" and error is None:
                reply["results"] = [r for r in self.shell.displayhook.results if isinstance(r, str)][:8]
            if error is not None:
                reply["ename"] = type(error).__name__
                try:
                    reply["evalue"] = str(error)[:5000]
                except Exception:  # noqa: BLE001
                    reply["evalue"] = "<unprintable>"
                reply["traceback"] = "".join(traceback.format_exception(error))[-8000:] \
                    if op != "run" else ""
                has_value = False
                copyback = None
            try:
                self.reply(reply, result, has_value, copyback)
            except (BrokenPipeError, ConnectionResetError):
                os._exit(0)
            except BaseException as e:  # noqa: BLE001 - e.g. a __repr__ that raises
                wire.send(self.sock, {"ok": False, "ename": type(e).__name__, "evalue": str(e)[:2000],
                                      "stdout": out.text(), "stderr": err.text()})

    def make_copyback(self, args, kwargs, before):
        import numpy as np

        def mutable(key, v):
            if isinstance(v, np.ndarray):
                # an array goes back only when the call changed it (most calls only read theirs)
                return key not in before or not _unchanged(v, before[key])
            return isinstance(v, (list, dict, np.random.Generator))

        def build(blobs):
            def enc(v):
                if isinstance(v, np.random.Generator):
                    return {"G": wire.encode(v.bit_generator.state, blobs, self.handle_of)}
                return wire.encode(v, blobs, self.handle_of)
            return {"args": [[i, enc(a)] for i, a in enumerate(args) if mutable(i, a)],
                    "kwargs": [[k, enc(a)] for k, a in kwargs.items() if mutable(k, a)]}
        return build


def _snapshot(args, kwargs) -> dict:
    """The plain arrays among a call's arguments, as they were before it: {position or name: (dtype, shape, bytes)}."""
    import numpy as np
    out = {}
    for key, v in [*enumerate(args), *kwargs.items()]:
        if type(v) is np.ndarray and v.size <= _SNAPSHOT_MAX:
            out[key] = (v.dtype, v.shape, v.tobytes())
    return out


_SNAPSHOT_MAX = 1 << 22      # elements: a larger array is sent back after every call, as before


def _unchanged(v, before) -> bool:
    dtype, shape, data = before
    return v.dtype == dtype and v.shape == shape and v.tobytes() == data


# ----------------------------------------------------------------------------- zygote
def kill_others():
    """Kill every process of this sandbox except pid 1 (bwrap) and the zygote itself."""
    me = os.getpid()
    for _ in range(3):
        victims = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in (1, me):
                victims.append(int(name))
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in victims:
            try:
                os.waitpid(pid, 0)
            except OSError:
                pass


def wipe(path):
    import shutil
    for name in os.listdir(path):
        p = os.path.join(path, name)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass


def main():
    sock = socket.socket(fileno=int(sys.argv[1]))
    sandboxed = os.environ.get("NNBOOK_SANDBOXED") == "1"
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)     # PR_SET_DUMPABLE = 0
    except Exception:  # noqa: BLE001
        pass
    blocked = os.environ.get("NNBOOK_BLOCK_MODULE")
    if blocked:   # belt and braces: the sandbox does not contain the module in the first place
        import importlib.abc

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, fullname, path=None, target=None):
                if fullname == blocked or fullname.startswith(blocked + "."):
                    raise ModuleNotFoundError(f"No module named '{fullname}'")
                return None
        sys.meta_path.insert(0, Block())
    import isolation as iso   # copied next to this file, like wire
    iso.zygote_setup(sandboxed, sock)
    shell = warm_up()
    learners = set()
    wire.send(sock, {"op": "ready", "pid": os.getpid(), "isolation": iso.STATUS})
    while True:
        try:
            header, _ = wire.recv(sock)
        except EOFError:
            break
        op = header.get("op")
        if op == "fork":
            parent_end, child_end = socket.socketpair()
            isolated = sandboxed and iso.enter_new_pidns()
            pid = os.fork()
            if pid == 0:
                sock.close()
                parent_end.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                try:
                    if isolated:
                        iso.isolate_learner(child_end.fileno(), header.get("limits", {}), header["cwd"])
                    else:
                        iso.limit_learner(header.get("limits", {}), sandboxed)
                except BaseException as e:  # noqa: BLE001 - never run learner code half-confined
                    try:
                        wire.send(child_end, {"ok": False, "ename": "SandboxError", "evalue": str(e)[:500],
                                              "stdout": "", "stderr": ""})
                    finally:
                        os._exit(70)
                os.chdir(header["cwd"])
                os.environ["HOME"] = header["cwd"]
                sys.path.insert(0, header["cwd"])
                Child(child_end, shell).serve()
                os._exit(0)
            if isolated:
                iso.leave_new_pidns()
            child_end.close()
            learners.add(pid)
            socket.send_fds(sock, [wire.json.dumps({"pid": pid, "isolated": bool(isolated)}).encode()],
                            [parent_end.fileno()])
            parent_end.close()
        elif op == "clean":
            for pid in list(learners):       # pid 1 of a learner's PID namespace: killing it kills them all
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.waitpid(pid, 0)
                except OSError:
                    pass
                learners.discard(pid)
            if sandboxed and not iso.STATUS["pidns"]:
                kill_others()
            for d in header.get("wipe", []):
                wipe(d)
            wire.send(sock, {"ok": True})
        elif op == "exit":
            break


if __name__ == "__main__":
    main()
