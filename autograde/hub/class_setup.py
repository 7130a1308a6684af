"""Lay out a class on this machine, then start its hub (``make class``; needs root).

    python -m autograde.hub.class_setup [--class-dir /srv/nnbook] [--instructor instructor]
                                        [--learners alice,bob] [--password nnbook] [--db URL]
                                        [--edition en|ko] [--no-hub]

* one real local account per person (``useradd -m``), because nbgrader's exchange takes the
  learner's identity from the OS user; the demo accounts get the password ``--password``
  (PAM checks it at the hub's login page);
* ``exchange/`` mode 0777, as nbgrader documents it (``release_assignment`` then makes
  ``exchange/nnbook/{outbound 0755, inbound 2733, feedback 0711}`` as the instructor);
* ``course/`` (mode 0700, the instructor's): nbgrader's course directory, its gradebook, the
  learners' collected submissions; no learner can read it;
* ``book/`` (mode 0700, the instructor's): a copy of the book's ``solutions/`` (the instructor
  notebooks, hidden tests included; with ``--edition ko`` their Korean edition) that the grading
  service releases and grades from (``$NNBOOK_COURSE``), so
  the checkout ``make class`` runs from may stay private: the learners' servers run a class
  environment installed from it (``pip install .``, not editable) and never read it;
* ``jupyter/<role>/``: the Jupyter configuration of learners' and the instructor's servers;
* ``hub/`` (mode 0700, root's): the hub's database, cookie secret, logs.

Then it replaces itself with ``jupyterhub -f autograde/hub/jupyterhub_config.py`` (not with
``--no-hub``). The hub listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

LEARNER_SERVER = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False}}}
LEARNER_PAGE = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:course-list": True,
    "@jupyter/nbgrader:create-assignment": True}}
INSTRUCTOR_SERVER = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.course_list": False}}}
INSTRUCTOR_PAGE = {"disabledExtensions": {"@jupyter/nbgrader:course-list": True}}
# no news or update checks in a lab without internet
NO_NEWS = {"LabApp": {"news_url": None}}


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def ensure_user(name: str, password: str | None) -> pwd.struct_passwd:
    """A real local account with a home folder (created once), and its demo password."""
    if not user_exists(name):
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", "--user-group", name],
                       check=True, capture_output=True, text=True)
    if password is not None:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", check=True, capture_output=True, text=True)
    entry = pwd.getpwnam(name)
    os.chmod(entry.pw_dir, 0o700)           # a learner's files are that learner's alone
    return entry


def remove_user(name: str) -> None:
    """Delete an account and its home (the tests' clean-up)."""
    if user_exists(name):
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    subprocess.run(["groupdel", name], capture_output=True)


def config_path(class_dir: Path, role: str) -> str:
    """JUPYTER_CONFIG_PATH of a single-user server: its role's settings, then the course's nbgrader config."""
    return os.pathsep.join([str(class_dir / "jupyter" / role), str(HERE)])


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    os.chmod(path, 0o644)


def lay_out(class_dir: Path, instructor: str, learners: list[str], password: str | None,
            edition: str = "en") -> None:
    class_dir = Path(class_dir)
    if os.geteuid() != 0:
        sys.exit("make class needs root: it creates a local account per learner (useradd) and runs the hub "
                 "as root, so that the hub can start each learner's server as that learner. "
                 "Run `sudo make class`.")
    class_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(class_dir, 0o755)
    for path in [class_dir, *class_dir.parents]:            # learners reach the exchange through these
        if path != Path("/") and not os.stat(path).st_mode & 0o001:
            sys.exit(f"{path} is not searchable by other users (mode {oct(os.stat(path).st_mode & 0o777)}): "
                     "the learners' accounts could not reach the exchange; choose another CLASS_DIR")
    people = {instructor: ensure_user(instructor, password)}
    for name in learners:
        people[name] = ensure_user(name, password)
    inst = people[instructor]
    copy_book(class_dir / "book", inst, edition=edition)
    exchange = class_dir / "exchange"
    exchange.mkdir(exist_ok=True)
    os.chmod(exchange, 0o777)                               # nbgrader: `chmod ugo+rw` on the exchange root
    course = class_dir / "course"
    course.mkdir(exist_ok=True)
    os.chown(course, inst.pw_uid, inst.pw_gid)
    os.chmod(course, 0o700)
    hub = class_dir / "hub"
    hub.mkdir(exist_ok=True)
    os.chmod(hub, 0o700)
    jupyter = class_dir / "jupyter"
    for role, server, page in (("learner", LEARNER_SERVER, LEARNER_PAGE),
                               ("instructor", INSTRUCTOR_SERVER, INSTRUCTOR_PAGE)):
        _write_json(jupyter / role / "jupyter_server_config.json", {**server, **NO_NEWS})
        _write_json(jupyter / role / "labconfig" / "page_config.json", page)
    for path in jupyter.rglob("*"):
        if path.is_dir():
            os.chmod(path, 0o755)
    os.chmod(jupyter, 0o755)


def copy_book(book: Path, owner: pwd.struct_passwd, source: Path | None = None, edition: str = "en") -> Path:
    """Copy the book's ``solutions/`` (from ``source``, default the course root) into ``book``, the
    instructor's alone (mode 0700): the grading service's ``$NNBOOK_COURSE``. A fresh copy each time,
    so a fixed test reaches the class when ``make class`` runs again.

    ``edition="ko"``: each chapter's notebook in the copy is the Korean one (its prose translated from
    ``solutions/<chapter>/i18n/ko.md``, the code and every grade id, test and point unchanged, and
    ``metadata.nnbook.lang`` saying so), so the service releases the Korean edition, and learners'
    messages, hints and figures come in Korean."""
    import nbformat

    from autograde import paths
    from autograde.book import translations
    source = Path(source) if source is not None else paths.course_root()
    if edition not in ("en", *translations.LANGUAGES):
        raise ValueError(f"unknown edition {edition!r} (en or {', '.join(translations.LANGUAGES)})")
    book.mkdir(exist_ok=True)
    os.chmod(book, 0o700)
    os.chown(book, owner.pw_uid, owner.pw_gid)
    staged = book / ".solutions.new"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(source / "solutions", staged, symlinks=False,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if edition != "en":
        for chapter in sorted(p.name for p in staged.iterdir() if (p / f"{p.name}.ipynb").is_file()):
            original = source / "solutions" / chapter / f"{chapter}.ipynb"
            t = translations.load(original, edition)
            if t is None:
                raise SystemExit(f"{chapter} has no {edition} translation (solutions/{chapter}/i18n/{edition}.md)")
            nb = translations.translated_notebook(nbformat.read(original, as_version=4), t)
            nbformat.write(nb, staged / chapter / f"{chapter}.ipynb")
    for path in [staged, *staged.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid, follow_symlinks=False)
    shutil.rmtree(book / "solutions", ignore_errors=True)
    staged.rename(book / "solutions")
    return book


def hub_command(config: Path = HERE / "jupyterhub_config.py") -> list[str]:
    return [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(config)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make class", description=__doc__.split("\n\n")[0])
    p.add_argument("--class-dir", type=Path, default=Path(os.environ.get("NNBOOK_CLASS_DIR", "/srv/nnbook")))
    p.add_argument("--instructor", default=os.environ.get("NNBOOK_INSTRUCTOR", "instructor"))
    p.add_argument("--learners", default=os.environ.get("NNBOOK_LEARNERS", "alice,bob"),
                   help="comma-separated account names (default alice,bob)")
    p.add_argument("--password", default=os.environ.get("NNBOOK_DEMO_PASSWORD", "nnbook"),
                   help="the demo accounts' password (default nnbook)")
    p.add_argument("--port", type=int, default=int(os.environ.get("NNBOOK_HUB_PORT", "8000")))
    p.add_argument("--chapters", default=os.environ.get("NNBOOK_CHAPTERS", ""),
                   help="chapters to release, comma-separated (default: all)")
    p.add_argument("--db", metavar="URL", default=os.environ.get("NNBOOK_DB", ""),
                   help="the class gradebook's database (nbgrader's db_url), e.g. postgresql://USER@HOST/DB "
                        "(default $NNBOOK_DB, else SQLite in course/gradebook.db); the hub hands it to the "
                        "grading service and the formgrader in their environment")
    p.add_argument("--edition", choices=["en", "ko"], default=os.environ.get("NNBOOK_EDITION", "en"),
                   help="the edition the class gets (default en; ko: the Korean chapters, messages and figures)")
    p.add_argument("--no-hub", action="store_true", help="lay out the class and stop")
    args = p.parse_args(argv)
    learners = [n.strip() for n in args.learners.split(",") if n.strip()]
    class_dir = args.class_dir.resolve()
    lay_out(class_dir, args.instructor, learners, args.password, args.edition)
    print(f"class in {class_dir} ({args.edition} edition): instructor {args.instructor}, learners {', '.join(learners)} "
          f"(password {args.password!r}: demo accounts, on 127.0.0.1 only)")
    if args.no_hub:
        return 0
    os.environ.update(NNBOOK_CLASS_DIR=str(class_dir), NNBOOK_INSTRUCTOR=args.instructor,
                      NNBOOK_LEARNERS=",".join(learners), NNBOOK_HUB_PORT=str(args.port),
                      NNBOOK_CHAPTERS=args.chapters, NNBOOK_DB=args.db)
    print(f"hub: http://127.0.0.1:{args.port}/  (Ctrl-C stops it and the grading service)")
    os.chdir(class_dir / "hub")
    cmd = hub_command()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    sys.exit(main())
