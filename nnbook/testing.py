"""Checks that teach: the assertions used by every graded test cell of the book.

Each check fails with a message that says what was expected, what came back
and, where a common mistake explains the difference, a hint. Test cells check
in stages -- type, then shape, then values -- so the first message a learner
sees names the most basic thing that is wrong.

Importing this module also sends Python warnings (NumPy's ``RuntimeWarning``
among them) to standard output instead of standard error. nbgrader marks any
test cell that writes to stderr as failed, so without this a correct answer
whose intermediate step merely *warns* would lose its points.

Its checks set ``__tracebackhide__``: IPython (and pytest) leave their frames out of a failure's
traceback, so a learner sees the line of the test cell that failed and the message, not this module.

This module is written by hand; it is not generated from a chapter.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

from .i18n import gettext as _, tr

__all__ = [
    "check",
    "check_type",
    "check_shape",
    "check_close",
    "check_equal",
    "check_unchanged",
    "check_close_or_own",
    "own_result",
    "call",
    "oracle_rel_error",
    "route_warnings_to_stdout",
]


def _show(value, limit: int = 300) -> str:
    """A short, readable rendering of ``value`` for an error message."""
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=6, threshold=20, edgeitems=3)
        text = tr("array of shape {shape}, dtype {dtype}: {text}", shape=value.shape, dtype=value.dtype, text=text)
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(message: str, hint: str | None):
    # a test cell's own message and hint are looked up too: the chapter's catalog translates them
    __tracebackhide__ = True
    message = _(message)
    if hint:
        message = tr("{message}\nHint: {hint}", message=message, hint=_(hint))
    raise AssertionError(message)


def check(condition, message: str, hint: str | None = None) -> None:
    """Fail with ``message`` (and ``hint``) unless ``condition`` is true."""
    __tracebackhide__ = True
    if not bool(condition):
        _fail(message, hint)


def check_type(value, types, what: str, hint: str | None = None) -> None:
    """Fail unless ``value`` is an instance of ``types`` (a type or tuple of types)."""
    __tracebackhide__ = True
    if not isinstance(value, types):
        names = types.__name__ if isinstance(types, type) else _(" or ").join(t.__name__ for t in types)
        _fail(tr("{what} should be a {names}, got {got}: {value}", what=what, names=names,
                 got=type(value).__name__, value=_show(value)), hint)


def check_shape(value, shape: tuple, what: str, hint: str | None = None) -> None:
    """Fail unless ``value`` is a NumPy array of exactly ``shape``."""
    __tracebackhide__ = True
    check_type(value, np.ndarray, what, hint="return a NumPy array (np.asarray(...) converts lists).")
    if value.shape != tuple(shape):
        _fail(tr("{what} should have shape {expected}, got shape {got}", what=what, expected=tuple(shape),
                 got=value.shape), hint)


def check_close(actual, expected, what: str, *, rtol: float = 1e-7, atol: float = 1e-12,
                hint: str | None = None) -> None:
    """Fail unless ``actual`` matches ``expected`` elementwise within tolerance.

    Shapes must agree exactly (no broadcasting), and NaN or infinity in
    ``actual`` fails unless ``expected`` has it in the same place.
    """
    __tracebackhide__ = True
    expected_arr = np.asarray(expected, dtype=float)
    try:
        actual_arr = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        _fail(tr("{what} should be numeric like {expected}, got {got}", what=what, expected=_show(expected),
                 got=_show(actual)), hint)
    if actual_arr.shape != expected_arr.shape:
        _fail(tr("{what} should have shape {expected}, got shape {got}: {value}", what=what,
                 expected=expected_arr.shape, got=actual_arr.shape, value=_show(actual)), hint)
    with np.errstate(all="ignore"):
        ok = np.isclose(actual_arr, expected_arr, rtol=rtol, atol=atol, equal_nan=True)
    if not np.all(ok):
        if expected_arr.ndim == 0:
            _fail(tr("{what} should be {expected}, got {got}", what=what, expected=_show(expected),
                     got=_show(actual)), hint)
        bad = tuple(int(i) for i in np.argwhere(~ok)[0])
        _fail(tr("{what} is wrong in {wrong} of {size} entries; first at index {index}: "
                 "expected {expected}, got {got}.\nexpected {all_expected}\ngot      {all_got}",
                 what=what, wrong=int((~ok).sum()), size=ok.size, index=bad, expected=repr(expected_arr[bad]),
                 got=repr(actual_arr[bad]), all_expected=_show(expected_arr), all_got=_show(actual_arr)), hint)


def check_equal(actual, expected, what: str, hint: str | None = None) -> None:
    """Fail unless ``actual == expected`` exactly (arrays: same shape, same entries)."""
    __tracebackhide__ = True
    if isinstance(expected, np.ndarray) or isinstance(actual, np.ndarray):
        same = (np.shape(actual) == np.shape(expected)
                and bool(np.array_equal(np.asarray(actual), np.asarray(expected))))
    else:
        same = type(actual) is type(expected) and actual == expected
        if not same and isinstance(expected, (int, float)) and isinstance(actual, (int, float, np.number)):
            same = not isinstance(actual, bool) and actual == expected
    if not same:
        _fail(tr("{what} should be {expected}, got {got}", what=what, expected=_show(expected), got=_show(actual)),
              hint)


def check_unchanged(before: np.ndarray, after: np.ndarray, name: str, hint: str | None = None) -> None:
    """Fail when the argument ``name`` was modified in place by the function under test.

    ``hint`` replaces the default advice (work on a copy) where that advice would not fit the exercise.
    """
    __tracebackhide__ = True
    if not (np.shape(before) == np.shape(after) and np.array_equal(before, after, equal_nan=True)):
        _fail(tr("the function modified its input `{name}` in place", name=name),
              hint or "work on a copy (x = x.copy()) or build a new array instead of assigning into the argument.")


def _agrees(actual, expected, rtol: float, atol: float) -> bool:
    """True when ``actual`` matches ``expected`` as :func:`check_close` would accept it."""
    try:
        a, e = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != e.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(np.isclose(a, e, rtol=rtol, atol=atol, equal_nan=True)))


def own_result(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` for one of the learner's *earlier* functions, or ``None`` if it fails.

    Used to compute what a later exercise would give when it builds on the learner's own earlier
    function (see :func:`check_close_or_own`); an unsolved or crashing earlier function gives ``None``.
    """
    try:
        return fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the earlier function is graded by its own test, not here
        return None


