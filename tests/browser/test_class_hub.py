"""A class on JupyterHub, end to end in a real browser (the deployment `make class` starts).

A hub on 127.0.0.1 with an instructor and two learners, each a real local account (created here
and deleted afterwards). Both learners log in, fetch chapter 01 in the Assignment List, one with
the chapter's solution code and one with a mistake in ``perceptron``, and submit there; the hub's
grading service (``nnbook-grade --watch``) grades each submission; each learner fetches feedback
in the Assignment List and reads exactly their own score; neither can read the other's work (tried
as that OS user and through the hub); the instructor sees both in the gradebook (``nbgrader export``)
and the formgrader.

Needs root (useradd; the hub starts each learner's server as that learner) and the class
environment (`make class-env`) and proxy (`make proxy`), which `make test` installs.
"""
from __future__ import annotations

import csv
import json
import os
import pwd
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

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
CHAPTER = "01_neuron"
CLASS_VENV = Path(os.environ.get("NNBOOK_CLASS_VENV", "/srv/nnbook/venv"))
PROXY = REPO / ".nnbook-node" / "node_modules" / ".bin" / "configurable-http-proxy"
SHOTS = Path(os.environ.get("NNBOOK_BROWSER_ARTIFACTS", "/tmp/nnbook-browser-artifacts")) / "class_hub"
START_TIMEOUT = 300          # s: a busy 2-core machine starts hub, proxy and labs slowly
GRADE_TIMEOUT = 300
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def as_user(user: str, *cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *cmd], capture_output=True, text=True, **kw)


