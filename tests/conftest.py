import os
import sys
from pathlib import Path

# nbgrader shells out to `alembic`, which lives next to this interpreter.
_bin = str(Path(sys.executable).parent)
if _bin not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _bin + os.pathsep + os.environ.get("PATH", "")
