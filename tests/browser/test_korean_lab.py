"""The Korean edition in the lab: chapters-ko/ renders in Korean, JupyterLab speaks Korean (its language
pack, chosen as `make start EDITION=ko` chooses it), the figures' labels are Hangul drawn with a font that
has Hangul (no missing-glyph boxes), and a wrong answer is explained in Korean.

The edition reaches the kernel from the notebook itself (``metadata.nnbook.lang``, read through the
``JPY_SESSION_NAME`` Jupyter gives the kernel): this server has no ``NNBOOK_LANG``.
"""
from __future__ import annotations

import re
import shutil

import nbformat
from playwright.sync_api import expect

KO = "chapters-ko/01_neuron/01_neuron.ipynb"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

# Appended to a copy of the notebook, run after the first figure (cell-004, the neuron diagram):
# what the figure says and with which font, and the same title drawn with a font lacking Hangul.
PROBE = '''import warnings, matplotlib
def missing_glyphs(figure):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.canvas.draw()
    return sum("missing from font" in str(w.message) for w in caught)
print("font:", matplotlib.rcParams["font.sans-serif"][0])
print("title:", ax.get_title().replace("\\n", " "))
print("labels:", [t.get_text() for t in ax.texts if not t.get_text().startswith("$")])
print("missing with the book's font:", missing_glyphs(fig))
matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]
other, other_ax = plt.subplots()
other_ax.set_title(ax.get_title())
print("missing with DejaVu Sans:", missing_glyphs(other))
plt.close(other)'''

NO_BIAS = "def weighted_sum(x, w, b):\n    return float(np.dot(w, x))"


def test_korean_chapter_renders_in_korean_with_hangul_figures(lab, lab_server):
    settings = lab_server.home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "translation-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # the Korean lab's setting, as `make lab-config` writes it for `make start EDITION=ko`
    shutil.copy(lab_server.config / "user-settings-ko" / "@jupyterlab" / "translation-extension"
                / "plugin.jupyterlab-settings", settings / "plugin.jupyterlab-settings")
    try:
        nb = nbformat.read(lab_server.site / KO, as_version=4)
        figure = next(i for i, c in enumerate(nb.cells) if c.get("id") == "cell-004")
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.insert(figure + 1, probe)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "weighted_sum":
                cell.source = NO_BIAS
        lab.open(lab_server.copy_notebook(KO, "ko", nb))
        lab.shot("opened")

        # the lab's own menus come from the Korean language pack
        menubar = lab.page.locator("#jp-menu-panel, .jp-MenuBar").first
        expect(menubar).to_contain_text("파일", timeout=30_000)
        # the prose is Korean and renders: title, sections, equations typeset
        expect(lab.notebook.locator(".jp-RenderedMarkdown h1").first).to_contain_text("01 · 뉴런")
        h2 = " | ".join(lab.notebook.locator(".jp-RenderedMarkdown h2").all_inner_texts())
        assert "1.1 뇌세포에서 공식으로" in h2 and "1.2 입력, 가중치, 그리고 편향" in h2, h2
        expect(lab.notebook.locator(".jp-RenderedMarkdown mjx-container").first).to_be_attached(timeout=30_000)

        for i in range(figure + 2):                     # imports, the figure, the probe
            if nb.cells[i].cell_type == "code":
                lab.run_cell(i)
        img = lab.cell(figure).locator(".jp-OutputArea-output img").first
        expect(img).to_be_attached(timeout=30_000)
        img.scroll_into_view_if_needed()
        assert (img.get_attribute("src") or "").startswith("data:image/png")
        lab.shot("korean-figure", lab.cell(figure))
        figure_output = lab.cell(figure).locator(".jp-OutputArea").first.inner_text()
        assert "missing from font" not in figure_output and "Glyph" not in figure_output, figure_output

        report = lab.output_text(figure + 1)
        lab.shot("probe", lab.cell(figure + 1))
        assert "font: NanumGothic" in report, report
        title = re.search(r"title: (.*)", report)[1]
        assert title.startswith("§1.2의 뉴런: 초록 가중치는 흥분") and HANGUL.search(title), report
        assert "'편향 $b=-1.0$'" in report and "'출력'" in report, report
        assert "missing with the book's font: 0" in report, report
        # the check can fail: the same title in a font without Hangul is boxes, and matplotlib says so
        n_missing = int(re.search(r"missing with DejaVu Sans: (\d+)", report)[1])
        assert n_missing > 0, report

        # a wrong answer (no bias) is explained in Korean by its test cell
        test = next(i for i, c in enumerate(nb.cells)
                    if c.metadata.get("nbgrader", {}).get("grade_id") == "test_weighted_sum")
        lab.run_cell(test - 1)
        lab.run_cell(test)
        message = lab.output_text(test)
        lab.shot("korean-failure", lab.cell(test))
        assert "AssertionError" in message and "기대한 값은 1.0인데, 나온 값은 2.0입니다" in message, message
        assert "힌트: z = w·x + b: 같은 위치의 항목끼리 곱해 모두 더한 다음, 편향을 한 번 더하세요." in message, message
        # the traceback shows the test cell's failing line, not nnbook.testing's insides (__tracebackhide__)
        assert "skipping hidden" in message and "in check_close(" not in message, message
    finally:
        (settings / "plugin.jupyterlab-settings").unlink(missing_ok=True)
