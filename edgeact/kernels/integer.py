"""Integer-only int8/uint8 kernels for the multiply/add/clamp approximations of GELU and SiLU.

For accelerators and DSPs without float units or table lookups: the loop uses only integer
multiply, add, compare and shift. All real-valued constants are folded into integers once, from
the quantization parameters, in the style of I-BERT (Kim et al. 2021, arXiv:2101.01321, §3.4):

gelu_poly_int, x = S·d with d = q - z:
    erf(x/√2) ≈ sign(d)·a·S'²·((min(|d|, qb) - qb)² + qc),
    S' = S/√2, qb = ⌊-b/S'⌉, qc = ⌊1/(a·S'²)⌉
    1 + erf ≈ a·S'²·(sign(d)·((min(|d|, qb) - qb)² + qc) + qc)    (a < 0, so qc < 0)
    gelu ≈ (S·|a|·S'²/2) · d · (-qc - sign(d)·((min(|d|, qb) - qb)² + qc))
silu_poly_int, knee k = 4.4, qk = ⌊k/S⌉, u = max(qk - |d|, 0):
    σ ≈ u²/(2qk²) for d < 0 and (2qk² - u²)/(2qk²) for d >= 0
    silu ≈ (S/(2qk²)) · d · (that numerator)

The product is an int64 accumulator; the remaining real factor becomes a fixed-point multiplier
m·2^-shift, and the result is rounded half up, offset by the output zero point and saturated.
Rounding the constants to integers is the only approximation beyond the polynomial's own. Error
against the exact activation, measured over 5000 random parameter sets (input scales 1e-3..0.32):
|error| ≤ (the float approximation's bound) + S_y/2 + k·S_x with k = 1.3 for GELU (its knee qb is
rounded to whole input steps) and k = 0.05 for SiLU; tests/test_integer.py checks k = 1.5 / 0.1.
"""

import functools
import math
from dataclasses import astuple, dataclass

import numpy as np

from edgeact._jit import jit
from edgeact.catalogue import IBERT_A, IBERT_B, SILU_POLY_KNEE
from edgeact.kernels._checks import check_array, check_quant_params, checked_out
from edgeact.kernels._loops import specialise, unaliased
from edgeact.kernels._threads import apply_threads, check_threads
from edgeact.quant import QuantParams

__all__ = ["IntegerProgram", "gelu_poly_int", "integer_program", "silu_poly_int"]


@dataclass(frozen=True)
class IntegerProgram:
    """The integers one quantized call runs on: input zero point, polynomial constants (c1, c2,
    c3), the fixed-point output multiplier m·2^-shift, output zero point and saturation bounds."""

    zx: int
    c1: int
    c2: int
    c3: int
    m: int
    shift: int
    zy: int
    qmin: int
    qmax: int


@jit
def _requantize(acc, m, shift, zy, qmin, qmax):
    y = ((acc * m + (np.int64(1) << (shift - 1))) >> shift) + zy
    return qmin if y < qmin else (qmax if y > qmax else y)


@jit
def _gelu_poly_acc(d, qb, qc, minus_qc):
    """d · (-qc - sign(d)·((min(|d|, qb) - qb)² + qc)): the integer I-BERT GELU before scaling."""
    t = -d if d < 0 else d
    t = qb if t > qb else t
    poly = (t - qb) * (t - qb) + qc
    return d * (minus_qc - (-poly if d < 0 else poly))


@jit
def _silu_poly_acc(d, qk, two_qk2, unused):
    """d · (u² or 2qk² - u²), u = max(qk - |d|, 0): the integer quadratic-sigmoid SiLU."""
    u = qk - (-d if d < 0 else d)
    u = 0 if u < 0 else u
    return d * (u * u if d < 0 else two_qk2 - u * u)


def _integer_template(q, out, p):
    for i in range(q.size):
        d = np.int64(q[i]) - p[0]
        acc = _accumulate(d, p[1], p[2], p[3])  # noqa: F821 - bound by specialise
        out[i] = _requantize(acc, p[4], p[5], p[6], p[7], p[8])


