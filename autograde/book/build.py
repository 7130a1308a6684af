"""Build everything that is generated from ``solutions/``.

``solutions/<NN_topic>/<NN_topic>.ipynb`` is the single source of each chapter.
From it this command makes:

* ``chapters/<NN_topic>/<NN_topic>.ipynb`` -- the learner notebook, by the real
  ``nbgrader generate_assignment`` (solutions become stubs, hidden tests vanish);
* ``nnbook/<module>.py`` -- the chapter's helper module, from the cells marked
  ``#| export``; the module name comes from the notebook's ``#| default_exp NAME``.

Usage::

    nnbook-build              # regenerate everything
    nnbook-build --check      # fail (exit 1) if anything generated is out of date
    nnbook-build 01_neuron    # only some chapters
    nnbook-build --translate ko 01_neuron   # write/refresh the chapter's i18n/ko.md and ko.po to fill in

It also builds the Korean edition ``chapters-ko/`` (the same notebooks from the same source, the
markdown cells from ``solutions/<chapter>/i18n/ko.md``) and the library's message catalog
``nnbook/locale/ko/LC_MESSAGES/nnbook.mo``; it fails on a missing or stale translation (see
``autograde/book/translations.py``).

The export refuses to write a stub, a ``TODO``, ``NotImplementedError``, or an
nbgrader solution / hidden-test marker into a module.
"""
from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import paths
from ..cells import directives as _directives, is_test, strip_directives as _strip_directives, defined_names  # noqa: F401
from .export import (FORBIDDEN, SOLUTION_MARKER_LINE, BuildError, _heading, _stamp_docstrings,  # noqa: F401
                     export_cell, export_cells)
from . import translations

CONFIG = paths.nbgrader_config_file()


@dataclass
class Chapter:
    name: str          # e.g. "01_neuron"
    source: Path       # <repo>/solutions/01_neuron/01_neuron.ipynb

    @property
    def repo(self) -> Path:
        return self.source.parent.parent.parent

    @property
    def rel_source(self) -> str:
        return f"solutions/{self.name}/{self.name}.ipynb"


def find_chapters(names: list[str] | None = None, repo: Path | None = None) -> list[Chapter]:
    repo = repo or paths.course_root()
    chapters = []
    for d in sorted((repo / "solutions").iterdir()):
        nb = d / f"{d.name}.ipynb"
        if d.is_dir() and nb.exists() and (not names or d.name in names):
            chapters.append(Chapter(d.name, nb))
    if names:
        missing = set(names) - {c.name for c in chapters}
        if missing:
            raise BuildError(f"no such chapter in solutions/: {', '.join(sorted(missing))}")
    return chapters


def export_module(chapter: Chapter) -> tuple[str, str]:
    """Return ``(module_name, module_text)`` for a chapter's ``#| export`` cells."""
    nb = nbformat.read(chapter.source, as_version=4)
    return export_cells(nb, chapter.rel_source, chapter.name)


BANNER_ID = "nnbook-generated"   # a fixed cell id keeps the build reproducible


def banner_text(rel_source: str, lang: str = "en") -> str:
    # plain markdown, no HTML: feedback pages show markdown's HTML as text (autograde/feedback.py)
    if lang == "ko":
        translation = rel_source.rsplit("/", 1)[0] + "/i18n/ko.md"
        return (f"*`make build`가 `{rel_source}`와 그 번역 `{translation}`로 만든 노트북입니다. 기여자는 이 파일이 "
                "아니라 그 두 파일을 고칩니다. 학습자 여러분: 이 노트북이 여러분의 사본이니, 바로 여기에서 작업하세요.*")
    return (f"*Generated from `{rel_source}` by `make build`: "
            "contributors edit that notebook, not this one. Learners: this is your copy, work right here.*")


class BuildBanner(NbGraderPreprocessor):
    """nbgrader preprocessor (``GenerateAssignment.preprocessors``, see ``nbgrader_config.py``): the
    learner notebook's first cell says where it comes from. Because it is part of nbgrader's own
    configuration, ``nbgrader generate_assignment`` run by hand writes the same notebook as
    ``make build``."""

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        rel = f"solutions/{info.get('assignment', '?')}/{info.get('notebook', '?')}.ipynb"
        nb.cells = [c for c in nb.cells if c.get("id") != BANNER_ID]
        from nnbook.i18n import edition_of
        cell = nbformat.v4.new_markdown_cell(banner_text(rel, edition_of(nb)))
        cell.id = BANNER_ID
        nb.cells.insert(0, cell)
        return nb, resources


