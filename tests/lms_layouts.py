"""A demo class (``autograde.demo_class``) laid out the way an LMS hands it to the instructor.

* Canvas "Download Submissions": flat ``<name>[_late]_<user id>_<submission id>_<file>``;
  the name is lower-cased without spaces or punctuation, as Canvas writes it.
* Moodle "Download all submissions": ``<Full Name>_<participant id>_assignsubmission_file_/<file>``.
* flat: ``<learner>_<chapter>.ipynb``.

Each function returns ``{learner id in the demo: (id nnbook-grade will use, LMS id)}``.
"""
from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path


def _notebooks(demo: Path, chapter: str):
    for learner_dir in sorted((demo / "submitted").iterdir()):
        folder = learner_dir / chapter
        files = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
        yield learner_dir.name, files


def canvas_name(learner: str) -> str:
    return re.sub(r"[^a-z0-9]", "", learner.lower())


def as_canvas(demo: Path, chapter: str, dest: Path, late: set[str] = frozenset(), times: dict | None = None) -> dict:
    dest.mkdir(parents=True, exist_ok=True)
    ids = {}
    for k, (learner, files) in enumerate(_notebooks(demo, chapter)):
        if not files:
            continue                                   # an empty submission is no file in Canvas
        name, uid = canvas_name(learner), str(20000 + k)
        flag = "_late" if learner in late else ""
        for j, f in enumerate(files):
            target = dest / f"{name}{flag}_{uid}_{90000 + 10 * k + j}_{f.name}"
            shutil.copy(f, target)
            if times and learner in times:
                os.utime(target, (times[learner], times[learner]))
        ids[learner] = (name, uid)
    return ids


def as_moodle(demo: Path, chapter: str, dest: Path) -> dict:
    dest.mkdir(parents=True, exist_ok=True)
    ids = {}
    for k, (learner, files) in enumerate(_notebooks(demo, chapter)):
        full = " ".join(w.capitalize() for w in learner.split("-"))
        pid = str(700000 + k)
        folder = dest / f"{full}_{pid}_assignsubmission_file_"
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
        (dest / f"{full}_{pid}_onlinetext_").mkdir()
        ids[learner] = (full.replace(" ", "_"), pid)
    return ids


def as_flat(demo: Path, chapter: str, dest: Path) -> dict:
    dest.mkdir(parents=True, exist_ok=True)
    ids = {}
    for learner, files in _notebooks(demo, chapter):
        main = [f for f in files if f.name == f"{chapter}.ipynb"] or files[:1]
        if main:
            shutil.copy(main[0], dest / f"{learner}_{chapter}.ipynb")
            ids[learner] = (learner, "")
    return ids


def zip_folder(folder: Path, zip_path: Path, top: str | None = None) -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder).as_posix()
            arc = f"{top}/{rel}" if top else rel
            if p.is_dir():
                z.writestr(zipfile.ZipInfo(arc + "/"), b"")
            else:
                z.write(p, arc)
    return zip_path
