"""nnbook's nbgrader plug-ins: how this course's notebooks are autograded, by any nbgrader front end.

* :class:`RepairTestCells` -- a *sanitize* preprocessor, first in nbgrader's list: every graded
  test cell comes back exactly as released, right after the exercise it tests, and every cell's
  grading metadata (grade id, points, cell type, lock) comes from the release, whatever the
  learner did to the notebook (deleted, moved, retyped or duplicated cells, forged metadata).
* :class:`SandboxedExecute` -- drops in for nbgrader's ``Execute``: learner cells run in a
  bubblewrap sandbox (:mod:`autograde.sandbox`), graded test cells in the trusted judge
  (:mod:`autograde.grader.judge`) with their source from the gradebook; its limits are traitlets
  configuration (``SandboxedExecute.cell_timeout`` ...).

:func:`autograde_config` derives nbgrader's preprocessor lists from nbgrader's own defaults
(``Execute`` swapped, ``RepairTestCells`` put first), so ``nbgrader autograde``, formgrader's
*Autograde* button and ``nnbook-grade`` all grade through the same code.

Notes for the learner (what was repaired, cells stopped, output cut) go into a markdown cell at the
top of the graded notebook (:func:`add_notes`); ``nnbook-grade`` reads them back for ``grades.csv``.
"""
from __future__ import annotations

import atexit
import copy
import dataclasses
import hashlib
import html
import shutil
import tempfile
import traceback
from pathlib import Path

import jsonschema
import nbformat
from nbgrader.nbgraderformat import MetadataValidator, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from nnbook.i18n import edition_of, gettext as _, translate_note, using

from .. import cells, paths

NOTES_KEY = "nnbook_notes"
GRADING_KEYS = ("grade", "solution", "locked", "task", "points", "grade_id")


# ----------------------------------------------------------------------------- notes for the learner
def notes_of(nb) -> list[str]:
    for cell in nb.cells:
        md = cell.get("metadata")
        if isinstance(md, dict) and isinstance(md.get(NOTES_KEY), list):
            return [str(n) for n in md[NOTES_KEY]]
    return []


# Every note a learner may read, as a template: the notes cell shows them in the learner's edition
# (nnbook/locale/<lang>.po translates the templates); the metadata keeps them in English for the instructor.
NOTE_TEMPLATES = (
    "a cell that is not a code, markdown or raw cell was ignored",
    "test cell {gid} appears more than once; the copies were ignored",
    "test cell {gid} was changed to {kind}; restored",
    "grade id {gid} appears more than once; the copy lost its grading metadata",
    "grading metadata of {gid} ({keys}) restored from the course",
    "cell {gid} was changed to {kind}; restored as {ref}",
    "a cell {gid} claimed grading metadata the course does not have; it was graded as an ordinary cell",
    "test cell {gid} was deleted; restored from the course and run",
    "test cell(s) {gids} moved; each was run right after its exercise",
    "notebook time limit {seconds} s reached; {rest}",
    "{gid}: the kernel stopped during the test ({why}); restarted",
    "cell {n}: stopped after {seconds} s (endless loop?)",
    "cell {n}: the kernel died (os._exit, crash or memory limit)",
    "cell {n}: output cut to the output limit",
    "cell {n}: MemoryError (memory limit {mb} MB)",
    # driver.lay_out: which file of the learner's was graded
    "no submission: the folder for this chapter is missing",
    "no submission: the submission folder is empty",
    "no submission: the submission folder has no notebook (expected {name})",
    "notebook named {found} instead of {name}; graded it anyway",
    "extra notebook(s) ignored: {names}",
    "no submission: {file} is not a valid notebook ({error})",
)