def generate_assignments(chapters: list[Chapter], release_dir: Path, root: Path | None = None) -> None:
    """Run the real ``nbgrader generate_assignment`` for each chapter into ``release_dir`` (from the
    course at ``root``, by default the chapter's own checkout)."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config, PyFileConfigLoader

    with tempfile.TemporaryDirectory(prefix="nnbook-build-") as tmp:
        tmp = Path(tmp)
        for chapter in chapters:
            # the banner cell comes from nbgrader_config.py's BuildBanner, as for a hand-run nbgrader
            config = PyFileConfigLoader(CONFIG.name, path=str(CONFIG.parent)).load_config()
            config.merge(Config({
                "CourseDirectory": {"root": str(root or chapter.repo), "release_directory": str(release_dir),
                                    "db_url": f"sqlite:///{tmp}/gradebook.db"},
                "GenerateAssignment": {"force": True},
                "Application": {"log_level": "WARN"},
            }))
            api = NbGraderAPI(config=config)
            result = api.generate_assignment(chapter.name, force=True)
            if not result["success"]:
                raise BuildError(f"nbgrader generate_assignment {chapter.name} failed:\n{result['log']}"
                                 f"\n{result.get('error', '')}")
            out = release_dir / chapter.name
            for nb_path in out.glob("*.ipynb"):
                _normalise_notebook(nb_path)


def _normalise_notebook(path: Path) -> None:
    """No outputs, no execution counts, stable JSON: what we commit."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.write(nb, path)


def build(chapters: list[Chapter], release_dir: Path, module_dir: Path) -> list[Path]:
    """Write every generated file for ``chapters``; return the paths written."""
    written = []
    modules = {}
    for chapter in chapters:
        module, text = export_module(chapter)
        if module in modules:
            raise BuildError(f"module nnbook.{module} is exported by both {modules[module]} and {chapter.name}")
        modules[module] = chapter.name
        path = module_dir / f"{module}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    digits = module_dir / "digits.npy"     # the capstone's data, from scikit-learn's bundled copy (nnbook.data)
    digits.parent.mkdir(parents=True, exist_ok=True)
    write_digits(digits)
    written.append(digits)
    generate_assignments(chapters, release_dir)
    for chapter in chapters:
        written.extend(sorted((release_dir / chapter.name).rglob("*")))
    written += build_editions(chapters, release_dir.parent, module_dir)
    return written


# Chapters whose translation is not written yet: left out of that edition (every other chapter must have
# a complete, current translation, or the build fails).
UNTRANSLATED: dict[str, set[str]] = {"ko": set()}


def translation_problems(chapters: list[Chapter]) -> list[str]:
    """Every missing or stale translation of ``chapters`` (chapters listed in UNTRANSLATED excepted)."""
    out = []
    for lang in translations.LANGUAGES:
        for chapter in chapters:
            if chapter.name in UNTRANSLATED.get(lang, ()):
                continue
            nb = nbformat.read(chapter.source, as_version=4)
            out += translations.problems(nb, chapter.source, chapter.rel_source, lang)
    return out


def library_catalog(repo: Path, lang: str) -> dict[str, str]:
    """The public catalog: the library's own messages and every chapter's strings that visible code has."""
    po = repo / "nnbook" / "locale" / f"{lang}.po"
    entries = translations.parse_po(po.read_text(encoding="utf-8")) if po.exists() else {}
    for chapter in find_chapters(repo=repo):
        t = translations.load(chapter.source, lang)
        if t is None or chapter.name in UNTRANSLATED.get(lang, ()):
            continue
        visible = translations.code_strings(nbformat.read(chapter.source, as_version=4))
        entries.update({k: v for k, v in t.strings.items() if visible.get(k)})
    return entries


