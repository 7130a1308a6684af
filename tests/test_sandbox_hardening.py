"""A hostile learner against the real grading pipeline (issue 10): nothing escapes, lingers,
stalls the grader or reaches the instructor.

One batch of chapter 01 submissions is graded by one worker (so every learner shares one
sandbox slot, in order): honest learners between attackers, each attacker a correct
notebook plus an attack cell at the end. Each test checks that its attack failed (from
what the attack itself printed and from the grader's own files) and that every learner of
the batch got exactly the full 17 points.

The same module runs once more with the grader started as an ordinary user
(``test_the_same_attacks_fail_when_the_grader_is_an_ordinary_user``); CI runs as root, so
the first run is the root case.
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import pwd
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from autograde import inert, sandbox
from autograde.grader.driver import grade, grade_chapter
from notebooks import read, solution_path

CHAPTER = "01_neuron"
FULL = 17.0
REPO = Path(__file__).resolve().parent.parent
LIMITS = sandbox.Limits(cell_timeout=10, notebook_timeout=30)
AS_USER = os.environ.get("NNBOOK_HARDENING_AS_USER") == "1"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sandbox.bwrap_available()[0],
                                 reason=f"bubblewrap cannot run here: {sandbox.bwrap_available()[1]}")]

CLONE_SYSCALL = {"x86_64": 56, "aarch64": 220}.get(platform.machine(), 56)

LIBC = "import ctypes, errno, os, sys\nlibc = ctypes.CDLL(None, use_errno=True)\n" \
       "def err():\n    return errno.errorcode.get(ctypes.get_errno(), '?')\n"

REMOUNT = LIBC + """
MS_REMOUNT, MS_BIND = 32, 4096
for target in ["/nnbook-grader", "/nnbook-lib", sys.prefix, sys.base_prefix, "/usr"]:
    rc = libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND, None)
    why = err()
    try:
        with open(os.path.join(target, "PWNED-remount"), "w") as f:
            f.write("x")
        print("RESULT remount ESCAPED", target)
    except OSError as e:
        print("RESULT remount BLOCKED", target, rc, why, type(e).__name__)
"""

VENV_WRITE = """
import os, sys, sysconfig, numpy
targets = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], os.path.dirname(numpy.__file__),
           sys.prefix, "/nnbook-grader", "/nnbook-lib/nnbook"]
for d in targets:
    try:
        with open(os.path.join(d, "PWNED_venv.py"), "w") as f:
            f.write("x = 1")
        print("RESULT venv ESCAPED new file in", d)
    except OSError as e:
        print("RESULT venv BLOCKED new file in", d, type(e).__name__)
for f in [numpy.__file__, os.__file__, "/nnbook-grader/kernel.py", "/nnbook-grader/wire.py"]:
    try:
        with open(f, "a") as fh:
            fh.write("\\n# pwned\\n")
        print("RESULT venv ESCAPED appended to", f)
    except OSError as e:
        print("RESULT venv BLOCKED append to", f, type(e).__name__)
    try:
        os.chmod(f, 0o777)
        print("RESULT venv ESCAPED chmod", f)
    except OSError as e:
        print("RESULT venv BLOCKED chmod", f, type(e).__name__)
"""

PTRACE = LIBC + """
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
me = os.getpid()
visible = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("RESULT ptrace VISIBLE", visible)
others = []
for pid in range(1, 32768):
    if pid == me:
        continue
    try:
        os.kill(pid, 0)
        others.append(pid)
    except OSError:
        pass
print("RESULT ptrace SIGNALLABLE", others)
for pid in list(range(1, 64)) + others:
    if libc.ptrace(16, pid, None, None) == 0:          # PTRACE_ATTACH
        print("RESULT ptrace ESCAPED attached", pid)
    for path in (f"/proc/{pid}/mem",):
        try:
            with open(path, "r+b") as f:
                f.seek(0x400000)
                f.write(b"\\0")
            print("RESULT ptrace ESCAPED wrote", path)
        except OSError:
            pass
print("RESULT ptrace attach-self-parent", libc.ptrace(16, os.getppid() or 1, None, None), err())
print("RESULT ptrace process_vm_writev", libc.syscall(311 if os.uname().machine == "x86_64" else 271,
                                                      1, 0, 0, 0, 0, 0), err())
