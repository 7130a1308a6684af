"""What a learner sees in `make start`'s JupyterLab, checked in a real browser on chapter 01.

1. The chapter renders: prose, typeset equations (MathJax) and matplotlib figures.
2. The decision-line widget is live: moving its sliders redraws the figure.
3. nbgrader's Validate button praises a correct answer and, for a wrong one, shows the test cell's
   teaching message (the same text nnbook.testing produces for that mistake).
"""
from __future__ import annotations

import re
import time

import nbformat
import numpy as np
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CHAPTER = "01_neuron"
LEARNER = f"chapters/{CHAPTER}/{CHAPTER}.ipynb"
SOLUTION = f"solutions/{CHAPTER}/{CHAPTER}.ipynb"

CORRECT = "#| export\ndef weighted_sum(x, w, b):\n    return float(np.dot(w, x) + b)\n"
FORGOT_BIAS = "#| export\ndef weighted_sum(x, w, b):\n    return float(np.dot(w, x))\n"

# Rendered markdown, minus code and typeset maths: what is left must hold no raw TeX.
RAW_TEX_JS = """el => { const c = el.cloneNode(true);
  c.querySelectorAll('code, pre, mjx-container, mjx-assistive-mml').forEach(n => n.remove());
  return c.textContent; }"""


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ------------------------------------------------------------------------------------------------
# 0. the lab `make start` configures: learner tools on, instructor tools off, nothing to enable by hand
# ------------------------------------------------------------------------------------------------

def test_learner_lab_has_validate_assignment_list_and_widgets(lab, lab_server):
    # server side: the learner's nbgrader endpoints answer without an error
    listing = lab_server.api("assignments?course_id=nnbook")
    assert listing["success"], f"nbgrader's Assignment List fails: {listing['value']}"
    lab.open(lab_server.copy_notebook(LEARNER, "tools"))
    page = lab.page
    # the extensions are loaded in the page, none of the learner's disabled
    config = page.evaluate("() => JSON.parse(document.getElementById('jupyter-config-data').textContent)")
    loaded = {ext["name"] for ext in config.get("federated_extensions", [])}
    disabled = set(config.get("disabledExtensions") or [])
    for ext in ("@jupyter/nbgrader", "@jupyter-widgets/jupyterlab-manager"):
        assert ext in loaded, f"{ext} is not installed in the lab `make start` runs: {sorted(loaded)}"
    for plugin in ("@jupyter-widgets/jupyterlab-manager", "@jupyter/nbgrader",
                   "@jupyter/nbgrader:validate-assignment", "@jupyter/nbgrader:assignment-list"):
        assert plugin not in disabled, f"{plugin} is disabled in the learner's lab: {sorted(disabled)}"
    # the notebook toolbar has nbgrader's Validate button
    expect(page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_role(
        "button", name=re.compile("Validate"))).to_be_visible()
    # Nbgrader > Assignment List opens without an error; the instructor's Formgrader is not offered
    page.locator(".lm-MenuBar-item").filter(has_text=re.compile("^Nbgrader$")).click()
    items = [_squash(t) for t in page.locator(".lm-Menu:visible .lm-Menu-itemLabel").all_inner_texts()]
    lab.shot("nbgrader-menu")
    assert "Assignment List" in items, f"the Nbgrader menu has no Assignment List: {items}"
    assert "Formgrader" not in items, f"the learner's Nbgrader menu offers the instructor's Formgrader: {items}"
    page.locator(".lm-Menu:visible .lm-Menu-item").filter(has_text=re.compile("Assignment List")).click()
    panel = page.locator(".lm-Widget:not(.lm-mod-hidden) #assignment-list, .jp-MainAreaWidget:not(.lm-mod-hidden)"
                         ).filter(has_text="Released assignments").first
    expect(panel).to_be_visible(timeout=60_000)
    # a learner working alone has nothing released to fetch: an empty list, not an error
    expect(panel).to_contain_text("There are no assignments to fetch", timeout=60_000)
    text = _squash(panel.inner_text())
    lab.shot("assignment-list")
    for error in ("exchange directory does not exist", "Unwritable directory", "Traceback", "Error"):
        assert error not in text, f"the Assignment List shows an error: {text[:600]}"


# ------------------------------------------------------------------------------------------------
# 1. prose, equations, figures
# ------------------------------------------------------------------------------------------------