class ClassHub:
    def __init__(self):
        from autograde.hub import class_setup
        self.setup = class_setup
        tag = secrets.token_hex(3)
        self.instructor = f"nnbi{tag}"
        self.learners = [f"nnba{tag}", f"nnbb{tag}"]
        self.password = secrets.token_urlsafe(12)
        self.dir = Path(tempfile.mkdtemp(prefix="nnbook-class-", dir="/tmp"))
        os.chmod(self.dir, 0o755)
        self.port = 0
        self.proc = None
        self.log_path = self.dir / "hub.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.setup.lay_out(self.dir, self.instructor, self.learners, self.password)
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_", "NNBOOK_"))}
        env.update(NNBOOK_CLASS_DIR=str(self.dir), NNBOOK_INSTRUCTOR=self.instructor,
                   NNBOOK_LEARNERS=",".join(self.learners), NNBOOK_HUB_PORT=str(self.port),
                   NNBOOK_HUB_API_PORT=str(_free_port()), NNBOOK_PROXY_API_PORT=str(_free_port()),
                   NNBOOK_PROXY=str(PROXY), NNBOOK_CHAPTERS=CHAPTER, PYTHONUNBUFFERED="1")
        # the hub's configuration as the class environment installed it (as `make class` runs it)
        config = subprocess.run([str(CLASS_VENV / "bin" / "python"), "-c",
                                 "import autograde.hub.class_setup as s; print(s.HERE / 'jupyterhub_config.py')"],
                                capture_output=True, text=True, check=True, cwd="/").stdout.strip()
        assert config.startswith(str(CLASS_VENV)), f"the class environment runs {config}, not its own copy"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(CLASS_VENV / "bin" / "jupyterhub"), "-f", config],
                                     cwd=self.dir / "hub", env=env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"the hub exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with _NO_PROXY.open(f"{self.url}/hub/api", timeout=5) as r:
                    return r.status == 200
            except (urllib.error.URLError, OSError):
                return False
        _wait(up, START_TIMEOUT, f"the hub on {self.url}")
        # the grading service releases the chapter to the exchange when it starts
        _wait(lambda: (self.dir / "exchange" / "nnbook" / "outbound" / CHAPTER).is_dir(), START_TIMEOUT,
              f"the service to release {CHAPTER}:\n{self.log_tail()}")

    def log_tail(self, n: int = 60) -> str:
        parts = []
        for p in (self.log_path, self.dir / "course" / "watch.log"):
            try:
                parts.append(f"--- {p}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-n:]))
            except OSError:
                pass
        return "\n".join(parts)

    def graded(self, learner: str) -> str | None:
        try:
            state = json.loads((self.dir / "course" / ".nnbook" / "watch-state.json").read_text())
        except (OSError, ValueError):
            return None
        return state.get(f"{learner}/{CHAPTER}")

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)        # stops the service and the learners' servers
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        for name in [self.instructor, *self.learners]:
            self.setup.remove_user(name)
        if os.environ.get("NNBOOK_KEEP_CLASS"):
            print(f"class kept in {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def class_hub():
    if os.geteuid() != 0:
        pytest.skip("the class deployment needs root: it creates local accounts (useradd)")
    for need, how in ((CLASS_VENV / "bin" / "jupyterhub", "make class-env"), (PROXY, "make proxy")):
        if not need.exists():
            pytest.fail(f"{need} is missing: run `{how}` (`make test` does)")
    hub = ClassHub()
    try:
        hub.start()
        yield hub
    finally:
        hub.stop()


# ------------------------------------------------------------------------------------------------
# the learners' notebooks: the released chapter with the solution's code, or with one mistake
# ------------------------------------------------------------------------------------------------

def solved(release: nbformat.NotebookNode, mistake: bool) -> nbformat.NotebookNode:
    source = nbformat.read(REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    code = {}
    for cell in source.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            code[gid] = "\n".join(line for line in cell.source.splitlines()
                                  if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    nb = nbformat.from_dict(json.loads(json.dumps(release)))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in code:
            cell.source = code[gid]
            if mistake and gid == "perceptron":      # the boundary case: w·x + b == 0 must give 1
                assert ">= 0" in cell.source
                cell.source = cell.source.replace(">= 0", "> 0")
    # what the learner's own run drew (a real PNG from matplotlib) stays on the feedback page
    import base64
    import io
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 0], color="tab:orange")
    ax.set_title("my own figure")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    plot_cell = next(c for c in nb.cells if c.cell_type == "code" and "plt.subplots" in c.source
                     and not c.metadata.get("nbgrader", {}).get("grade"))
    plot_cell.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": "<Figure>"})]
    return nb


# ------------------------------------------------------------------------------------------------
# the browser
# ------------------------------------------------------------------------------------------------

class Person:
    def __init__(self, context, hub: ClassHub, name: str):
        self.context, self.hub, self.name = context, hub, name
        self.page = None
        self.n = 0

    def shot(self, label: str) -> Path:
        self.n += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.name[:4]}-{self.n:02d}-{label}.png"
        try:
            self.page.screenshot(path=str(path))
        except Exception:  # noqa: BLE001 - a screenshot never hides the real failure
            pass
        return path

    def login(self):
        self.context.clear_cookies()
        self.page = self.context.new_page()
        self.page.set_default_timeout(120_000)
        self.page.goto(f"{self.hub.url}/hub/login", wait_until="domcontentloaded")
        self.page.fill("#username_input", self.name)
        self.page.fill("#password_input", self.hub.password)
        self.page.click("#login_submit")
        # the hub starts this learner's lab, as this learner's OS user
        self.page.wait_for_url(re.compile(rf"/user/{self.name}/lab"), timeout=START_TIMEOUT * 1000)
        self.page.locator(".lm-MenuBar-item").first.wait_for(timeout=START_TIMEOUT * 1000)

    def close(self):
        if self.page is not None:
            self.page.close()
            self.page = None

    def assignment_list(self):
        self.page.locator(".lm-MenuBar-item").filter(has_text=re.compile(r"^Nbgrader$")).first.click()
        self.page.locator(".lm-Menu:visible .lm-Menu-item").filter(has_text="Assignment List").first.click()
        panel = self.page.locator("#released_assignments_list")
        panel.wait_for(timeout=60_000)
        return panel

    def refresh(self):
        self.page.locator("#refresh_assignments_list").first.click()

    def row(self, list_id: str):
        return self.page.locator(f"#{list_id} .list_item").filter(has_text=CHAPTER)

    def api(self, method: str, path: str, body=None) -> dict:
        """The learner's own Jupyter server, with the browser's session (as the lab itself calls it)."""
        return self.page.evaluate(
            """async ([method, url, body]) => {
                 const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
                 const r = await fetch(url, {method, headers: {'X-XSRFToken': decodeURIComponent(xsrf),
                                           'Content-Type': 'application/json'},
                                           body: body === null ? undefined : JSON.stringify(body)});
                 return {status: r.status, text: await r.text()};
               }""", [method, f"/user/{self.name}/{path}", body])


