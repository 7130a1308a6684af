"""A demo class for any chapter: honest, wrong, faulty and hostile submissions.

    python -m autograde.demo_class 01_neuron 100 out/demo

writes ``out/demo/submitted/<learner>/<chapter>/...`` plus ``out/demo/manifest.json``
saying, for every learner, what kind of submission it is and the score each
graded test cell must get (``null`` where only "less than full marks" is known,
as for wrong answers).

Kinds (learner ids start with the kind):

* ``correct-*``: the solution notebook (every few also with prints and warnings);
* ``wrong-*``: one typical mistake per learner, from the ``mistakes`` table the caller gives
  (the test suite passes each chapter's ``MUTANTS``), else a forgotten ``return`` in each exercise;
* ``blank-*``: the learner notebook as released (stubs only);
* ``fault-*``: broken files and notebooks (invalid JSON, empty folder, renamed or
  extra notebook, endless loop, memory bomb, output flood, ``os._exit``, segfault,
  deleted / reordered / retyped cells, duplicated grade ids);
* ``hack-*``: a wrong answer plus an attack on the grader (monkeypatched NumPy or
  builtins, assert-rewriting input transformers, IPython hooks, always-equal
  objects, reading the tests or the reference module, importing it).
"""
from __future__ import annotations

import argparse
import copy
import ast
import json
import shutil
import sys
from pathlib import Path

import nbformat

from . import cells, paths

def _gid(cell):
    return cells.grade_id(cell)


class _DropReturns(ast.NodeTransformer):
    """``return x`` becomes ``x``: the function then returns None (the "forgot to return" mistake)."""

    def visit_Return(self, node):
        return ast.Expr(node.value) if node.value is not None else ast.Pass()


def forgot_return(source: str) -> str | None:
    """The exercise's solution with every ``return`` of its functions dropped, or None if nothing changes."""
    code = "\n".join(l for l in source.splitlines() if "SOLUTION" not in l)
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    new = ast.unparse(ast.fix_missing_locations(_DropReturns().visit(tree)))
    return new if new != ast.unparse(ast.parse(code)) else None


def generic_mistakes(solution) -> dict[str, list[tuple[str, str]]]:
    """One typical mistake per exercise when no table of mistakes is given: the missing ``return``."""
    out = {}
    for c in solution.cells:
        if cells.is_exercise(c):
            src = forgot_return(c.source)
            if src:
                out[cells.grade_id(c)] = [("forgot-return", src)]
    return out


def _to_markdown(nb, grade_id: str):
    """``nb`` with the cell ``grade_id`` turned into a markdown cell (a learner's accidental cell-type change)."""
    for c in nb.cells:
        if _gid(c) == grade_id:
            c.cell_type = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
    return nb


def _code(src: str, **md):
    cell = nbformat.v4.new_code_cell(src)
    if md:
        cell.metadata["nbgrader"] = md
    return cell


