"""Sandboxed learner kernels: one bubblewrap sandbox (a *slot*) per grading worker.

A slot runs :mod:`autograde.kernel` as a zygote inside ``bwrap`` with no network,
a fresh /tmp, a private /proc, and a filesystem made of the Python installation
(read-only), a staged copy of the ``nnbook`` package *without* the chapter being
graded (read-only), and one empty working directory. For each learner the judge
copies that learner's files into the working directory and forks a child kernel
with resource limits (address space, CPU time, file size, no core dumps); after
the learner, every process of the sandbox but the zygote is killed and the
directories are wiped.

Where ``bwrap`` cannot run, slots fall back to a plain subprocess with the same
resource limits and a warning: then learner code can read whatever the grader
can.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from . import paths, wire

HERE = paths.autograde_dir()
SANDBOX_HOME = "/home/learner"
_BWRAP_STATE: dict = {}


class KernelDied(Exception):
    """The learner's kernel process ended (os._exit, a crash, the memory limit, being killed)."""


class KernelTimeout(Exception):
    """The learner's kernel did not answer within the time limit."""


@dataclass
class Limits:
    cell_timeout: float = 120.0          # seconds of wall-clock time per cell or per call
    notebook_timeout: float = 600.0      # seconds of wall-clock time for a whole notebook
    memory_mb: int = 2048                # address-space limit of a learner's kernel
    file_mb: int = 64                    # largest file a learner's code may write
    output_chars: int = 64 * 1024        # captured output per cell (longer lines are cut too)

    def rlimits(self) -> dict:
        cpu = int(self.notebook_timeout * 1.5) + 5
        return {"RLIMIT_AS": self.memory_mb * 1024 * 1024, "RLIMIT_CPU": cpu,
                "RLIMIT_FSIZE": self.file_mb * 1024 * 1024, "RLIMIT_CORE": 0}


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap can create a sandbox here (cached), and why not."""
    if "ok" not in _BWRAP_STATE:
        exe = shutil.which("bwrap")
        if not exe:
            _BWRAP_STATE.update(ok=False, why="bwrap is not installed (apt-get install bubblewrap)")
        else:
            r = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"],
                               capture_output=True, text=True)
            _BWRAP_STATE.update(ok=r.returncode == 0, why=r.stderr.strip() or f"exit {r.returncode}")
    return _BWRAP_STATE["ok"], _BWRAP_STATE.get("why", "")


def stage_library(stage: Path, blocked_module: str | None, allowed_modules: list[str]) -> None:
    """Lay out what the sandbox may import: the kernel's code and an ``nnbook`` without the chapter."""
    grader = stage / "grader"
    lib = stage / "lib" / "nnbook"
    for d in (grader, lib):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    shutil.copy(HERE / "kernel.py", grader / "kernel.py")
    shutil.copy(HERE / "wire.py", grader / "wire.py")
    src = paths.library_dir()
    for name in ["__init__", "testing", *allowed_modules]:
        if name != blocked_module and (src / f"{name}.py").exists():
            shutil.copy(src / f"{name}.py", lib / f"{name}.py")
    mpl = stage / "mpl"
    mpl.mkdir(exist_ok=True)
    try:
        import matplotlib
        for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy(f, mpl / f.name)
    except Exception:  # noqa: BLE001 - without the cache matplotlib rebuilds it, slower but fine
        pass