@pytest.fixture(scope="module")
def browser_context(chromium):
    yield chromium
    chromium.clear_cookies()


def test_class_fetch_submit_graded_feedback(class_hub, browser_context):
    hub = class_hub
    good, bad = hub.learners
    people = {n: Person(browser_context, hub, n) for n in (good, bad)}
    submitted_at = {}
    # ---- each learner: log in, fetch, work (save the notebook), submit -- in the Assignment List
    for name, mistake in ((good, False), (bad, True)):
        p = people[name]
        p.login()
        p.shot("lab")
        p.assignment_list()
        fetch = p.row("released_assignments_list").get_by_role("button", name="Fetch", exact=True)
        fetch.wait_for(timeout=120_000)
        p.shot("assignment-list-released")
        fetch.click()
        p.row("fetched_assignments_list").first.wait_for(timeout=120_000)
        home = Path(pwd.getpwnam(name).pw_dir)
        nb_path = home / CHAPTER / f"{CHAPTER}.ipynb"
        _wait(nb_path.exists, 60, f"{nb_path} after Fetch")
        assert os.stat(nb_path).st_uid == pwd.getpwnam(name).pw_uid, "fetched as the learner"
        release = nbformat.read(nb_path, as_version=4)
        work = solved(release, mistake)
        saved = p.api("PUT", f"api/contents/{CHAPTER}/{CHAPTER}.ipynb",
                      {"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(work))})
        assert saved["status"] == 200, saved
        p.refresh()
        submit = p.row("fetched_assignments_list").get_by_role("button", name="Submit", exact=True)
        submit.wait_for(timeout=60_000)
        p.shot("assignment-list-fetched")
        submit.click()
        p.row("submitted_assignments_list").first.wait_for(timeout=120_000)
        p.shot("assignment-list-submitted")
        submitted_at[name] = time.monotonic()
        p.close()
    # ---- the service grades each submission on its own, without anyone asking
    for name in (good, bad):
        _wait(lambda: hub.graded(name), GRADE_TIMEOUT, f"the service to grade {name}:\n{hub.log_tail()}")
    # ---- each learner fetches feedback in the Assignment List and reads exactly their own score
    expected = {good: "17 / 17", bad: "15 / 17"}
    for name in (good, bad):
        p = people[name]
        p.login()
        p.assignment_list()
        fetch_fb = p.row("submitted_assignments_list").get_by_role("button", name="Fetch Feedback")

        def available():
            p.refresh()
            p.page.wait_for_timeout(1500)
            return p.row("submitted_assignments_list").filter(has_text="feedback available").count() > 0
        _wait(available, 120, f"'feedback available to fetch' for {name}", every=1)
        p.shot("assignment-list-feedback-available")
        fetch_fb.first.click()
        view = p.page.locator("#submitted_assignments_list a").filter(has_text="view feedback")
        view.first.wait_for(timeout=120_000)
        p.shot("assignment-list-feedback-fetched")
        view.first.click()                              # the file browser opens the feedback folder
        p.page.locator(".jp-DirListing-item").filter(has_text=f"{CHAPTER}.html").first.wait_for(timeout=60_000)
        p.page.locator(".jp-DirListing-item").filter(has_text=f"{CHAPTER}.html").first.dblclick()
        p.page.locator("iframe").last.wait_for(timeout=60_000)
        p.page.wait_for_timeout(1000)
        p.shot("feedback-in-lab")
        home = Path(pwd.getpwnam(name).pw_dir)
        pages = sorted((home / CHAPTER / "feedback").glob(f"*/{CHAPTER}.html"))
        assert len(pages) == 1, pages
        rel = pages[0].relative_to(home)
        p.page.goto(f"{hub.url}/user/{name}/files/{urllib.request.quote(str(rel))}", wait_until="load")
        text = re.sub(r"\s+", " ", p.page.locator("body").inner_text())
        p.shot("feedback-page")
        assert f"Your score: {expected[name]}" in text, text[:500]
        other = expected[bad if name == good else good]
        assert f"Your score: {other}" not in text
        # named exercises, the first failure's message, the learner's own figure, maths without MathJax
        assert "perceptron_batch" in text and "two_layer_perceptron" in text
        if name == bad:
            assert "perceptron when w·x + b is exactly 0 should be 1" in text
        assert "Test cell" not in text                  # nbgrader's numbered list gives way to the names
        assert "<small>" not in text and "</" not in text, "markup of the book's own shown as text"
        assert p.page.locator("img[src^='data:image/png']").count() >= 1
        assert p.page.locator("math").count() > 10
        p.close()
    # ---- neither learner can read the other's work: as that OS user ...
    for me, other in ((good, bad), (bad, good)):
        for target in (f"{pwd.getpwnam(other).pw_dir}/{CHAPTER}/{CHAPTER}.ipynb", str(hub.dir / "course" / "gradebook.db"),
                       str(hub.dir / "course" / "inbox" / other / CHAPTER / f"{CHAPTER}.ipynb")):
            r = as_user(me, "cat", target)
            assert r.returncode != 0 and "Permission denied" in r.stderr, (me, target, r.returncode, r.stderr)
        # ... nor the book the service grades from (hidden tests included) ...
        r = as_user(me, "cat", str(hub.dir / "book" / "solutions" / CHAPTER / f"{CHAPTER}.ipynb"))
        assert r.returncode != 0 and "Permission denied" in r.stderr, (me, r.returncode, r.stderr)
        # ... and their Python takes the book's packages from the class environment, never the checkout
        r = as_user(me, str(CLASS_VENV / "bin" / "python"), "-c",
                    "import json, sys, autograde, nnbook; print(json.dumps([autograde.__file__, nnbook.__file__,"
                    " sys.path]))", cwd="/")
        assert r.returncode == 0, r.stderr
        found = json.loads(r.stdout)
        assert all(f.startswith(str(CLASS_VENV)) for f in found[:2]), found[:2]
        assert not [p for p in found[2] if p.startswith(str(REPO))], found[2]
        r = as_user(me, "ls", str(hub.dir / "exchange" / "nnbook" / "inbound"))
        assert r.returncode != 0, f"{me} can list the inbound submissions: {r.stdout}"
        r = as_user(me, "ls", str(hub.dir / "exchange" / "nnbook" / "feedback"))
        assert r.returncode != 0, f"{me} can list the released feedback: {r.stdout}"
    # ... and through the hub: one learner's session opens nothing of the other's server
    p = people[good]
    p.login()
    r = p.page.request.get(f"{hub.url}/user/{bad}/api/contents/{CHAPTER}", max_redirects=5)
    assert r.status in (403, 404) or CHAPTER + ".ipynb" not in r.text(), (r.status, r.text()[:300])
    p.close()
    # ---- the instructor sees both in the gradebook: nbgrader export, and the formgrader
    env_cmd = ["env", f"PATH={CLASS_VENV / 'bin'}:/usr/bin:/bin", f"NNBOOK_CLASS_DIR={hub.dir}",
               "NNBOOK_ROLE=instructor", f"JUPYTER_CONFIG_PATH={hub.setup.config_path(hub.dir, 'instructor')}",
               f"HOME={pwd.getpwnam(hub.instructor).pw_dir}"]
    out = hub.dir / "course" / "grades.csv"
    r = as_user(hub.instructor, *env_cmd, str(CLASS_VENV / "bin" / "nbgrader"), "export", f"--to={out}",
                cwd=str(hub.dir / "course"))
    assert r.returncode == 0, r.stderr[-2000:]
    scores = {}
    for row in csv.DictReader(out.read_text().splitlines()):
        scores[row["student_id"]] = float(row["score"])
    assert scores == {good: 17.0, bad: 15.0}, scores
    teacher = Person(browser_context, hub, hub.instructor)
    teacher.login()
    teacher.page.goto(f"{hub.url}/user/{hub.instructor}/formgrader/manage_students", wait_until="load")
    teacher.page.get_by_text(good).first.wait_for(timeout=120_000)
    teacher.page.get_by_text(bad).first.wait_for(timeout=60_000)
    for name, score in ((good, "17 / 17"), (bad, "15 / 17")):
        row = teacher.page.locator("tr").filter(has_text=name).first
        _wait(lambda: score in row.inner_text(), 60, f"{score} for {name} in the formgrader")
    teacher.shot("formgrader-students")
    teacher.close()
