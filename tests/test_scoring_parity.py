"""nbgrader's scoring rules hold on the sandboxed path exactly as on stock nbgrader, cell by cell.

A small assignment made for it: test cells that pass, fail, give partial credit (their last
expression is a number), write to stderr (themselves, or through the learner's code), use line and
cell magics, meet a learner exception or warning, or hide their inputs. Graded once by stock nbgrader
(its own ``Execute``, a Jupyter kernel) and once through the book's plug-ins (sandbox + judge); each
cell must get the same score on both, and the scores must be the ones nbgrader's rules give.
"""
import nbformat
import pytest

from autograde.course import read_results, stock_config
from autograde.grader.driver import course_config, ensure_bin_on_path

pytestmark = pytest.mark.slow

ASSIGNMENT = "parity"

SOLUTION = '''
import sys, warnings
import numpy as np

def f(x):
    """Square."""
    ### BEGIN SOLUTION
    return x * x
    ### END SOLUTION

def noisy(x):
    """Square, complaining on stderr."""
    ### BEGIN SOLUTION
    print("noisy was called", file=sys.stderr)
    return x * x
    ### END SOLUTION

def warns(x):
    """Square, with a NumPy warning on the way."""
    ### BEGIN SOLUTION
    np.float64(1.0) / np.float64(0.0)
    return x * x
    ### END SOLUTION

def shout(x):
    """Square, printing the argument."""
    ### BEGIN SOLUTION
    print("my argument is", x)
    return x * x
    ### END SOLUTION

def big(x):
    """e to the x (overflows for large x)."""
    ### BEGIN SOLUTION
    return np.exp(np.float64(x))
    ### END SOLUTION

def fails(x):
    """Raises."""
    ### BEGIN SOLUTION
    raise ValueError(f"secret input {x}")
    ### END SOLUTION
'''

# (grade id, points, source, score nbgrader's rules give)
TESTS = [
    ("t_pass", 2, "assert f(3) == 9", 2),
    ("t_fail", 2, "assert f(3) == 10, 'f(3) should be 10'", 0),
    ("t_partial", 4, "sum(f(i) == i * i for i in range(4)) / 8", 0.5),
    ("t_partial_plain", 2, "0.25", 0.25),
    ("t_partial_negative", 1, "-3", 1),          # nbgrader 0.9: a negative number counts as full credit
    ("t_not_a_number", 1, "'done'", 1),
    ("t_stderr_itself", 2, "import sys\nassert f(2) == 4\nprint('careful', file=sys.stderr)", 0),
    ("t_stderr_learner", 2, "assert noisy(2) == 4", 0),
    ("t_warning_routed", 2, "import nnbook.testing\nassert warns(2) == 4", 2),
    ("t_line_magic", 1, "%time r = f(5)\nassert r == 25", 1),
    ("t_cell_magic", 1, "%%capture captured\nprint('hidden by capture')\nassert f(4) == 16", 1),
    ("t_learner_exception", 2, "fails(3)", 0),
    ("t_caught_exception", 1, "try:\n    fails(3)\nexcept ValueError as e:\n    assert 'secret' in str(e)", 1),
    ("t_errstate_raise", 1, "import numpy as np\nwith np.errstate(over='raise'):\n    big(1000.0)", 0),
    ("t_errstate_ignore", 1, "import numpy as np\nwith np.errstate(over='ignore'):\n    assert big(1000.0) == np.inf", 1),
    ("t_hidden_print", 2, "assert shout(2) == 4\n### BEGIN HIDDEN TESTS\nassert shout(12345) == 152399025\n"
                          "### END HIDDEN TESTS", 2),
    ("t_hidden_exception", 1, "### BEGIN HIDDEN TESTS\nfails(777)\n### END HIDDEN TESTS", 0),
]