print("RESULT ptrace DONE")
"""

PROC_TMPFS = LIBC + """
rc = libc.mount(b"tmpfs", b"/proc", b"tmpfs", 0, None)
print("RESULT proc mount-tmpfs", rc, err())
rc = libc.unshare(0x10000000 | 0x20000)
print("RESULT proc unshare-then-mount", rc, err(), libc.mount(b"tmpfs", b"/proc", b"tmpfs", 0, None), err())
print("RESULT proc STILL", sorted(p for p in os.listdir("/proc") if p.isdigit()))
"""

SURVIVOR = """
import os, time, glob, signal
marker = b"WITNESS" + b"-MARKER"
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(3, 256):
            try:
                os.close(fd)
            except OSError:
                pass
        end = time.time() + 90
        while time.time() < end:
            for f in glob.glob(os.path.expanduser("~/*")) + glob.glob("/tmp/*"):
                try:
                    data = open(f, "rb").read()
                except OSError:
                    continue
                if marker in data:
                    for dest in (os.path.expanduser("~/STOLEN.txt"), "/tmp/STOLEN.txt"):
                        try:
                            open(dest, "wb").write(b"STOLEN " + data[:200])
                        except OSError:
                            pass
                    try:
                        os.kill(-1, signal.SIGKILL)
                    except OSError:
                        pass
            time.sleep(0.05)
        os._exit(0)
    os._exit(0)
os.waitpid(pid, 0)
for d in ["/", "/dev", "/dev/shm", "/home", os.path.expanduser("~"), "/tmp"]:
    try:
        with open(os.path.join(d, "LEFT-BEHIND"), "w") as f:
            f.write("x")
        print("RESULT survivor left a file in", d)
    except OSError as e:
        print("RESULT survivor cannot write", d, type(e).__name__)
print("RESULT survivor STARTED")
"""

WITNESS = """
# WITNESS-MARKER: a survivor of an earlier learner looks for this text
import os
print("RESULT witness PROCS", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))
print("RESULT witness LEFTOVERS", [d for d in ["/", "/dev", "/dev/shm", "/home", os.path.expanduser("~"), "/tmp"]
                                   if os.path.exists(os.path.join(d, "LEFT-BEHIND"))])
print("RESULT witness FILES", sorted(os.listdir(".")), sorted(os.listdir("/tmp")))
"""

NAMESPACES = LIBC + f"""
import subprocess
for name, flag in [("user", 0x10000000), ("mount", 0x20000), ("pid", 0x20000000), ("net", 0x40000000),
                   ("uts", 0x04000000), ("ipc", 0x08000000), ("cgroup", 0x02000000), ("time", 0x80)]:
    print("RESULT ns unshare", name, libc.unshare(flag), err())
for name in ["user", "mnt", "pid", "net"]:
    fd = os.open(f"/proc/self/ns/{{name}}", os.O_RDONLY)
    print("RESULT ns setns", name, libc.setns(fd, 0), err())
    os.close(fd)
print("RESULT ns clone-newuser", libc.syscall({CLONE_SYSCALL}, 0x10000000 | 17, 0, 0, 0, 0), err())
print("RESULT ns clone-newpid", libc.syscall({CLONE_SYSCALL}, 0x20000000 | 17, 0, 0, 0, 0), err())
r = subprocess.run(["unshare", "-Ur", "id"], capture_output=True, text=True)
print("RESULT ns unshare-command", r.returncode, r.stdout.strip()[:80])
print("RESULT ns bpf", libc.syscall(321 if os.uname().machine == "x86_64" else 280, 0, 0, 0), err())
print("RESULT ns keyctl", libc.syscall(250 if os.uname().machine == "x86_64" else 219, 0, 0, 0), err())
with open("/proc/self/status") as f:
    print("RESULT ns STATUS", " ".join(l.strip() for l in f if l.startswith(("Cap", "NoNewPrivs", "Seccomp", "Uid"))))
"""

FORK_BOMB = """
import os, time
kids, error = 0, None
try:
    for i in range(5000):
        p = os.fork()
        if p == 0:
            time.sleep(120)
            os._exit(0)
        kids += 1
except OSError as e:
    error = e
