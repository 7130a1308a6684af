"""The trust boundary between the judge and a learner's kernel: the wire format and the proxies' copy-back.

Whatever a learner's kernel sends, the judge either decodes plain data or raises the wire's own
``WireError``: never another exception, never an object of a learner-chosen type.
"""
import io
import json
import socket
import struct
from collections import OrderedDict, defaultdict, namedtuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from autograde.grader.judge import _copy_into
from autograde.sandbox import wire

PLAIN = (bool, int, float, complex, str, bytes, type(None), list, tuple, dict, np.ndarray, np.generic)


def roundtrip(value):
    blobs: list[bytes] = []
    handles = []
    enc = wire.encode(value, blobs, lambda v: handles.append(v) or {"H": len(handles) - 1, "r": "h"})
    # what travels is JSON: make it travel
    enc = json.loads(json.dumps(enc))
    return wire.decode(enc, blobs, lambda hid, r: ("handle", hid)), handles


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                    st.binary(max_size=20), st.complex_numbers(allow_nan=False, allow_infinity=False))
arrays = st.builds(lambda shape, seed, dt: np.random.default_rng(seed).normal(size=shape).astype(dt),
                   st.lists(st.integers(0, 4), max_size=3).map(tuple), st.integers(0, 99),
                   st.sampled_from(["float64", "float32", "int64", "int8", "bool"]))
keys = st.one_of(st.text(max_size=8), st.integers(-5, 5))
data = st.recursive(st.one_of(scalars, arrays),
                    lambda kids: st.one_of(st.lists(kids, max_size=4), st.lists(kids, max_size=4).map(tuple),
                                           st.dictionaries(keys, kids, max_size=4)), max_leaves=20)


def same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and (a == b or (a != a and b != b))


@settings(max_examples=150, deadline=None)
@given(data)
def test_plain_data_round_trips_exactly(value):
    back, handles = roundtrip(value)
    assert not handles
    assert same(value, back)


def test_any_mapping_arrives_as_a_plain_dict():
    dd = defaultdict(list, {"W1": np.ones(2)})
    od = OrderedDict([("b", 1), ("a", 2)])
    back, handles = roundtrip({"x": dd, "y": od})
    assert not handles
    assert type(back["x"]) is dict and list(back["y"]) == ["b", "a"] and back["y"] == {"b": 1, "a": 2}
    assert np.array_equal(back["x"]["W1"], np.ones(2))


def test_numpy_scalars_and_namedtuples_are_data():
    P = namedtuple("P", "w b")
    back, handles = roundtrip([np.float32(1.5), np.int64(3), P(np.zeros(2), 0.5)])
    assert not handles
    assert type(back[0]) is np.float32 and type(back[1]) is np.int64 and type(back[2]) is tuple


def test_objects_stay_in_the_kernel_as_handles():
    class Thing:
        pass
    back, handles = roundtrip([Thing(), lambda: 1, np.array([object()], dtype=object)])
    assert len(handles) == 3 and all(b[0] == "handle" for b in back)


# -- hostile input: anything the kernel sends either decodes to plain data or raises WireError
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5)),
                           lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                  st.dictionaries(st.sampled_from(list("FICBSALTDHGrx")), kids,
                                                                  max_size=3)), max_leaves=15)


@settings(max_examples=400, deadline=None)
@given(json_values, st.lists(st.binary(max_size=40), max_size=3))
def test_fuzzed_values_raise_only_wire_errors(obj, blobs):
    try:
        value = wire.decode(obj, blobs, lambda hid, r: ("handle", hid))
    except wire.WireError:
        return
    def plain(v):
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(plain(k) and plain(x) for k, x in v.items())
        return isinstance(v, PLAIN) or (isinstance(v, tuple) and v[:1] == ("handle",))
    assert plain(value)


