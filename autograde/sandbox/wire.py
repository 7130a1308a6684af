"""The wire format between the trusted judge and an untrusted learner kernel.

Frames: a 4-byte big-endian header length, a JSON header, then the binary
blobs the header lists (each preceded by an 8-byte length).

Values coming *from* the learner are only ever decoded by :func:`decode`:
tagged JSON plus raw array bytes (``np.frombuffer`` of a checked, non-object
dtype) -- nothing is unpickled, nothing learner-defined is instantiated. Supported plain data: None, bool,
int, float, complex, str, bytes, NumPy scalars and arrays (non-object dtypes),
and lists / tuples / dicts of those. Anything else stays in the kernel and
comes back as a handle ``{"H": id}`` that the judge wraps in a proxy.

This module is also copied into the sandbox (the kernel side uses
:func:`encode`), so it imports nothing outside the standard library and NumPy.
"""
from __future__ import annotations

import json
import re
import socket
import struct
import time
from collections.abc import Mapping as _Mapping

import numpy as np

# Bound at import: learner code that patches builtins later cannot change what this module uses.
from builtins import (abs, all, any, bool, dict, enumerate, getattr, hasattr, isinstance, iter, len,  # noqa: E402,A004
                      list, max, min, next, repr, setattr, str, tuple, type)

MAX_FRAME = 256 * 1024 * 1024      # a kernel cannot make the judge read more than this per message
MAX_DEPTH = 64
MAX_ITEMS = 1_000_000


class WireError(Exception):
    """The other side sent something that is not a valid frame."""


class WireTimeout(Exception):
    """The whole frame did not arrive (or could not be sent) before the absolute deadline."""


# ----------------------------------------------------------------------------- framing
def _arm(sock, deadline):
    """Give the next socket operation what is left until ``deadline`` (a ``time.monotonic()`` value)."""
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise WireTimeout("deadline passed")
    sock.settimeout(left)


