"""Every chapter's solution notebook, run top to bottom in the learner's JupyterLab (the check itself).

Run > Run All Cells in a real browser, then: every code cell ran, no cell shows an error (checked in
the saved notebook and on the page), and every widget output is drawn by the widget manager (not the
plain-text fallback a lab without @jupyter-widgets/jupyterlab-manager shows). New chapters in
solutions/ are picked up automatically.

The chapters are split between test_solutions_part1.py and test_solutions_part2.py so that
`pytest -n 2 --dist loadfile` can run the two halves side by side.
"""
from __future__ import annotations

import re
from pathlib import Path

from autograde.paths import course_root  # noqa: E402
REPO = course_root()
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_ALL_TIMEOUT = 300   # s per chapter; the capstone trains a network

# One entry per top-level output of a cell: its renderer's MIME type, whether it is a widget view.
OUTPUTS_JS = """cell => [...cell.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child')].map(child => {
  const out = child.querySelector(':scope > .jp-OutputArea-output');
  return {mime: out ? (out.dataset.mimeType || null) : null,
          widget: !!(out && out.querySelector(':scope > .jupyter-widgets')),
          text: out ? out.innerText.slice(0, 400) : ''}; })"""


def chapter_names() -> list[str]:
    """Every chapter with a solution notebook, in order: new chapters are picked up automatically."""
    return sorted(d.name for d in (REPO / "solutions").iterdir()
                  if d.is_dir() and (d / f"{d.name}.ipynb").exists())


def _first_lines(traceback: list[str], n: int = 6) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))
    return "\n".join(text.splitlines()[-n:])


def check_solution_runs_cleanly_with_live_widgets(lab, chapter: str) -> None:
    path = f"solutions/{chapter}/{chapter}.ipynb"
    lab.open(path)
    lab.shot("opened")
    result = lab.run_all(timeout=RUN_ALL_TIMEOUT)
    lab.shot("after-run-all")
    print(f"{chapter}: Run All took {result['seconds']:.1f} s in the browser")
    saved = lab.save()

    # 1. no errors, and nothing skipped because of one
    errors = [(i, out) for i, cell in enumerate(saved.cells) if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.output_type == "error"]
    if errors:
        i, out = errors[0]
        lab.cell(i).scroll_into_view_if_needed()
        lab.shot(f"error-cell-{i}", lab.cell(i))
    assert not errors, (
        f"{path}: {len(errors)} cell(s) raised in the browser; first, cell {errors[0][0]}: "
        f"{errors[0][1].ename}: {errors[0][1].evalue}\n{_first_lines(errors[0][1].traceback)}")
    assert not result["not_run"], f"{path}: cells {result['not_run']} never ran"
    page_errors = lab.notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                                       has_text="Traceback")
    assert page_errors.count() == 0, f"{path}: the page shows a traceback: {page_errors.first.inner_text()[:800]}"

    # 2. every widget output is a live widget: output k of the saved cell is output k on the page
    expected = {i: [k for k, out in enumerate(cell.get("outputs", [])) if WIDGET_MIME in out.get("data", {})]
                for i, cell in enumerate(saved.cells) if cell.cell_type == "code"}
    expected = {i: ks for i, ks in expected.items() if ks}
    for i, ks in expected.items():
        cell = lab.cell(i)
        cell.scroll_into_view_if_needed()
        shown = cell.evaluate(OUTPUTS_JS)
        assert len(shown) == len(saved.cells[i].outputs), (
            f"{path}, cell {i}: {len(saved.cells[i].outputs)} outputs saved, {len(shown)} on the page")
        for k in ks:
            out = shown[k]
            assert "Error displaying widget" not in out["text"], f"{path}, cell {i}: {out['text'][:300]}"
            # a progress bar that closed itself (tqdm leave=False) leaves an empty output behind
            assert out["widget"] or not out["text"].strip(), (
                f"{path}, cell {i}, output {k}: a widget is shown as {out['mime']!r}, not drawn by the "
                f"widget manager (is @jupyter-widgets/jupyterlab-manager enabled?): {out['text'][:300]!r}")
        lab.shot(f"widget-cell-{i}", cell)
    print(f"{chapter}: {sum(map(len, expected.values()))} widget(s) in cells {sorted(expected)}")