def add_notes(nb, notes: list[str]) -> None:
    """Add ``notes`` to the notebook's "grader's notes" cell (made at the top when missing), shown in
    the notebook's edition (``metadata.nnbook.lang``)."""
    if not notes:
        return
    cell = next((c for c in nb.cells if isinstance(c.get("metadata"), dict) and NOTES_KEY in c.metadata), None)
    if cell is None:
        cell = nbformat.v4.new_markdown_cell("")
        cell.metadata[NOTES_KEY] = []
        nb.cells.insert(0, cell)
    cell.metadata[NOTES_KEY] = [*cell.metadata[NOTES_KEY], *notes]
    # markdown from escaped text: a file name like "<img onerror=...>.ipynb" stays text
    with using(edition_of(nb)):
        shown = [translate_note(n, NOTE_TEMPLATES) for n in cell.metadata[NOTES_KEY]]
        cell.source = _("**Grader's notes on this submission:**") + "\n\n" + "\n".join(
            "* " + html.escape(n).replace("*", "\\*").replace("_", "\\_").replace("`", "\\`").replace("[", "\\[")
            for n in shown)


def _strip_forged_notes(nb) -> None:
    nb.cells = [c for c in nb.cells if not (isinstance(c.get("metadata"), dict) and NOTES_KEY in c.metadata)]


def _coursedir(pp):
    from nbgrader.coursedir import CourseDirectory
    return CourseDirectory(config=pp.config)


def _course_notebook(pp, resources, step: str) -> Path:
    info = resources["nbgrader"]
    cd = _coursedir(pp)
    folder = cd.format_path(getattr(cd, f"{step}_directory"), ".", info["assignment"])
    return Path(folder) / f"{info['notebook']}.ipynb"


