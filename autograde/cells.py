"""Facts about notebook cells, each computed in one place.

* what kind of cell a cell is for nbgrader (:func:`kind`, :func:`is_test`, :func:`is_exercise`),
* the book's export directives (``#| export``, ``#| default_exp NAME``: :func:`directives`),
* the top-level names a piece of code defines (:func:`defined_names`).

The build, the grader's plug-ins, the judge and the demo class all use these.
"""
from __future__ import annotations

import ast
import re

DIRECTIVE = re.compile(r"^\s*#\|\s*(?P<name>[\w-]+)\s*(?P<arg>.*?)\s*$")


def nbgrader_meta(cell) -> dict:
    """The cell's ``nbgrader`` metadata, or ``{}`` when it has none (or something that is not a dict)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    md = meta.get("nbgrader") if isinstance(meta, dict) else None
    return md if isinstance(md, dict) else {}


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


def is_test(cell) -> bool:
    """An autograded test cell: a code cell that is graded and is not a solution."""
    md = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(md.get("grade")) and not md.get("solution")


def is_exercise(cell) -> bool:
    """A solution (exercise) cell: the learner writes its code."""
    return bool(nbgrader_meta(cell).get("solution"))


def kind(cell) -> str:
    """``test``, ``exercise``, ``locked`` (other nbgrader-managed cells), or the plain cell type."""
    if is_test(cell):
        return "test"
    if is_exercise(cell):
        return "exercise"
    if nbgrader_meta(cell).get("locked") or nbgrader_meta(cell).get("grade"):
        return "locked"
    return str(cell.get("cell_type"))


def test_ids(nb) -> list[str]:
    """Grade ids of the notebook's autograded test cells, in notebook order."""
    return [grade_id(c) for c in nb.cells if is_test(c) and grade_id(c)]


def directives(source: str) -> dict[str, str]:
    """The ``#| name arg`` directives of a code cell's source: ``{name: arg}``."""
    found = {}
    for line in source.splitlines():
        m = DIRECTIVE.match(line)
        if m:
            found[m["name"]] = m["arg"]
    return found


def strip_directives(source: str) -> str:
    return "\n".join(l for l in source.splitlines() if not DIRECTIVE.match(l)).strip("\n")


def default_exp(nb) -> str | None:
    """The module a chapter exports to (its first ``#| default_exp NAME``), or None."""
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            name = directives(cell.source).get("default_exp")
            if name:
                return name.strip()
    return None


def defined_names(code: str, public_only: bool = False) -> list[str]:
    """Top-level names ``code`` defines (functions, classes, assigned names), in order, no repeats.

    Code that does not parse defines nothing."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    names = list(dict.fromkeys(names))
    return [n for n in names if not n.startswith("_")] if public_only else names


def solution_names(source_nb) -> list[str]:
    """Top-level names defined by the solution cells of a (trusted) source notebook."""
    names: list[str] = []
    for cell in source_nb.cells:
        if cell.get("cell_type") == "code" and is_exercise(cell):
            names += defined_names(cell.source)
    return list(dict.fromkeys(names))
