"""The book's data sets, loaded from files shipped with the package (nothing is downloaded).

``load_digits()`` returns scikit-learn's bundled handwritten digits (1,797 images of 8 x 8 pixels,
grey levels 0..16, labels 0..9) from ``nnbook/digits.npy``, a copy that ``nnbook-build`` makes from
``sklearn.datasets.load_digits`` (and ``nnbook-build --check`` compares with it). Reading it takes a
millisecond; importing scikit-learn takes seconds.

This module is written by hand; it is not generated from a chapter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["load_digits", "DIGITS_FILE"]

DIGITS_FILE = Path(__file__).resolve().parent / "digits.npy"


def load_digits(scaled=True):
    """The handwritten digits: ``(X, y)``.

    Parameters
    ----------
    scaled : bool, default True
        ``True``: ``X`` holds the grey levels divided by 16, float32 in [0, 1]; ``False``: the grey
        levels 0..16 as integers, as ``sklearn.datasets.load_digits().data`` holds them.

    Returns
    -------
    X : ndarray, shape (1797, 64)
        One flattened 8 x 8 image per row (row-major: ``X[i].reshape(8, 8)`` is the image).
    y : ndarray, shape (1797,)
        The digit each image shows, integers 0..9.
    """
    table = np.load(DIGITS_FILE, allow_pickle=False)       # (1797, 65) uint8: 64 pixels, then the label
    X, y = table[:, :64], table[:, 64].astype(np.int64)
    return ((X / 16.0).astype(np.float32) if scaled else X.astype(np.int64)), y


def digits_table() -> np.ndarray:
    """What ``digits.npy`` holds, made from scikit-learn's bundled copy (used by ``nnbook-build``)."""
    from sklearn.datasets import load_digits as sklearn_digits
    d = sklearn_digits()
    table = np.concatenate([d.data, d.target[:, None]], axis=1)
    if table.min() < 0 or table.max() > 255 or not np.array_equal(table, np.round(table)):
        raise ValueError("scikit-learn's digits are not small integers any more")
    return table.astype(np.uint8)
