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


def feedback_template_config():
    c = Config()
    c.HTMLExporter.template_name = "feedback"
    formgrader = os.path.join(nbgrader.__path__[0], "server_extensions", "formgrader")   # as GenerateFeedback sets it
    c.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    c.HTMLExporter.extra_template_paths = [os.path.join(formgrader, "static", "node_modules", "bootstrap", "dist", "css")]
    return c


def page(exporter_class, nb):
    c = feedback_template_config()
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


def _same_dom(ours, stock):
    return str(BeautifulSoup(ours, "html.parser")) == str(BeautifulSoup(stock, "html.parser"))


def test_one_exporter_many_learners_each_page_its_own():
    """One exporter renders a worker's whole chunk, with the book's repeated cells rendered once: each
    learner's page must still be exactly what a fresh HTMLExporter makes of that learner's notebook --
    a cell's own attachment, a changed character, another lexer or magics language included."""
    c = feedback_template_config()
    shared = FeedbackExporter(config=c)
    book_md, book_code = "## 1.2 A section\n\nThe sum $z = w x + b$ and `code`.", "import numpy as np\nx = 1"

    def learner(k):
        md = nbformat.v4.new_markdown_cell("![fig](attachment:a.png)" if k == 1 else book_md)
        if k == 1:
            md.attachments = {"a.png": {"image/png": PNG}}
        code = nbformat.v4.new_code_cell(book_code + ("  # mine" if k == 2 else ""))
        if k == 3:
            code.metadata["magics_language"] = "bash"
        lang = {"name": "python", "pygments_lexer": "ipython3" if k != 4 else "python"}
        cells = [md, nbformat.v4.new_markdown_cell(book_md), code, nbformat.v4.new_code_cell(book_code)]
        for i, cell in enumerate(cells):
            cell.id = f"cell-{i}"
        return nbformat.v4.new_notebook(cells=cells, metadata={"language_info": lang})

    resources = {"nbgrader": {"score": 1.0, "max_score": 2.0, "late_penalty": 0.0, "notebook": "01_neuron"}}
    pages = []
    for k in (0, 1, 2, 3, 4, 0):
        nb = learner(k)
        ours = shared.from_notebook_node(nb, {"nbgrader": dict(resources["nbgrader"])})[0]
        stock = HTMLExporter(config=c).from_notebook_node(nb, {"nbgrader": dict(resources["nbgrader"])})[0]
        assert _same_dom(ours, stock), f"learner {k}: the page differs from HTMLExporter's"
        pages.append(ours)
    assert pages[0] == pages[5]                       # the same notebook again: the same page
    assert "attachment:a.png" not in pages[1] and PNG[:20] in pages[1]    # the attachment is embedded
    assert "mine" in pages[2] and "mine" not in pages[0]
    assert len({*pages[:5]}) == 5                     # every variation shows on its own page
