"""The short path of repeated small calls (``edgeact.kernels._plan``): the general path's bits,
taken where it should be, never where it must not be, and the same errors after it.

``taken()`` counts the calls the kernels' gates answered since the test began (or since
``taken.reset()``), so a test that means the short path fails if a call silently took the
general one (and the other way round).
"""

import contextlib
import sys

import numpy as np
import pytest

import edgeact.kernels as K
from edgeact.kernels import _gate, _plan
from edgeact.kernels._gate import State
from edgeact.quant import QuantParams

X_Q8, Y_Q8 = QuantParams(0.05, -3, np.int8), QuantParams(1 / 256, -128, np.int8)
X_QU8, Y_QU8 = QuantParams(0.05, 125, np.uint8), QuantParams(0.04, 108, np.uint8)

# float32 in float32 (hardswish), in float64 with parameters (elu: map_loop); float16 in float32
# (hardswish), on its bits (relu6) and through its table (sigmoid); int8/uint8 tables.
CASES = [
    ("hardswish", np.float32, {}),
    ("hardswish", np.float32, {"accuracy": "exact"}),
    ("elu", np.float32, {}),
    ("hardswish", np.float16, {}),
    ("relu6", np.float16, {}),
    ("sigmoid", np.float16, {}),
    ("sigmoid", np.int8, {"x_q": X_Q8, "y_q": Y_Q8}),
    ("hardswish", np.uint8, {"x_q": X_QU8, "y_q": Y_QU8}),
]
IDS = [
    "hardswish-f32", "hardswish-f32-exact", "elu-f32", "hardswish-f16", "relu6-f16", "sigmoid-f16",
    "sigmoid-int8", "hardswish-uint8",
]  # fmt: skip
SHAPES = [(), (0,), (16,), (3, 5), (2, 3, 4)]


class _Taken:
    """Calls the gates answered since ``reset``."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.start = self._total()

    def __call__(self) -> int:
        return self._total() - self.start

    @staticmethod
    def _total() -> int:
        return sum(plans.taken for plans in _plan.EVERY_PLANS)


@pytest.fixture
def taken():
    return _Taken()


@contextlib.contextmanager
def _short_path_off():
    """Every gate empty and none filled again (as where ``_gate.LAYOUT_MATCHES`` is False), then
    each given back its plan."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_gate, "LAYOUT_MATCHES", False)
        for plans in _plan.EVERY_PLANS:
            plans.state[State.LOOP] = 0
        yield
    for plans in _plan.EVERY_PLANS:
        if plans.installed[-1] is not None:
            plans._install(plans.installed[-1], plans.installed[:-1])


def _data(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 256, shape, dtype=np.uint8).view(dtype)
    return np.asarray(4 * rng.standard_normal(shape), dtype)


def _bits(a):
    return a.view(f"u{a.dtype.itemsize}")


def _general(kernel, x, *out, **arguments):
    """The general path's result: the call with the short path turned off."""
    with _short_path_off():
        return kernel(x, *out, **arguments)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize(("name", "dtype", "arguments"), CASES, ids=IDS)
def test_a_repeated_call_takes_the_short_path_with_the_same_bits(
    name, dtype, arguments, shape, taken
):
    kernel, x = K.get(name), _data(dtype, shape)
    want = _general(kernel, x, **arguments)
    first = kernel(x, **arguments)  # remembers the plan if the strided call did not
    out = np.full_like(want, 7)
    taken.reset()
    fresh = kernel(x, **arguments)
    into = kernel(x, out, **arguments, threads=1)
    assert taken() == 2
    assert into is out and fresh.shape == shape and fresh.dtype == want.dtype
    for result in (first, fresh, out):
        np.testing.assert_array_equal(_bits(result), _bits(want))