def build(chapter: str, n: int, out: Path, mistakes: dict | None = None, release_path: Path | None = None) -> dict:
    """Write ``n`` learners' submissions for ``chapter`` into ``out``; return the manifest.

    ``mistakes`` ({exercise: [(label, wrong source), ...]}, the shape of a chapter's ``MUTANTS`` table)
    gives the wrong answers; without it each exercise gets the generic "forgot to return" mistake."""
    solution = nbformat.read(paths.source_notebook(chapter), as_version=4)
    release = nbformat.read(release_path or paths.release_notebook(chapter), as_version=4)
    tests = {_gid(c): float(c.metadata["nbgrader"].get("points", 0)) for c in solution.cells if cells.is_test(c)}
    names = [n for n in cells.solution_names(solution) if n[:1].isalpha()]
    mod = cells.default_exp(solution)
    full = dict(tests)
    zero = {g: 0.0 for g in tests}
    first_test = next(iter(tests))
    # the exercise tested by the first test cell, and the solution cell before it
    ex_of_first = first_test[len("test_"):] if first_test.startswith("test_") else None

    def sol():
        return copy.deepcopy(solution)

    def with_extra(nb, src, after=None):
        nb = copy.deepcopy(nb)
        idx = len(nb.cells) if after is None else after
        nb.cells.insert(idx, _code(src))
        return nb

    def first_demo_index(nb):
        # a place in the middle: just after the first graded test cell
        for i, c in enumerate(nb.cells):
            if _gid(c) == first_test:
                return i + 1
        return len(nb.cells)

    cases: list[tuple[str, object, dict | None, str]] = []   # (learner, content, expected, description)

    # -- faulty
    faults = []
    faults.append(("fault-invalid-json", b'{"cells": [ this is not json', zero, "invalid JSON"))
    faults.append(("fault-empty-folder", "EMPTY", zero, "empty submission folder"))
    faults.append(("fault-renamed", ("renamed", sol()), full, "notebook renamed to my_work.ipynb"))
    faults.append(("fault-extra-notebook", ("extra", sol()), full, "an extra notebook next to the right one"))
    mid = first_demo_index(solution)
    faults.append(("fault-endless-loop", with_extra(solution, "while True:\n    pass", mid), full,
                   "an endless loop in a cell between exercises"))
    faults.append(("fault-memory-bomb", with_extra(solution, "hog = bytearray(50 * 1024 ** 3)", mid), full,
                   "allocates 50 GB"))
    faults.append(("fault-output-flood", with_extra(solution, "print('x' * 50_000_000)\nfor i in range(200_000):\n"
                                                    "    print(i)", mid), full, "a 50 MB line and 200,000 lines"))
    faults.append(("fault-os-exit", with_extra(solution, "import os\nos._exit(1)", mid), full,
                   "os._exit(1) in the middle"))
    faults.append(("fault-segfault", with_extra(solution, "import ctypes\nctypes.string_at(0)", mid), full,
                   "crashes the interpreter (segfault)"))
    nb = sol()
    nb.cells = [c for c in nb.cells if _gid(c) != first_test]
    faults.append(("fault-test-deleted", nb, full, f"deleted test cell {first_test}"))
    nb = sol()
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == first_test)
    cell = nb.cells.pop(i)
    nb.cells.insert(0, cell)
    faults.append(("fault-test-moved-first", nb, full, f"moved {first_test} to the top"))
    nb = _to_markdown(sol(), first_test)
    faults.append(("fault-test-to-markdown", nb, full, f"changed {first_test} into a markdown cell"))
    if ex_of_first:
        nb = _to_markdown(sol(), ex_of_first)
        # nbgrader restores the cell type from the gradebook: the learner's code runs as code
        faults.append(("fault-solution-to-markdown", nb, full,
                       f"changed the solution cell {ex_of_first} into markdown"))
    nb = sol()
    i = next(i for i, c in enumerate(nb.cells) if _gid(c) == first_test)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    nb.cells[i + 1].id = "duplicate-test"
    if ex_of_first:
        j = next(j for j, c in enumerate(nb.cells) if _gid(c) == ex_of_first)
        nb.cells.insert(j + 1, copy.deepcopy(nb.cells[j]))
        nb.cells[j + 1].id = "duplicate-solution"
    faults.append(("fault-duplicate-ids", nb, full, "duplicated a solution cell and a test cell"))
    if ex_of_first:
        nb = sol()
        for c in nb.cells:
            if _gid(c) == ex_of_first:
                c.metadata["nbgrader"].update(grade=True, points=1000, locked=True)
        nb.cells.append(_code("bonus = True", grade=True, solution=False, locked=True, points=50,
                              grade_id="test_bonus", schema_version=3))
        faults.append(("fault-forged-points", nb, full,
                       f"marked {ex_of_first} as a graded cell worth 1000 points and added a 50-point test cell"))

    # -- hostile: the learner notebook (all stubs: every test must fail) plus an attack
    attacks = {
        "numpy-patch": "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: "
                       "np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)\n"
                       "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
        "builtins-patch": "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.AssertionError = "
                          "type('Quiet', (Exception,), {})\nbuiltins.len = lambda x: 0",
        "assert-rewriter": "ip = get_ipython()\ndef kill_asserts(lines):\n    return [l.replace('assert ', 'pass #')"
                           ".replace('check', 'print') for l in lines]\n"
                           "ip.input_transformers_cleanup.append(kill_asserts)\n"
                           "ip.input_transformers_post.append(kill_asserts)",
        "ipython-hooks": "ip = get_ipython()\ndef swallow(self, etype, value, tb, tb_offset=None):\n    return []\n"
                         "ip.set_custom_exc((BaseException,), swallow)\n"
                         "ip.events.register('pre_run_cell', lambda info: setattr(info, 'raw_cell', 'pass'))",
        "always-equal": "class Everything(float):\n    def __eq__(self, other): return True\n"
                        "    def __ne__(self, other): return False\n    __hash__ = float.__hash__\n"
                        "    def __array__(self, *a, **k):\n        raise TypeError('no')\n"
                        + "".join(f"def {n}(*args, **kwargs):\n    return Everything(0.0)\n" for n in names),
        "read-tests": "import glob, json\nfound = []\nfor pattern in ['/work/**/*.ipynb', '/root/*/*.ipynb', "
                      "'/tmp/**/*.ipynb', '/home/**/*.ipynb', '../**/*.ipynb', '/*/gradebook.db']:\n"
                      "    found += glob.glob(pattern, recursive=True)\nprint('found', found)\n"
                      "for f in found:\n    try:\n        nb = json.load(open(f))\n"
                      "        for c in nb['cells']:\n            if 'BEGIN SOLUTION' in ''.join(c['source']):\n"
                      "                exec(''.join(c['source']))\n    except Exception as e:\n"
                      "        print('no', f, e)",
        "import-reference": (f"try:\n    from nnbook.{mod} import *\nexcept ImportError as e:\n    print(e)\n"
                             f"import importlib, sys\ntry:\n    sys.path.insert(0, {str(paths.course_root())!r})\n"
                             f"    m = importlib.import_module('nnbook.{mod}')\n    globals().update(vars(m))\n"
                             "except ImportError as e:\n    print(e)\n"
                             f"try:\n    exec(open({str(paths.library_dir() / f'{mod}.py')!r}).read())\nexcept OSError as e:\n"
                             "    print(e)") if mod else "pass",
        "frame-walk": "import sys, gc\nfor o in gc.get_objects():\n    if type(o).__name__ == 'Remote':\n"
                      "        print('judge object in kernel!')\n"
                      + "".join(f"def {n}(*args, **kwargs):\n    f = sys._getframe(1)\n"
                                f"    f.f_globals['check_close'] = lambda *a, **k: None\n"
                                f"    f.f_globals['check'] = lambda *a, **k: None\n    return 0\n" for n in names),
    }
    hacks = [(f"hack-{k}", with_extra(release, v), zero, f"stubs + attack: {k}") for k, v in attacks.items()]

    # -- honest
    mutants = mistakes if mistakes is not None else generic_mistakes(solution)
    wrong = []
    for k, gid, label, src in sorted((k, gid, label, src) for gid, variants in mutants.items()
                                     for k, (label, src) in enumerate(variants)):
        if True:
            nb = sol()
            for c in nb.cells:
                if _gid(c) == gid:
                    c.source = src
            wrong.append((f"wrong-{gid}-{label}", nb, None, f"typical mistake in {gid}: {label}"))
    special = faults + hacks
    honest_n = max(0, n - len(special))
    n_wrong = min(len(wrong), max(3, honest_n // 3) if honest_n >= 6 else honest_n // 3)
    n_blank = 1 if honest_n - n_wrong > 2 else 0
    cases += special[: n] if n < len(special) else special
    for k in range(n_wrong):
        cases.append(wrong[k % len(wrong)])
    for k in range(n_blank):
        cases.append((f"blank-{k:03d}", copy.deepcopy(release), zero, "the released notebook, unchanged"))
    for k in range(max(0, n - len(cases))):
        nb = sol()
        if k % 4 == 1:
            nb = with_extra(nb, "import warnings\nwarnings.warn('just a warning')\nprint('checking my work')")
        cases.append((f"correct-{k:03d}", nb, full, "the solution"))

    out = Path(out)
    sub_root = out / "submitted"
    if sub_root.exists():
        shutil.rmtree(sub_root)
    manifest = {"chapter": chapter, "max": tests, "learners": {}}
    for learner, content, expected, desc in cases:
        folder = sub_root / learner / chapter
        folder.mkdir(parents=True)
        if content == "EMPTY":
            pass
        elif isinstance(content, bytes):
            (folder / f"{chapter}.ipynb").write_bytes(content)
        elif isinstance(content, tuple):
            how, nb = content
            if how == "renamed":
                nbformat.write(nb, folder / "my_work.ipynb")
            else:
                nbformat.write(nb, folder / f"{chapter}.ipynb")
                nbformat.write(release, folder / "scratch.ipynb")
        else:
            nbformat.write(content, folder / f"{chapter}.ipynb")
        honest = learner.startswith(("correct", "wrong", "blank"))
        manifest["learners"][learner] = {"description": desc, "expected": expected, "honest": honest}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("chapter")
    p.add_argument("n", type=int, help="number of learners")
    p.add_argument("out", type=Path)
    a = p.parse_args(argv)
    m = build(a.chapter, a.n, a.out)   # generic mistakes: the library does not read the test suite
    kinds = {}
    for learner in m["learners"]:
        kinds[learner.split("-")[0]] = kinds.get(learner.split("-")[0], 0) + 1
    print(f"{len(m['learners'])} learners in {a.out / 'submitted'}: " + ", ".join(f"{v} {k}" for k, v in kinds.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