class Kernel:
    """The judge's end of one learner's child kernel."""

    def __init__(self, slot: "Slot", sock: socket.socket, pid: int, limits: Limits):
        self.slot, self.sock, self.pid, self.limits = slot, sock, pid, limits
        self.dead: str | None = None
        self.deadline = time.monotonic() + limits.notebook_timeout   # the judge stops asking after this
        self.requests = 0

    def request(self, header: dict, blobs: list[bytes] = (), timeout: float | None = None):
        if self.dead:
            raise KernelDied(self.dead)
        self.requests += 1
        if time.monotonic() > self.deadline:
            raise KernelTimeout(f"the notebook time limit of {self.limits.notebook_timeout:.0f} s is used up")
        timeout = self.limits.cell_timeout if timeout is None else timeout
        try:
            wire.send(self.sock, header, list(blobs))
            ready, _, _ = select.select([self.sock], [], [], max(timeout, 0.01))
            if not ready:
                self.dead = f"no answer within {timeout:.0f} s"
                self.slot.clean()
                raise KernelTimeout(self.dead)
            self.sock.settimeout(max(timeout, 1.0))
            try:
                return wire.recv(self.sock)
            finally:
                self.sock.settimeout(None)
        except (EOFError, BrokenPipeError, ConnectionResetError, socket.timeout, wire.WireError) as e:
            self.dead = self.dead or f"the kernel stopped ({type(e).__name__}: {e})"
            self.slot.clean()
            raise KernelDied(self.dead) from None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Slot:
    """One sandbox (zygote) that forks a child kernel per learner notebook."""

    def __init__(self, stage: Path, blocked_module: str | None, limits: Limits, sandbox: bool = True):
        self.stage, self.blocked_module, self.limits = stage, blocked_module, limits
        self.spool = Path(tempfile.mkdtemp(prefix="learner-", dir=stage))
        self.sandboxed = sandbox and bwrap_available()[0]
        self.proc = None
        self.ctl = None
        self.child_pid = None
        self._start()

    # -- lifecycle
    def _start(self):
        ours, theirs = socket.socketpair()
        py = sys.executable
        env = {"PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8", "MPLBACKEND": "agg",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
        if self.blocked_module:
            env["NNBOOK_BLOCK_MODULE"] = f"nnbook.{self.blocked_module}"
        fd = theirs.fileno()
        if self.sandboxed:
            env.update(HOME=SANDBOX_HOME, MPLCONFIGDIR="/nnbook-mpl", NNBOOK_SANDBOXED="1",
                       PYTHONPATH="/nnbook-lib:/nnbook-grader")
            cmd = ["bwrap", "--clearenv"]
            for k, v in env.items():
                cmd += ["--setenv", k, v]
            prefixes = {str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve()),
                        str(Path(sys.prefix))}
            cmd += ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                    "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
                    # bwrap mounts in order: the private /tmp comes first, so that a Python installation or
                    # virtual environment that lives under /tmp (a CI checkout, say) is bound on top of it
                    "--size", str(256 * 1024 * 1024), "--tmpfs", "/tmp"]
            for p in sorted(prefixes):
                if not p.startswith("/usr"):
                    cmd += ["--ro-bind", p, p]
            # a non-editable install puts the reference nnbook (and the grader) inside the Python
            # installation bound above: hide both; the sandbox imports its staged nnbook copy
            for d in (paths.library_dir(), HERE):
                if any(str(d).startswith(p.rstrip("/") + "/") for p in prefixes):
                    cmd += ["--tmpfs", str(d)]
            cmd += ["--ro-bind", str(self.stage / "grader"), "/nnbook-grader",
                    "--ro-bind", str(self.stage / "lib"), "/nnbook-lib",
                    "--ro-bind", str(self.stage / "mpl"), "/nnbook-mpl",
                    "--bind", str(self.spool), SANDBOX_HOME,
                    "--proc", "/proc", "--dev", "/dev",
                    "--unshare-all", "--die-with-parent", "--new-session", "--chdir", SANDBOX_HOME,
                    py, "/nnbook-grader/kernel.py", str(fd)]
        else:
            env.update(HOME=str(self.spool), MPLCONFIGDIR=str(self.stage / "mpl"),
                       PYTHONPATH=f"{self.stage / 'lib'}:{self.stage / 'grader'}")
            cmd = [py, str(self.stage / "grader" / "kernel.py"), str(fd)]
        self.proc = subprocess.Popen(cmd, pass_fds=[fd], env=env, cwd=str(self.spool),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.ctl = ours
        self._ready = False

    def _wait_ready(self):
        if self._ready:
            return
        self.ctl.settimeout(120)
        try:
            header, _ = wire.recv(self.ctl)
        except (EOFError, OSError, wire.WireError) as e:
            raise RuntimeError(f"the sandbox did not start: {e}") from None
        finally:
            self.ctl.settimeout(None)
        if header.get("op") != "ready":
            raise RuntimeError(f"the sandbox did not start: {header}")
        self._ready = True

    def restart(self):
        self.close()
        self._start()

    def close(self):
        try:
            if self.ctl:
                self.ctl.close()
        except OSError:
            pass
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()

    def destroy(self):
        self.close()
        shutil.rmtree(self.spool, ignore_errors=True)

    # -- per learner
    @property
    def workdir_inside(self) -> str:
        return SANDBOX_HOME if self.sandboxed else str(self.spool)

    def fork(self, files_from: Path | None) -> Kernel:
        """A fresh child kernel whose working directory holds a copy of ``files_from``."""
        for attempt in range(2):
            try:
                self._wait_ready()
                if files_from is not None:
                    for p in Path(files_from).iterdir():
                        if p.is_file() and not p.is_symlink():
                            shutil.copy(p, self.spool / p.name)
                        elif p.is_dir() and not p.is_symlink():
                            shutil.copytree(p, self.spool / p.name, symlinks=False,
                                            ignore_dangling_symlinks=True, dirs_exist_ok=True)
                wire.send(self.ctl, {"op": "fork", "cwd": self.workdir_inside, "limits": self.limits.rlimits()})
                self.ctl.settimeout(60)
                msg, fds, _, _ = socket.recv_fds(self.ctl, 4096, 1)
                self.ctl.settimeout(None)
                if not fds:
                    raise RuntimeError("no socket from the zygote")
                pid = json.loads(msg)["pid"]
                self.child_pid = pid
                return Kernel(self, socket.socket(fileno=fds[0]), pid, self.limits)
            except (OSError, EOFError, RuntimeError, wire.WireError, ValueError):
                if attempt:
                    raise
                self.restart()

    def clean(self):
        """Kill the learner's processes and wipe their files; restart the zygote if it is gone."""
        try:
            wire.send(self.ctl, {"op": "clean", "pid": self.child_pid, "wipe": ["/tmp"] if self.sandboxed else []})
            self.ctl.settimeout(30)
            header, _ = wire.recv(self.ctl)
            self.ctl.settimeout(None)
            ok = header.get("ok")
        except (OSError, EOFError, wire.WireError):
            ok = False
        self.child_pid = None
        for p in self.spool.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.unlink()
                except OSError:
                    pass
        if not ok:
            self.restart()


_warned = False


def warn_if_unsandboxed(use_sandbox: bool) -> str | None:
    """Say once, loudly, when grading runs without bubblewrap."""
    global _warned
    ok, why = bwrap_available()
    if use_sandbox and ok:
        return None
    msg = ("WARNING: grading WITHOUT the bubblewrap sandbox (" + (why if use_sandbox else "disabled by --no-sandbox")
           + "): learner code runs with resource limits only and CAN read the gradebook, solutions/ "
           "and other learners' files, and use the network.")
    if not _warned:
        _warned = True
        print(msg, file=sys.stderr)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return msg