@pytest.mark.parametrize(("name", "dtype", "arguments"), CASES, ids=IDS)
def test_in_place_calls_take_the_short_path_and_partly_overlapping_ones_read_x_first(
    name, dtype, arguments, taken
):
    kernel = K.get(name)
    kernel(_data(dtype, 4), **arguments)  # the plan is remembered
    for lo, hi in [(0, 1), (1, 0)]:  # out after x in memory, then before it
        data = _data(dtype, 101)
        x, out = data[lo : lo + 100], data[hi : hi + 100]
        want = _general(kernel, x.copy(), **arguments)
        taken.reset()
        assert kernel(x, out, **arguments) is out
        assert taken() == 0  # the general path copies x first
        np.testing.assert_array_equal(_bits(out), _bits(want))
    same = _data(dtype, 100)
    want = _general(kernel, same.copy(), **arguments)
    taken.reset()
    assert kernel(same, same, **arguments) is same
    assert taken() == 1
    np.testing.assert_array_equal(_bits(same), _bits(want))


def test_layouts_the_short_path_cannot_take_go_the_general_way(taken):
    x = _data(np.float32, (6, 8))
    want = _general(K.hardswish, x)
    K.hardswish(x)
    strided_out = np.empty((6, 16), np.float32)[:, ::2]
    taken.reset()
    for result in (
        K.hardswish(np.asfortranarray(x)),
        K.hardswish(x, strided_out),
        K.hardswish(x, np.empty((6, 8), np.float32, order="F")),
    ):
        np.testing.assert_array_equal(result, want)
    np.testing.assert_array_equal(K.hardswish(x[::2]), want[::2])
    assert taken() == 0


def test_read_only_x_takes_the_short_path_and_a_read_only_out_is_refused(taken):
    x = _data(np.float32, (6, 8))
    want = _general(K.hardswish, x)
    K.hardswish(x)
    x.flags.writeable = False
    taken.reset()
    np.testing.assert_array_equal(K.hardswish(x), want)
    assert taken() == 1
    out = np.empty_like(x)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="hardswish: out is read-only"):
        K.hardswish(x, out)
    assert taken() == 1