def _read_exact_(sock, n: int, deadline=None) -> bytes:
    chunks = []
    while n:
        _arm(sock, deadline)
        try:
            chunk = sock.recv(min(n, 1 << 20))
        except socket.timeout:
            raise WireTimeout("deadline passed while receiving") from None
        if not chunk:
            raise EOFError("channel closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def send(sock, header: dict, blobs: list[bytes] = (), deadline: float | None = None) -> None:
    """Send one frame; with ``deadline``, give up (``WireTimeout``) if the peer does not take it in time."""
    header = dict(header, nblobs=len(blobs))
    data = json.dumps(header, allow_nan=True).encode()
    parts = [struct.pack(">I", len(data)), data]
    for b in blobs:
        parts += [struct.pack(">Q", len(b)), b]
    payload = memoryview(b"".join(parts))
    if deadline is None:
        sock.sendall(payload)
        return
    try:
        while payload:
            _arm(sock, deadline)
            try:
                sent = sock.send(payload[:1 << 20])
            except socket.timeout:
                raise WireTimeout("deadline passed while sending") from None
            payload = payload[sent:]
    finally:
        sock.settimeout(None)


def recv(sock, deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """One frame: ``(header, blobs)``. A malformed frame raises :class:`WireError` (EOFError at the end).
    With ``deadline`` (``time.monotonic()``), the *whole* frame must have arrived by then, however the
    sender paces its bytes; else ``WireTimeout``."""
    try:
        return _recv(sock, deadline)
    finally:
        if deadline is not None:
            sock.settimeout(None)


def _recv(sock, deadline) -> tuple[dict, list[bytes]]:
    _read_exact = lambda s, k: _read_exact_(s, k, deadline)  # noqa: E731
    (n,) = struct.unpack(">I", _read_exact(sock, 4))
    if n > MAX_FRAME:
        raise WireError(f"header of {n} bytes is too large")
    try:
        header = json.loads(_read_exact(sock, n))
    except (ValueError, RecursionError) as e:      # RecursionError: a deeply nested header
        raise WireError(f"header is not JSON: {str(e)[:100]}") from None
    if not isinstance(header, dict):
        raise WireError("header is not an object")
    nblobs = header.get("nblobs", 0)
    if not isinstance(nblobs, int) or not 0 <= nblobs <= MAX_ITEMS:
        raise WireError("bad blob count")
    blobs, total = [], n
    for _ in range(nblobs):
        (m,) = struct.unpack(">Q", _read_exact(sock, 8))
        total += m
        if total > MAX_FRAME:
            raise WireError(f"message larger than {MAX_FRAME} bytes")
        blobs.append(_read_exact(sock, m))
    return header, blobs


# ----------------------------------------------------------------------------- values
def encode(value, blobs: list[bytes], handle_of) -> object:
    """Plain data as tagged JSON (arrays into ``blobs``); anything else as ``handle_of(value)``."""
    return _enc(value, blobs, handle_of, 0)


def _array(tag: str, arr, blobs: list[bytes]) -> dict:
    """An array (or a NumPy scalar) as its raw C-order bytes plus dtype and shape: no ``np.save``
    header to build, no ``np.load`` header to parse (on the judge's side that parse cost 150 µs per array)."""
    arr = np.asarray(arr)
    blobs.append(arr.tobytes())
    return {tag: len(blobs) - 1, "d": arr.dtype.str, "s": list(arr.shape)}


# What ``dtype.str`` gives for a dtype without fields or objects: byte order, kind, size, a datetime unit.
_DTYPE = re.compile(r"[<>|=][biufcmMSUV][0-9]{1,6}(\[[0-9]{0,6}[a-zA-Z]{1,3}\])?")
MAX_NDIM = 32


def _from_bytes(obj: dict, blob: bytes):
    d, shape = obj.get("d"), obj.get("s")
    if type(d) is not str or not _DTYPE.fullmatch(d):
        raise WireError("bad array dtype")
    if type(shape) is not list or len(shape) > MAX_NDIM or not all(type(n) is int and 0 <= n for n in shape):
        raise WireError("bad array shape")
    try:
        dtype = np.dtype(d)
    except (TypeError, ValueError):
        raise WireError("bad array dtype") from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError("bad array dtype")
    count = 1
    for n in shape:
        count *= n
    if count * max(dtype.itemsize, 1) > MAX_FRAME or count * dtype.itemsize != len(blob):
        raise WireError("array payload does not match its shape and dtype")
    if count == 0 or dtype.itemsize == 0:
        return np.zeros(tuple(shape), dtype)
    return np.frombuffer(bytearray(blob), dtype).reshape(tuple(shape))     # a writable copy


def _enc(v, blobs, handle_of, depth):
    if depth > MAX_DEPTH:
        return handle_of(v)
    t = type(v)
    if v is None or t is bool or t is str:
        return v
    if t is int:
        return v if abs(v) < 2 ** 53 else {"I": str(v)}
    if t is float:
        return {"F": repr(v)}
    if t is complex:
        return {"C": [repr(v.real), repr(v.imag)]}
    if t is bytes:
        blobs.append(v)
        return {"B": len(blobs) - 1}
    if isinstance(v, np.generic) and not isinstance(v, np.object_) and v.dtype.fields is None:
        return _array("S", v, blobs)
    if isinstance(v, np.ndarray) and not v.dtype.hasobject and v.dtype.fields is None \
            and v.dtype.subdtype is None:
        return _array("A", v, blobs)
    if t is list or t is tuple:
        return {"L" if t is list else "T": [_enc(x, blobs, handle_of, depth + 1) for x in v]}
    if isinstance(v, tuple) and hasattr(v, "_fields"):            # namedtuple: as a plain tuple
        return {"T": [_enc(x, blobs, handle_of, depth + 1) for x in tuple(v)]}
    if isinstance(v, _Mapping) and all(type(k) in (str, int, bool, float) or k is None for k in v.keys()):
        # any mapping (dict, defaultdict, OrderedDict, ...) is data: it arrives as a plain dict
        return {"D": [[_enc(k, blobs, handle_of, depth + 1), _enc(x, blobs, handle_of, depth + 1)]
                      for k, x in v.items()]}
    return handle_of(v)


def decode(obj, blobs: list[bytes], make_handle):
    """Rebuild plain data from :func:`encode`'s output; never unpickles, never trusts types.

    Anything that is not a valid encoding raises :class:`WireError`, and nothing else."""
    try:
        return _dec(obj, blobs, make_handle, 0, [0])
    except WireError:
        raise
    except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError, RecursionError,
            MemoryError) as e:
        raise WireError(f"malformed value ({type(e).__name__}: {str(e)[:100]})") from None


_EXTRA_KEYS = {"A": {"d", "s"}, "S": {"d", "s"}, "H": {"r"}}


def _dec(obj, blobs, make_handle, _depth, _count):
    count = _count
    count[0] += 1
    if count[0] > MAX_ITEMS or _depth > MAX_DEPTH + 2:
        raise WireError("value too large or too deeply nested")
    if obj is None or type(obj) in (bool, str, int, float):
        return obj
    if type(obj) is not dict or not 1 <= len(obj) <= 3:
        raise WireError(f"unexpected value {type(obj).__name__}")
    tag = next(iter(obj))
    arg = obj[tag]
    if set(obj) - _EXTRA_KEYS.get(tag, set()) != {tag}:
        raise WireError(f"unexpected keys {sorted(map(str, obj))[:4]}")
    rec = lambda x: _dec(x, blobs, make_handle, _depth + 1, count)  # noqa: E731
    if tag == "F":
        return float(str(arg))
    if tag == "I":
        return int(str(arg))
    if tag == "C":
        return complex(float(str(arg[0])), float(str(arg[1])))
    if tag in ("B", "S", "A"):
        if type(arg) is not int or not 0 <= arg < len(blobs):
            raise WireError("bad blob index")
        if tag == "B":
            return bytes(blobs[arg])
        arr = _from_bytes(obj, blobs[arg])
        if tag == "S":
            if arr.shape != ():
                raise WireError("a scalar with a shape")
            return arr[()]
        return arr
    if tag in ("L", "T"):
        if type(arg) is not list:
            raise WireError("bad sequence")
        items = [rec(x) for x in arg]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        if type(arg) is not list:
            raise WireError("bad dict")
        out = {}
        for pair in arg:
            if type(pair) is not list or len(pair) != 2:
                raise WireError("bad dict item")
            key = rec(pair[0])
            try:
                hash(key)
            except TypeError:
                raise WireError("unhashable dict key") from None
            out[key] = rec(pair[1])
        return out
    if tag == "H":
        if type(arg) is not int:
            raise WireError("bad handle")
        return make_handle(arg, str(obj.get("r", ""))[:200])
    if tag == "G":      # the state of a numpy Generator's bit generator, for copy-back
        return ("__rng_state__", rec(arg))
    raise WireError(f"unknown tag {tag!r}")
