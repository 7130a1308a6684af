"""Where the book's files are: the one place that knows the repository's layout.

Every other module asks this one for ``solutions/``, ``chapters/``, ``nnbook/`` and the nbgrader
configuration. ``NNBOOK_ROOT`` (an environment variable) points at another checkout of the book.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("NNBOOK_ROOT") or Path(__file__).resolve().parent.parent).resolve()
SOLUTIONS = ROOT / "solutions"        # nbgrader's source: the instructor notebooks
CHAPTERS = ROOT / "chapters"          # nbgrader's release: the learner notebooks (generated)
LIBRARY = ROOT / "nnbook"             # the helper library (generated + nnbook/testing.py)
NBGRADER_CONFIG = ROOT / "autograde" / "nbgrader_config.py"


def source_notebook(chapter: str) -> Path:
    return SOLUTIONS / chapter / f"{chapter}.ipynb"


def release_notebook(chapter: str) -> Path:
    return CHAPTERS / chapter / f"{chapter}.ipynb"
