"""Fixtures for the browser suite: the learner's JupyterLab, driven in a real headless Chromium.

One JupyterLab server per pytest session (that is, per xdist worker) serves a temporary copy of
``chapters/`` and ``solutions/`` with a temporary ``HOME``, on a free loopback port, configured
by the Makefile's own ``lab-config`` target (the configuration ``make start`` uses). One Chromium
(Debian's ``/usr/bin/chromium``; no browser download) per session, with a fresh profile; a new
tab per test.

Every test saves screenshots of its steps under its own temporary folder. When a test fails, they
are copied, with the browser console and the server log, to
``/tmp/nnbook-browser-artifacts/<test>/`` (or ``$NNBOOK_BROWSER_ARTIFACTS``), and the failure
report names that folder.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograde.paths import course_root  # noqa: E402
REPO = course_root()
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("NNBOOK_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NNBOOK_BROWSER_ARTIFACTS", "/tmp/nnbook-browser-artifacts"))

# No internet here: nothing that phones home, and a throw-away profile (launch_persistent_context).
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-proxy-server",
]

SERVER_START_TIMEOUT = 180     # s; the machine may be busy


# --------------------------------------------------------------------------------------------
# The JupyterLab server
# --------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LabServer:
    """A running JupyterLab; ``site`` is its root folder (a copy of chapters/ and solutions/)."""

    def __init__(self, base: Path):
        self.base = base
        self.site = base / "site"
        self.home = base / "home"
        self.config = base / "lab-config"
        self.log_path = base / "server.log"
        self.token = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        # IPC sockets for the kernels (no TCP ports to race for); the path must stay short (< 108 bytes).
        self.runtime = Path(tempfile.mkdtemp(prefix="nnbrt-"))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(self.url + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        for attempt in range(5):
            try:
                with _NO_PROXY.open(req, timeout=10) as resp:
                    body = resp.read()
                    return json.loads(body) if body else None
            except urllib.error.HTTPError as e:
                # jupyter_server answers 500 to GET api/kernels while a kernel is still starting (it is
                # listed before its last_activity is set: AttributeError); seen once in CI: ask again
                if method != "GET" or e.code < 500 or attempt == 4:
                    raise
                time.sleep(0.5)

    def lab_url(self, path: str) -> str:
        # ?reset: start from an empty workspace, whatever an earlier test left open
        return f"{self.url}lab/tree/{path}?reset&token={self.token}"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def prepare(self) -> None:
        for name in ("chapters", "chapters-ko", "solutions"):
            shutil.copytree(REPO / name, self.site / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        # nbgrader's Validate reads nbgrader_config.py from the server's working folder, as with `make start`
        shutil.copy(REPO / "nbgrader_config.py", self.site / "nbgrader_config.py")
        (self.site / "autograde").mkdir()
        shutil.copy(REPO / "autograde" / "nbgrader_config.py", self.site / "autograde" / "nbgrader_config.py")
        # the learner configuration, exactly as `make start` writes it
        subprocess.run(["make", "-s", "-C", str(REPO), "lab-config", f"LAB_CONFIG={self.config}"],
                       check=True, capture_output=True, text=True)
        # no news or update checks in a lab with no internet
        settings = self.home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}))
        # every cell in the page (the default windowing attaches off-screen cells later), so that
        # the tests can find cell i of the file as cell i on the page
        tracker = self.home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        # To check that the suite notices a broken lab, switch extensions off in this temporary HOME only:
        #   NNBOOK_LAB_DISABLE=@jupyter-widgets/jupyterlab-manager pytest tests/browser   (must fail)
        disable = [name for name in os.environ.get("NNBOOK_LAB_DISABLE", "").split(",") if name.strip()]
        if disable:
            labconfig = self.home / ".jupyter" / "labconfig"
            labconfig.mkdir(parents=True)
            (labconfig / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {name.strip(): True for name in disable}}))

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("JUPYTER", "JPY_", "IPYTHON")) and k not in ("MPLBACKEND", "PYTHONPATH")}
        # nbgrader shells out to `alembic`, which lives next to this interpreter
        env.update(HOME=str(self.home), PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   JUPYTER_CONFIG_PATH=str(self.config), JUPYTER_RUNTIME_DIR=str(self.runtime),
                   PYTHONUNBUFFERED="1",
                   # as `make start` does: one BLAS thread per kernel (many threads crawl on a busy machine)
                   OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        return env

    def start(self) -> None:
        last_error = ""
        for _attempt in range(3):
            self.port = _free_port()
            cmd = [str(BIN / "jupyter"), "lab", "--no-browser",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.site}",
                   "--KernelManager.transport=ipc", "--LabApp.news_url=None"]
            if os.geteuid() == 0:
                cmd.append("--allow-root")
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(cmd, cwd=self.site, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    self.api("api/status")
                    return
                except (urllib.error.URLError, ConnectionError, OSError) as exc:
                    last_error = repr(exc)
                    time.sleep(0.5)
            self.stop()
        raise RuntimeError(f"JupyterLab did not start ({last_error}); log {self.log_path}:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)       # shuts its kernels down too
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:                                             # anything left in the group this fixture started
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc = None

    def copy_notebook(self, rel_source: str, suffix: str, nb=None) -> str:
        """A per-test copy of a notebook next to the original (same folder, so imports behave the same)."""
        src = self.site / rel_source
        dest = src.with_name(f"{src.stem}-{suffix}.ipynb")
        if nb is None:
            shutil.copy(src, dest)
        else:
            nbformat.write(nb, dest)
        return str(dest.relative_to(self.site))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make sysdeps` (Debian: apt-get install chromium); "
                    "the browser tests drive the system Chromium, `playwright install` cannot download here.")
    server = LabServer(tmp_path_factory.mktemp("jupyterlab"))
    server.prepare()
    started = time.monotonic()
    try:
        server.start()
        print(f"\nJupyterLab up at {server.url} after {time.monotonic() - started:.1f} s, root {server.site}"
              + (f", disabled by NNBOOK_LAB_DISABLE: {os.environ['NNBOOK_LAB_DISABLE']}"
                 if os.environ.get("NNBOOK_LAB_DISABLE") else ""))
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.runtime, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1400, "height": 1000}, ignore_https_errors=True)
        yield context
        context.close()
    finally:
        pw.stop()


class Lab:
    """One browser tab on the lab, with the steps the tests need and a screenshot after each."""

    def __init__(self, page, server: LabServer, shots: Path, name: str):
        self.page = page
        self.server = server
        self.shots = shots
        self.name = name
        self.console: list[str] = []
        self.n_shots = 0
        page.on("console", lambda m: self.console.append(f"[{m.type}] {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"[pageerror] {e}"))

    # ---- screenshots ------------------------------------------------------------------------
    def shot(self, label: str, locator=None) -> Path:
        self.n_shots += 1
        path = self.shots / f"{self.n_shots:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}.png"
        try:
            (locator or self.page).screenshot(path=str(path))
        except Exception as exc:                          # a screenshot must never hide the real failure
            self.console.append(f"[screenshot {label} failed] {exc}")
        return path

    def keep_artifacts(self) -> Path:
        dest = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", self.name)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        self.shot("at-failure")
        for png in self.shots.glob("*.png"):
            shutil.copy(png, dest / png.name)
        (dest / "browser-console.log").write_text("\n".join(self.console))
        shutil.copy(self.server.log_path, dest / "jupyterlab-server.log")
        return dest

    # ---- notebooks ----------------------------------------------------------------------------
    def open(self, path: str) -> None:
        """Open a notebook and wait until its kernel is ready."""
        self.path = path
        self.nb = nbformat.read(self.server.site / path, as_version=4)
        self.page.goto(self.server.lab_url(path), wait_until="domcontentloaded", timeout=120_000)
        self.notebook = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first
        self.notebook.locator(".jp-Cell").first.wait_for(timeout=120_000)
        self.wait_kernel_idle(timeout=120)
        n = self.cells().count()
        assert n == len(self.nb.cells), f"{path}: the page shows {n} cells, the file has {len(self.nb.cells)}"

    def cells(self):
        return self.notebook.locator(".jp-Cell")

    def cell(self, index: int):
        return self.cells().nth(index)

    def index_of(self, predicate) -> int:
        for i, c in enumerate(self.nb.cells):
            if predicate(c):
                return i
        raise LookupError(f"no cell in {self.path} matches")

    def grade_id_index(self, grade_id: str) -> int:
        return self.index_of(lambda c: c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)

    def code_indices(self) -> list[int]:
        return [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and c.source.strip()]

    def kernel_states(self) -> list[str]:
        return [k["execution_state"] for k in self.server.api("api/kernels")]

    def wait_kernel_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        states = []
        while time.monotonic() < deadline:
            states = self.kernel_states()
            if states and all(s == "idle" for s in states):
                return
            time.sleep(0.5)
        raise AssertionError(f"kernel not idle after {timeout} s: {states}")

    def prompts(self) -> list[str]:
        return self.notebook.evaluate(
            "nb => [...nb.querySelectorAll('.jp-Cell')].map(c => "
            "{ const p = c.querySelector('.jp-InputPrompt'); return p ? p.textContent.trim() : ''; })")

    def menu(self, menu: str, item: str) -> None:
        """Click menu bar entry ``menu``, then the item whose label matches the regex ``item``."""
        self.page.locator(".lm-MenuBar-item").filter(has_text=re.compile(rf"^{menu}$")).first.click()
        self.page.locator(".lm-Menu:visible .lm-Menu-item").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$"))).click()

    def run_all(self, timeout: float = 240) -> dict:
        """Run > Run All Cells; wait until every cell has run or the run stopped at an error.

        Returns {"ran": [indices], "not_run": [indices], "seconds": s}.
        """
        code = self.code_indices()
        started = time.monotonic()
        self.menu("Run", "Run All Cells")
        while True:
            prompts = self.prompts()
            ran = [i for i in code if re.fullmatch(r"\[\d+\]:", prompts[i])]
            busy = [i for i in code if "*" in prompts[i]]
            elapsed = time.monotonic() - started
            if not busy and ran and (len(ran) == len(code) or all(s == "idle" for s in self.kernel_states())):
                time.sleep(0.3)                                     # let the last outputs render
                if not any("*" in self.prompts()[i] for i in code):
                    return {"ran": ran, "not_run": [i for i in code if i not in ran], "seconds": elapsed}
            if elapsed > timeout:
                raise AssertionError(f"{self.path}: Run All not finished after {timeout:.0f} s; "
                                     f"{len(ran)} of {len(code)} cells ran, still running: {busy[:5]}")
            time.sleep(0.5)

    def run_cell(self, index: int, timeout: float = 120) -> None:
        """Select one cell (command mode) and run it with Ctrl+Enter."""
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Control+Enter")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.fullmatch(r"\[\d+\]:", self.prompts()[index]):
                self.wait_kernel_idle(timeout)
                return
            time.sleep(0.3)
        raise AssertionError(f"{self.path}: cell {index} did not finish in {timeout} s")

    def set_source(self, index: int, source: str) -> None:
        """Replace a code cell's text the way a learner would: click in it, select all, type."""
        editor = self.cell(index).locator(".cm-content").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        # insert_text, not type(): no auto-indent or bracket closing doubles what we write
        self.page.keyboard.insert_text(source)
        self.page.keyboard.press("Escape")                # back to command mode

    def save(self) -> dict:
        """File > Save, wait until the file on disk is written, and return it as read back."""
        target = self.server.site / self.path
        before = target.stat().st_mtime_ns
        self.menu("File", "Save( Notebook)?")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if target.stat().st_mtime_ns != before:
                time.sleep(0.3)
                return nbformat.read(target, as_version=4)
            time.sleep(0.3)
        raise AssertionError(f"{self.path} was not saved within 60 s after File > Save")

    def output_text(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea").first.inner_text()


@pytest.fixture
def lab(request, lab_server, chromium, tmp_path):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = chromium.new_page()
    page.set_default_timeout(60_000)
    driver = Lab(page, lab_server, shots, request.node.name)
    yield driver
    try:
        for kernel in lab_server.api("api/kernels"):             # free the 2 cores for the next test
            lab_server.api(f"api/kernels/{kernel['id']}", method="DELETE")
        for session in lab_server.api("api/sessions"):
            lab_server.api(f"api/sessions/{session['id']}", method="DELETE")
    except Exception:
        pass
    page.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    driver = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if report.when == "call" and report.passed and isinstance(driver, Lab):
        # no stale screenshots from an earlier failure of a test that passes now
        shutil.rmtree(ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", driver.name), ignore_errors=True)
    if report.when == "call" and report.failed and isinstance(driver, Lab):
        try:
            dest = driver.keep_artifacts()
            shots = sorted(p.name for p in dest.glob("*.png"))
            report.sections.append(("browser artifacts",
                                    f"screenshots, browser console and server log kept in {dest}/\n  "
                                    + "\n  ".join(shots)))
        except Exception as exc:
            report.sections.append(("browser artifacts", f"could not keep screenshots: {exc!r}"))
