"""The learner's own library (issue 12): ``nnbook-mine`` builds ``mynnbook/`` from a learner's chapter
notebooks through the book's export code, later chapters use it function by function with a notice where
they fall back to the book's, and the capstone trains the learner's own network with the learner's own loop.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograde import cells
from autograde.book.export import BuildError, export_cells
from notebooks import REPO, learner_path, read, solution_path

SOLUTION_MARK = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")
ENV = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
WRONG_AFFINE = None      # chapter 07's own typical mistake, from its tests of the tests (below)


def solved(chapter: str, solve=None, replace: dict | None = None) -> nbformat.NotebookNode:
    """The learner notebook of ``chapter`` with the exercises in ``solve`` (all when None) filled in with the
    solution's code, as a learner would type it (no markers), and ``replace``'s cells given other code."""
    nb = read(learner_path(chapter))
    answers = {cells.grade_id(c): c.source for c in read(solution_path(chapter)).cells if cells.is_exercise(c)}
    for cell in nb.cells:
        gid = cells.grade_id(cell)
        if not cells.is_exercise(cell):
            continue
        if replace and gid in replace:
            cell.source = replace[gid]
        elif solve is None or gid in solve:
            cell.source = "\n".join(l for l in answers[gid].splitlines() if not SOLUTION_MARK.match(l))
    return nb


def learner_folder(root: Path, notebooks: dict) -> Path:
    """A learner's checkout-like folder: ``root/chapters/<chapter>/<chapter>.ipynb`` for each notebook."""
    for chapter, nb in notebooks.items():
        (root / "chapters" / chapter).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, root / "chapters" / chapter / f"{chapter}.ipynb")
    return root