# ----------------------------------------------------------------------------- repair
def repair(nb, release) -> list[str]:
    """Put ``nb`` (a learner's notebook) in the shape of ``release``; return what was repaired.

    Graded test cells are the release's, each right after the learner cell that precedes it in the
    release; cells with a release grade id get the release's grading metadata and cell type; other
    cells claiming grading metadata lose it; the learner's own cells are kept as they are."""
    notes: list[str] = []
    rel_cells = release.cells
    test_cells = {cells.grade_id(c): c for c in rel_cells if cells.is_test(c)}
    managed = {cells.grade_id(c): c for c in rel_cells if cells.grade_id(c) and not cells.is_test(c)}
    kept, seen_ids, order, moved = [], set(), [], set()
    raw = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    for cell in raw:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            notes.append("a cell that is not a code, markdown or raw cell was ignored")
            continue
        cell = nbformat.from_dict(cell)
        if not isinstance(cell.get("source"), str):
            cell.source = "".join(cell.source) if isinstance(cell.get("source"), list) else ""
        if not isinstance(cell.get("metadata"), dict):
            cell.metadata = nbformat.NotebookNode()
        has_meta = "nbgrader" in cell.metadata
        gid = cells.grade_id(cell)
        if gid in test_cells:
            if gid in order:
                notes.append(f"test cell {gid} appears more than once; the copies were ignored")
                continue
            order.append(gid)
            exercise = gid[len("test_"):] if gid.startswith("test_") else None
            if exercise and exercise not in seen_ids and any(cells.grade_id(c) == exercise for c in raw
                                                             if isinstance(c, dict)):
                moved.add(gid)
            if cell.cell_type != "code":
                notes.append(f"test cell {gid} was changed to {cell.cell_type}; restored")
            continue
        if gid in managed:
            if gid in seen_ids:
                notes.append(f"grade id {gid} appears more than once; the copy lost its grading metadata")
                del cell.metadata["nbgrader"]
            else:
                seen_ids.add(gid)
                ref = managed[gid]
                mine = cell.metadata["nbgrader"] if isinstance(cell.metadata["nbgrader"], dict) else {}
                theirs = ref.metadata["nbgrader"]
                changed = sorted(k for k in GRADING_KEYS if mine.get(k, False) != theirs.get(k, False))
                if changed:
                    notes.append(f"grading metadata of {gid} ({', '.join(changed)}) restored from the course")
                cell.metadata["nbgrader"] = copy.deepcopy(theirs)
                if cell.cell_type != ref.cell_type:
                    notes.append(f"cell {gid} was changed to {cell.cell_type}; restored as {ref.cell_type}")
                    cell = _retype(cell, ref.cell_type)
        elif has_meta:
            md = cell.metadata["nbgrader"]
            if isinstance(md, dict) and (md.get("grade") or md.get("solution") or md.get("locked") or md.get("task")):
                shown = gid if gid else "without a grade id"
                notes.append(f"a cell {shown} claimed grading metadata the course does not have; "
                             "it was graded as an ordinary cell")
            del cell.metadata["nbgrader"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
        kept.append(cell)
    for g in test_cells:
        if g not in order:
            notes.append(f"test cell {g} was deleted; restored from the course and run")
    out = list(kept)
    for gid, tcell in test_cells.items():
        idx = next(i for i, c in enumerate(rel_cells) if cells.grade_id(c) == gid)
        anchor = next((cells.grade_id(c) for c in reversed(rel_cells[:idx])
                       if cells.grade_id(c) is not None and cells.grade_id(c) not in test_cells), None)
        pos = next((i + 1 for i, c in enumerate(out) if anchor is not None and cells.grade_id(c) == anchor), None)
        if pos is None:
            pos = len(out)
        while pos < len(out) and cells.grade_id(out[pos]) in test_cells:  # several tests of one exercise
            pos += 1
        out.insert(pos, copy.deepcopy(tcell))
    placed = [cells.grade_id(c) for c in out if cells.grade_id(c) in test_cells]
    if moved or order != [g for g in placed if g in order]:
        notes.append(f"test cell(s) {', '.join(sorted(moved)) or 'reordered'} moved; "
                     "each was run right after its exercise")
    nb.cells = out
    nb.metadata = copy.deepcopy(release.metadata)
    nb.nbformat, nb.nbformat_minor = release.nbformat, release.nbformat_minor
    return notes


def _retype(cell, cell_type: str):
    new = {"markdown": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell,
           "raw": nbformat.v4.new_raw_cell}[cell_type](cell.source)
    new.metadata = cell.metadata
    if "id" in cell:
        new.id = cell.id
    return new


class RepairTestCells(NbGraderPreprocessor):
    """Sanitize step: the learner's notebook in the shape of the release (see :func:`repair`)."""

    def preprocess(self, nb, resources):
        release = nbformat.read(_course_notebook(self, resources, "release"), as_version=4)
        notes = notes_of(nb)
        _strip_forged_notes(nb)
        lang = edition_of(nb)              # the learner's edition, before repair takes the release's metadata
        notes += repair(nb, release)
        if lang != "en":
            nb.metadata["nnbook"] = {"lang": lang}
        for note in notes:
            self.log.warning("%s: %s", resources["nbgrader"]["student"], note)
        add_notes(nb, notes)
        return nb, resources


# ----------------------------------------------------------------------------- execute
_SLOTS: dict = {}


def _library_fingerprint() -> str:
    h = hashlib.sha256()
    for p in sorted(paths.library_dir().glob("*.py")):
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def library_for(chapter_module: str | None) -> tuple[str | None, list[str]]:
    """The module of this chapter (kept out of the sandbox) and the earlier chapters' modules (in it)."""
    modules = []
    for d in sorted(paths.solutions_dir().iterdir()) if paths.solutions_dir().is_dir() else []:
        src = d / f"{d.name}.ipynb"
        if src.exists():
            modules.append(cells.default_exp(nbformat.read(src, as_version=4)))
    if chapter_module in modules:
        return chapter_module, [m for m in modules[:modules.index(chapter_module)] if m]
    return chapter_module, []


def get_slot(module: str | None, limits, use_sandbox: bool, stage_root: str = ""):
    """This process's warm sandbox for a chapter, made on first use and kept; re-made when the
    library changed since (a re-grade always sees the current ``nnbook``)."""
    from ..sandbox import Slot, stage_library

    key = (module, dataclasses.astuple(limits), use_sandbox)
    fp = _library_fingerprint()
    entry = _SLOTS.get(key)
    if entry and entry[0] == fp and entry[1].proc is not None and entry[1].proc.poll() is None:
        return entry[1]
    if entry:
        entry[1].destroy()
        shutil.rmtree(entry[2], ignore_errors=True)
    blocked, earlier = library_for(module)
    if stage_root:
        Path(stage_root).mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f"{module or 'book'}-", dir=stage_root or None))
    stage_library(stage, blocked, earlier)
    slot = Slot(stage, blocked, limits, sandbox=use_sandbox)
    _SLOTS[key] = (fp, slot, stage)
    return slot