def check_close_or_own(actual, expected, what: str, *, own=None, own_name: str = "", rtol: float = 1e-7,
                       atol: float = 1e-12, hint: str | None = None) -> None:
    """Like :func:`check_close`, but one mistake costs one exercise.

    ``own`` is the result the exercise would have if it were right and built on the learner's own
    earlier function ``own_name`` (computed in the test with :func:`own_result`). An answer that matches
    ``expected`` passes; one that matches ``own`` passes too (the earlier function is wrong, and its own
    test already costs those points), with a note on stdout. Otherwise the check fails, and when the
    earlier function is itself wrong the message says so, since it may be the cause.
    """
    __tracebackhide__ = True
    if _agrees(actual, expected, rtol, atol):
        return
    if own is not None and _agrees(actual, own, rtol, atol):
        print(tr("Note: {what} is consistent with your {own_name}, which does not give the correct result; "
                 "this exercise keeps its points, fix {own_name} in its own exercise.", what=what, own_name=own_name))
        return
    if own is not None and not _agrees(own, expected, rtol, atol):
        cause = tr("your {own_name} does not give the correct result either (see its own test): "
                   "if you call it here, fix it first.", own_name=own_name)
        hint = f"{cause} {_(hint)}" if hint else cause
    check_close(actual, expected, what, rtol=rtol, atol=atol, hint=hint)


def call(what: str, fn, *args, hint: str | None = None, **kwargs):
    """Run learner code ``fn(*args, **kwargs)``; a crash becomes a failure that says what was called.

    ``AssertionError`` and the stub's ``NotImplementedError`` pass through unchanged, so an
    unsolved exercise still reads as "not implemented" rather than as a wrong answer.
    """
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except (AssertionError, NotImplementedError):
        raise
    except Exception as e:  # noqa: BLE001 - any crash of learner code is reported, not propagated
        _fail(tr("{what} raised {error}: {message}", what=what, error=type(e).__name__, message=e), hint)


def oracle_rel_error(a, b) -> float:
    """Relative error ``|a - b| / (|a| + |b|)`` in the Frobenius norm (0 when both are 0)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    sys.stdout.write(warnings.formatwarning(message, category, filename, lineno, line))


def route_warnings_to_stdout() -> None:
    """Show Python warnings on stdout, where nbgrader does not count them as failures."""
    warnings.showwarning = _warning_to_stdout


route_warnings_to_stdout()