print("RESULT forkbomb", kids, type(error).__name__)
"""

DRIP = """
import os, socket, struct, time
def is_socket(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    except OSError:
        return False
fds = [int(f) for f in os.listdir("/proc/self/fd") if is_socket(f)]
s = socket.socket(fileno=fds[0])
s.sendall(struct.pack(">I", 1_000_000))     # a header of a million bytes is coming ...
while True:                                # ... one byte every half second
    s.send(b" ")
    time.sleep(0.5)
"""

ATTACKS = {"remount": REMOUNT, "venv-write": VENV_WRITE, "ptrace": PTRACE, "proc-tmpfs": PROC_TMPFS,
           "survivor": SURVIVOR, "witness": WITNESS, "namespaces": NAMESPACES, "forkbomb": FORK_BOMB,
           "drip": DRIP}


def solution_with(extra: str | None):
    nb = read(solution_path(CHAPTER))
    if extra:
        nb.cells.append(nbformat.v4.new_code_cell(extra))
    return nb


def results_text(out: Path, learner: str) -> tuple[str, dict]:
    """What the learner's cells printed (from the autograded notebook), and the grader's notes and time."""
    from autograde.grader.plugins import notes_of
    nb = nbformat.read(out / "course" / "autograded" / learner / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            texts.append(o.get("text", "") if o.get("output_type") == "stream" else
                         f"{o.get('ename')}: {o.get('evalue')}")
    data = {"problems": notes_of(nb), "seconds": nb.metadata["nnbook_run"]["seconds"]}
    return "\n".join(texts), data


def lines(text: str, kind: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"RESULT {kind}")]


def protected_files() -> dict[str, str]:
    import numpy
    files = [numpy.__file__, os.__file__, json.__file__]
    return {f: hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("hardening")
    subs, order = {}, []
    for i, (name, code) in enumerate(ATTACKS.items()):
        if name != "witness":
            subs[f"honest-{i}"] = solution_with(None)
        subs[name] = solution_with(code)
    subs["honest-last"] = solution_with(None)
    before = protected_files()
    from autograde.course import write_submission
    for learner, nb in subs.items():
        write_submission(out / "raw", CHAPTER, learner, nb)
    res = grade_chapter(CHAPTER, out / "raw", out, jobs=1, limits=LIMITS, learners=list(subs),
                        progress=False, feedback=False)
    return {"out": out, "results": res.results, "class": res, "before": before, "after": protected_files(),
            "learners": list(subs)}


def assert_everyone_exact(batch):
    got = {l: batch["results"][l].total for l in batch["learners"]}
    assert got == {l: FULL for l in batch["learners"]}, got


def test_who_runs_learner_code(batch):
    text, _ = results_text(batch["out"], "namespaces")
    status = lines(text, "ns STATUS")[0]
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert f"{cap}:\t0000000000000000" in status or f"{cap}: 0000000000000000" in status.replace("\t", " "), status
    assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status, status
    assert "Uid:\t1000\t1000\t1000\t1000" in status, status


def test_remounting_a_read_only_bind_and_writing_into_it_fails(batch):
    text, _ = results_text(batch["out"], "remount")
    got = lines(text, "remount")
    assert len(got) == 5 and all(" BLOCKED " in line and " EPERM " in line for line in got), got
    stages = batch["out"] / "course" / ".nnbook" / "stages"
    assert list(stages.glob("*/lib")) and not list(stages.rglob("PWNED*"))
    assert not (Path(sys.prefix) / "PWNED-remount").exists() and not (Path(sys.base_prefix) / "PWNED-remount").exists()
    assert_everyone_exact(batch)


def test_writing_into_the_venv_and_the_python_installation_fails(batch):
    text, _ = results_text(batch["out"], "venv-write")
    got = lines(text, "venv")
    assert len(got) == 6 + 4 * 2 and all(" BLOCKED " in line for line in got), got
    assert batch["before"] == batch["after"]
    for d in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"], sys.prefix):
        assert not (Path(d) / "PWNED_venv.py").exists()
    assert_everyone_exact(batch)


def test_the_zygote_and_other_processes_are_out_of_reach(batch):
    text, _ = results_text(batch["out"], "ptrace")
    assert lines(text, "ptrace VISIBLE") == ["RESULT ptrace VISIBLE [1]"], text   # only its own kernel
    assert lines(text, "ptrace SIGNALLABLE") == ["RESULT ptrace SIGNALLABLE []"], text
    assert not [line for line in lines(text, "ptrace") if "ESCAPED" in line], text
    assert "RESULT ptrace attach-self-parent -1 EPERM" in text and "RESULT ptrace process_vm_writev -1 EPERM" in text
    assert lines(text, "ptrace DONE")
    assert_everyone_exact(batch)      # the zygote went on forking healthy kernels


def test_mounting_over_proc_fails(batch):
    text, _ = results_text(batch["out"], "proc-tmpfs")
    assert "RESULT proc mount-tmpfs -1 EPERM" in text, text
    assert "RESULT proc unshare-then-mount -1 EPERM -1 EPERM" in text, text
    assert "RESULT proc STILL ['1']" in text, text
    assert_everyone_exact(batch)


def test_a_background_process_does_not_survive_into_the_next_learner(batch):
    text, _ = results_text(batch["out"], "survivor")
    assert "RESULT survivor STARTED" in text
    assert lines(text, "survivor cannot write") == [f"RESULT survivor cannot write {d} OSError" for d in
                                                    ("/", "/dev", "/home")], text
    assert "RESULT witness LEFTOVERS []" in witness_text(batch)
    witness, _ = results_text(batch["out"], "witness")
    assert lines(witness, "witness PROCS") == ["RESULT witness PROCS [1]"], witness
    files = lines(witness, "witness FILES")[0]
    # a fresh /tmp too: empty but for the Python installation's own folders when it lives under /tmp
    import ast
    import sysconfig
    dirs = {str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sysconfig.get_paths()["purelib"])}
    keep = {Path(d).relative_to("/tmp").parts[0] for d in dirs if d.startswith("/tmp/")}
    in_tmp = ast.literal_eval(files[files.rindex("["):])
    assert "STOLEN" not in files and set(in_tmp) <= keep, (files, keep)
    assert batch["results"]["witness"].total == FULL
    assert_everyone_exact(batch)


def witness_text(batch) -> str:
    return results_text(batch["out"], "witness")[0]


def test_new_namespaces_cannot_be_created_or_entered(batch):
    text, _ = results_text(batch["out"], "namespaces")
    for line in lines(text, "ns unshare ") + lines(text, "ns setns") + lines(text, "ns clone"):
        assert line.split()[-2:] == ["-1", "EPERM"], line
    assert len(lines(text, "ns unshare ")) == 8 and len(lines(text, "ns setns")) == 4
    cmd = lines(text, "ns unshare-command")[0]
    assert cmd.split()[3] != "0", cmd
    assert lines(text, "ns bpf")[0].endswith("EPERM") and lines(text, "ns keyctl")[0].endswith("EPERM")
    assert_everyone_exact(batch)


def test_a_fork_bomb_hits_the_process_limit(batch):
    text, _ = results_text(batch["out"], "forkbomb")
    (line,) = lines(text, "forkbomb")
    _, _, kids, error = line.split()
    assert int(kids) < LIMITS.processes and error == "BlockingIOError", line
    assert_everyone_exact(batch)


def test_a_dripping_kernel_is_stopped_within_the_limits(batch):
    text, data = results_text(batch["out"], "drip")
    assert "TimeoutError" in text and "did not finish within" in text, text
    # the worker was freed by the cell limit (10 s), not held for as long as the kernel drips
    assert data["seconds"] < LIMITS.notebook_timeout + 10, data["seconds"]
    assert any("stopped after" in p for p in data["problems"]), data["problems"]
    assert_everyone_exact(batch)


# ----------------------------------------------------------------------------- reports
XSS_MARKDOWN = ("# My answer\n<script>document.title='XSS-SCRIPT'</script>\n"
                "<img src=x onerror=\"document.title='XSS-IMG'\">\n[click](javascript:alert('XSS-LINK'))\n"
                "<a href=\"jav&#x61;script:alert('XSS-A')\">x</a>\n<svg onload=alert('XSS-SVG')></svg>\n")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A class with a hostile markdown cell, a hostile raw cell and formula-like learner names,
    graded with the sanitiser in both nbgrader preprocessor lists, and with reports."""
    if AS_USER:
        pytest.skip("the report tests do not depend on the grader's user")
    out = tmp_path_factory.mktemp("reports")
    sub = out / "class" / "submitted"
    nb = solution_with(None)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(XSS_MARKDOWN))
    raw = nbformat.v4.new_raw_cell("<script>document.title='XSS-RAW'</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    nb.cells.insert(2, raw)
    nb.cells[3].metadata["tags"] = ["ok-tag", "x\"><script>alert('XSS-TAG')</script>"]
    learners = {"xss": nb, "honest": solution_with(None), "=HYPERLINK(\"evil\")": solution_with(None),
                "+cmd": solution_with(None), "@SUM(1)": solution_with(None), "-2+3": solution_with(None)}
    for learner, n in learners.items():
        (sub / learner / CHAPTER).mkdir(parents=True)
        nbformat.write(n, sub / learner / CHAPTER / f"{CHAPTER}.ipynb")
    # the sanitiser is in both of nbgrader's preprocessor lists by default (autograde/nbgrader_config.py)
    classes, summary = grade(out / "class", [CHAPTER], out, jobs=1, limits=LIMITS, progress=False)
    return {"out": out, "classes": classes, "summary": summary, "learners": list(learners)}


def test_learner_markup_reaches_no_page_as_html(reports):
    out = reports["out"]
    page = (out / "feedback" / "xss" / f"{CHAPTER}.html").read_text()
    autograded = (out / "course" / "autograded" / "xss" / CHAPTER / f"{CHAPTER}.ipynb").read_text()
    for text in (page, autograded):
        assert "<script>document.title" not in text and "onerror=" not in text.lower(), "learner markup survived"
        assert "javascript:alert" not in text.lower()
        assert "<svg onload" not in text
    assert "XSS-TAG')</script>" not in page
    # the learner's text is still shown, as text
    assert "My answer" in page and "&lt;script&gt;" in page
    res = reports["classes"][0].results
    assert len(res) == len(reports["learners"]) and all(r.total == FULL for r in res.values()), \
        {l: r.total for l, r in res.items()}


def test_formula_like_learner_names_are_inert_in_csv_and_summary(reports):
    out = reports["out"]
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.reader(f))
    # odd names get a safe learner id (autograde/intake.py) and keep their own name, made inert, in "name"
    names = [r[rows[0].index("name")] for r in rows[1:]]
    for r in rows[1:]:
        for cell in r:
            assert not cell.startswith(inert.FORMULA_STARTS) or cell.lstrip("-").replace(".", "").isdigit(), cell
    assert "'=HYPERLINK(\"evil\")" in names and "'+cmd" in names and "'@SUM(1)" in names and "'-2+3" in names
    body = {r[rows[0].index("name")]: r for r in rows[1:]}
    assert body["'+cmd"][rows[0].index("total")] == "17"
    learner_lines = [line for line in (out / "summary.txt").read_text().splitlines() if line.startswith("  ")]
    assert len(learner_lines) == len(reports["learners"])
    for line in learner_lines:
        assert not line.strip().startswith(inert.FORMULA_STARTS), line


