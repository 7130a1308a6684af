"""Every chapter has the shape CONTRIBUTING.md promises a learner.

Learning goals at the top, a summary and 3-5 ungraded exercises for further practice at the end, and a
caption after every figure that says what to look at (a markdown cell ``*Figure: ...*`` right after the
code cell that draws it).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted(REPO.glob("solutions/*/*.ipynb"))
# A code cell draws a figure when it calls pyplot or the book's live sliders.
DRAWS = re.compile(r"\bplt\.(show|subplots|figure)\b|^\s*interact\(", re.M)


def _cells(path: Path):
    return nbformat.read(path, as_version=4).cells


def _is_test(cell) -> bool:
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_learning_goals_at_the_top(path):
    first = _cells(path)[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.stem[:2]} · ")
    # The goals: a list of at least three items, announced by "Learning goals" or "you will / you can".
    goals = re.search(r"(?:Learning goals|[Yy]ou will(?: be able to)?|you can)[^\n]*\n+((?:\* .*\n?(?:  .*\n?)*){3,})",
                      first.source)
    assert goals, f"{path.stem}: the first cell states no learning goals (a list of 3 or more after 'you will')"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_summary_and_further_practice_at_the_end(path):
    markdown = [c.source for c in _cells(path) if c.cell_type == "markdown"]
    tail = "\n".join(markdown[-2:])
    assert "## Summary" in tail, f"{path.stem}: no '## Summary' at the end"
    practice = tail.split("## Further practice")
    assert len(practice) == 2, f"{path.stem}: no '## Further practice' section at the end"
    items = re.findall(r"(?m)^\d+\. ", practice[1])
    assert 3 <= len(items) <= 5, f"{path.stem}: {len(items)} further-practice exercises, expected 3 to 5"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_figure_has_a_caption(path):
    cells = _cells(path)
    missing = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or _is_test(cell) or not DRAWS.search(cell.source):
            continue
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is None or nxt.cell_type != "markdown" or not nxt.source.startswith("*Figure: "):
            missing.append(cell.get("id"))
    assert not missing, f"{path.stem}: figures without a '*Figure: ...*' caption after them: {missing}"


def test_the_figure_pattern_sees_figures():
    # The caption check is only as good as its pattern: it must find the figures of every chapter.
    for path in SOLUTIONS:
        drawn = [c for c in _cells(path) if c.cell_type == "code" and DRAWS.search(c.source)]
        assert drawn, f"{path.stem}: no figure found, so the caption check would pass vacuously"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_no_cell_rebinds_the_label_translator(path):
    # The figure and widget labels go through `gettext` and `tr` (nnbook.i18n), never through `_`: a learner
    # who writes `for _ in range(3):` at the top level of their own cell rebinds `_` in the kernel (IPython
    # binds it to the last output too), and a figure that called `_(...)` would then fail with "'int' object
    # is not callable" -- in the lab and under Validate alike. No cell of the book rebinds the two either.
    import ast

    class TopLevelStores(ast.NodeVisitor):
        found: list = []

        def skip(self, node):
            pass
        visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = skip
        visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = skip

        def visit_Name(self, node):
            if node.id in ("gettext", "tr") and isinstance(node.ctx, ast.Store):
                self.found.append(node.lineno)

    bad, calls = [], []
    for cell in _cells(path):
        if cell.cell_type != "code":
            continue
        tree = ast.parse("\n".join(l for l in cell.source.splitlines() if not l.lstrip().startswith(("%", "!"))))
        visitor = TopLevelStores()
        visitor.found = []
        visitor.visit(tree)
        bad += [f"{cell.get('id')} line {n}" for n in visitor.found]
        calls += [f"{cell.get('id')} line {n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Load)]
        calls += [f"{cell.get('id')} line {n.lineno}" for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and any(a.name == "_" and a.asname is None for a in n.names)]
    assert not calls, f"{path.stem}: `_` is used as the labels' translator (use gettext(...) or tr(...)) in: {calls}"
    assert not bad, f"{path.stem}: `gettext` or `tr` (the labels' translators) is rebound at the top level of: {bad}"
