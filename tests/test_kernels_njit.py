"""The public kernels called from users' own ``@njit`` functions (``edgeact.kernels._njit``).

Inside Numba they must give the array kernels' bits: every kernel on float32 (special values,
breakpoints, random; both accuracies), all 65 536 float16 codes and all 256 int8/uint8 codes under
every compat, with default and with other parameters, fresh and given ``out``, any layout. Errors
are Numba's TypingError at compile time or ValueError at run time, each naming the kernel.
"""

import subprocess
import sys

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

import edgeact.kernels as K
from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import _njit
from edgeact.kernels._njit_tables import KEY_WORDS, PROBES, find, record
from edgeact.quant import QuantParams

NAMES = list(K.KERNELS)
RNG = np.random.default_rng(16)
FLOAT32_INPUT = np.concatenate(
    [
        np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-38, 3.4e38, -3.4e38]),
        np.array([-20.0, -6.0, -3.0, -2.5, -0.5, 0.5, 2.5, 3.0, 6.0, 20.0, 88.7, -103.9]),
        np.linspace(-12, 12, 1001),
        RNG.normal(0, 4, 2977),
    ]
).astype(np.float32).reshape(50, 80)  # fmt: skip
FLOAT16_INPUT = np.arange(1 << 16, dtype=np.uint16).view(np.float16).reshape(256, 256)
CODES = {dt: np.arange(256, dtype=np.uint8).view(dt).reshape(16, 16) for dt in (np.int8, np.uint8)}
QUANT = {
    np.int8: (QuantParams(0.05, 3, np.int8), QuantParams(0.03, -10, np.int8)),
    np.uint8: (QuantParams(0.04, 130, np.uint8), QuantParams(0.025, 60, np.uint8)),
}


def _other_params(name: str) -> dict[str, float]:
    """Non-default parameters, to show they reach the compiled loop (hardtanh's stay ordered)."""
    return {k: v * 0.5 + 0.125 for k, v in ACTIVATIONS[name].params.items()}


def _user_function(name: str, params: dict[str, float]):
    """A user's @njit function calling the kernel twice: a fresh result with default parameters,
    and into ``out`` with ``params``; the kernel is written as ``K.<name>`` in its source."""
    given = "".join(f", {k}={v!r}" for k, v in params.items())
    namespace = {"K": K, "njit": njit}
    exec(
        f"@njit\n"
        f"def user(x, out, x_q, y_q, compat, accuracy):\n"
        f"    K.{name}(x, out, x_q=x_q, y_q=y_q, compat=compat, accuracy=accuracy{given})\n"
        f"    return K.{name}(x, x_q=x_q, y_q=y_q, compat=compat, accuracy=accuracy)\n",
        namespace,
    )
    return namespace["user"]


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    bits = f"u{got.dtype.itemsize}"
    np.testing.assert_array_equal(got.view(bits), want.view(bits))


# One case per code path (float32 select, float32-or-float64 and float64-only loops, float16
# arithmetic and tables with default and passed parameters, int8 and uint8 tables) runs
# everywhere; the others compile a Numba function each, minutes under the emulated arm64
# interpreter, so CI runs them on x86-64.
PATHS = {("relu6", np.float32), ("sigmoid", np.float32), ("gelu", np.float32),
         ("hardswish", np.float16), ("elu", np.float16), ("sigmoid", np.int8),
         ("hardswish", np.uint8)}  # fmt: skip
CASES = [
    pytest.param(name, dtype, marks=[] if (name, dtype) in PATHS else pytest.mark.compiles)
    for name in NAMES
    for dtype in (np.float32, np.float16, np.int8, np.uint8)
]


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_every_kernel_in_njit_gives_the_array_kernels_bits(name, dtype):
    kernel, params = K.KERNELS[name], _other_params(name)
    user = _user_function(name, params)
    if dtype in QUANT:
        x, (x_q, y_q) = CODES[dtype], QUANT[dtype]
        runs = [
            (compat, "fast", {"x_q": x_q, "y_q": y_q, "compat": compat}) for compat in K.COMPATS
        ]
    else:
        x, x_q, y_q = (FLOAT32_INPUT if dtype == np.float32 else FLOAT16_INPUT), None, None
        runs = [("tflite", accuracy, {"accuracy": accuracy}) for accuracy in ("fast", "exact")]
    for compat, accuracy, kwargs in runs:
        want = kernel(x, **kwargs)
        for _ in range(2):  # int8/uint8: the second call finds the tables the first recorded
            out = np.zeros_like(want)
            _same_bits(user(x, out, x_q, y_q, compat, accuracy), want)
            _same_bits(out, kernel(x, **kwargs, **params))