def source_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell("# Parity"))
    nb.cells.append(nbformat.v4.new_code_cell(SOLUTION.strip(), metadata={"nbgrader": {
        "solution": True, "grade": False, "locked": False, "grade_id": "answers", "schema_version": 3}}))
    for gid, points, src, _ in TESTS:
        nb.cells.append(nbformat.v4.new_code_cell(src, metadata={"nbgrader": {
            "solution": False, "grade": True, "locked": True, "grade_id": gid, "points": points,
            "schema_version": 3}}))
    return nb


def grade(root, config):
    from nbgrader.apps import NbGraderAPI

    ensure_bin_on_path()
    (root / "source" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source_notebook(), root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    api = NbGraderAPI(config=config)
    assert api.generate_assignment(ASSIGNMENT, force=True)["success"]
    # the learner submits the solution (their own code: print, warn, raise as written)
    sub = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    i = next(i for i, c in enumerate(sub.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "answers")
    sub.cells[i].source = "\n".join(l for l in SOLUTION.strip().splitlines() if "SOLUTION" not in l)
    sub.cells.insert(i + 1, nbformat.v4.new_code_cell("print('trying')\nf(7)"))      # the learner's own cell
    (root / "submitted" / "ana" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(sub, root / "submitted" / "ana" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    res = api.autograde(ASSIGNMENT, "ana", force=True, create=True)
    assert res["success"], res["log"][-3000:]
    return read_results(root, ASSIGNMENT, ["ana"], config)["ana"], \
        nbformat.read(root / "autograded" / "ana" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    stock_root = tmp_path_factory.mktemp("stock")
    ours_root = tmp_path_factory.mktemp("ours")
    # IPC transport (no TCP port races with kernels of other test workers); an absolute socket path,
    # since nbgrader's kernel runs in another folder than the process that talks to it
    stock = grade(stock_root, stock_config(stock_root, {
        "Execute": {"timeout": 120, "startup_timeout": 300},
        "KernelManager": {"transport": "ipc", "ip": str(stock_root / "kernel-ipc")}}))
    ours = grade(ours_root, course_config(ours_root, {"SandboxedExecute": {"cell_timeout": 60}}))
    return stock, ours


@pytest.mark.parametrize("gid, points, src, expected", TESTS, ids=[t[0] for t in TESTS])
def test_same_score_as_stock_nbgrader(both, gid, points, src, expected):
    (stock, _), (ours, _) = both
    assert stock.cells[gid].score == expected, ("stock nbgrader", stock.cells[gid])
    assert ours.cells[gid].score == stock.cells[gid].score, (ours.cells[gid], stock.cells[gid])
    assert ours.cells[gid].max_score == points


def outputs_of(nb, gid):
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
    return cell.outputs


def test_hidden_tests_do_not_show_the_learners_output(both):
    _, (_, ours_nb) = both
    text = "".join(o.get("text", "") for o in outputs_of(ours_nb, "t_hidden_print"))
    assert "my argument is 2" in text                      # the visible part keeps its output
    assert "12345" not in text and "not shown" in text     # the hidden part's is withheld, and said
    errors = [o for o in outputs_of(ours_nb, "t_hidden_exception") if o.output_type == "error"]
    assert errors and "777" not in errors[0].evalue and "not shown" in errors[0].evalue


def test_partial_credit_output_is_an_execute_result(both):
    _, (_, ours_nb) = both
    outs = outputs_of(ours_nb, "t_partial")
    assert [o.output_type for o in outs] == ["execute_result"] and outs[0].data["text/plain"] == "0.5"


def test_a_learner_cells_last_value_is_an_execute_result_as_in_a_kernel(both):
    (_, stock_nb), (_, ours_nb) = both

    def mine(nb):
        cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("print('trying')"))
        return [(o.output_type, o.get("text") or o.get("data", {}).get("text/plain")) for o in cell.outputs]
    assert mine(ours_nb) == mine(stock_nb) == [("stream", "trying\n"), ("execute_result", "49")]
