"""Feedback pages a learner wants to read: nbgrader ``GenerateFeedback`` preprocessors.

``grader.plugins.feedback_config`` puts them after nbgrader's ``GetGrades`` and ``ClearHiddenTests``:

* :class:`LearnerFigures` -- the grader re-runs learner cells without drawing anything (agg
  backend) and keeps only their text; a learner's own figures come back from the notebook the
  learner submitted: its ``image/png`` outputs of cells that are not graded tests, each checked to
  be a well-formed PNG (base64, signature, every chunk's CRC, sane size) and re-encoded. Nothing
  else of the learner's outputs is taken: no HTML, JavaScript, SVG or widget.
* :class:`SafeMarkdown` -- mathematics pre-rendered to MathML (``latex2mathml``), so it shows with
  no internet and in JupyterLab's HTML viewer, which runs no script (MathJax could not run there).
  Markdown and raw cells are the learner's to edit: any HTML in them is shown as text, never
  rendered (a raw cell becomes a code block).
* :class:`ExerciseSummary` -- at the top, a table of the exercises by name with their points and
  the first message of each failure.
"""
from __future__ import annotations

import base64
import binascii
import html
import re
import struct
import zlib
from pathlib import Path

import nbformat

from nnbook.i18n import edition_of, gettext as _, tr, using

