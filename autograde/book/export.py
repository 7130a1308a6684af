"""Exporting ``#| export`` cells: the one code path of the book's ``nnbook/`` (``nnbook-build``) and of a
learner's own library ``mynnbook/`` (``nnbook-mine``, :mod:`autograde.mylib`).

It needs nbformat only (no nbgrader), so that a learner's library builds quickly.
"""
from __future__ import annotations

import ast
import json
import re

from ..cells import directives as _directives, is_test, strip_directives as _strip_directives, defined_names

SOLUTION_MARKER_LINE = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")
FORBIDDEN = [
    ("NotImplementedError", "a stub (NotImplementedError)"),
    ("TODO", "a TODO"),
    ("YOUR CODE HERE", "a learner stub (YOUR CODE HERE)"),
    ("BEGIN SOLUTION", "a solution marker"),
    ("END SOLUTION", "a solution marker"),
    ("BEGIN HIDDEN TESTS", "a hidden-test marker"),
    ("END HIDDEN TESTS", "a hidden-test marker"),
]


class BuildError(Exception):
    """The source notebook cannot be built as it is; the message says where and why."""


def _heading(source: str, level: int) -> str | None:
    for line in source.splitlines():
        m = re.match(r"^#{%d}\s+(.*\S)\s*$" % level, line)
        if m:
            return m[1]
    return None


def _stamp_docstrings(code: str, stamp: str, where: str) -> str:
    """Append ``stamp`` as a last paragraph to the docstring of every public def/class."""
    tree = ast.parse(code)
    lines = code.splitlines()
    inserts = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) or node.name.startswith("_"):
            continue
        doc = node.body[0] if node.body else None
        if not (isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)):
            raise BuildError(f"{where}: exported `{node.name}` has no docstring "
                             "(every exported definition documents its shapes)")
        last = lines[doc.end_lineno - 1]
        if last.strip() not in ('"""', "'''"):
            raise BuildError(f"{where}: the docstring of `{node.name}` must end with its closing "
                             'quotes on a line of their own')
        indent = last[: len(last) - len(last.lstrip())]
        inserts.append((doc.end_lineno - 1, ["", indent + stamp]))
    for index, new in sorted(inserts, reverse=True):
        lines[index:index] = new
    return "\n".join(lines)


def export_cell(cell, where: str, stamp: str) -> str:
    """The exported code of one ``#| export`` cell, its public docstrings stamped with ``stamp``.

    Raises :class:`BuildError` for what is never exported: a test cell, a stub (``NotImplementedError``,
    ``YOUR CODE HERE``), a ``TODO``, a solution or hidden-test marker, code that does not parse, a public
    definition without a docstring. The book's build and the learner's library (:mod:`autograde.mylib`)
    both export through this function."""
    if is_test(cell):
        raise BuildError(f"{where}: a graded test cell cannot be exported")
    code = "\n".join(l for l in _strip_directives(cell.source).splitlines()
                     if not SOLUTION_MARKER_LINE.match(l))
    for needle, what in FORBIDDEN:
        for lineno, line in enumerate(code.splitlines(), 1):
            if needle in line:
                raise BuildError(f"{where}, line {lineno}: refusing to export {what}: {line.strip()!r}")
    try:
        ast.parse(code)
    except SyntaxError as e:
        raise BuildError(f"{where}: exported code does not parse: {e}") from None
    return _stamp_docstrings(code, stamp, where)


def export_cells(nb, rel_source: str, default_title: str, include=None, refused=None,
                 made_by: str = "by `make build` -- do not edit; edit that notebook") -> tuple[str, str]:
    """``(module_name, module_text)`` for the ``#| export`` cells of notebook ``nb``.

    ``include(index, cell)``, if given, picks the exported cells to keep (the learner's library keeps the
    exercises that pass their tests); ``refused``, if given, is a dict that collects ``{index: reason}`` for
    cells :func:`export_cell` refuses instead of raising (the learner's library falls back to the book's
    version for them). Without both, this is the book's export: any refusal stops the build."""
    module = None
    title = default_title
    section = None
    blocks: list[str] = []
    for index, cell in enumerate(nb.cells):
        where = f"{rel_source}, cell {index}"
        if cell.cell_type == "markdown":
            title = _heading(cell.source, 1) if title == default_title and _heading(cell.source, 1) else title
            section = _heading(cell.source, 2) or section
            continue
        if cell.cell_type != "code":
            continue
        directives = _directives(cell.source)
        if "default_exp" in directives:
            module = directives["default_exp"]
        if "export" not in directives or (include is not None and not include(index, cell)):
            continue
        stamp = f"Defined in chapter {title}, section “{section}”." if section else f"Defined in chapter {title}."
        try:
            code = export_cell(cell, where, stamp)
        except BuildError as e:
            if refused is None:
                raise
            refused[index] = str(e)
            continue
        blocks.append(f"# ---- exported from {rel_source}, cell {index} ----\n" + code)
    if module is None:
        raise BuildError(f"{rel_source}: no `#| default_exp MODULE` directive")
    if not blocks and refused is None:
        raise BuildError(f"{rel_source}: no cell is marked `#| export`")
    body = "\n\n\n".join(blocks)
    names = defined_names(body, public_only=True)
    text = (
        f"# AUTOGENERATED from {rel_source} {made_by}.\n"
        f'"""{title}: the helpers this chapter builds.\n\n'
        f"Generated from the ``#| export`` cells of ``{rel_source}``.\n"
        '"""\n'
        f"__all__ = {json.dumps(names)}\n\n"
        f"{body}\n"
    )
    return module, text
