"""Confining one learner's kernel inside a slot: runs in the zygote and its children, in the sandbox.

The zygote (our code, never learner code) keeps the capabilities bubblewrap gave
it *inside the slot's own user namespace* (they mean nothing outside it). For each
learner it forks a child that becomes process 1 of a fresh PID namespace, and that
child, before any learner code runs:

1. gets a private mount and IPC namespace, a fresh ``/proc`` (only its own
   processes are visible), a fresh ``/tmp``, ``/dev/shm`` and home folder (size-limited
   tmpfs that vanish with it; the home holds a copy of the learner's files), and
   everything else read-only;
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
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 0x4000, 1 << 18
TMP_SIZE = 256 * 1024 * 1024      # /tmp of one learner
HOME_SIZE = 256 * 1024 * 1024     # the home folder of one learner
SHM_SIZE = 64 * 1024 * 1024       # /dev/shm of one learner

STATUS: dict = {"pidns": False}
_libc = None
_pidns_fd = None


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


def zygote_setup(sandboxed: bool, sock) -> None:
    """Make the zygote process 1 of a PID namespace of its own user namespace (returns only there).

    bwrap's PID namespace belongs to an outer user namespace, so the zygote could not return
    to it after creating a learner's (``setns`` needs capabilities over it); one it created itself
    it can. The first process only waits for the real zygote and exits with it."""
    global _pidns_fd
    if not sandboxed:
        STATUS.update(pidns=False, why="not sandboxed")
        return
    if libc().unshare(CLONE_NEWPID) != 0:
        STATUS.update(pidns=False, why=os.strerror(ctypes.get_errno()))
        return
    pid = os.fork()
    if pid:
        sock.close()
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    _pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    STATUS.update(pidns=True)


def enter_new_pidns() -> bool:
    """Make the zygote's next child process 1 of a new PID namespace."""
    if _pidns_fd is None:
        return False
    _check(libc().unshare(CLONE_NEWPID), "unshare PID namespace")
    return True


def leave_new_pidns() -> None:
    _check(libc().setns(_pidns_fd, CLONE_NEWPID), "setns back to the zygote's PID namespace")


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


def _interpreter_dirs_under(top: str) -> list[str]:
    """The Python installation's folders that live below ``top`` (outermost ones only)."""
    import sys
    import sysconfig
    found = set()
    paths = sysconfig.get_paths()
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, paths["purelib"], paths["platlib"]):
        for q in {p, os.path.realpath(p)}:
            if q.startswith(top.rstrip("/") + "/") and os.path.isdir(q):
                found.add(q)
    return sorted(d for d in found if not any(d != o and d.startswith(o + "/") for o in found))


def isolate_learner(keep_fd: int, limits: dict, home: str) -> None:
    """In the forked child (process 1 of its new PID namespace): confine it for good."""
    import shutil
    c = libc()
    _check(c.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare mount+IPC namespace")
    _check(c.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(c.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount /proc")
    # a Python installation or virtual environment under /tmp (a CI checkout, say) stays visible through
    # the learner's fresh /tmp: held by a file descriptor, bound back on top of the new tmpfs, read-only
    held = [(d, os.open(d, os.O_PATH | os.O_DIRECTORY)) for d in _interpreter_dirs_under("/tmp")]
    _check(c.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={TMP_SIZE},mode=1777".encode()), "mount /tmp")
    for d, fd in held:
        os.makedirs(d, exist_ok=True)
        _check(c.mount(f"/proc/self/fd/{fd}".encode(), d.encode(), None, MS_BIND | MS_REC, None), f"keep {d}")
        keep = os.statvfs(d).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)
        _check(c.mount(None, d.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, None),
               f"remount {d} read-only")
        os.close(fd)
    # the home folder: a size-limited tmpfs holding a copy of the learner's files (what the learner
    # writes there can neither fill the grader's disk nor outlive this namespace)
    src = os.open(home, os.O_RDONLY | os.O_DIRECTORY)
    _check(c.mount(b"tmpfs", home.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                   f"size={HOME_SIZE},mode=0755".encode()), "mount the home folder")
    shutil.copytree(f"/proc/self/fd/{src}", home, symlinks=True, dirs_exist_ok=True)
    os.close(src)
    if os.path.isdir("/dev/shm"):
        _check(c.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV,
                       f"size={SHM_SIZE},mode=1777".encode()), "mount /dev/shm")
    # everything else read-only: bwrap's root folder and /dev are the slot's, shared by its learners
    for path in ("/", "/dev"):
        keep = os.statvfs(path).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)
        _check(c.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, None),
               f"remount {path} read-only")
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
