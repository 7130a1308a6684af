import os
import sys
from pathlib import Path

# nbgrader shells out to `alembic`, which lives next to this interpreter.
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")

# The book's own tests use the book's modules: a learner's library (mynnbook/, `nnbook-mine`) that happens to
# lie in the checkout must not change what they import. tests/test_mylib.py turns it on where it tests it.
os.environ["NNBOOK_LIBRARY"] = "book"


# The longest test files first. `make test` runs `pytest -n 2 --dist loadfile`: xdist hands whole files to
# the two workers in collection order, so a long file collected last leaves one worker busy and the other
# idle at the end of the run (the tail of a 23-minute run was 6 minutes of one worker). The longest files as
# their times were seen in the runs of 2026-12-03, longest first; every other file keeps its place after them.
LONGEST_FIRST = [
    "test_dask.py", "test_ch07_grading.py", "test_ch08_grading.py", "test_class_hub.py", "test_ch02_grading.py",
    "test_ch04_grading.py", "test_ch03_grading.py", "test_ch06_grading.py", "test_ch05_grading.py",
    "test_ch01_grading.py", "test_translations.py", "test_postgres.py", "test_watch.py", "test_mylib.py",
    "test_sandbox_hardening.py", "test_autograde.py", "test_build.py",
]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))      # stable: the rest keep their order
