"""int8/uint8 kernels bit-exact against the real LiteRT interpreter (ai-edge-litert).

For every TFLite activation op of the catalogue's forms (HARD_SWISH, RELU6, RELU, RELU_N1_TO_1,
LEAKY_RELU, LOGISTIC, TANH, ELU, GELU exact and approximate), in int8 and in uint8 where the form
says LiteRT runs it, a one-op model per (scale, zero point) pair is run on all 256 codes and
compared code for code with ``edgeact.kernels.<name>(codes, x_q=..., y_q=..., compat=...)``:

- ``compat="tflite"`` against the builtin kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``);
- ``compat="xnnpack"`` against the default resolver (``@pytest.mark.xnnpack``), for the ops the
  delegate takes (LOGISTIC, TANH, int8 ELU, LEAKY_RELU) and for those it leaves on the builtin
  kernels (where both compats must give the same table).

Parameters per (op, dtype): 100 random pairs (seeded; scales log-uniform in [1e-3, 1], zero
points uniform over the dtype) plus 20 "tie" pairs whose scales are powers of two, so that exact
halves reach every rounding step and a wrong tie rule cannot hide. Preconditions honoured:
HARD_SWISH needs input_scale/128 < output_scale, builtin LOGISTIC needs output scale 1/256, ELU
is int8-only.

LiteRT is imported at module level on purpose: without it these tests fail, they never skip.
"""

import dataclasses
import zlib

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter  # noqa: F401  (missing LiteRT = failure)

import edgeact.kernels as K
from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import _tflite
from edgeact.quant import QuantParams
from edgeact.runtimes import litert

N_RANDOM = 100
N_TIES = 20
SCALES = (1e-3, 1.0)

# From the catalogue's TFLite forms: catalogue name -> (TFLite op, model options, the 8-bit
# dtypes the form says LiteRT's builtin kernels run). Running them here checks those claims.
OPS = {
    name: (
        form.op,
        form.options_for(act.params),
        tuple(d.lower() for d in ("INT8", "UINT8") if d in form.versions),
    )
    for name, act in ACTIVATIONS.items()
    if (form := act.tflite_form()) is not None
}
# what the forms say LiteRT's XNNPACK delegate takes in int8 (checked against the real delegate)
DELEGATED = tuple(name for name, act in ACTIVATIONS.items() if act.native("litert-xnnpack", "int8"))

CASES = [(name, dtype) for name, (_, _, dtypes) in OPS.items() for dtype in dtypes]


def _codes(dtype) -> np.ndarray:
    return np.arange(256, dtype=np.uint8).view(dtype)


@dataclasses.dataclass(frozen=True)
class Pair:
    x_q: QuantParams
    y_q: QuantParams
    alpha: float | None = None  # LEAKY_RELU only

    @property
    def kwargs(self):
        return {} if self.alpha is None else {"negative_slope": self.alpha}

    def __str__(self):
        x, y = self.x_q, self.y_q
        text = f"x=({x.scale!r}, {x.zero_point}) y=({y.scale!r}, {y.zero_point})"
        return text if self.alpha is None else f"{text} alpha={self.alpha!r}"


def _pairs(name, dtype, *, builtin: bool) -> list[Pair]:
    """N_RANDOM log-uniform pairs and N_TIES power-of-two pairs, seeded by (name, dtype, mode)."""
    rng = np.random.default_rng(zlib.crc32(f"{name}/{dtype}/{builtin}".encode()))
    info = np.iinfo(dtype)
    lo, hi = np.log(SCALES[0]), np.log(SCALES[1])
    pairs = []
    for i in range(N_RANDOM + N_TIES):
        ties = i >= N_RANDOM
        if ties:
            sx = 2.0 ** -int(rng.integers(0, 11))
            sy = sx * 2.0 ** int(rng.integers(-2, 3))
        else:
            sx = float(np.exp(rng.uniform(lo, hi)))
            sy = float(np.exp(rng.uniform(lo, hi)))
        zx, zy = (int(z) for z in rng.integers(info.min, int(info.max) + 1, size=2))
        alpha = None
        if name == "hardswish" and sy <= sx / 128 * 1.001:  # LiteRT: input_scale/128 < output
            sy = sx / 64
        if name == "sigmoid" and builtin:
            sy = 1 / 256  # LiteRT's LOGISTIC accepts no other output scale
            if ties and i % 2:
                sx = 2.0**-5
        if name == "sigmoid" and not builtin and ties and i % 2:
            sy = 1.0  # sigmoid(0)/1 + zp is an exact half: tie-breaking shows at q = zp_in
        if name == "leaky_relu":
            sign = -1.0 if rng.random() < 0.2 else 1.0
            if ties:
                alpha = sign * 2.0 ** -int(rng.integers(0, 7))
            else:
                alpha = sign * float(np.exp(rng.uniform(np.log(0.01), np.log(2.0))))
        pairs.append(Pair(QuantParams(sx, zx, dtype), QuantParams(sy, zy, dtype), alpha))
    return pairs


