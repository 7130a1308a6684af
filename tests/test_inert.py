"""autograde.inert: what a learner wrote cannot run in a page or a spreadsheet an instructor opens."""
import base64

import nbformat
import pytest
from nbconvert import HTMLExporter
from traitlets.config import Config

from autograde import inert

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
GIF = base64.b64encode(b"GIF89a" + b"\0" * 16).decode()


def sanitise(nb):
    nb, _ = inert.SanitizeLearnerContent().preprocess(nb, {})
    return nb


def html_of(nb) -> str:
    body, _ = HTMLExporter(config=Config({"HTMLExporter": {"template_name": "lab"}})).from_notebook_node(nb)
    return body


def learner_notebook():
    nb = nbformat.v4.new_notebook()
    md = nbformat.v4.new_markdown_cell(
        "# Title\n> a quote with a < b and **bold**\n"
        "<script>alert('S')</script>\n<img src=x onerror=alert('I')>\n"
        "[js](javascript:alert('L')) [ok](https://example.org) ![pic](attachment:p.png)\n"
        "[entity](jav&#x61;script:alert(1)) [tab](java\tscript:alert(1)) [ref][r]\n\n"
        "[r]: vbscript:msgbox(1)\n<javascript:alert(1)>\n"
        "<a href=\"JAVASCRIPT:alert('A')\" onclick=\"x()\">a</a> <iframe src=\"https://evil\"></iframe>\n"
        "<svg onload=alert(1)></svg> <style>body{display:none}</style> <!-- <script>c()</script> -->")
    md.attachments = {"p.png": {"image/png": PNG}, "evil.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"},
                      "fake.png": {"image/png": base64.b64encode(b"<script>").decode()},
                      "notb64.gif": {"image/gif": "%%%"}}
    md.metadata = {"tags": ["fine", "x\"><script>alert(1)</script>"], "jupyter": {"source_hidden": True},
                   "nbgrader": {"grade_id": "q1"}}
    raw = nbformat.v4.new_raw_cell("<script>alert('RAW')</script>")
    raw.metadata["raw_mimetype"] = "text/html"
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": "<script>alert('H')</script>",
                                                     "text/plain": "shown"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": "<svg onload=alert(1)/>"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('J')"}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": "<img src=x onerror=alert(1)>",
                                                       "image/png": PNG, "image/gif": "not base64!"},
                               metadata={"image/png": {"width": "1\" onerror=\"alert(1)"}}, execution_count=1),
        nbformat.v4.new_output("stream", name="stdout", text="<script>alert('T')</script>"),
        nbformat.v4.new_output("error", ename="E", evalue="<script>alert('E')</script>", traceback=["<b>tb</b>"]),
    ]
    nb.cells = [md, raw, code]
    return nb


def test_markdown_keeps_its_text_and_loses_its_script():
    cell = sanitise(learner_notebook()).cells[0]
    src = cell.source
    assert "# Title" in src and "> a quote" in src and "**bold**" in src
    assert "<script" not in src and "&lt;script" in src
    assert "onerror" not in src and "onclick" not in src and "<iframe" not in src and "<svg" not in src
    assert "<style" not in src and "<!--" not in src
    assert "javascript" not in src.lower() and "vbscript" not in src.lower() and "jav&#x61;" not in src
    assert "[ok](https://example.org)" in src and "![pic](attachment:p.png)" in src
    assert "[js](#" in src and "[r]: #" in src


def test_attachments_only_valid_images():
    cell = sanitise(learner_notebook()).cells[0]
    assert cell.attachments == {"p.png": {"image/png": PNG}}


def test_cell_metadata_is_cut_to_safe_keys():
    cell = sanitise(learner_notebook()).cells[0]
    assert cell.metadata == {"tags": ["fine"], "nbgrader": {"grade_id": "q1"}}