def _fixed_point(real: float, max_abs_acc: int, name: str) -> tuple[int, int]:
    """(m, shift) with m·2^-shift ≈ real and |acc·m| < 2^62 for every accumulator value."""
    budget = 62 - max(1, max_abs_acc).bit_length()
    shift = budget - math.frexp(real)[1]
    if not 1 <= shift <= 62 or budget < 16:
        raise ValueError(
            f"{name}: the quantization parameters need a multiplier of {real:.3g} on accumulators "
            f"up to {max_abs_acc}, beyond int64 fixed point"
        )
    return round(real * 2.0**shift), shift


@functools.lru_cache(maxsize=256)
def integer_program(name: str, x_q: QuantParams, y_q: QuantParams) -> IntegerProgram:
    """Fold the real-valued constants of ``name`` for these quantization parameters (cached)."""
    make_constants, accumulate_py, _ = _SETUP[name]
    constants, real = make_constants(x_q)
    d = np.arange(x_q.qmin, x_q.qmax + 1, dtype=np.int64) - x_q.zero_point
    max_abs_acc = int(np.abs(accumulate_py(d, *constants)).max())
    m, shift = _fixed_point(real / y_q.scale, max_abs_acc, name)
    return IntegerProgram(x_q.zero_point, *constants, m, shift, y_q.zero_point, y_q.qmin, y_q.qmax)


def _gelu_constants(x_q):
    scaled = x_q.scale / math.sqrt(2.0)
    qb = round(-IBERT_B / scaled)
    qc = round(1.0 / (IBERT_A * scaled * scaled))
    return (qb, qc, -qc), x_q.scale * -IBERT_A * scaled * scaled / 2.0


def _silu_constants(x_q):
    qk = max(1, round(SILU_POLY_KNEE / x_q.scale))
    return (qk, 2 * qk * qk, 0), x_q.scale / (2 * qk * qk)


def _gelu_acc_py(d, qb, qc, minus_qc):
    t = np.minimum(np.abs(d), qb)
    poly = (t - qb) ** 2 + qc
    return d * (minus_qc - np.where(d < 0, -poly, poly))


def _silu_acc_py(d, qk, two_qk2, _):
    u = np.maximum(qk - np.abs(d), 0)
    return d * np.where(d < 0, u * u, two_qk2 - u * u)


_SETUP = {  # name: (constants, accumulator in NumPy for the range check, accumulator in Numba)
    "gelu_poly_int": (_gelu_constants, _gelu_acc_py, _gelu_poly_acc),
    "silu_poly_int": (_silu_constants, _silu_acc_py, _silu_poly_acc),
}


def _run(name, q, x_q, y_q, out, threads):
    check_array(name, q)
    if q.dtype.kind == "f":
        raise TypeError(f"{name}: takes int8/uint8 codes, got a {q.dtype} array")
    check_quant_params(name, q, x_q, y_q)
    if threads is not None:
        check_threads(name, threads)
    program = np.array(astuple(integer_program(name, x_q, y_q)), dtype=np.int64)
    out = checked_out(name, q, y_q.dtype, out)
    loop = specialise(_integer_template, name, _accumulate=_SETUP[name][2])
    apply_threads(lambda a, b: loop(a, b, program), unaliased(q, out), out, threads)
    return out


def gelu_poly_int(
    q: np.ndarray,
    x_q: QuantParams,
    y_q: QuantParams,
    out: np.ndarray | None = None,
    *,
    threads: int | None = None,
) -> np.ndarray:
    """I-BERT's polynomial GELU on int8/uint8 codes with integer arithmetic only (see module);
    ``threads`` as the float kernels take it."""
    return _run("gelu_poly_int", q, x_q, y_q, out, threads)


def silu_poly_int(
    q: np.ndarray,
    x_q: QuantParams,
    y_q: QuantParams,
    out: np.ndarray | None = None,
    *,
    threads: int | None = None,
) -> np.ndarray:
    """The quadratic-sigmoid SiLU on int8/uint8 codes with integer arithmetic only (see module);
    ``threads`` as the float kernels take it."""
    return _run("silu_poly_int", q, x_q, y_q, out, threads)