def test_arrays_for_threads_go_the_general_way(taken):
    from edgeact.kernels._threads import THREADED_BYTES

    x = _data(np.float32, THREADED_BYTES // 4)
    want = _general(K.relu6, x)
    K.relu6(x[:8])
    taken.reset()
    np.testing.assert_array_equal(K.relu6(x[:-1]), want[:-1])
    assert taken() == 1
    np.testing.assert_array_equal(K.relu6(x), want)
    np.testing.assert_array_equal(K.relu6(x, threads=2), want)
    assert taken() == 1


def test_the_general_path_reuses_the_remembered_plan(monkeypatch, taken):
    """Calls the short path declines (here: too large, for threads) run the remembered plan:
    a new plan per call fetched its compiled loop again, ~0.5 ms a call."""
    from edgeact.kernels import _public
    from edgeact.kernels._threads import THREADED_BYTES

    built = []
    real = _public._plan
    monkeypatch.setattr(_public, "_plan", lambda *a, **k: built.append(a[0]) or real(*a, **k))
    x = _data(np.int8, THREADED_BYTES)
    x_q, y_q = QuantParams(0.05, -3, np.int8), QuantParams(1 / 256, -128, np.int8)  # new: no plan
    out = np.empty_like(x)
    taken.reset()
    for _ in range(3):
        K.sigmoid(x, out, x_q=x_q, y_q=y_q, threads=1)
    assert taken() == 0 and built == ["sigmoid"]


def test_new_quantization_objects_get_their_own_tables():
    """Plans are remembered by the QuantParams objects' ids: more objects than the cache holds,
    made and dropped one after another (so ids are reused), each gets its own table."""
    codes = np.arange(-128, 128, dtype=np.int8)
    for k in range(3 * _plan._REMEMBERED):
        x_q = QuantParams(0.01 + 0.001 * k, k % 7 - 3, np.int8)
        table = K.make_lut("sigmoid", x_q, Y_Q8)
        for _ in range(2):  # the second call takes the remembered plan
            result = K.sigmoid(codes, x_q=x_q, y_q=Y_Q8)
            np.testing.assert_array_equal(result, table[codes.view(np.uint8)])


def test_alternating_quantizations_each_get_their_own_table(taken):
    """The last plan is found by identity first, the others by key: both ways, in turn."""
    codes = np.arange(-128, 128, dtype=np.int8)
    pairs = [
        (X_Q8, Y_Q8),
        (QuantParams(0.1, 5, np.int8), Y_Q8),
        (X_Q8, QuantParams(0.2, 0, np.int8)),
    ]
    for x_q, y_q in pairs * 2:  # twice: a full cache (earlier tests) starts afresh once
        K.hardswish(codes, x_q=x_q, y_q=y_q)
    taken.reset()
    for x_q, y_q in pairs * 3 + pairs[::-1] * 3:
        want = K.make_lut("hardswish", x_q, y_q)[codes.view(np.uint8)]
        np.testing.assert_array_equal(K.hardswish(codes, x_q=x_q, y_q=y_q), want)
    assert taken() == 18


def test_errors_are_the_same_after_a_remembered_plan():
    x = np.zeros((2, 3), np.float32)
    codes = np.zeros(6, np.int8)
    K.silu(x)
    K.sigmoid(codes, x_q=X_Q8, y_q=Y_Q8)
    read_only = np.zeros((2, 3), np.float32)
    read_only.flags.writeable = False
    cases = [
        (lambda: K.silu(x, np.zeros((3, 2), np.float32)), ValueError, "out has shape"),
        (lambda: K.silu(x, np.zeros((2, 3), np.float16)), TypeError, "out has dtype float16"),
        (lambda: K.silu(x, [0.0] * 6), TypeError, "out must be a NumPy array"),
        (lambda: K.silu(x, read_only), ValueError, "out is read-only"),
        (lambda: K.silu(x, threads=0), ValueError, "threads must be >= 1"),
        (lambda: K.silu(x, threads="2"), TypeError, "threads must be an int"),
        (lambda: K.silu(x, compat=["tflite"]), ValueError, "unknown compat"),
        (lambda: K.silu(x, accuracy={}), ValueError, "unknown accuracy"),
        (lambda: K.sigmoid(codes, x_q=X_Q8), TypeError, "y_q is missing"),
        (lambda: K.sigmoid(codes.view(np.uint8), x_q=X_Q8, y_q=Y_Q8), ValueError, "x_q.dtype"),
        (lambda: K.sigmoid(codes, np.zeros(6, np.uint8), x_q=X_Q8, y_q=Y_Q8), TypeError, "out"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()


def test_short_calls_from_many_threads_give_the_general_bits(taken):
    """Below 64 KiB the short path keeps the GIL, above it releases and takes it back itself
    (``_gate.GIL_RELEASED_BYTES``): both, from four Python threads at once, give the right bits."""
    from concurrent.futures import ThreadPoolExecutor

    small, large = _data(np.float32, 1000), _data(np.float32, 100_000)
    want = {x.size: _general(K.gelu_tanh, x) for x in (small, large)}
    K.gelu_tanh(small)
    taken.reset()

    def calls(x):
        out = np.empty_like(x)
        for _ in range(20):
            assert K.gelu_tanh(x, out) is out
            np.testing.assert_array_equal(out, want[x.size])
        return True

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(calls, [small, large, small, large]))
    assert taken() == 80


def test_without_the_layout_the_gate_reads_every_call_takes_the_general_path(taken):
    """Where ndarrays' fields are not where the gate reads them (another ABI), nothing is
    installed in it; and here they are (64-bit CPython), so the short path is not silently off."""
    assert _gate.LAYOUT_MATCHES
    x, codes = _data(np.float32, 100), _data(np.int8, 100)
    want = K.hardswish(x), K.sigmoid(codes, x_q=X_Q8, y_q=Y_Q8)
    with _short_path_off():
        taken.reset()
        for _ in range(3):
            np.testing.assert_array_equal(K.hardswish(x), want[0])
            np.testing.assert_array_equal(K.sigmoid(codes, x_q=X_Q8, y_q=Y_Q8), want[1])
        assert taken() == 0
    K.hardswish(x)
    assert taken() == 1


def _relu6_gate():
    """relu6's gate with its float32 plan installed, and a call that it answers."""
    x = _data(np.float32, (4, 4))
    K.relu6(x)
    (plans,) = [p for p in _plan.EVERY_PLANS if p.gate.__name__ == "relu6_short_path"]
    return plans.gate, [x, np.empty_like(x), None, None, "tflite", "fast", None, 1 << 20]


def _with(arguments, **changes):
    names = ["x", "out", "x_q", "y_q", "compat", "accuracy", "threads", "threaded_bytes"]
    return [changes.get(n, a) for n, a in zip(names, arguments, strict=True)]


def test_the_gate_answers_only_what_its_plan_applies_to():
    gate, call = _relu6_gate()
    x, out = call[0], call[1]
    read_only = np.empty_like(x)
    read_only.flags.writeable = False

    class Sub(np.ndarray):
        pass

    declined = [
        _with(call, x=x.tolist()),
        _with(call, x=x.view(Sub)),
        _with(call, out=out.view(Sub)),
        _with(call, x=x.astype(">f4")),
        _with(call, out=out.astype(np.float64)),
        _with(call, out=read_only),
        _with(call, out=np.empty((4, 4), np.float32, order="F")),
        _with(call, x=np.empty((4, 8), np.float32)[:, ::2]),
        _with(call, out=out.reshape(2, 8)),
        _with(call, out=out.reshape(16)),
        _with(call, out=x[1:]),
        _with(call, x_q=X_Q8),
        _with(call, compat="onnxruntime"),
        _with(call, accuracy="exact"),
        *(_with(call, threads=t) for t in (0, -1, True, 2**70, "1", 1.0)),
        _with(call, threaded_bytes=x.nbytes),
        _with(call, threaded_bytes=float(1 << 20)),
    ]
    for arguments in declined:
        assert gate(*arguments) is None
    assert gate(*call[:-1]) is None and gate() is None
    for threads in (None, 1, 64):
        assert gate(*_with(call, threads=threads)) is out
    assert gate(*_with(call, out=x)) is x  # in place
    np.testing.assert_array_equal(x, K.relu6(call[0]))


def test_the_gate_keeps_reference_counts():
    gate, call = _relu6_gate()
    x, out = call[0], call[1]
    codes = _data(np.int8, 100)
    K.sigmoid(codes, x_q=X_Q8, y_q=Y_Q8)
    (plans,) = [p for p in _plan.EVERY_PLANS if p.gate.__name__ == "sigmoid_short_path"]
    table = plans.installed[-1].constant
    kept = (x, out, table, np.dtype(np.float32), np.dtype(np.int8))
    before = [sys.getrefcount(a) for a in kept]
    for _ in range(1000):
        gate(*call)
        gate(*_with(call, threads=0))
        made = gate(*_with(call, out=None))
        assert sys.getrefcount(made) == 2 and made.flags.c_contiguous and made.shape == x.shape
        K.sigmoid(codes, codes, x_q=X_Q8, y_q=Y_Q8)
        K.sigmoid(codes, x_q=X_Q8, y_q=Y_Q8)
    del made
    assert [sys.getrefcount(a) for a in kept] == before


def test_a_parameterised_call_builds_no_c_loop(monkeypatch, taken):
    """Its plan is never remembered, and its C loop would compile its values in: ~0.12 s for
    each new value."""
    from edgeact.kernels import _public

    def refuse(*arguments):
        raise AssertionError("a C loop was built for a parameterised call")

    monkeypatch.setattr(_public, "with_params_c_loop", refuse)
    x = _data(np.float32, 100)
    want = {alpha: _general(K.elu, x, alpha=alpha) for alpha in (0.5, 0.75)}
    taken.reset()
    for alpha in (0.5, 0.75, 0.5):
        np.testing.assert_array_equal(K.elu(x, alpha=alpha), want[alpha])
    assert taken() == 0