def test_raw_cells_and_outputs_are_inert():
    nb = sanitise(learner_notebook())
    raw, code = nb.cells[1], nb.cells[2]
    assert "raw_mimetype" not in raw.metadata and "<script" not in raw.source
    datas = [o.get("data") for o in code.outputs if "data" in o]
    assert datas[0] == {"text/plain": "shown"}
    assert datas[1] == {"text/plain": "[output of type image/svg+xml removed by the grader]"}
    assert datas[2] == {"text/plain": "[output of type application/javascript removed by the grader]"}
    assert datas[3] == {"image/png": PNG}                      # markdown and the broken gif dropped
    assert code.outputs[3].metadata == {}
    assert code.outputs[4].text == "<script>alert('T')</script>"     # stream text: nbconvert escapes it


def test_the_rendered_page_runs_nothing_the_learner_wrote():
    page = html_of(sanitise(learner_notebook()))
    for needle in ["alert('S')</script>", "onerror=", "onclick=", "javascript:", "vbscript:", "<iframe",
                   "<svg", "display:none}</style", "alert('RAW')</script>", "alert('H')", "alert('J')", "alert('T')</script>",
                   "alert('E')</script>", "<b>tb</b>"]:
        assert needle not in page, needle
    assert "a quote with a" in page and "shown" in page


def test_sanitising_twice_changes_nothing():
    once = sanitise(learner_notebook())
    twice = sanitise(nbformat.from_dict(once))
    assert once == twice


@pytest.mark.parametrize("url, safe", [
    ("https://a.org/x", True), ("http://a", True), ("mailto:me@a.org", True), ("attachment:p.png", True),
    ("relative/path.png", True), ("#anchor", True), ("javascript:alert(1)", False), ("JaVaScRiPt:x", False),
    ("java\nscript:x", False), (" javascript:x", False), ("&#106;avascript:x", False), ("data:text/html,x", False),
    ("vbscript:x", False), ("file:///etc/passwd", False), ("attachment:../x", False)])
def test_safe_url(url, safe):
    assert (inert.safe_url(url) == url) is safe


def test_valid_image_checks_base64_and_magic_bytes():
    assert inert.valid_image("image/png", PNG) and inert.valid_image("image/gif", GIF)
    assert inert.valid_image("image/png", [PNG[:10], PNG[10:]])
    assert not inert.valid_image("image/png", GIF)                     # a gif called png
    assert not inert.valid_image("image/png", PNG + "!")
    assert not inert.valid_image("image/svg+xml", base64.b64encode(b"<svg/>").decode())
    assert not inert.valid_image("image/jpeg", 42)


@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("alice", "alice"), ("12", "12"), ("", ""), (None, ""), ("a=b", "a=b")])
def test_csv_cell(value, expected):
    assert inert.csv_cell(value) == expected


@pytest.mark.parametrize("name", ["alice", "bob-2", "x.y_z", "A1"])
def test_plain_learner_names_are_used_as_given(name):
    got = inert.check_learner_name(name)
    assert got.ok and got.path == name and got.display == name and got.note is None


@pytest.mark.parametrize("name, reason", [
    ("=HYPERLINK(\"x\")", "starts with '='"), ("-rf", "starts with '-'"), ("..", "'..'"), (".hidden", "starts with '.'"),
    ("a b", "characters other than"), ("<script>", "characters other than"), ("", "empty"), ("x" * 65, "longer than 64"),
    ("José", "characters other than"), ("a\nb", "characters other than")])
def test_other_learner_names_get_a_safe_form_and_a_note(name, reason):
    got = inert.check_learner_name(name)
    assert not got.ok and reason in got.note and got.path in got.note
    assert inert.check_learner_name(got.path).ok            # the safe form is itself usable
    assert not got.display.startswith(inert.FORMULA_STARTS) and "\n" not in got.display


def test_safe_forms_of_different_names_differ():
    assert inert.check_learner_name("a b").path != inert.check_learner_name("a_b ").path