@atexit.register
def close_slots() -> None:
    for _, slot, stage in list(_SLOTS.values()):
        try:
            slot.destroy()
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    _SLOTS.clear()


def trusted_tests(db_url: str, course_id: str, notebook: str, assignment: str) -> dict[str, str]:
    """{grade id: source} of the notebook's autograded test cells, hidden tests included, from the
    gradebook (what ``generate_assignment`` recorded): never from the learner's file."""
    from nbgrader.api import Gradebook

    tests = {}
    with Gradebook(db_url, course_id) as gb:
        nb = gb.find_notebook(notebook, assignment)
        for gc in nb.grade_cells:
            if gc.cell_type == "code":
                sc = gb.find_source_cell(gc.name, notebook, assignment)
                solution = any(s.name == gc.name for s in nb.solution_cells)
                if not solution:
                    tests[gc.name] = sc.source
    return tests


class SandboxedExecute(NbGraderPreprocessor):
    """Execute the notebook: learner cells in the sandbox, graded test cells in the trusted judge."""

    cell_timeout = Float(120.0, help="wall-clock seconds per cell (and per call a test makes)").tag(config=True)
    notebook_timeout = Float(600.0, help="wall-clock seconds for the whole notebook").tag(config=True)
    memory_mb = Integer(2048, help="address-space limit of a learner's kernel, in MB").tag(config=True)
    file_mb = Integer(64, help="largest file a learner's code may write, in MB").tag(config=True)
    processes = Integer(64, help="processes (and threads) of one learner's kernel").tag(config=True)
    open_files = Integer(1024, help="open files per learner process").tag(config=True)
    sandbox = Bool(True, help="run learner code in bubblewrap (False: resource limits only)").tag(config=True)
    stage_root = Unicode("", help="folder for the sandbox's staged library (default: a temporary folder, "
                         "removed at exit; nnbook-grade uses the course's .nnbook/stages)").tag(config=True)

    def limits(self):
        from ..sandbox import Limits
        return Limits(cell_timeout=self.cell_timeout, notebook_timeout=self.notebook_timeout,
                      memory_mb=self.memory_mb, file_mb=self.file_mb, processes=self.processes,
                      open_files=self.open_files)

    def preprocess(self, nb, resources):
        from ..sandbox import warn_if_unsandboxed
        from . import judge

        info = resources["nbgrader"]
        course_id = _coursedir(self).course_id
        tests = trusted_tests(info["db_url"], course_id, info["notebook"], info["assignment"])
        source = nbformat.read(_course_notebook(self, resources, "source"), as_version=4)
        warn_if_unsandboxed(self.sandbox)
        slot = get_slot(cells.default_exp(source), self.limits(), self.sandbox, self.stage_root)
        files_from = resources.get("metadata", {}).get("path") or None
        lang = edition_of(nb)
        if lang != "en":                   # the hidden tests' hints are translated in the course's source only
            from ..book.translations import hidden_catalog
            from nnbook.i18n import add_translations
            src_dir = _course_notebook(self, resources, "source").parent
            add_translations(lang, hidden_catalog(src_dir.parent.parent, info["assignment"], lang,
                                                  folder=src_dir))
        with using(lang):                  # the test cells' messages in the learner's edition
            run = judge.run_notebook(slot, nb.cells, tests, cells.solution_names(source), files_from)
        count = 0
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            cell.outputs = [nbformat.from_dict(o) for o in run.outputs.get(i, [])]
            for o in cell.outputs:
                if o.output_type == "execute_result":
                    o.execution_count = count
            cell.execution_count = count
        add_notes(nb, run.problems)
        nb.metadata["nnbook_run"] = {"seconds": round(run.seconds, 3)}   # the release's metadata + this
        return nb, resources