def build_editions(chapters: list[Chapter], out_root: Path, module_dir: Path) -> list[Path]:
    """The translated editions (``chapters-ko/``) and the message catalogs, into ``out_root``."""
    problems = translation_problems(chapters)
    if problems:
        raise BuildError("translations are missing or stale:\n  " + "\n  ".join(problems))
    written = []
    for lang in translations.LANGUAGES:
        repo = chapters[0].repo if chapters else paths.course_root()
        mo = module_dir / "locale" / lang / "LC_MESSAGES" / "nnbook.mo"
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.write_bytes(translations.write_mo(library_catalog(repo, lang)))
        written.append(mo)
        todo = [c for c in chapters if c.name not in UNTRANSLATED.get(lang, ())]
        if not todo:
            continue
        release = out_root / translations.EDITION_DIRS[lang]
        with tempfile.TemporaryDirectory(prefix=f"nnbook-build-{lang}-") as tmp:
            course = Path(tmp)
            for chapter in todo:
                nb = nbformat.read(chapter.source, as_version=4)
                src = course / "solutions" / chapter.name / chapter.source.name
                src.parent.mkdir(parents=True)
                nbformat.write(translations.translated_notebook(nb, translations.load(chapter.source, lang)), src)
            generate_assignments(todo, release, root=course)
        for chapter in todo:
            written.extend(sorted((release / chapter.name).rglob("*")))
    return written


def write_translation_templates(lang: str, chapters: list[Chapter]) -> list[Path]:
    """``--translate``: write each chapter's ``i18n/<lang>.md`` and ``.po``, current translations kept and
    what is new or stale marked to do."""
    out = []
    for chapter in chapters:
        nb = nbformat.read(chapter.source, as_version=4)
        d = translations.i18n_dir(chapter.source)
        d.mkdir(exist_ok=True)
        old = translations.load(chapter.source, lang)
        (d / f"{lang}.md").write_text(translations.prose_template(nb, chapter.rel_source, old and old.prose),
                                      encoding="utf-8")
        (d / f"{lang}.po").write_text(translations.po_template(nb, old and old.strings), encoding="utf-8")
        out += [d / f"{lang}.md", d / f"{lang}.po"]
    return out


def write_digits(path: Path) -> None:
    """``nnbook/digits.npy``: scikit-learn's digits as one (1797, 65) uint8 table (``np.save`` writes the
    same bytes every time, so ``--check`` can compare them); ``nnbook.data.load_digits`` reads it."""
    import numpy as np
    from nnbook.data import digits_table
    with open(path, "wb") as f:
        np.save(f, digits_table(), allow_pickle=False)


