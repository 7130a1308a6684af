"""Sandboxed learner kernels: one bubblewrap sandbox (a *slot*) per grading worker.

A slot runs :mod:`autograde.kernel` as a zygote inside ``bwrap`` (its own user, PID,
mount, IPC, UTS, cgroup and network namespace; uid 1000 inside; as an unprivileged host
user even when the grader is root, see :func:`host_identity`) with a filesystem made of
the Python installation (read-only), a staged copy of the ``nnbook`` package *without* the
chapter being graded (read-only), and one working directory. For each learner the judge
copies that learner's files into the working directory and the zygote forks a child
kernel that is process 1 of a fresh PID namespace, with fresh /proc, /tmp and home, no
capabilities, a seccomp filter and resource limits (:mod:`autograde.sandbox.isolation`,
:mod:`autograde.sandbox.seccomp`); after the learner that namespace is killed whole and the
directory is wiped. Every wait of the judge on a kernel has an absolute deadline
(:meth:`Kernel.request`).

Where ``bwrap`` cannot run, slots fall back to a plain subprocess with the same
resource limits and filter and a warning: then learner code can read whatever the grader
can.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from . import wire

HERE = Path(__file__).resolve().parent      # kernel.py, wire.py ... are copied into the sandbox from here
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
    processes: int = 64                  # processes (and threads) of one learner's kernel, itself included
    open_files: int = 1024               # file descriptors per process

    def rlimits(self) -> dict:
        cpu = int(self.notebook_timeout * 1.5) + 5
        return {"RLIMIT_AS": self.memory_mb * 1024 * 1024, "RLIMIT_CPU": cpu,
                "RLIMIT_FSIZE": self.file_mb * 1024 * 1024, "RLIMIT_CORE": 0,
                "RLIMIT_NPROC": self.processes, "RLIMIT_NOFILE": self.open_files,
                "RLIMIT_MEMLOCK": 0, "RLIMIT_MSGQUEUE": 0}


def bwrap_available() -> tuple[bool, str]:
    """Whether bubblewrap can create a sandbox here (cached), and why not."""
    if "ok" not in _BWRAP_STATE:
        exe = shutil.which("bwrap")
        if not exe:
            _BWRAP_STATE.update(ok=False, why="bwrap is not installed (apt-get install bubblewrap)")
        else:
            drop = host_identity()
            r = subprocess.run([exe, *SANDBOX_FLAGS, "--ro-bind", "/", "/", "true"], capture_output=True, text=True,
                               preexec_fn=_privilege_drop([], *drop) if drop else None)
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
    for name in ("kernel.py", "wire.py", "textlimit.py", "isolation.py", "seccomp.py"):
        shutil.copy(HERE / name, grader / name)
    src = paths.library_dir()
    for name in ["__init__", "testing", "i18n", "live", "data", "mine", *allowed_modules]:
        if name != blocked_module and (src / f"{name}.py").exists():
            shutil.copy(src / f"{name}.py", lib / f"{name}.py")
    if (src / "locale").is_dir():               # the messages' translations (public: no hidden test's hint)
        shutil.copytree(src / "locale", lib / "locale", ignore=shutil.ignore_patterns("*.po"))
    if (src / "digits.npy").exists():                # nnbook.data's digits (the capstone's data)
        shutil.copy(src / "digits.npy", lib / "digits.npy")
    mpl = stage / "mpl"
    mpl.mkdir(exist_ok=True)
    try:
        import matplotlib
        for f in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
            shutil.copy(f, mpl / f.name)
    except Exception:  # noqa: BLE001 - without the cache matplotlib rebuilds it, slower but fine
        pass


# Every slot: its own user, PID, mount, IPC, UTS, cgroup and network namespace (no network at all);
# inside, uid/gid 1000. The zygote keeps capabilities *within the slot's user namespace* only (it needs
# them to give every learner a fresh PID/mount namespace, see isolation.py); learner code has none.
SANDBOX_FLAGS = ["--unshare-all", "--unshare-user", "--uid", "1000", "--gid", "1000", "--hostname", "sandbox",
                 "--cap-add", "ALL", "--die-with-parent", "--new-session"]
SANDBOX_USER = "nnbook-sandbox"


def host_identity() -> tuple[int, int] | None:
    """The unprivileged host (uid, gid) bwrap runs as when the grader is root; None when not root.

    ``NNBOOK_SANDBOX_UID`` / ``NNBOOK_SANDBOX_GID``, else the user ``nnbook-sandbox`` if it exists,
    else ``nobody`` (65534). As root, bwrap would leave learner code owning root's files and make
    ``RLIMIT_NPROC`` void; as this user it runs exactly as for an ordinary user."""
    if os.geteuid() != 0:
        return None
    if os.environ.get("NNBOOK_SANDBOX_UID"):
        uid = int(os.environ["NNBOOK_SANDBOX_UID"])
        return uid, int(os.environ.get("NNBOOK_SANDBOX_GID", uid))
    import pwd
    try:
        pw = pwd.getpwnam(SANDBOX_USER)
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return 65534, 65534


def _privilege_drop(sources: list[tuple[str, str]], uid: int, gid: int):
    """A ``preexec_fn``: private mount namespace, bind ``src`` onto ``dest`` for each pair, become uid/gid."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    pairs = [(s.encode(), d.encode()) for s, d in sources]

    def preexec():
        if libc.unshare(0x00020000) != 0:                                   # CLONE_NEWNS
            os._exit(71)
        if libc.mount(None, b"/", None, 0x4000 | (1 << 18), None) != 0:     # MS_REC | MS_PRIVATE
            os._exit(72)
        for src, dest in pairs:
            if libc.mount(src, dest, None, 0x1000 | 0x4000, None) != 0:     # MS_BIND | MS_REC
                os._exit(73)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    return preexec


