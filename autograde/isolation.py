"""Confining one learner's kernel inside a slot: runs in the zygote and its children, in the sandbox.

The zygote (our code, never learner code) keeps the capabilities bubblewrap gave
it *inside the slot's own user namespace* (they mean nothing outside it). For each
learner it forks a child that becomes process 1 of a fresh PID namespace, and that
child, before any learner code runs:

1. gets a private mount and IPC namespace, a fresh ``/proc`` (only its own
   processes are visible) and a fresh ``/tmp`` (a size-limited tmpfs that vanishes
   with it);
2. closes every file descriptor but its socket to the judge;
3. sets the resource limits, the process-count limit (``RLIMIT_NPROC``) included;
4. drops every capability (effective, permitted, inheritable, ambient and the
   bounding set) and locks the secure bits, so no ``execve`` can give any back;
5. installs the seccomp filter (:mod:`seccomp`) with ``no_new_privs``.

After the learner the zygote kills that process 1: the kernel then kills every
process of the namespace (double forks and ``setsid`` included), and only then
does the judge wipe the learner's folder. Standard library only (copied into the sandbox).
"""
import ctypes
import os
import resource

import seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
TMP_SIZE = 256 * 1024 * 1024

STATUS: dict = {"pidns": False}
_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                                ctypes.c_char_p]
    return _libc


def _check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def zygote_setup(sandboxed: bool) -> None:
    """Make the zygote the reaper of its learners (they are grandchildren, see :func:`fork_isolated`)."""
    if not sandboxed:
        STATUS.update(pidns=False, why="not sandboxed")
        return
    if libc().prctl(36, 1, 0, 0, 0) != 0:          # PR_SET_CHILD_SUBREAPER
        STATUS.update(pidns=False, why=os.strerror(ctypes.get_errno()))
        return
    STATUS.update(pidns=True)


def fork_isolated() -> int:
    """Like ``os.fork()``, but the child is process 1 of a new PID namespace.

    An intermediate child unshares the PID namespace, forks the learner's process and
    exits; the learner's process is re-parented to the zygote (a child subreaper), which
    gets its pid (as the zygote sees it) through a pipe."""
    r, w = os.pipe()
    a = os.fork()
    if a == 0:
        try:
            os.close(r)
            _check(libc().unshare(CLONE_NEWPID), "unshare PID namespace")
            b = os.fork()
            if b == 0:
                os.close(w)
                return 0
            os.write(w, str(b).encode())
        except BaseException as e:  # noqa: BLE001 - reported to the zygote, which fails the fork
            os.write(w, b"E" + str(e).encode()[:300])
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 512)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(a, 0)
    if not data or data[:1] == b"E":
        raise OSError(f"could not isolate the learner: {data[1:].decode(errors='replace') or 'no pid'}")
    return int(data)


def _close_fds(keep: int) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def set_limits(limits: dict, nproc: bool) -> None:
    for name, value in limits.items():
        if name == "RLIMIT_NPROC" and not nproc:
            continue    # outside a sandbox this would count every process of the grader's user
        lim = getattr(resource, name, None)
        if lim is None:
            continue
        try:
            resource.setrlimit(lim, (value, value))
        except (ValueError, OSError):
            pass


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> None:
    c = libc()
    c.prctl(28, 0xEF, 0, 0, 0)                # PR_SET_SECUREBITS: NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, locked
    c.prctl(47, 4, 0, 0, 0)                   # PR_CAP_AMBIENT_CLEAR_ALL
    for cap in range(64):
        if c.prctl(24, cap, 0, 0, 0) != 0:    # PR_CAPBSET_DROP until EINVAL (no such capability)
            break
    hdr = _CapHeader(0x20080522, 0)           # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(c.capset(ctypes.byref(hdr), data), "capset")
    with open("/proc/self/status") as f:
        caps = {k: v.strip() for k, v in (line.split(":", 1) for line in f if line.startswith("Cap"))}
    if any(int(caps.get(k, "1"), 16) for k in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb")):
        raise OSError(f"capabilities remain: {caps}")


def isolate_learner(keep_fd: int, limits: dict) -> None:
    """In the forked child (process 1 of its new PID namespace): confine it for good."""
    c = libc()
    _check(c.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare mount+IPC namespace")
    _check(c.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(c.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    _check(c.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={TMP_SIZE},mode=1777".encode()), "mount /tmp")
    try:        # no user namespaces in this slot at all (the filter refuses them too)
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0")
    except OSError:
        pass
    _close_fds(keep_fd)
    os.setsid()
    set_limits(limits, nproc=True)
    drop_capabilities()
    seccomp.install()


def limit_learner(limits: dict, sandboxed: bool) -> None:
    """Without a PID namespace (no bwrap): resource limits only, and the filter where possible."""
    os.setsid()
    set_limits(limits, nproc=False)
    try:
        seccomp.install()
    except OSError:
        pass
