"""The learner's progress view (issue 12), in a real browser: the widget of ``nnbook.mine.progress`` (the
cell of chapter 08's §8.10) builds the learner's library from their saved chapter notebooks and shows, per
chapter and exercise, passed / failing (with the first message) / not started, and whose each function is;
its button rebuilds it after the learner fixed an exercise and saved.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_mylib import solved  # noqa: E402

pytestmark = pytest.mark.browser

WRONG_RELU = '#| export\ndef relu(z):\n    """ReLU.\n    """\n    return np.abs(z)'


def _progress_notebook() -> nbformat.NotebookNode:
    """The progress cell of chapter 08's learner notebook, asked for every chapter (not just 08), alone in a
    notebook with chapter 08's metadata (its kernel)."""
    from notebooks import learner_path, read
    ch08 = read(learner_path("08_minibatch"))
    source = next(c.source for c in ch08.cells if "progress(" in c.source)
    nb = nbformat.v4.new_notebook(metadata=ch08.metadata)
    nb.cells = [nbformat.v4.new_code_cell(re.sub(r'progress\("08_minibatch"\)', "progress()", source))]
    return nb


def test_progress_widget_shows_a_half_done_learner_and_rebuilds(lab, lab_server):
    folder = lab_server.site / "learner-progress"
    (folder / "chapters" / "01_neuron").mkdir(parents=True)
    (folder / "chapters" / "02_activations").mkdir(parents=True)
    nbformat.write(solved("01_neuron", solve={"weighted_sum", "bias_for_threshold", "perceptron"}),
                   folder / "chapters" / "01_neuron" / "01_neuron.ipynb")
    ch02 = folder / "chapters" / "02_activations" / "02_activations.ipynb"
    nbformat.write(solved("02_activations", replace={"relu": WRONG_RELU}), ch02)
    nbformat.write(_progress_notebook(), folder / "progress.ipynb")

    lab.open("learner-progress/progress.ipynb")
    lab.run_cell(0, timeout=300)
    view = lab.cell(0).locator(".nnbook-progress-view")
    expect(view.locator("table.nnbook-progress")).to_be_visible(timeout=300_000)
    lab.shot("progress-view", view)
    text = view.inner_text()
    assert "01_neuron (nnbook.neuron)" in text and "02_activations (nnbook.activations)" in text, text
    passed = view.locator("tr.nnbook-passed")
    failing = view.locator("tr.nnbook-failing")
    todo = view.locator("tr.nnbook-not-started")
    assert passed.count() == 3 + 8 and failing.count() == 1 and todo.count() == 5, text
    relu = failing.first.inner_text()
    assert "relu" in relu and "the book's" in relu and "AssertionError: relu(" in relu, relu
    assert "yours" in passed.first.inner_text()

    # the learner fixes relu and saves; the button rebuilds the library
    nbformat.write(solved("02_activations"), ch02)
    time.sleep(0.05)
    view.get_by_role("button", name=re.compile("Refresh my library")).click()
    expect(view.locator("tr.nnbook-failing")).to_have_count(0, timeout=300_000)
    expect(view.locator("tr.nnbook-passed")).to_have_count(3 + 9, timeout=60_000)
    assert (folder / "mynnbook" / "activations.py").read_text().count("def relu(") == 1
    lab.shot("progress-view-rebuilt", view)