def mine(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **ENV}
    env.pop("NNBOOK_LIBRARY", None)
    return subprocess.run([sys.executable, "-m", "autograde.mylib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


def in_kernel_like(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh Python in ``cwd`` as a chapter's cells would (the library turned on)."""
    env = {**os.environ, **ENV}
    env.pop("NNBOOK_LIBRARY", None)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def wrong_affine_backward() -> str:
    """Chapter 07's Affine cell with the typical mistake of its MUTANTS table (the bias gradient averaged)."""
    source = next(c.source for c in read(solution_path("07_backprop")).cells if cells.grade_id(c) == "Affine")
    source = "\n".join(l for l in source.splitlines() if not SOLUTION_MARK.match(l))
    assert "self.db = dout.sum(axis=0)" in source, source
    return source.replace("self.db = dout.sum(axis=0)", "self.db = dout.mean(axis=0)")


# ---------------------------------------------------------------------------------------------- half done
@pytest.fixture(scope="module")
def half_done(tmp_path_factory):
    """Chapter 01 done, chapter 02 with a wrong relu and one exercise not started, chapter 03 half done."""
    root = learner_folder(tmp_path_factory.mktemp("half"), {
        "01_neuron": solved("01_neuron"),
        "02_activations": solved("02_activations", replace={
            "relu": '#| export\ndef relu(z):\n    """ReLU.\n    """\n    return np.abs(z)',
            "leaky_relu_grad": read(learner_path("02_activations")).cells[
                [cells.grade_id(c) for c in read(learner_path("02_activations")).cells].index("leaky_relu_grad")].source}),
        "03_forward": solved("03_forward", solve={"init_params", "dense", "forward"}),
    })
    r = mine(cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    return root, r.stdout


def test_progress_view_of_a_half_done_learner(half_done):
    root, out = half_done
    print(out)                                     # the view itself, for the record (pytest -s)
    lines = out.splitlines()
    assert lines[0].startswith(f"Your library: {root / 'mynnbook'}")
    assert "01_neuron (nnbook.neuron): 8 passed" in out
    assert "02_activations (nnbook.activations): 7 passed, 1 failing, 1 not started" in out
    assert "03_forward (nnbook.forward): 3 passed, 3 not started" in out
    relu = next(l for l in lines if l.strip().startswith("✗ relu"))
    assert "the book's" in relu and "AssertionError: relu(" in relu          # failing, with its first message
    assert re.search(r"· leaky_relu_grad\s+not started\s+leaky_relu_grad: the book's", out)
    assert re.search(r"✓ sigmoid\s+passed\s+sigmoid: yours", out)
    # the same view again, without building
    again = mine("--no-build", cwd=root)
    assert again.returncode == 0 and again.stdout.strip() == out.strip()


def test_library_holds_only_passing_definitions(half_done):
    root, _ = half_done
    lib = root / "mynnbook"
    status = json.loads((lib / "status.json").read_text())
    acts = status["modules"]["activations"]
    assert "relu" not in acts["yours"] and "sigmoid" in acts["yours"]
    assert acts["book"]["relu"] == "using the book's `relu`: yours fails `test_relu`, see 02 §2.6"
    assert acts["book"]["leaky_relu_grad"].startswith("using the book's `leaky_relu_grad`: yours is not written yet")
    text = (lib / "activations.py").read_text()
    assert "def sigmoid(" in text and "def relu(" not in text and "NotImplementedError" not in text
    assert text.startswith("# AUTOGENERATED from 02_activations/02_activations.ipynb by `nnbook-mine`")
    # each chapter folder carries a copy (a hand-in takes the library it was run with)
    assert (root / "chapters" / "03_forward" / "mynnbook" / "activations.py").read_text() == text


def test_later_chapter_uses_yours_and_falls_back_with_a_notice(half_done):
    root, _ = half_done
    out = in_kernel_like("""
        from nnbook.mine import use_my_library
        use_my_library()
        from nnbook.activations import relu, sigmoid
        import inspect
        print("relu from", inspect.getsourcefile(relu))
        print("sigmoid from", inspect.getsourcefile(sigmoid))
        from nnbook.activations import relu                 # the notice comes once
        from nnbook.forward import forward
        import numpy as np
        print(forward(np.ones((2, 3)), [(np.ones((3, 4)), np.zeros(4)), (np.ones((4, 2)), np.zeros(2))]).shape)
    """, root / "chapters" / "03_forward")
    assert out.count("using the book's `relu`: yours fails `test_relu`, see 02 §2.6") == 1, out
    assert re.search(r"relu from .*/nnbook/activations\.py", out), out
    assert re.search(r"sigmoid from .*/mynnbook/activations\.py", out), out
    assert "(2, 2)" in out
    # NNBOOK_LIBRARY=book: the book's modules, no notice
    env_out = subprocess.run([sys.executable, "-c", "from nnbook.mine import use_my_library; use_my_library();"
                              "from nnbook.activations import sigmoid; import inspect; print(inspect.getsourcefile(sigmoid))"],
                             cwd=root / "chapters" / "03_forward", env={**os.environ, "NNBOOK_LIBRARY": "book"},
                             capture_output=True, text=True, timeout=120).stdout
    assert "mynnbook" not in env_out and "none built yet" in env_out


def test_running_a_chapter_rebuilds_what_changed(half_done, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(half_done[0], root)
    # the learner fixes relu and saves chapter 02; chapter 03's first cell rebuilds chapter 02 only
    nb = read(root / "chapters" / "02_activations" / "02_activations.ipynb")
    fixed = solved("02_activations", replace={c: s for c, s in {
        "leaky_relu_grad": next(x.source for x in nb.cells if cells.grade_id(x) == "leaky_relu_grad")}.items()})
    nbformat.write(fixed, root / "chapters" / "02_activations" / "02_activations.ipynb")
    out = in_kernel_like("""
        from nnbook.mine import use_my_library
        use_my_library()
        from nnbook.activations import relu
        import inspect; print("relu from", inspect.getsourcefile(relu))
    """, root / "chapters" / "03_forward")
    assert "Rebuilding your library from your saved 02_activations ..." in out, out
    assert re.search(r"relu from .*/mynnbook/activations\.py", out), out
    assert "using the book's `relu`" not in out


def test_library_refuses_what_the_book_export_refuses(tmp_path):
    # a relu that passes its test but carries a TODO, a leaky_relu whose passing code mentions NotImplementedError
    todo = '#| export\ndef relu(z):\n    """ReLU.\n    """\n    return np.maximum(z, 0)   # TODO: float32?'
    stub = ('#| export\ndef leaky_relu(z, alpha=0.01):\n    """Leaky ReLU.\n    """\n'
            '    if alpha is None:\n        raise NotImplementedError\n    return np.where(z > 0, z, alpha * z)')
    nb = solved("02_activations", replace={"relu": todo, "leaky_relu": stub})
    root = learner_folder(tmp_path, {"02_activations": nb})
    r = mine(cwd=root)
    assert r.returncode == 0, r.stderr[-3000:]
    status = json.loads((root / "mynnbook" / "status.json").read_text())
    relu = next(e for e in status["chapters"]["02_activations"]["exercises"] if e["id"] == "relu")
    assert relu["status"] == "passed" and not relu["exported"] and "refusing to export a TODO" in relu["refused"]
    leaky = next(e for e in status["chapters"]["02_activations"]["exercises"] if e["id"] == "leaky_relu")
    assert leaky["status"] == "not started"          # the stub's marker: not the learner's yet
    text = (root / "mynnbook" / "activations.py").read_text()
    assert "def relu(" not in text and "def leaky_relu(" not in text and "TODO" not in text
    assert "using the book's `relu`: yours passes `test_relu` but is not exported" in status["modules"]["activations"]["book"]["relu"]
    # the book's export refuses the same cell (one code path): it stops the build instead
    book = read(solution_path("02_activations"))
    for cell in book.cells:
        if cells.grade_id(cell) == "relu":
            cell.source = todo
    with pytest.raises(BuildError, match="refusing to export a TODO"):
        export_cells(book, "solutions/02_activations/02_activations.ipynb", "02_activations")
    assert "refusing to export a TODO" in relu["refused"]


def test_nothing_built_for_the_books_own_solutions():
    # nnbook-mine in the checkout's solutions/ (instructor notebooks) finds no learner's chapters
    r = mine(cwd=REPO / "solutions" / "08_minibatch")
    assert r.returncode == 2 and "no chapter notebooks" in r.stderr
    assert not (REPO / "solutions" / "mynnbook").exists()


# ---------------------------------------------------------------------------------------------- capstone
@pytest.fixture(scope="module")
def capstone_learners(tmp_path_factory):
    """Two learners with chapters 02-04, 07 and 08 solved (what chapter 08 imports from): one all right,
    one whose Affine.backward averages the bias gradient; each with the library `nnbook-mine` built (for
    the second, by running it again on chapter 07 only after the mistake, as a learner would)."""
    notebooks = {ch: solved(ch) for ch in ("02_activations", "03_forward", "04_losses", "07_backprop", "08_minibatch")}
    right = learner_folder(tmp_path_factory.mktemp("right"), notebooks)
    r = mine(cwd=right)
    assert r.returncode == 0, r.stderr[-3000:]
    wrong = tmp_path_factory.mktemp("wrong") / "learner"
    shutil.copytree(right, wrong)
    nbformat.write(solved("07_backprop", replace={"Affine": wrong_affine_backward()}),
                   wrong / "chapters" / "07_backprop" / "07_backprop.ipynb")
    w = mine("07_backprop", cwd=wrong)
    assert w.returncode == 0, w.stderr[-3000:]
    return {"right": (right, r.stdout), "wrong_affine": (wrong, w.stdout)}


CAPSTONE = """
    import inspect, time
    import numpy as np
    from nnbook.mine import use_my_library
    use_my_library()
    import nnbook.backprop, nnbook.forward, nnbook.losses, nnbook.minibatch
    from nnbook.minibatch import CapstoneNet, capstone_config, split_train_test, train, evaluate
    from nnbook.data import load_digits
    for module in (nnbook.backprop, nnbook.forward, nnbook.losses, nnbook.minibatch):
        print(module.__name__, "book's:", sorted(getattr(module, "__nnbook_fallbacks__", {"?": 1})))
    from nnbook.backprop import Affine, ReLU, Branch, SoftmaxWithLoss
    for f in (Affine, ReLU, Branch, SoftmaxWithLoss, CapstoneNet, train, nnbook.minibatch.iterate_minibatches,
              nnbook.forward.init_params, nnbook.losses.cross_entropy_from_logits):
        code = getattr(f, "backward", None) or getattr(f, "gradient", None) or f     # a class: one of its methods
        print("source", f.__name__, inspect.getsourcefile(code))
    X, y = load_digits()
    config = capstone_config()
    rng = np.random.default_rng(2026)
    X_dev, y_dev, X_test, y_test = split_train_test(X, y, 0.2, rng)
    X_train, y_train, X_val, y_val = split_train_test(X_dev, y_dev, 0.1, rng)
    net = CapstoneNet([64, *config["hidden_sizes"], 10], rng)
    start = time.perf_counter()
    history = train(net, X_train, y_train, config["lr"], config["num_epochs"], config["batch_size"], rng, X_val, y_val)
    seconds = time.perf_counter() - start
    print(f"capstone: validation {history['val_accuracy'][-1]:.4f}, test {evaluate(net, X_test, y_test)[1]:.4f}, "
          f"{config['num_epochs']} epochs in {seconds:.2f} s")
"""


def test_capstone_reaches_97_percent_through_the_learners_own_library(capstone_learners):
    root, _ = capstone_learners["right"]
    out = in_kernel_like(CAPSTONE, root / "chapters" / "08_minibatch")
    print(out)
    for module in ("backprop", "forward", "losses", "minibatch"):
        assert f"nnbook.{module} book's: []" in out, out       # every exercise of these modules is the learner's
    sources = dict(re.findall(r"source (\w+) (\S+)", out))
    assert len(sources) == 9 and all("/mynnbook/" in s for s in sources.values()), sources
    m = re.search(r"capstone: validation ([0-9.]+), test ([0-9.]+), (\d+) epochs in ([0-9.]+) s", out)
    assert m and float(m[2]) >= 0.97, out
    assert "using the book's" not in out


def test_wrong_affine_backward_falls_back_with_a_notice(capstone_learners):
    root, view = capstone_learners["wrong_affine"]
    assert re.search(r"✗ Affine\s+failing\s+Affine: the book's  -- AssertionError", view), view
    out = in_kernel_like(CAPSTONE, root / "chapters" / "08_minibatch")
    assert "using the book's `Affine`: yours fails `test_Affine`, see 07 §7.5" in out, out
    sources = dict(re.findall(r"source (\w+) (\S+)", out))
    assert "/mynnbook/" not in sources["Affine"] and "/mynnbook/" in sources["ReLU"], sources
    assert float(re.search(r"test ([0-9.]+)", out)[1]) >= 0.97


def _grade_with_library(chapter: str, learners: dict, workdir: Path) -> dict:
    """Grade each learner's chapter as handed in: the chapter folder with the library copy it carries."""
    from autograde.course import write_submission
    from autograde.grader.driver import grade_chapter
    raw = workdir / "raw"
    for student, root in learners.items():
        folder = root / "chapters" / chapter
        write_submission(raw, chapter, student, folder / f"{chapter}.ipynb")
        shutil.copytree(folder / "mynnbook", raw / student / chapter / "mynnbook")
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:
        result = grade_chapter(chapter, raw, workdir, learners=list(learners), progress=False, feedback=False)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert not result.grader_errors, result.grader_errors
    return result.results


def test_grading_runs_the_learners_pipeline_and_a_wrong_affine_costs_only_chapter_07(capstone_learners, tmp_path):
    roots = {name: root for name, (root, _) in capstone_learners.items()}
    ch08 = _grade_with_library("08_minibatch", roots, tmp_path / "g08")
    for name in roots:
        lost = {g: c.errors for g, c in ch08[name].cells.items() if c.score < c.max_score}
        assert ch08[name].total == 19, (name, lost)
    # in the sandbox, the chapter ran on the learner's library it was handed in with
    def first_outputs(student):
        nb = read(tmp_path / "g08" / "course" / "autograded" / student / "08_minibatch" / "08_minibatch.ipynb")
        return "".join(o.get("text", "") for c in nb.cells[:6] if c.cell_type == "code" for o in c.outputs)
    assert re.search(r"Your library \(\S+/mynnbook, built [^)]+\): \d+ of your functions are used, "
                     r"the book's for 0 other\(s\)", first_outputs("right")), first_outputs("right")
    wrong = first_outputs("wrong_affine")
    assert "the book's for 1 other(s)" in wrong and "using the book's `Affine`: yours fails `test_Affine`, see 07 §7.5" in wrong, wrong
    ch07 = _grade_with_library("07_backprop", roots, tmp_path / "g07")
    lost = {g for g, c in ch07["wrong_affine"].cells.items() if c.score < c.max_score}
    assert lost == {"test_Affine"}, lost
    assert not {g for g, c in ch07["right"].cells.items() if c.score < c.max_score}


def test_handed_in_library_is_copied_as_plain_module_files_only(tmp_path):
    # a submission's mynnbook/ is hostile data: only plain, small module files and status.json go along
    from autograde.grader.driver import _copy_library
    src = tmp_path / "mynnbook"
    (src / "sub").mkdir(parents=True)
    (src / "backprop.py").write_text("x = 1\n")
    (src / "status.json").write_text("{}")
    (src / "sub" / "deep.py").write_text("x = 2\n")
    (src / "Evil Name.py").write_text("x = 3\n")
    (src / "big.py").write_bytes(b"#" * 1_000_001)
    (tmp_path / "secret.txt").write_text("secret")
    (src / "link.py").symlink_to(tmp_path / "secret.txt")
    (src / "notes.txt").write_text("hi")
    (tmp_path / "out").mkdir()                              # the learner's submission folder (lay_out makes it)
    _copy_library(src, tmp_path / "out" / "mynnbook")
    assert sorted(p.name for p in (tmp_path / "out" / "mynnbook").iterdir()) == ["backprop.py", "status.json"]
    # a library folder that is itself a link is not followed
    (tmp_path / "linked").symlink_to(src, target_is_directory=True)
    (tmp_path / "out2").mkdir()
    _copy_library(tmp_path / "linked", tmp_path / "out2" / "mynnbook")
    assert not (tmp_path / "out2" / "mynnbook").exists()
