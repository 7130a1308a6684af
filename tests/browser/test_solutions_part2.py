"""The solution notebooks of the 2nd, 4th, 6th, ... chapter in solutions/, run in the browser.

The check is in solution_check.py; the other half of the chapters is in test_solutions_part1.py.
"""
import pytest

from solution_check import chapter_names, check_solution_runs_cleanly_with_live_widgets

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("chapter", chapter_names()[1::2])
def test_solution_runs_cleanly_with_live_widgets(lab, chapter):
    check_solution_runs_cleanly_with_live_widgets(lab, chapter)
