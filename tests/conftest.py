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
