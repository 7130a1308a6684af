"""The capstone through a learner's own library: how long `nnbook-mine` takes and what chapter 08 does with it.

Makes a learner's folder in a temporary directory with every chapter solved (the learner notebooks with the
solution's code typed in), builds their library with `nnbook-mine`, then executes chapter 08's learner
notebook in its folder with nbclient (as Run All in the lab: the first cell uses the library) and prints
the capstone's validation and test accuracy, its training time, and the notebook's wall time. Not a test:
the numbers depend on the machine and its load (printed).

    OPENBLAS_NUM_THREADS=1 python bench/capstone_own_library.py
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from test_mylib import learner_folder, solved  # noqa: E402

CHAPTERS = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())


def main() -> int:
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="capstone-bench-") as tmp:
        root = learner_folder(Path(tmp), {ch: solved(ch) for ch in CHAPTERS})
        env = {k: v for k, v in os.environ.items() if k != "NNBOOK_LIBRARY"}
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "autograde.mylib"], cwd=root, env=env, capture_output=True, text=True)
        build = time.perf_counter() - start
        if r.returncode:
            print(r.stderr)
            return 1
        summary = [l for l in r.stdout.splitlines() if not l.startswith("  ")]
        print(f"nnbook-mine, {len(CHAPTERS)} chapters: {build:.1f} s")
        print("\n".join(summary))
        path = root / "chapters" / "08_minibatch" / "08_minibatch.ipynb"
        nb = nbformat.read(path, as_version=4)
        os.environ.pop("NNBOOK_LIBRARY", None)
        start = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        wall = time.perf_counter() - start
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
        print(next(l for l in text.splitlines() if l.startswith("Your library")))
        print("fallback notices:", [l for l in text.splitlines() if l.startswith("using the book's")] or "none")
        for pattern in (r"capstone validation accuracy: .*", r"\d+ epochs in [0-9.]+ s; final validation accuracy .*",
                        r"test loss .*"):
            m = re.search(pattern, text)
            print(m[0] if m else f"(no line matching {pattern!r})")
        print(f"chapter 08 executed through the learner's library in {wall:.1f} s (nbclient, kernel start included)")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