# ----------------------------------------------------------------------------- the ordinary-user run
def _ordinary_user() -> tuple[str, int] | None:
    for name in ("nnbook-grader",):
        try:
            return name, pwd.getpwnam(name).pw_uid
        except KeyError:
            pass
    if shutil.which("useradd") is None:
        return None
    r = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "nnbook-grader"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return "nnbook-grader", pwd.getpwnam("nnbook-grader").pw_uid


def _unreachable_ancestor(path: Path) -> Path | None:
    """The highest ancestor of ``path`` that others cannot traverse (e.g. /root), if any."""
    for parent in reversed(path.resolve().parents):
        if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
            return parent
    return None


@pytest.mark.skipif(AS_USER, reason="this is the ordinary-user run itself")
def test_the_same_attacks_fail_when_the_grader_is_an_ordinary_user(tmp_path, request):
    if os.geteuid() != 0:
        pytest.skip("the grader already runs as an ordinary user here: the tests above are that run")
    user = _ordinary_user()
    if user is None:
        pytest.skip("running as root, but no ordinary user could be created (useradd failed)")
    name, uid = user
    # the interpreter, the venv and this checkout must be readable by that user: where an ancestor
    # (say /root) is closed, the run gets a private mount namespace in which that ancestor is an open
    # tmpfs holding binds of just the needed folders
    needed = sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), REPO.resolve()})
    script = ["set -e", "mount --make-rprivate /"]
    hold = tmp_path / "hold"
    for i, p in enumerate(needed):
        closed = _unreachable_ancestor(p)
        if closed is None:
            continue
        (hold / str(i)).mkdir(parents=True)
        script += [f"mount --bind '{p}' '{hold / str(i)}'"]
    closed_dirs = sorted({_unreachable_ancestor(p) for p in needed} - {None})
    script += [f"mount -t tmpfs -o mode=755 tmpfs '{d}'" for d in closed_dirs]
    for i, p in enumerate(needed):
        if _unreachable_ancestor(p) is not None:
            script += [f"mkdir -p '{p}'", f"mount --bind '{hold / str(i)}' '{p}'"]
    import tempfile
    home = Path(tempfile.mkdtemp(prefix="nnbook-grader-home-", dir="/tmp"))     # pytest's own tmp is root's (0700)
    request.addfinalizer(lambda: shutil.rmtree(home, ignore_errors=True))
    os.chown(home, uid, uid)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
           "NNBOOK_HARDENING_AS_USER": "1", "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1",
           "TMPDIR": str(home)}
    inner = (f"exec setpriv --reuid {uid} --regid {uid} --clear-groups -- {sys.executable} -m pytest -q -p no:cacheprovider "
             f"-n 0 {Path(__file__).resolve()} -k 'not ordinary_user and not markup and not formula' "
             f"--basetemp {home / 'pt'}")
    script.append(inner)
    r = subprocess.run(["unshare", "--mount", "--", "sh", "-c", "\n".join(script)], cwd=str(REPO), env=env,
                       capture_output=True, text=True, timeout=1500)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail and " skipped" not in tail.split("passed")[-1], tail
