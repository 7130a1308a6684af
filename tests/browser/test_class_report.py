"""The class report (autograde.report) in a real browser: images load, tables read right, nothing runs."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from test_report import EVIL, make_class  # noqa: E402

from autograde import report  # noqa: E402

pytestmark = pytest.mark.browser


def test_class_report_in_chromium(chromium, tmp_path):
    c = make_class(tmp_path)
    state = {"refused": {"link-folder": "the learner folder 'link-folder' is a symbolic link"},
             "notes": [f"zip entry '../x' points outside the upload {EVIL}"], "learners": {}}
    path = report.write(tmp_path, [c], state)
    page = chromium.new_page()
    dialogs, errors = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert len(widths) == 1 + len(c.results[next(iter(c.results))].cells) and all(w > 0 for w in widths), widths
        row = page.locator("tr.exercise[data-grade-id='test_weighted_sum']")
        text = row.inner_text()
        assert "3 / 5" in text and "60 %" in text
        assert "weighted_sum: expected 1.25, got 0.25" in text        # the example message of the group
        counts = row.locator("table.failures td.num").all_inner_texts()
        assert counts == ["2"]
        assert page.locator("tr.exercise[data-grade-id='test_perceptron']").inner_text().count("100 %") == 1
        not_graded = page.locator("table.not-graded").inner_text()
        assert "zed" in not_graded and "link-folder" in not_graded
        # the hostile name and message are shown as text, and nothing ran
        assert EVIL in page.locator("body").inner_text()
        assert dialogs == [] and errors == []
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        # look at the picture: the first exercise's histogram has its green bars on screen
        shot = tmp_path / "histogram.png"
        row.locator("img.hist").screenshot(path=str(shot))
        import matplotlib.image
        px = matplotlib.image.imread(shot)[..., :3]
        green = (px[..., 1] > px[..., 0] + 0.15) & (px[..., 1] > px[..., 2] + 0.05)
        assert green.mean() > 0.02, f"no histogram bars visible in {shot}"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        assert (tmp_path / "report.png").stat().st_size > 10_000
    finally:
        page.close()
