"""JupyterHub for one nnbook class: ``make class`` starts it (see autograde/hub/class_setup.py).

Everything comes from the environment class_setup sets:

    NNBOOK_CLASS_DIR       the class folder (exchange/, course/, book/, jupyter/, hub/)
    NNBOOK_INSTRUCTOR      the instructor's account (formgrader; runs the grading service)
    NNBOOK_LEARNERS        comma-separated learners' accounts
    NNBOOK_HUB_PORT        the hub's public port on 127.0.0.1 (8000)
    NNBOOK_HUB_API_PORT, NNBOOK_PROXY_API_PORT   internal ports (8081, 8001)
    NNBOOK_PROXY           configurable-http-proxy (`make class` installs it with npm)
    NNBOOK_CHAPTERS        chapters the service releases (default: all)
    NNBOOK_DB              the class gradebook's database URL (nbgrader's db_url, e.g.
                           postgresql://USER@HOST/DB; default SQLite in course/gradebook.db): given to
                           the grading service (``--db``) and the instructor's formgrader in their
                           environment, never on a command line (which every account can read)

Learners log in with their local account's password (PAM); each gets JupyterLab in their own
home, started as their own OS user, with nbgrader's Assignment List on the class exchange.
"""
import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821

BIN = Path(sys.executable).parent                     # the class environment (make class-env)
CLASS = Path(os.environ.get("NNBOOK_CLASS_DIR", "/srv/nnbook"))
DB = {"NNBOOK_DB": os.environ["NNBOOK_DB"]} if os.environ.get("NNBOOK_DB") else {}
INSTRUCTOR = os.environ.get("NNBOOK_INSTRUCTOR", "instructor")
LEARNERS = [n for n in os.environ.get("NNBOOK_LEARNERS", "alice,bob").split(",") if n]
PROXY = os.environ.get("NNBOOK_PROXY") or shutil.which("configurable-http-proxy") or "configurable-http-proxy"
HUB_STATE = CLASS / "hub"

# ---- network: loopback only
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ.get('NNBOOK_HUB_PORT', '8000')}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{os.environ.get('NNBOOK_HUB_API_PORT', '8081')}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('NNBOOK_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [PROXY]
c.ConfigurableHTTPProxy.should_start = True

# ---- state of the hub (root's, mode 0700)
c.JupyterHub.db_url = f"sqlite:///{HUB_STATE}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = str(HUB_STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(HUB_STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = str(HUB_STATE / "proxy.pid")
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# ---- who may log in: the class's local accounts, by their password
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(LEARNERS) | {INSTRUCTOR}
c.PAMAuthenticator.open_sessions = False

# ---- each person's JupyterLab, as that OS user, in their home
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.args = ["--KernelManager.transport=ipc"]   # no TCP ports for kernels to race for
c.Spawner.http_timeout = 180                          # a busy machine starts a lab slowly
c.Spawner.start_timeout = 240
c.Spawner.env_keep = ["LANG", "LC_ALL", "TZ"]
_base_env = {
    "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",     # nbgrader shells out to `alembic`
    "NNBOOK_CLASS_DIR": str(CLASS),
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
}


def _pre_spawn(spawner):
    from autograde.hub.class_setup import config_path
    role = "instructor" if spawner.user.name == INSTRUCTOR else "learner"
    spawner.environment = dict(_base_env, NNBOOK_ROLE=role, JUPYTER_CONFIG_PATH=config_path(CLASS, role))
    if role == "instructor":                           # formgrader works on the course, on its gradebook
        spawner.notebook_dir = str(CLASS / "course")
        spawner.environment.update(DB)


c.Spawner.pre_spawn_hook = _pre_spawn

def _home(name):
    import pwd
    try:
        return pwd.getpwnam(name).pw_dir
    except KeyError:
        return str(CLASS / "course")


# ---- grading on submit: nnbook-grade --watch, as the instructor
c.JupyterHub.services = [{
    "name": "nnbook-grader",
    "command": [str(BIN / "nnbook-grade"), "--watch", "--class-dir", str(CLASS)]
               + (["--chapters", os.environ["NNBOOK_CHAPTERS"]] if os.environ.get("NNBOOK_CHAPTERS") else []),
    "user": INSTRUCTOR,
    "cwd": str(CLASS / "course"),
    # the book the service grades from: class_setup's instructor-only copy of solutions/
    "environment": dict(_base_env, HOME=_home(INSTRUCTOR), PYTHONUNBUFFERED="1", NNBOOK_COURSE=str(CLASS / "book"),
                        NNBOOK_WATCH_LOG=str(CLASS / "course" / "watch.log"), **DB),   # NNBOOK_DB: its --db
}]