class Kernel:
    """The judge's end of one learner's child kernel."""

    def __init__(self, slot: "Slot", sock: socket.socket, pid: int, limits: Limits):
        self.slot, self.sock, self.pid, self.limits = slot, sock, pid, limits
        self.dead: str | None = None
        self.deadline = time.monotonic() + limits.notebook_timeout   # the judge stops asking after this
        self.released: list[int] = []     # handles the judge no longer uses: freed with the next request

    def request(self, header: dict, blobs: list[bytes] = (), timeout: float | None = None):
        """Send one request and wait for the whole reply, by an absolute deadline: ``timeout`` (the
        cell limit by default) from now, and never past the notebook's deadline. A kernel that is
        late -- busy, stalled, or dripping a frame byte by byte -- is killed (``KernelTimeout``)."""
        if self.dead:
            raise KernelDied(self.dead)
        if self.released:
            header = dict(header, release=self.released)
            self.released = []
        now = time.monotonic()
        if now >= self.deadline:
            raise KernelTimeout(f"the notebook time limit of {self.limits.notebook_timeout:.0f} s is used up")
        timeout = self.limits.cell_timeout if timeout is None else timeout
        deadline = min(now + max(timeout, 0.01), self.deadline)
        try:
            wire.send(self.sock, header, list(blobs), deadline=deadline)
            return wire.recv(self.sock, deadline=deadline)
        except wire.WireTimeout:
            if deadline >= self.deadline:
                self.dead = (f"the notebook time limit of {self.limits.notebook_timeout:.0f} s was reached "
                             "before the kernel's answer was complete")
            else:
                self.dead = f"no complete answer within {timeout:.0f} s"
            self.slot.clean()
            raise KernelTimeout(self.dead) from None
        except (EOFError, OSError, wire.WireError) as e:
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
        self.owner = host_identity() if self.sandboxed else None
        if self.owner:
            os.chown(self.spool, *self.owner)
        self._bindroot = None
        self.isolation: dict = {}
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
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
               # as nbgrader's own autograde sets it for the kernel: notebooks can tell they are graded
               # (nnbook.live.interact then draws one still figure instead of live sliders)
               "NBGRADER_EXECUTION": "autograde"}
        if self.blocked_module:
            env["NNBOOK_BLOCK_MODULE"] = f"nnbook.{self.blocked_module}"
        fd = theirs.fileno()
        preexec = None
        if self.sandboxed:
            env.update(HOME=SANDBOX_HOME, MPLCONFIGDIR="/nnbook-mpl", NNBOOK_SANDBOXED="1",
                       PYTHONPATH="/nnbook-lib:/nnbook-grader")
            prefixes = {str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve()),
                        str(Path(sys.prefix))}
            # site-packages that are links elsewhere (a venv whose packages live in another one) are bound too
            import sysconfig
            for key in ("purelib", "platlib"):
                real = str(Path(sysconfig.get_paths()[key]).resolve())
                if not any(real == q or real.startswith(q.rstrip("/") + "/") for q in prefixes):
                    prefixes.add(real)
            binds = [("--ro-bind", p, p) for p in sorted(prefixes) if not p.startswith("/usr")]
            binds += [("--ro-bind", str(self.stage / "grader"), "/nnbook-grader"),
                      ("--ro-bind", str(self.stage / "lib"), "/nnbook-lib"),
                      ("--ro-bind", str(self.stage / "mpl"), "/nnbook-mpl"),
                      ("--bind", str(self.spool), SANDBOX_HOME)]
            drop = host_identity()
            if drop:
                # started as root: bwrap runs as the unprivileged host user ``drop`` (see host_identity); the
                # bind sources it could not reach itself (a Python under /root, say) are bound in first, by
                # root, in a private mount namespace of the bwrap process, onto empty directories
                self._bindroot = Path(tempfile.mkdtemp(prefix="nnbook-binds-", dir="/tmp"))
                os.chmod(self._bindroot, 0o755)
                sources = []
                for i, (kind, src, dest) in enumerate(binds):
                    (self._bindroot / str(i)).mkdir()
                    sources.append((src, str(self._bindroot / str(i))))
                    binds[i] = (kind, str(self._bindroot / str(i)), dest)
                preexec = _privilege_drop(sources, *drop)
            cmd = ["bwrap", "--clearenv"]
            for k, v in env.items():
                cmd += ["--setenv", k, v]
            cmd += SANDBOX_FLAGS
            cmd += ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                    "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
                    # bwrap mounts in order: the private /tmp comes first, so that a Python installation or
                    # virtual environment that lives under /tmp (a CI checkout, say) is bound on top of it
                    "--size", str(256 * 1024 * 1024), "--tmpfs", "/tmp"]
            for kind, src, dest in binds:
                cmd += [kind, src, dest]
            # a non-editable install puts the reference nnbook (and the grader) inside the Python
            # installation bound above: hide both; the sandbox imports its staged nnbook copy
            for d in (paths.library_dir(), paths.autograde_dir()):
                if any(str(d).startswith(p.rstrip("/") + "/") for p in prefixes):
                    cmd += ["--tmpfs", str(d)]
            cmd += ["--proc", "/proc", "--dev", "/dev", "--chdir", SANDBOX_HOME,
                    py, "/nnbook-grader/kernel.py", str(fd)]
        else:
            env.update(HOME=str(self.spool), MPLCONFIGDIR=str(self.stage / "mpl"),
                       PYTHONPATH=f"{self.stage / 'lib'}:{self.stage / 'grader'}")
            cmd = [py, str(self.stage / "grader" / "kernel.py"), str(fd)]
        self.proc = subprocess.Popen(cmd, pass_fds=[fd], env=env, cwd=str(self.spool),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=None if os.environ.get("NNBOOK_SANDBOX_DEBUG") else subprocess.DEVNULL,
                                     start_new_session=True, preexec_fn=preexec)
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
        self.isolation = header.get("isolation") or {}
        self._ready = True
        self._remove_bindroot()     # the sandbox holds its own binds now; do not leave these in /tmp

    def _remove_bindroot(self):
        if self._bindroot is not None:
            shutil.rmtree(self._bindroot, ignore_errors=True)     # empty directories (the binds were private)
            self._bindroot = None

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
        self._remove_bindroot()

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