# ----------------------------------------------------------------------------- metadata check
class _SchemaCheckedOnce(BaseMetadataValidator):
    """The schema part of nbgrader's per-cell validation, with a schema validator built once.

    nbgrader calls ``jsonschema.validate(meta, schema)`` for every graded cell, which checks the schema
    itself each time: a third of a second per notebook of our grading went into re-checking nbgrader's own
    constant schema. This does what ``jsonschema.validate`` does after that check (``best_match`` of the
    errors of a validator of the schema's class); the schema-version checks stay nbgrader's."""

    _checkers: dict = {}

    def validate_cell(self, cell) -> None:
        meta = cell.metadata["nbgrader"] if "nbgrader" in cell.metadata else None
        if not isinstance(meta, dict) or meta.get("schema_version", 0) != self.schema_version:
            return BaseMetadataValidator.validate_cell(self, cell)    # nbgrader's own too-old / too-new errors
        checker = self._checkers.get(self.schema_version)
        if checker is None:
            cls = jsonschema.validators.validator_for(self.schema)
            cls.check_schema(self.schema)
            checker = self._checkers[self.schema_version] = cls(self.schema)
        error = jsonschema.exceptions.best_match(checker.iter_errors(meta))
        if error is not None:
            raise error


class OnceCheckedValidator(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's ``MetadataValidator`` (v3: every check of its own), whose ``super().validate_cell`` -- the
    schema check -- is :class:`_SchemaCheckedOnce`'s by the method resolution order."""


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` with :class:`OnceCheckedValidator`: the same checks, errors and log."""

    def preprocess(self, nb, resources):
        try:
            OnceCheckedValidator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources


# ----------------------------------------------------------------------------- configuration
def autograde_config(**execute) -> dict:
    """nbgrader configuration that grades through these plug-ins: nbgrader's own preprocessor lists
    with ``Execute`` swapped for :class:`SandboxedExecute`, ``CheckCellMetadata`` for
    :class:`CheckCellMetadataOnce` and :class:`RepairTestCells` put first.

    ``execute`` sets :class:`SandboxedExecute` traits (``cell_timeout=...``)."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from ..inert import SanitizeLearnerContent

    swap = {Execute: SandboxedExecute, CheckCellMetadata: CheckCellMetadataOnce}
    sanitize = [RepairTestCells, *(swap.get(p, p) for p in Autograde.class_traits()['sanitize_preprocessors'].default())]
    grade = [swap.get(p, p) for p in Autograde.class_traits()['autograde_preprocessors'].default()]
    if SandboxedExecute not in grade:
        raise RuntimeError("nbgrader's autograde preprocessors have no Execute to replace")
    # what the learner wrote is made inert before the autograded notebook (which formgrader renders) is saved
    grade.insert(grade.index(SandboxedExecute) + 1, SanitizeLearnerContent)
    return {
        "Autograde": {"sanitize_preprocessors": sanitize, "autograde_preprocessors": grade},
        "SandboxedExecute": dict(execute),
    }


def feedback_config() -> dict:
    """Feedback pages never show hidden tests (nbgrader #917) nor run anything a learner wrote, and
    are worth reading (:mod:`autograde.feedback`): nbgrader's ``GenerateFeedback`` list with
    ``ClearHiddenTests`` and the feedback plug-ins after ``GetGrades``, and the sanitiser first."""
    from nbgrader.converters.generate_feedback import GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    from ..inert import SanitizeLearnerContent

    from ..feedback import ExerciseSummary, LearnerFigures, SafeMarkdown

    pre = list(GenerateFeedback.class_traits()['preprocessors'].default())
    # after the grades: hidden tests out; the learner's own figures back (validated PNGs only), maths as
    # MathML and learner HTML as text, a table of the exercises by name at the top
    pre[pre.index(GetGrades) + 1:pre.index(GetGrades) + 1] = [ClearHiddenTests, LearnerFigures, SafeMarkdown,
                                                              ExerciseSummary]
    pre.insert(0, SanitizeLearnerContent)            # an autograded notebook from elsewhere is made inert too
    return {"GenerateFeedback": {"preprocessors": pre, "exporter_class": "autograde.feedback.FeedbackExporter"},
            "ClearHiddenTests": {"enforce_metadata": False}}