def build_into(chapters: list[Chapter], repo: Path) -> list[Path]:
    """Build in a scratch folder, then put the result in ``repo``: a build that fails (say nbgrader
    cannot run) leaves chapters/ and nnbook/ as they were. A chapter's release folder is replaced
    whole (as ``generate_assignment --force`` does), modules file by file. Returns the files written."""
    from ..grader.driver import ensure_bin_on_path
    ensure_bin_on_path()                       # nbgrader shells out to alembic
    with tempfile.TemporaryDirectory(prefix="nnbook-build-out-") as tmp:
        tmp = Path(tmp)
        fresh = [p for p in build(chapters, tmp / "chapters", tmp / "nnbook") if p.is_file()]
        for edition in translations.EDITION_DIRS.values():
            for chapter in chapters:
                if not (tmp / edition / chapter.name).exists():
                    continue
                target = repo / edition / chapter.name
                old = target.with_name(f".{chapter.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                if target.exists():
                    target.rename(old)
                target.parent.mkdir(exist_ok=True)
                shutil.copytree(tmp / edition / chapter.name, target)
                shutil.rmtree(old, ignore_errors=True)
        for p in fresh:
            rel = p.relative_to(tmp)
            if rel.parts[0] == "nnbook":
                (repo / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, repo / rel)
        return [repo / p.relative_to(tmp) for p in fresh]


def check(chapters: list[Chapter], repo: Path | None = None) -> list[str]:
    """Build into a temporary folder and list what differs from the committed files in ``repo``."""
    repo = repo or paths.course_root()
    stale = []
    with tempfile.TemporaryDirectory(prefix="nnbook-check-") as tmp:
        tmp = Path(tmp)
        build(chapters, tmp / "chapters", tmp / "nnbook")
        for fresh in sorted(tmp.rglob("*")):
            if fresh.is_dir():
                continue
            rel = fresh.relative_to(tmp)
            committed = repo / rel
            if not committed.exists():
                stale.append(f"{rel}: missing (run `make build`)")
            elif committed.read_bytes() != fresh.read_bytes():
                stale.append(f"{rel}: out of date: {explain(committed, fresh)}; restore it with `make build`"
                             f" (or `git checkout -- {rel}` if solutions/ did not change)")
        for chapter in chapters:
            for old in sorted(p for e in translations.EDITION_DIRS.values() for p in (repo / e / chapter.name).rglob("*")):
                rel = old.relative_to(repo)
                if old.is_file() and not (tmp / rel).exists() and ".ipynb_checkpoints" not in old.parts \
                        and "mynnbook" not in old.parts:          # a learner's library copy (nnbook-mine)
                    stale.append(f"{rel}: not generated from solutions/ any more (delete it)")
    return stale


def explain(committed: Path, fresh: Path, limit: int = 4) -> str:
    """What differs between a committed generated file and what the build makes now, in words."""
    if committed.suffix == ".npy":
        return "its data differ from scikit-learn's bundled digits"
    if committed.suffix == ".mo":
        return "the compiled message catalog differs from the translations in solutions/*/i18n/ and nnbook/locale/"
    if committed.suffix != ".ipynb":
        a, b = committed.read_text().splitlines(), fresh.read_text().splitlines()
        diff = [i for i in range(max(len(a), len(b))) if (a[i:i + 1] or [None]) != (b[i:i + 1] or [None])]
        return f"{len(diff)} line(s) differ, first at line {diff[0] + 1}" if diff else "whitespace differs"
    try:
        old, new = nbformat.read(committed, as_version=4), nbformat.read(fresh, as_version=4)
    except Exception as e:  # noqa: BLE001 - an unreadable committed notebook is itself the explanation
        return f"the committed notebook cannot be read ({type(e).__name__}: {e})"
    why = []
    ids_old = [c.get("id") for c in old.cells]
    if BANNER_ID not in ids_old:
        why.append(f"its first cell, the build's banner (id {BANNER_ID!r}), is missing -- the file was written "
                   "by something other than `make build`, e.g. `nbgrader generate_assignment` with another "
                   "configuration than autograde/nbgrader_config.py")
    body_old = [c for c in old.cells if c.get("id") != BANNER_ID]
    body_new = [c for c in new.cells if c.get("id") != BANNER_ID]
    if len(body_old) != len(body_new):
        why.append(f"it has {len(body_old)} cells besides the banner, the build makes {len(body_new)}")
    changed = []
    for i, (a, b) in enumerate(zip(body_old, body_new)):
        what = [k for k in ("cell_type", "source", "metadata") if a.get(k) != b.get(k)]
        if a.get("cell_type") == "code" and (a.get("outputs") or a.get("execution_count")):
            what.append("outputs")
        if what:
            gid = b.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            changed.append(f"cell {i + 1}{f' ({gid})' if gid else ''}: {', '.join(what)}")
    if changed:
        why.append(f"{len(changed)} cell(s) differ: " + "; ".join(changed[:limit]) + (" ..." if len(changed) > limit else ""))
    if not why and old.metadata != new.metadata:
        why.append("the notebook metadata differs")
    return "; ".join(why) or "the JSON formatting differs (written by another tool)"


def main(argv: list[str] | None = None, repo: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nnbook-build", description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter folders under solutions/ (default: all)")
    parser.add_argument("--check", action="store_true", help="fail if generated files are out of date")
    parser.add_argument("--translate", metavar="LANG", choices=translations.LANGUAGES,
                        help="write the chapters' i18n/LANG.md and LANG.po to translate (nothing is built)")
    args = parser.parse_args(argv)
    try:
        repo = repo or paths.course_root()
        chapters = find_chapters(args.chapters or None, repo)
        if args.translate:
            for path in write_translation_templates(args.translate, chapters):
                print(f"wrote {path.relative_to(repo)}")
            return 0
        if args.check:
            stale = check(chapters, repo)
            if stale:
                print("Generated files are out of date:\n  " + "\n  ".join(stale), file=sys.stderr)
                return 1
            print(f"nnbook-build --check: {len(chapters)} chapter(s) up to date")
            return 0
        for path in build_into(chapters, repo):
            print(f"wrote {path.relative_to(repo)}")
        return 0
    except (BuildError, paths.CourseNotFound) as e:
        print(f"nnbook-build: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