@njit
def _hardswish_views(x, y, f):
    K.hardswish(x.T, y.T)  # strided input and output
    K.hardswish(x, f)  # a Fortran-ordered out: computed aside, copied in
    return K.hardswish(x[::2, 1::3]), K.hardswish(x, x)  # in place: out is x


def test_njit_kernels_take_any_layout_and_run_in_place():
    x = FLOAT32_INPUT.copy()
    want = K.hardswish(x)
    y, f = np.empty_like(x), np.zeros(x.shape, x.dtype, order="F")
    strided, in_place = _hardswish_views(x, y, f)
    _same_bits(y, want)
    _same_bits(f, want)
    _same_bits(strided, want[::2, 1::3])
    _same_bits(in_place, want)
    _same_bits(x, want)


@njit
def _gelu_into(buffer, n):
    K.gelu(buffer[1 : n + 1], buffer[:n])  # out overlaps x shifted by one element


def test_njit_kernel_reads_x_before_a_partly_overlapping_out_overwrites_it():
    buffer = FLOAT32_INPUT.ravel().copy()
    n = buffer.size - 1
    want = K.gelu(buffer[1:].copy())
    _gelu_into(buffer, n)
    _same_bits(buffer[:n], want)


def _compiled_call(source: str):
    namespace = {"K": K, "njit": njit, "np": np}
    exec(f"@njit\ndef call(x, out, x_q, y_q):\n    return {source}\n", namespace)
    return namespace["call"]


X32 = np.ones(4, np.float32)
Q8 = np.zeros(4, np.int8)
XQ, YQ = QUANT[np.int8]


@pytest.mark.parametrize(
    ("source", "args", "message"),
    [
        ("K.hardswish(x)", (np.ones(4), None, None, None), "hardswish: x must be float32"),
        ("K.relu6(x, out)", (X32, np.ones(4, np.float16), None, None), "relu6: out must be"),
        ("K.sigmoid(x, x_q=x_q, y_q=y_q)", (X32, None, XQ, YQ), "sigmoid: x_q/y_q describe"),
        ("K.sigmoid(x, x_q=x_q)", (Q8, None, XQ, None), "need x_q and y_q"),
        ("K.gelu(x, x_q=x_q, y_q=y_q)", (Q8.view(np.uint8), None, XQ, YQ), "x_q.dtype is int8"),
        ("K.tanh(x, out)", (Q8, np.zeros(4, np.uint8), None, None), "need x_q and y_q"),
        ("K.elu(x, out, x_q=x_q, y_q=y_q)", (Q8, X32, XQ, YQ), "elu: out must be a writable int8"),
        ("K.silu(x, accuracy=2)", (X32, None, None, None), "silu: accuracy must be 'fast' or"),
    ],
)
def test_njit_kernel_refuses_wrong_types_when_compiling(source, args, message):
    with pytest.raises(TypingError, match=message):
        _compiled_call(source)(*args)


@pytest.mark.parametrize(
    ("source", "args", "message"),
    [
        ("K.hardswish(x, out)", (X32, np.ones(5, np.float32), None, None), "out must have x's"),
        ("K.leaky_relu(x, negative_slope=np.inf)", (X32, None, None, None), "negative_slope"),
        ("K.elu(x, alpha=np.nan, x_q=x_q, y_q=y_q)", (Q8, None, XQ, YQ), "alpha must be a finite"),
        ("K.hardswish(x, x_q=x_q, y_q=y_q, compat='tf')", (Q8, None, XQ, YQ), "unknown compat"),
        ("K.sigmoid(x, accuracy='exactly')", (X32, None, None, None), "sigmoid: unknown accuracy"),
    ],
)
def test_njit_kernel_refuses_wrong_values_when_running(source, args, message):
    with pytest.raises(ValueError, match=message):
        _compiled_call(source)(*args)


@njit
def _apply_tables(q, byte_table, h, half_table, out):
    K.apply_lut(h, half_table, out)
    return K.apply_lut(q, byte_table)


def test_njit_apply_lut_gives_the_kernels_bits_with_tables_built_outside():
    x_q, y_q = QUANT[np.int8]
    byte_table = K.make_lut("silu", x_q, y_q, compat="onnxruntime")
    half_table = K.make_lut("elu", np.float16, alpha=0.5)
    out = np.empty_like(FLOAT16_INPUT)
    codes = _apply_tables(CODES[np.int8], byte_table, FLOAT16_INPUT, half_table, out)
    _same_bits(codes, K.silu(CODES[np.int8], x_q=x_q, y_q=y_q, compat="onnxruntime"))
    _same_bits(out, K.elu(FLOAT16_INPUT, alpha=0.5))


@njit
def _apply(q, table):
    return K.apply_lut(q, table)