def test_chapter_renders_prose_equations_and_figures(lab, lab_server):
    lab.open(lab_server.copy_notebook(LEARNER, "render"))
    lab.shot("opened")
    markdown = [i for i, c in enumerate(lab.nb.cells) if c.cell_type == "markdown"]

    # prose: the title and every section heading are real headings, not "# ..." text
    title = next(line[2:].strip() for i in markdown for line in lab.nb.cells[i].source.splitlines()
                 if line.startswith("# "))
    expect(lab.notebook.locator(".jp-RenderedMarkdown h1").first).to_contain_text(title)
    sections = [line[3:].strip() for i in markdown for line in lab.nb.cells[i].source.splitlines()
                if line.startswith("## ")]
    assert len(sections) >= 3, f"chapter 01 should have several '## N.M' sections, found {sections}"
    rendered_h2 = _squash(" | ".join(lab.notebook.locator(".jp-RenderedMarkdown h2").all_inner_texts()))
    missing = [s for s in sections if _squash(s) not in rendered_h2]
    assert not missing, f"section headings not rendered as headings: {missing}; rendered: {rendered_h2}"
    bold = lab.notebook.locator(".jp-RenderedMarkdown strong")
    assert bold.count() > 0, "no **bold** prose rendered: Markdown cells do not seem to render"

    # equations: every Markdown cell with $...$ is typeset by MathJax, no raw TeX left, no TeX errors
    with_math = [i for i in markdown if "$" in lab.nb.cells[i].source]
    assert with_math, "chapter 01 has no equations to check"
    for i in with_math:
        rendered = lab.cell(i).locator(".jp-RenderedMarkdown").first
        rendered.scroll_into_view_if_needed()
        expect(rendered.locator("mjx-container").first).to_be_attached(timeout=30_000)
        leftover = _squash(rendered.evaluate(RAW_TEX_JS))
        raw = re.findall(r"\$|\\[A-Za-z]+", leftover)
        assert not raw, f"cell {i}: TeX was not typeset, raw {raw[:5]} in: {leftover[:300]}"
        assert rendered.locator("mjx-merror").count() == 0, f"cell {i}: MathJax reports a TeX error"
    display = lab.notebook.locator(".jp-RenderedMarkdown mjx-container[display='true']")
    assert display.count() >= 1, "no display equation ($$ ... $$) was typeset"
    display.first.scroll_into_view_if_needed()
    lab.shot("display-equation", lab.notebook.locator(".jp-Cell:has(mjx-container[display='true'])").first)

    # run everything, as a learner pressing Run > Run All Cells would
    result = lab.run_all(timeout=180)
    lab.shot("after-run-all")
    ran = result["ran"]
    assert ran, "Run All executed no cell"

    # figures: every cell that ran and draws with matplotlib shows a real PNG
    figure_cells = [i for i in ran if re.search(r"plt\.(subplots|figure|show)", lab.nb.cells[i].source)]
    assert figure_cells, f"no figure cell ran before the run stopped (ran: {ran})"
    for i in figure_cells:
        img = lab.cell(i).locator(".jp-OutputArea-output img").first
        expect(img).to_be_attached(timeout=30_000)
        img.scroll_into_view_if_needed()
        src = img.get_attribute("src") or ""
        assert src.startswith("data:image/png"), f"cell {i}: figure is not an inline PNG (src {src[:40]!r})"
        w, h = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
        assert w > 200 and h > 100, f"cell {i}: the figure is only {w}x{h} pixels"
        lab.shot(f"figure-cell-{i}", lab.cell(i))

    # an untouched learner notebook stops at the first exercise's test, with the stub's error
    if result["not_run"]:
        stop = max(ran)
        text = lab.output_text(stop)
        assert "NotImplementedError" in text, (
            f"Run All stopped at cell {stop}, but not on an unsolved exercise: {text[:500]}")


# ------------------------------------------------------------------------------------------------
# 2. the decision-line widget
# ------------------------------------------------------------------------------------------------

def test_decision_line_sliders_redraw_the_figure(lab, lab_server):
    lab.open(lab_server.copy_notebook(LEARNER, "widget"))
    page = lab.page
    widget_cell = lab.index_of(lambda c: c.cell_type == "code" and "interact(" in c.source
                               and "show_decision_line" in c.source)
    # the widget must work before any exercise is solved: run only the demo cells up to it
    for i in lab.code_indices():
        if i <= widget_cell and not lab.nb.cells[i].metadata.get("nbgrader"):
            lab.run_cell(i)
    out = lab.cell(widget_cell).locator(".jp-OutputArea").first
    out.scroll_into_view_if_needed()

    def slider(name):
        return out.locator(".widget-slider").filter(
            has=page.locator(".widget-label", has_text=re.compile(rf"^\s*{name}\s*$")))

    for name in ("w1", "w2", "b"):
        expect(slider(name)).to_have_count(1, timeout=30_000)
        expect(slider(name)).to_be_visible()
    img = out.locator("img")
    expect(img).to_have_count(1, timeout=30_000)
    first_src = img.first.get_attribute("src")
    lab.shot("widget-before", out)

    def readout(name):
        return slider(name).locator(".widget-readout").first.inner_text().strip()

    def redrawn_after(old_src, name, old_value):
        def changed():
            if readout(name) == old_value or img.count() != 1:
                return None
            src = img.first.get_attribute("src")
            return src if src and src != old_src else None
        return _wait_until(changed, 30, f"the figure to redraw after moving {name}")

    # drag the w1 handle to the right with the mouse, as a learner would
    w1_before = readout("w1")
    handle = slider("w1").locator(".noUi-handle").first
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    src_after_w1 = redrawn_after(first_src, "w1", w1_before)
    assert float(readout("w1")) > float(w1_before), f"dragging right should raise w1: {w1_before} -> {readout('w1')}"
    lab.wait_kernel_idle()
    src_after_w1 = img.first.get_attribute("src")
    lab.shot("widget-after-w1-drag", out)

    # shift the bias with the keyboard (focus the handle, arrow keys step by 0.1)
    b_before = readout("b")
    slider("b").locator(".noUi-handle").first.focus()
    for _ in range(10):
        page.keyboard.press("ArrowRight")
    redrawn_after(src_after_w1, "b", b_before)
    assert float(readout("b")) == pytest.approx(float(b_before) + 1.0, abs=1e-6), (
        f"ten steps of 0.1 should move b from {b_before} to {float(b_before) + 1:.2f}, got {readout('b')}")
    lab.wait_kernel_idle()
    expect(img).to_have_count(1)             # the old figure is replaced, not stacked
    lab.shot("widget-after-b-keys", out)


