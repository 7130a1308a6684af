"""The feedback pages' exporter (autograde.feedback.FeedbackExporter) skips nbconvert's BeautifulSoup
pass and makes the same page: the same DOM as nbconvert's HTMLExporter with nbgrader's feedback
template, a default alt on every image that has none, and a learner's escaped '<img' left as text."""
import os

import nbgrader
import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from traitlets.config import Config

from autograde.feedback import FeedbackExporter

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


def page(exporter_class, nb):
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    formgrader = os.path.join(nbgrader.__path__[0], "server_extensions", "formgrader")   # as GenerateFeedback sets it
    c.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    c.HTMLExporter.extra_template_paths = [os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")]
    resources = {"nbgrader": {"score": 1.0, "max_score": 2.0, "late_penalty": 0.0, "notebook": "01_neuron"}}
    return exporter_class(config=c).from_notebook_node(nb, resources)[0]


def test_same_page_as_nbconvert():
    nb = nbformat.v4.new_notebook(metadata={"language_info": {"name": "python"}})
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\n![a figure](data:image/png;base64," + PNG + ")\n\n"
                                              "learner wrote &lt;img src=x onerror=alert(1)&gt;"),
                nbformat.v4.new_code_cell("print('<img>')", outputs=[
                    nbformat.v4.new_output("display_data", data={"image/png": PNG}),
                    nbformat.v4.new_output("stream", name="stdout", text="<img src=y>\n")])]
    ours, stock = page(FeedbackExporter, nb), page(HTMLExporter, nb)
    a, b = BeautifulSoup(ours, "html.parser"), BeautifulSoup(stock, "html.parser")
    assert str(a) == str(b)
    imgs = a.find_all("img")
    assert len(imgs) == 2 and imgs[0]["alt"] == "a figure"
    assert imgs[1]["alt"] == "No description has been provided for this image"
    assert "&lt;img src=y&gt;" in ours and "onerror" not in str([i.attrs for i in imgs])


def test_generate_feedback_uses_it():
    from autograde.grader.plugins import feedback_config
    assert feedback_config()["GenerateFeedback"]["exporter_class"] == "autograde.feedback.FeedbackExporter"