@pytest.mark.parametrize("obj, blobs", [
    ({"F": "not a float"}, []), ({"I": "12x"}, []), ({"C": [1]}, []), ({"C": "ab"}, []),
    ({"A": 0}, [b"\x93NUMPY garbage"]), ({"A": 5}, []), ({"A": -1}, [b""]), ({"B": "0"}, [b""]),
    ({"D": [[["unhashable"], 1]]}, []), ({"D": [[{"L": []}, 1]]}, []), ({"D": [[1]]}, []), ({"D": "x"}, []),
    ({"L": "x"}, []), ({"H": "1"}, []), ({"Q": 1}, []), ({"F": "1", "G": 2, "x": 3}, []), ([1, 2], []),
    ({"I": "9" * 10000}, []),
    ({"A": 0}, [b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order': False, 'shape': (1,), }" + b" " * 50]),
    # raw arrays: the dtype and shape must describe the bytes exactly, and no dtype may hold objects
    ({"A": 0, "d": "|O8", "s": [1]}, [b"\0" * 8]), ({"A": 0, "d": "O", "s": [1]}, [b"\0" * 8]),
    ({"A": 0, "d": "[('a', '<f8')]", "s": [1]}, [b"\0" * 8]), ({"A": 0, "d": "<f8", "s": [2]}, [b"\0" * 8]),
    ({"A": 0, "d": "<f8", "s": [-1]}, [b""]), ({"A": 0, "d": "<f8", "s": "2"}, [b"\0" * 16]),
    ({"A": 0, "d": "<f8", "s": [True]}, [b"\0" * 8]), ({"A": 0, "d": 8, "s": [1]}, [b"\0" * 8]),
    ({"A": 0, "d": "<f8", "s": [1] * 40}, [b"\0" * 8]), ({"A": 0, "d": "|S0", "s": [10 ** 12, 10 ** 12]}, [b""]),
    ({"A": 0, "d": "<f8", "s": [2 ** 40, 2 ** 40]}, [b""]), ({"A": 0, "s": [1]}, [b"\0" * 8]),
    ({"S": 0, "d": "<f8", "s": [1]}, [b"\0" * 8]), ({"A": 0, "d": "<f8", "s": [1], "x": 1}, [b"\0" * 8]),
    ({"A": 0, "d": "<M8[nonsense]", "s": [1]}, [b"\0" * 8]), ({"F": "1", "x": 1}, []),
])
def test_malformed_values_raise_wire_error(obj, blobs):
    with pytest.raises(wire.WireError):
        wire.decode(obj, blobs, lambda hid, r: ("handle", hid))


def test_arrays_keep_dtype_shape_and_values_and_arrive_writable():
    for arr in (np.arange(6, dtype=">i4").reshape(2, 3), np.asfortranarray(np.ones((3, 2))), np.zeros((0, 4)),
                np.array(["ab", "c"]), np.array([b"x"], dtype="S3"), np.array(["2026-12-03"], dtype="M8[D]"),
                np.array([1 + 2j], dtype=np.complex64), np.array(True)):
        back, _ = roundtrip(arr)
        assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
        assert back.flags.writeable
    back, _ = roundtrip(np.float16(1.5))
    assert type(back) is np.float16 and back == 1.5
    structured = np.zeros(2, dtype=[("a", "<f8")])          # fields: not plain data, stays in the kernel
    _, handles = roundtrip(structured)
    assert len(handles) == 1


def test_deep_nesting_is_refused():
    obj = "x"
    for _ in range(wire.MAX_DEPTH + 10):
        obj = {"L": [obj]}
    with pytest.raises(wire.WireError):
        wire.decode(obj, [], lambda hid, r: None)
    obj = "x"
    for _ in range(100_000):          # deeper than Python's recursion limit
        obj = {"L": [obj]}
    with pytest.raises(wire.WireError):
        wire.decode(obj, [], lambda hid, r: None)


def test_too_many_items_are_refused():
    with pytest.raises(wire.WireError):
        wire.decode({"L": [0] * (wire.MAX_ITEMS + 1)}, [], lambda hid, r: None)


def frames(raw: bytes):
    a, b = socket.socketpair()
    try:
        a.sendall(raw)
        a.shutdown(socket.SHUT_WR)
        return wire.recv(b)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("raw", [
    struct.pack(">I", 5) + b"{nope",                                   # not JSON
    struct.pack(">I", 2) + b"[]",                                      # not an object
    struct.pack(">I", 14) + b'{"nblobs": -1}',                         # bad blob count
    struct.pack(">I", 17) + b'{"nblobs": "one"}',
    struct.pack(">I", wire.MAX_FRAME + 1),                             # announces a huge header
    struct.pack(">I", 13) + b'{"nblobs": 1}' + struct.pack(">Q", wire.MAX_FRAME),   # announces a huge blob
    struct.pack(">I", 20000) + b"[" * 10000 + b"]" * 10000,            # deeply nested header
])
def test_malformed_frames_raise_wire_error(raw):
    with pytest.raises(wire.WireError):
        frames(raw)


def test_truncated_frame_is_end_of_channel():
    with pytest.raises(EOFError):
        frames(struct.pack(">I", 100) + b'{"a": 1')


def test_a_valid_frame_round_trips():
    a, b = socket.socketpair()
    try:
        wire.send(a, {"op": "x", "n": 1}, [b"abc", b""])
        header, blobs = wire.recv(b)
    finally:
        a.close()
        b.close()
    assert header["op"] == "x" and blobs == [b"abc", b""]


# -- copy-back: what the learner's code did to the judge's arguments becomes visible to the test
def test_copy_back_arrays_dicts_lists_in_place():
    x = np.zeros(3)
    d = {"W": np.zeros(2), "gone": 1}
    l = [np.zeros(2), 5]
    _copy_into(x, np.array([1.0, 2, 3]))
    _copy_into(d, {"W": np.ones(2), "new": 7})
    _copy_into(l, [np.ones(2), 6])
    assert x.tolist() == [1, 2, 3]
    assert set(d) == {"W", "new"} and d["W"].tolist() == [1, 1]
    assert l[0].tolist() == [1, 1] and l[1] == 6


def test_copy_back_ignores_what_does_not_fit():
    x = np.zeros(3)
    x_ro = np.zeros(2)
    x_ro.flags.writeable = False
    _copy_into(x, np.ones(4))                  # wrong shape: not copied
    _copy_into(x_ro, np.ones(2))               # read-only: not copied
    _copy_into(x, {"not": "an array"})
    assert x.tolist() == [0, 0, 0] and x_ro.tolist() == [0, 0]


def test_copy_back_advances_a_generator_and_refuses_a_bad_state():
    rng = np.random.default_rng(1)
    other = np.random.default_rng(1)
    other.random(5)
    _copy_into(rng, ("__rng_state__", other.bit_generator.state))
    assert rng.random() == other.random()
    before = rng.bit_generator.state
    _copy_into(rng, ("__rng_state__", {"bit_generator": "nonsense"}))
    assert rng.bit_generator.state == before


def test_a_call_copies_back_exactly_the_arrays_it_changed(tmp_path):
    """Through a real learner kernel: an argument changed in place (positional or keyword, even to the same
    bytes in another order) is what the test then sees; an argument only read is left exactly as it was."""
    from autograde import sandbox
    from autograde.grader.judge import Remote

    sandbox.stage_library(tmp_path, None, [])
    slot = sandbox.Slot(tmp_path, None, sandbox.Limits(cell_timeout=10, notebook_timeout=60))
    try:
        k = slot.fork(None)
        header, _ = k.request({"op": "run", "source": (
            "import numpy as np\n"
            "def scale(x, *, out):\n    out[...] = 2 * x\n    x[::-1] = x.copy()\n    return float(x.sum())\n"
            "def read(x):\n    return x.sum()\n")})
        assert header["ok"], header
        x, out = np.array([1.0, 2.0, 3.0]), np.zeros(3)
        assert Remote(k, {"name": "scale"})(x, out=out) == 6.0
        assert x.tolist() == [3.0, 2.0, 1.0] and out.tolist() == [2.0, 4.0, 6.0]
        ro = np.array([1.0, 2.0])
        ro.flags.writeable = False                      # a read-only argument: nothing to copy into
        assert Remote(k, {"name": "read"})(ro) == 3.0 and ro.tolist() == [1.0, 2.0]
        k.close()
    finally:
        slot.destroy()
