"""A seccomp system-call filter for learner kernels, as classic BPF built with :mod:`struct`.

Installed by :mod:`kernel` in each learner's kernel just before learner code runs
(``PR_SET_NO_NEW_PRIVS`` + ``PR_SET_SECCOMP``); inherited by every process the
learner starts, and it cannot be removed. It is a deny list: everything a NumPy
notebook needs works, and these calls fail with ``EPERM``:

* namespaces and mounts: ``unshare``, ``setns``, ``clone`` with any ``CLONE_NEW*`` flag,
  ``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API (``fsopen``,
  ``fsconfig``, ``fsmount``, ``fspick``, ``move_mount``, ``open_tree``, ``mount_setattr``);
  ``clone3`` fails with ``ENOSYS`` (its flags live in memory a filter cannot read; the C
  library then falls back to ``clone``, which is checked);
* other processes: ``ptrace``, ``process_vm_readv``, ``process_vm_writev``, ``pidfd_getfd``,
  ``kcmp``;
* the kernel itself: ``kexec_load``, ``kexec_file_load``, ``init_module``, ``finit_module``,
  ``delete_module``, ``bpf``, ``perf_event_open``, ``userfaultfd``, ``keyctl``, ``add_key``,
  ``request_key``, ``io_uring_*``, ``open_by_handle_at``, ``name_to_handle_at``, ``swapon``,
  ``swapoff``, ``reboot``, ``acct``, ``syslog``, ``quotactl``, ``fanotify_init``,
  ``lookup_dcookie``, the clocks (``settimeofday``, ``clock_settime``, ``adjtimex``,
  ``clock_adjtime``), ``vhangup``, and on x86-64 ``iopl``, ``ioperm`` and every x32 call.

A call from another architecture (e.g. 32-bit ``int 0x80`` on x86-64) kills the process.
Supported: x86-64 and AArch64. Standard library only: this file is copied into the sandbox.
"""
import ctypes
import errno
import platform
import struct

# BPF opcodes
_LD_W_ABS = 0x20          # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15             # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35             # BPF_JMP | BPF_JGE | BPF_K
_JSET_K = 0x45            # BPF_JMP | BPF_JSET | BPF_K
_RET_K = 0x06             # BPF_RET | BPF_K

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000

CLONE_NEW_FLAGS = (0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000   # TIME NS CGROUP UTS IPC
                   | 0x10000000 | 0x20000000 | 0x40000000)                            # USER PID NET

DENIED_NAMES = [
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot",
    "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "reboot", "acct", "syslog",
    "quotactl", "fanotify_init", "lookup_dcookie",
    "settimeofday", "clock_settime", "adjtimex", "clock_adjtime", "vhangup",
    "iopl", "ioperm",
]

ARCHES = {
    # AUDIT_ARCH value, syscall numbers
    "x86_64": (0xC000003E, {
        "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
        "mount_setattr": 442, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
        "pidfd_getfd": 438, "kcmp": 312, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
        "finit_module": 313, "delete_module": 176, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "keyctl": 250, "add_key": 248, "request_key": 249, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_by_handle_at": 304, "name_to_handle_at": 303, "swapon": 167,
        "swapoff": 168, "reboot": 169, "acct": 163, "syslog": 103, "quotactl": 179, "fanotify_init": 300,
        "lookup_dcookie": 212, "settimeofday": 164, "clock_settime": 227, "adjtimex": 159,
        "clock_adjtime": 305, "vhangup": 153, "iopl": 172, "ioperm": 173,
        "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {
        "unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41, "chroot": 51,
        "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
        "mount_setattr": 442, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
        "pidfd_getfd": 438, "kcmp": 272, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
        "finit_module": 273, "delete_module": 106, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
        "keyctl": 219, "add_key": 217, "request_key": 218, "io_uring_setup": 425, "io_uring_enter": 426,
        "io_uring_register": 427, "open_by_handle_at": 265, "name_to_handle_at": 264, "swapon": 224,
        "swapoff": 225, "reboot": 142, "acct": 89, "syslog": 116, "quotactl": 60, "fanotify_init": 262,
        "lookup_dcookie": 18, "settimeofday": 170, "clock_settime": 112, "adjtimex": 171,
        "clock_adjtime": 266, "vhangup": 58,
        "clone": 220, "clone3": 435}),
}
ARCHES["amd64"] = ARCHES["x86_64"]
ARCHES["arm64"] = ARCHES["aarch64"]


def _ins(code, jt, jf, k):
    return struct.pack("<HBBI", code, jt, jf, k & 0xFFFFFFFF)


def program(machine: str | None = None) -> bytes:
    """The filter as ``struct sock_filter`` records (8 bytes each)."""
    machine = (machine or platform.machine()).lower()
    if machine not in ARCHES:
        raise OSError(f"no seccomp filter for architecture {machine!r}")
    arch, nr = ARCHES[machine]
    eperm = RET_ERRNO | errno.EPERM
    p = [_ins(_LD_W_ABS, 0, 0, 4),                       # seccomp_data.arch
         _ins(_JEQ_K, 1, 0, arch),
         _ins(_RET_K, 0, 0, RET_KILL_PROCESS),
         _ins(_LD_W_ABS, 0, 0, 0)]                       # seccomp_data.nr
    if arch == 0xC000003E:                               # x32 system calls share the arch value
        p += [_ins(_JGE_K, 0, 1, 0x40000000), _ins(_RET_K, 0, 0, eperm)]
    for name in DENIED_NAMES:
        if name in nr:
            p += [_ins(_JEQ_K, 0, 1, nr[name]), _ins(_RET_K, 0, 0, eperm)]
    p += [_ins(_JEQ_K, 0, 1, nr["clone3"]), _ins(_RET_K, 0, 0, RET_ERRNO | errno.ENOSYS)]
    p += [_ins(_JEQ_K, 1, 0, nr["clone"]), _ins(_RET_K, 0, 0, RET_ALLOW),
          _ins(_LD_W_ABS, 0, 0, 16),                     # low 32 bits of args[0] (clone flags)
          _ins(_JSET_K, 0, 1, CLONE_NEW_FLAGS), _ins(_RET_K, 0, 0, eperm),
          _ins(_RET_K, 0, 0, RET_ALLOW)]
    return b"".join(p)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(machine: str | None = None) -> None:
    """Set no_new_privs and install the filter on the calling thread (and all its future children)."""
    code = program(machine)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) != 0:                                   # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS failed")
    if libc.prctl(22, 2, ctypes.addressof(prog), 0, 0) != 0:              # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter not installed")