def _model(name, pair) -> bytes:
    op, options, _ = OPS[name]
    if pair.alpha is not None:
        options = {**options, "alpha": pair.alpha}
    return litert.single_op_model(op, pair.x_q, pair.y_q, **options)


def _check(name, dtype, pairs, *, delegate: bool):
    """Run every pair in LiteRT and in edgeact; return (mismatch descriptions, delegated flags)."""
    codes = _codes(dtype)
    compat = "xnnpack" if delegate else "tflite"
    kernel = getattr(K, name)
    mismatches, delegated = [], []
    for pair in pairs:
        interp = litert.interpreter(_model(name, pair), delegate=delegate)
        got = litert.run_interpreter(interp, codes)
        delegated.append("DELEGATE" in litert.delegated_ops(interp))
        want = kernel(codes, x_q=pair.x_q, y_q=pair.y_q, compat=compat, **pair.kwargs)
        assert want.dtype == got.dtype
        bad = np.flatnonzero(got != want)
        if bad.size:
            shown = ", ".join(f"q={codes[i]}: litert {got[i]} edgeact {want[i]}" for i in bad[:4])
            mismatches.append(f"{pair}: {bad.size} codes differ ({shown})")
    return mismatches, delegated


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_builtin_kernels_bit_exact(name, dtype):
    pairs = _pairs(name, dtype, builtin=True)
    mismatches, delegated = _check(name, dtype, pairs, delegate=False)
    assert not any(delegated)
    assert not mismatches, f"{name} {dtype} vs LiteRT builtin:\n" + "\n".join(mismatches[:10])


@pytest.mark.xnnpack
@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_default_resolver_bit_exact(name, dtype):
    """compat="xnnpack" equals the default resolver, and edgeact knows which nodes it delegates."""
    pairs = _pairs(name, dtype, builtin=False)
    mismatches, delegated = _check(name, dtype, pairs, delegate=True)
    assert not mismatches, f"{name} {dtype} vs LiteRT + XNNPACK:\n" + "\n".join(mismatches[:10])
    expected = [
        _tflite.xnnpack_delegates(name, {**ACTIVATIONS[name].params, **p.kwargs}, p.x_q, p.y_q)
        for p in pairs
    ]
    assert delegated == expected
    assert any(delegated) == (name in DELEGATED)


def _run_both(name, pair):
    codes = _codes(pair.x_q.dtype)
    model = _model(name, pair)
    builtin = litert.run_model(model, codes, delegate=False)
    xnnpack = litert.run_model(model, codes, delegate=True)
    kernel = getattr(K, name)
    assert np.array_equal(
        builtin, kernel(codes, x_q=pair.x_q, y_q=pair.y_q, compat="tflite", **pair.kwargs)
    )
    assert np.array_equal(
        xnnpack, kernel(codes, x_q=pair.x_q, y_q=pair.y_q, compat="xnnpack", **pair.kwargs)
    )
    return builtin, xnnpack


@pytest.mark.xnnpack
@pytest.mark.parametrize(
    ("name", "dtype", "pair", "differing"),
    [
        # XNNPACK's 8.8 fixed-point multipliers vs TFLite's Q31 ones: many codes shift by one
        # (33 and 46 of 256 here; for r = 5/3 and alpha = 0.1 they happen to agree everywhere).
        ("leaky_relu", "int8", ((0.047, 3), (0.031, -10), 0.13), None),
        ("leaky_relu", "uint8", ((0.02, 120), (0.05, 90), 0.3), None),
        # ELU: identity branch at output scale = 2 x input scale lands on halves; builtin rounds
        # roundf(y/s) then adds zp (ties away from 0), XNNPACK rounds y/s + zp to even.
        ("elu", "int8", ((0.05, -20), (0.1, -10), None), None),
        # TANH is the identity for tiny inputs; power-of-two scales give exact halves again.
        ("tanh", "int8", ((2.0**-20, 0), (2.0**-19, -11), None), None),
        # LOGISTIC at the only output scale the builtin takes (1/256): they differ rarely, where
        # 256·sigmoid is within float32 rounding of a half (found by search; q = 35 and q = 28).
        ("sigmoid", "uint8", ((0.04910539092693617, 162), (1 / 256, 241), None), [35]),
        ("sigmoid", "uint8", ((0.041715529049445504, 48), (1 / 256, 149), None), [28]),
    ],
)
def test_builtin_and_xnnpack_differ(name, dtype, pair, differing):
    """The two compats are different runtimes: show a difference, each matched by edgeact."""
    (sx, zx), (sy, zy), alpha = pair
    pair = Pair(QuantParams(sx, zx, dtype), QuantParams(sy, zy, dtype), alpha)
    builtin, xnnpack = _run_both(name, pair)
    diff = np.flatnonzero(builtin != xnnpack)
    assert diff.size > 0
    if differing is not None and not _tflite.is_arm():  # found on x86-64 (ARM fuses y/s + zp)
        assert diff.tolist() == differing