def test_njit_apply_lut_refuses_a_table_that_does_not_fit():
    with pytest.raises(ValueError, match="needs a table of 256 entries"):
        _apply(CODES[np.int8], np.zeros(255, np.int8))
    with pytest.raises(TypingError, match="apply_lut: q must be"):
        _apply(X32, np.zeros(256, np.float32))


@njit
def _hardswish_calls(q, out, x_q, y_q, calls):
    for _ in range(calls):
        K.hardswish(q, out, x_q=x_q, y_q=y_q, compat="onnxruntime")
    return out


def test_njit_int8_kernel_builds_a_table_once_per_set_of_values(monkeypatch):
    built = []

    def counted(*args):
        built.append(args[0])
        return real(*args)

    real = _njit.quantized_table
    monkeypatch.setattr(_njit, "quantized_table", counted)
    q, out = CODES[np.int8], np.empty_like(CODES[np.int8])
    # values no other test uses, so the memo has no table for them yet
    x_q, y_q = QuantParams(0.0625, 7, np.int8), QuantParams(0.0078125, -100, np.int8)
    other_y_q = QuantParams(0.0078125, -99, np.int8)
    for y, fetched in ((y_q, 1), (other_y_q, 2), (y_q, 2)):
        _same_bits(
            _hardswish_calls(q, out, x_q, y, 5),
            K.hardswish(q, x_q=x_q, y_q=y, compat="onnxruntime"),
        )
        assert built == ["hardswish"] * fetched


def test_njit_int8_kernel_raises_where_its_table_cannot_be_built(monkeypatch):
    def failing(*args):
        raise ValueError("no table today")

    q, out = CODES[np.uint8], np.empty_like(CODES[np.uint8])
    x_q, y_q = QuantParams(0.125, 9, np.uint8), QuantParams(0.25, 11, np.int8)  # this test's only
    monkeypatch.setattr(_njit, "quantized_table", failing)
    with pytest.raises(RuntimeError, match="hardswish: its table could not be built"):
        _hardswish_calls(q, out.view(np.int8), x_q, y_q, 1)
    monkeypatch.undo()  # nothing was recorded: the next call builds the table
    want = K.hardswish(q, x_q=x_q, y_q=y_q, compat="onnxruntime")
    _same_bits(_hardswish_calls(q, out.view(np.int8), x_q, y_q, 1), want)


def test_table_memo_records_a_key_once_and_nothing_past_a_full_window():
    memo = np.zeros((PROBES, 1 + KEY_WORDS), np.int64)  # one window: every row in it
    keys = [tuple(range(k, k + KEY_WORDS)) for k in range(PROBES + 1)]
    assert [record(memo, key, 1000 + i) for i, key in enumerate(keys)] == [1] * PROBES + [-1]
    assert [find(memo, key) for key in keys] == [1000 + i for i in range(PROBES)] + [0]
    assert record(memo, keys[0], 5) == 0 and find(memo, keys[0]) == 1000
    assert find(np.zeros_like(memo), keys[0]) == 0


def test_quant_params_keep_their_values_through_njit():
    x_q = QuantParams(0.05, 3, np.uint8)
    passed, scale, zero_point = njit(lambda p: (p, p.scale, p.zero_point))(x_q)
    assert passed == x_q and (scale, zero_point) == (x_q.scale, 3)


USER_MODULE = """
import numpy as np
from numba import njit
import edgeact.kernels as K
from edgeact.quant import QuantParams

@njit(cache=True)
def block(q, x_q, y_q):
    return K.sigmoid(q, x_q=x_q, y_q=y_q), K.sigmoid(q, x_q=x_q, y_q=y_q)

q = np.arange(256, dtype=np.uint8).view(np.int8)
x_q, y_q = QuantParams(0.05, 3, np.int8), QuantParams(1 / 256, -128, np.int8)
same = all((y == K.sigmoid(q, x_q=x_q, y_q=y_q)).all() for y in block(q, x_q, y_q))
print(sum(block.stats.cache_hits.values()), same)
"""


@pytest.mark.subprocess
def test_a_cached_user_function_finds_the_memo_of_the_process_that_loads_it(tmp_path):
    """Numba's cache keeps the compiled code, which names the memo by its symbol: in a new process
    it must reach that process's memo (a stale address would give wrong bytes or crash)."""
    (tmp_path / "user_int8.py").write_text(USER_MODULE)
    runs = [
        subprocess.run(
            [sys.executable, "-c", "import user_int8"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        for _ in range(2)
    ]
    outcomes = [(r.returncode, r.stdout.split()) for r in runs]
    assert outcomes == [(0, ["0", "True"]), (0, ["1", "True"])], [r.stderr for r in runs]