from .inert import cached_if_short
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- figures
def valid_png(data, max_bytes: int = 2_000_000, max_side: int = 5000) -> bytes | None:
    """The decoded PNG if ``data`` (base64 text) is a well-formed PNG image, else ``None``."""
    if isinstance(data, list):
        data = "".join(data)
    if not isinstance(data, str) or len(data) > max_bytes * 4 // 3 + 1024:
        return None
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", data), validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) > max_bytes or not raw.startswith(PNG_SIGNATURE):
        return None
    pos, first, ended = len(PNG_SIGNATURE), True, False
    while pos + 12 <= len(raw):
        length, ctype = struct.unpack(">I4s", raw[pos:pos + 8])
        end = pos + 12 + length
        if end > len(raw) or not ctype.isalpha():
            return None
        body = raw[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", raw[pos + 8 + length:end])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            return None
        if first:
            if ctype != b"IHDR" or length != 13:
                return None
            width, height = struct.unpack(">II", body[:8])
            if not (0 < width <= max_side and 0 < height <= max_side):
                return None
            first = False
        pos = end
        if ctype == b"IEND":
            ended = True
            break
    if not ended or pos != len(raw):
        return None
    return raw


from .cells import is_test as _is_test  # noqa: E402


class LearnerFigures(NbGraderPreprocessor):
    """Put the learner's own PNG figures back into the feedback (see the module's doc)."""

    submissions = Unicode("", help="folder of the raw submissions, <student>/<assignment>/<notebook>.ipynb").tag(config=True)
    max_figures = Integer(40, help="at most this many figures per notebook").tag(config=True)
    max_notebook_bytes = Integer(30_000_000, help="larger submitted notebooks are not read").tag(config=True)

    def _submitted(self, resources):
        info = resources.get("nbgrader", {})
        if self.submissions:
            folder = Path(self.submissions) / info.get("student", "") / info.get("assignment", "")
        else:                           # the notebook as nbgrader collected it, in the course's submitted/
            from nbgrader.coursedir import CourseDirectory
            cd = CourseDirectory(config=self.config)
            folder = Path(cd.format_path(cd.submitted_directory, info.get("student", ""), info.get("assignment", "")))
        path = folder / f"{info.get('notebook', '')}.ipynb"
        try:
            if not path.is_file() or path.stat().st_size > self.max_notebook_bytes:
                return None
            return nbformat.reads(path.read_bytes().decode("utf-8", errors="replace"), as_version=4)
        except Exception:  # noqa: BLE001 - an unreadable submission simply has no figures
            return None

    def preprocess(self, nb, resources):
        sub = self._submitted(resources)
        if sub is None:
            return nb, resources
        by_id, by_source = {}, {}
        for cell in sub.get("cells", []):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            if isinstance(cell.get("id"), str):
                by_id.setdefault(cell["id"], cell)
            src = cell.get("source")
            by_source.setdefault("".join(src) if isinstance(src, list) else str(src), cell)
        left = self.max_figures
        for cell in nb.cells:
            if cell.cell_type != "code" or _is_test(cell) or left <= 0:
                continue
            theirs = by_id.get(cell.get("id")) if cell.get("id") in by_id else by_source.get(cell.source)
            if theirs is None or ("".join(theirs.get("source", "")) if isinstance(theirs.get("source"), list)
                                  else theirs.get("source")) != cell.source:
                continue                                   # only the very code that is on the page
            figures = []
            for out in theirs.get("outputs", []) or []:
                if not isinstance(out, dict) or out.get("output_type") not in ("display_data", "execute_result"):
                    continue
                png = valid_png((out.get("data") or {}).get("image/png"))
                if png is not None and left > 0:
                    figures.append(nbformat.v4.new_output(
                        "display_data", data={"image/png": base64.b64encode(png).decode("ascii")},
                        metadata={"nnbook": {"from": "learner"}}))
                    left -= 1
            if figures:
                with using(edition_of(nb)):
                    text = _("[your figure, as your own run drew it in the notebook you submitted]") + "\n"
                note = nbformat.v4.new_output("stream", name="stdout", text=text)
                cell.outputs = list(cell.outputs) + [note] + figures
        return nb, resources


# ----------------------------------------------------------------------------- markdown
_SEGMENT = re.compile(
    r"(?P<fence>^(?P<tick>`{3,}|~{3,})[^\n]*\n.*?(?:^(?P=tick)[ \t]*$|\Z))"
    r"|(?P<code>(?P<bt>`+).+?(?P=bt))"
    r"|(?P<escaped>\\\$)"
    r"|\$\$(?P<block>.+?)\$\$"
    r"|\\\[(?P<block2>.+?)\\\]"
    r"|\\\((?P<inline2>.+?)\\\)"
    r"|(?<![\w$])\$(?P<inline>[^\s$](?:[^$\n]|\n(?!\n))*?)(?<!\s)\$(?!\w)",
    re.S | re.M)


@cached_if_short(maxsize=4096)
def tex_to_mathml(tex: str, display: bool) -> str:
    try:
        from latex2mathml.converter import convert
        out = convert(tex.strip(), display="block" if display else "inline")
        return out.replace("\n", " ")
    except Exception:  # noqa: BLE001 - TeX it cannot read is shown as TeX
        return f"<code>{html.escape(tex)}</code>"


@cached_if_short()
def safe_markdown(text: str) -> str:
    """Markdown with its maths as MathML and every other ``<`` shown as text (no HTML of the author's)."""
    out, pos = [], 0
    for m in _SEGMENT.finditer(text):
        out.append(text[pos:m.start()].replace("<", "&lt;"))
        pos = m.end()
        if m.group("fence") or m.group("code") or m.group("escaped"):
            out.append(m.group(0))                          # markdown shows code as text itself
        elif m.group("block") is not None or m.group("block2") is not None:
            out.append(tex_to_mathml(m.group("block") if m.group("block") is not None else m.group("block2"), True))
        else:
            out.append(tex_to_mathml(m.group("inline") if m.group("inline") is not None else m.group("inline2"), False))
    out.append(text[pos:].replace("<", "&lt;"))
    return "".join(out)


class SafeMarkdown(NbGraderPreprocessor):
    """Maths to MathML; the learner's HTML in markdown and raw cells shown as text (see the module's doc)."""

    def preprocess(self, nb, resources):
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                cell.source = safe_markdown(cell.source)
                cell.attachments = {}
            elif cell.cell_type == "raw":
                longest = max((len(r) for r in re.findall(r"`+", cell.source)), default=0)
                fence = "`" * max(3, longest + 1)
                nb.cells[i] = nbformat.v4.new_markdown_cell(f"{fence}\n{cell.source}\n{fence}")
        return nb, resources


# ----------------------------------------------------------------------------- summary
def _first_message(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = str(out.get("evalue", "")).strip()
            first = next((line.strip() for line in value.splitlines() if line.strip()), "")
            text = f"{out.get('ename', 'Error')}: {first}" if first else str(out.get("ename", "Error"))
            return text if len(text) <= 300 else text[:297] + "..."
    return ""


def _heading(source: str) -> str | None:
    for line in source.splitlines():
        m = re.match(r"\s*#{1,6}\s+(.*)", line)
        if m:
            return re.sub(r"\s*\(\s*\d+(\.\d+)?\s*(points?|점)\s*\)\s*$", "", m.group(1)).replace("`", "").strip()
    return None


def exercise_rows(nb) -> list[dict]:
    """One row per graded test cell: exercise name, its section heading, score, points, first failure."""
    rows, heading, previous = [], None, None
    for cell in nb.cells:
        md = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            h = _heading(cell.source)
            if h:
                heading = h
        elif cell.cell_type == "code" and md.get("grade") and not md.get("solution"):
            gid = md.get("grade_id", "")
            name = gid[len("test_"):] if gid.startswith("test_") else gid
            points = float(md.get("points", 0) or 0)
            score = md.get("score")
            score = float(score) if score is not None else 0.0
            rows.append({"name": name, "gid": gid, "section": heading if heading != previous or not rows else None,
                         "score": score, "points": points,
                         "message": _first_message(cell) if score < points else ""})
            previous = heading
    return rows


def summary_html(rows: list[dict]) -> str:
    e = html.escape
    total = sum(r["score"] for r in rows)
    out = sum(r["points"] for r in rows)
    # nbgrader's template lists the test cells as "1. Test cell, 2. Test cell, ...": this table replaces it
    lines = ['<div class="nnbook-summary" style="margin:1em 0 2em 0"><style>#toc { display: none; }</style>',
             f"<h2>{e(tr('Your score: {total} / {out}', total=f'{total:g}', out=f'{out:g}'))}</h2>",
             '<table class="table table-condensed" style="width:auto">',
             f"<thead><tr><th>{e(_('Exercise'))}</th><th>{e(_('Section'))}</th><th>{e(_('Points'))}</th>"
             f"<th>{e(_('First message'))}</th></tr></thead><tbody>"]
    for r in rows:
        ok = r["score"] >= r["points"]
        mark = "&#10004;" if ok else "&#10008;"
        color = "#2e7d32" if ok else "#c62828"
        lines.append(
            f'<tr><td><a href="#{e(r.get("gid", ""))}"><code>{e(r["name"])}</code></a></td><td>{e(r["section"] or "")}</td>'
            f'<td style="color:{color};white-space:nowrap">{mark} {r["score"]:g} / {r["points"]:g}</td>'
            f'<td>{e(r["message"]) if r["message"] else ("" if ok else e(_("no points")))}</td></tr>')
    lines.append("</tbody></table></div>")
    return "".join(lines)         # one line: markdown passes one HTML block through untouched


class ExerciseSummary(NbGraderPreprocessor):
    """A table of the exercises by name, with points and the first message of each failure, at the top."""

    def preprocess(self, nb, resources):
        rows = exercise_rows(nb)
        if rows:
            with using(edition_of(nb)):
                page = summary_html(rows)
            cell = nbformat.v4.new_markdown_cell(page)   # every learner text in it is escaped
            cell.metadata["nnbook_summary"] = True
            nb.cells.insert(0, cell)
        return nb, resources


_NO_ALT = re.compile(r"<img\b(?![^>]*\salt=)", re.IGNORECASE)


class FeedbackExporter(HTMLExporter):
    """nbconvert's ``HTMLExporter`` for nbgrader's feedback pages, without its BeautifulSoup pass.

    ``HTMLExporter.from_notebook_node`` re-parses every page it renders with BeautifulSoup's pure
    Python ``html.parser`` to add a default ``alt`` to images and ``tabindex`` to JupyterLab-template
    cells: two thirds of a feedback page's time (profiled on a class of 39: 25 s of 35 s). The
    feedback template is nbgrader's, built on nbconvert's *classic* template, which has none of the
    ``.jp-Notebook`` cells that ``tabindex`` goes on; the default ``alt`` is added here by a pattern
    (every learner text on the page is escaped by then, so any ``<img`` is the template's or the
    book's). Everything else -- template, filters, preprocessors -- is nbconvert's and nbgrader's."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # One exporter renders a worker's whole chunk of learners, whose notebooks repeat the book's cells:
        # the same markdown and the same code are rendered once per exporter (nbconvert's pygments and
        # mistune were another half of a page's time). Keyed on everything each result depends on.
        self._highlighters: dict = {}
        self._markdown = cached_if_short(maxsize=4096)(self._markdown_uncached)

    def _markdown_uncached(self, source, path):
        return HTMLExporter.markdown2html(self, {"cell": {}, "resources": {"metadata": {"path": path}}}, source)

    @pass_context
    def markdown2html(self, context, source):
        if context.get("cell", {}).get("attachments"):
            return super().markdown2html(context, source)       # a cell's own attachments: not shared
        path = context.get("resources", {}).get("metadata", {}).get("path", "") if self.embed_images else ""
        return self._markdown(source, path)

    def _highlighter(self, lexer):
        if lexer not in self._highlighters:
            plain = Highlight2HTML(pygments_lexer=lexer, parent=self)
            cached = cached_if_short(maxsize=4096)(lambda source, language, magics: plain(
                source, language, {"magics_language": magics} if magics else None))

            def highlight_code(source, language=None, metadata=None):
                magics = (metadata or {}).get("magics_language")
                return cached(source, language, magics if isinstance(magics, str) else None)
            self._highlighters[lexer] = highlight_code
        return self._highlighters[lexer]

    def from_notebook_node(self, nb, resources=None, **kw):
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        lexer = lexer if isinstance(lexer, str) else None
        highlight_code = self.filters.get("highlight_code", self._highlighter(lexer))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page = _NO_ALT.sub('<img alt="No description has been provided for this image"', page)
        return page, resources
