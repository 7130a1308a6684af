"""nnbook.live.interact: live sliders for a person, one still figure when nbgrader runs the notebook;
and the per-worker caches of learner markdown keep no huge cell."""
import ipywidgets

from autograde.feedback import safe_markdown
from autograde.inert import clean_markdown
from nnbook import live


def test_under_nbgrader_the_function_runs_once_with_the_starting_values(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    calls = []
    out = live.interact(lambda a, b, c: calls.append((a, b, c)),
                        a=ipywidgets.FloatSlider(value=0.25, min=0, max=1), b=(1, 9, 2), c="text")
    assert calls == [(0.25, 5, "text")]
    assert callable(out)


def test_in_a_live_notebook_it_is_ipywidgets_interact(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    seen = {}
    monkeypatch.setattr(ipywidgets, "interact", lambda f, **kw: seen.update(f=f, kw=kw) or "widget")
    slider = ipywidgets.IntSlider(value=3)
    f = lambda n: n  # noqa: E731
    assert live.interact(f, n=slider) == "widget"
    assert seen == {"f": f, "kw": {"n": slider}}


def test_caches_keep_short_cells_only():
    for fn in (safe_markdown, clean_markdown):
        before = fn.cache_info().currsize
        short = f"a short cell {fn.__name__} $x$"
        assert fn(short) == fn(short)
        assert fn.cache_info().currsize == before + 1
        huge = "$x$ <b>ok</b> " * 5000                       # 70,000 characters: worked on, never kept
        assert fn(huge) == fn(huge)
        assert fn.cache_info().currsize == before + 1