# ------------------------------------------------------------------------------------------------
# 3. nbgrader's Validate button
# ------------------------------------------------------------------------------------------------

def _strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if not re.match(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", line))


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _solved_except(learner, solution, keep: str):
    """The learner notebook with every exercise but ``keep`` answered with the book's solution."""
    answers = {_gid(c): _strip_solution_markers(c.source) for c in solution.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.from_dict(learner)
    for cell in nb.cells:
        gid = _gid(cell)
        if cell.metadata.get("nbgrader", {}).get("solution") and gid != keep:
            cell.source = answers[gid]
    return nb


def _teaching_message(nb, test_id: str, wrong_source: str) -> str:
    """Oracle: the AssertionError the test cell raises for the wrong answer, computed here in Python."""
    namespace = {"np": np}
    exec(wrong_source, namespace)
    test = next(c.source for c in nb.cells if _gid(c) == test_id)
    try:
        exec(test, namespace)
    except AssertionError as exc:
        return str(exc)
    raise AssertionError(f"{test_id} does not reject the wrong answer:\n{wrong_source}")


def _validate(lab):
    page = lab.page
    button = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_role(
        "button", name=re.compile("Validate"))
    expect(button).to_be_enabled()
    button.click()
    dialog = page.locator(".jp-Dialog-content")
    expect(dialog).to_be_visible(timeout=180_000)
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(re.compile("Validation"))
    return dialog


def _close(dialog):
    dialog.locator(".jp-Dialog-footer button").last.click()
    expect(dialog).to_be_hidden()


def test_validate_praises_a_right_answer_and_teaches_on_a_wrong_one(lab, lab_server):
    learner = nbformat.read(lab_server.site / LEARNER, as_version=4)
    solution = nbformat.read(lab_server.site / SOLUTION, as_version=4)
    # a learner who has solved every other exercise and now works on weighted_sum
    lab.open(lab_server.copy_notebook(LEARNER, "validate", _solved_except(learner, solution, "weighted_sum")))
    cell = lab.grade_id_index("weighted_sum")

    lab.set_source(cell, CORRECT)
    lab.shot("right-answer", lab.cell(cell))
    dialog = _validate(lab)
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
    lab.shot("validate-right-answer", dialog)
    _close(dialog)
    saved = nbformat.read(lab_server.site / lab.path, as_version=4)
    assert "np.dot(w, x) + b" in saved.cells[cell].source, "Validate did not save the learner's answer first"

    lab.set_source(cell, FORGOT_BIAS)
    lab.shot("wrong-answer", lab.cell(cell))
    dialog = _validate(lab)
    expect(dialog).to_contain_text("The following cell failed")
    shown = _squash(dialog.inner_text())
    lab.shot("validate-wrong-answer", dialog)
    expected = _teaching_message(learner, "test_weighted_sum", FORGOT_BIAS)
    # and once more scrolled to the teaching message at the end of the traceback
    dialog.evaluate("""(d, text) => {
        const walk = document.createTreeWalker(d, NodeFilter.SHOW_TEXT);
        let hit = null;
        while (walk.nextNode()) { if (walk.currentNode.textContent.includes(text)) hit = walk.currentNode; }
        if (!hit) return;
        const range = document.createRange();
        range.selectNodeContents(hit);
        for (let el = hit.parentElement; el && el !== d.parentElement; el = el.parentElement) {
            if (el.scrollHeight <= el.clientHeight) continue;
            const offset = range.getBoundingClientRect().top - el.getBoundingClientRect().top;
            el.scrollTop += offset - el.clientHeight / 2;
        } }""", expected.splitlines()[0][-24:])
    lab.shot("validate-wrong-answer-message", dialog)
    assert "Hint:" in expected, f"the test's message for a forgotten bias has no hint: {expected}"
    for line in expected.splitlines():
        assert _squash(line) in shown, (
            f"Validate should show the test's teaching message line {line!r}; the dialog says:\n{shown[:1500]}")
    assert "AssertionError" in shown and "Success!" not in shown, shown[:1500]
    _close(dialog)