@pytest.mark.xnnpack
def test_xnnpack_sigmoid_is_double_precision():
    """XNNPACK's LUT evaluates sigmoid as e/(1+e) with a double ``exp``; TFLite's in float32.

    At x = 0.02 the float32 formula gives 0.50499988, the double one 0.50499982 (as float32);
    divided by the output scale 0.20199993 that is 2.5000002 (-> 3) against exactly 2.5 (-> 2,
    ties to even). LiteRT's delegate returns 2, as edgeact's compat="xnnpack" does.
    """
    x_q, y_q = QuantParams(0.01, 0, "int8"), QuantParams(0.2019999384880066, 0, "int8")
    codes = _codes("int8")
    got = litert.run_model(litert.single_op_model("LOGISTIC", x_q, y_q), codes, delegate=True)
    assert np.array_equal(got, K.sigmoid(codes, x_q=x_q, y_q=y_q, compat="xnnpack"))
    if not _tflite.is_arm():
        assert got[2] == 2


@pytest.mark.xnnpack
def test_logistic_output_scale_only_xnnpack_accepts():
    """Builtin LOGISTIC rejects an output scale of 1; XNNPACK takes it (and rounds to even)."""
    x_q, y_q = QuantParams(0.05, 0, "int8"), QuantParams(1.0, -3, "int8")
    model = litert.single_op_model("LOGISTIC", x_q, y_q)
    with pytest.raises(RuntimeError, match="LOGISTIC"):
        litert.interpreter(model, delegate=False)
    got = litert.run_model(model, _codes("int8"), delegate=True)
    want = K.sigmoid(_codes("int8"), x_q=x_q, y_q=y_q, compat="xnnpack")
    assert np.array_equal(got, want)
    # q = 0 is x = 0: sigmoid 0.5, 0.5/1 + (-3) = -2.5 rounds to even, -2 (ties away: -3).
    assert got[0] == -2


def test_hard_swish_known_off_by_one():
    """The public tracker's case: uint8 x = 128 gives 45 in LiteRT, where float rounding gives 46.

    x = (128 - 105)·0.13308 = 3.0608 (>= 3, so hardswish(x) = x); x/0.07557 + 5 = 45.503, which
    rounds to 46. TFLite's 16-bit fixed-point path truncates on the way and returns 45; edgeact
    (compat="tflite") returns what LiteRT returns.
    """
    x_q, y_q = QuantParams(0.13308, 105, "uint8"), QuantParams(0.07557, 5, "uint8")
    codes = _codes("uint8")
    got = litert.run_model(litert.single_op_model("HARD_SWISH", x_q, y_q), codes, delegate=False)
    want = K.hardswish(codes, x_q=x_q, y_q=y_q, compat="tflite")
    x = np.float32(0.13308) * np.float32(128 - 105)
    assert round(float(x / np.float32(0.07557)) + 5) == 46
    assert got[128] == 45
    assert want[128] == 45
    assert np.array_equal(got, want)


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_hard_swish_output_shift_of_16(dtype):
    """A LiteRT x86 quirk: with an output multiplier exponent of -16 (output scale > ~512 x input
    scale), gemmlowp's int16 RoundingDivideByPOT wraps its mask to -1 and returns +-1 instead of
    0, so every code maps to zero_point +- 1 although |hardswish| < output_scale/2 everywhere."""
    offset = 128 if dtype == "uint8" else 0
    x_q, y_q = QuantParams(1e-3, offset, dtype), QuantParams(0.9, offset + 3, dtype)
    codes = _codes(dtype)
    got = litert.run_model(litert.single_op_model("HARD_SWISH", x_q, y_q), codes, delegate=False)
    want = K.hardswish(codes, x_q=x_q, y_q=y_q, compat="tflite")
    assert np.array_equal(got, want)
    # ARM's NEON path rounds with vrshl instead, which gives the correct 0.
    expected = {0} if _tflite.is_arm() else {-1, 1}
    assert set(np.unique(got.astype(int) - y_q.zero_point).tolist()) == expected


def test_litert_rejections_are_runtime_errors():
    bad = litert.single_op_model(
        "HARD_SWISH", QuantParams(1.0, 0, "int8"), QuantParams(1e-3, 0, "int8")
    )
    with pytest.raises(RuntimeError, match="HARD_SWISH"):
        litert.interpreter(bad, delegate=False)
    with pytest.raises(ValueError, match="HARD_SWISH"):
        K.hardswish(
            _codes("int8"), x_q=QuantParams(1.0, 0, "int8"), y_q=QuantParams(1e-3, 0, "int8")
        )
    elu_u8 = litert.single_op_model(
        "ELU", QuantParams(0.1, 128, "uint8"), QuantParams(0.1, 128, "uint8")
    )
    with pytest.raises(RuntimeError, match="ELU"):
        litert.run_model(elu_u8, _codes("uint8"), delegate=False)
