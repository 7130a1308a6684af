"""nbgrader's own commands run by hand on the course do not silently break the build.

`nbgrader generate_assignment` run in a copy of the book, with the book's nbgrader_config.py,
writes exactly what `make build` writes (the banner cell is an nbgrader preprocessor,
autograde.book.build.BuildBanner); and when a learner notebook was written some other way,
`nnbook-build --check` says what differs and how to restore it.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograde import paths
from autograde.book import build

pytestmark = pytest.mark.slow
REPO = paths.course_root()
CH = "01_neuron"


@pytest.fixture
def book(tmp_path):
    for name in ("solutions", "chapters", "chapters-ko", "nnbook"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    (tmp_path / "autograde").mkdir()
    shutil.copy(REPO / "autograde" / "nbgrader_config.py", tmp_path / "autograde" / "nbgrader_config.py")
    shutil.copy(REPO / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    return tmp_path


def test_hand_run_generate_assignment_writes_what_the_build_writes(book):
    committed = (book / "chapters" / CH / f"{CH}.ipynb").read_bytes()
    (book / "chapters" / CH / f"{CH}.ipynb").unlink()
    r = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "generate_assignment", CH, "--force"],
                       cwd=book, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    fresh = book / "chapters" / CH / f"{CH}.ipynb"
    assert fresh.read_bytes() == committed
    assert nbformat.read(fresh, as_version=4).cells[0].id == build.BANNER_ID
    assert build.check(build.find_chapters([CH], book), book) == []


def test_check_says_what_changed_and_how_to_restore(book, capsys):
    path = book / "chapters" / CH / f"{CH}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells = nb.cells[1:]                                    # what nbgrader without our config writes
    gid_cell = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "weighted_sum")
    nb.cells[gid_cell].source += "\n# my local edit"
    nbformat.write(nb, path)
    assert build.main(["--check", CH], repo=book) == 1
    err = capsys.readouterr().err
    assert f"chapters/{CH}/{CH}.ipynb: out of date" in err
    assert "banner" in err and "nbgrader generate_assignment" in err
    assert "(weighted_sum): source" in err
    assert "make build" in err and f"git checkout -- chapters/{CH}/{CH}.ipynb" in err
    # and `make build` does restore it
    assert build.main([CH], repo=book) == 0
    assert path.read_bytes() == (REPO / "chapters" / CH / f"{CH}.ipynb").read_bytes()
