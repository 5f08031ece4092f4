"""The float32 kernels' polynomials (``edgeact.kernels._float32``): where their coefficients come
from and how far off they are, and the exponential's reduction's exactness claims.

The kernels built on them are swept against the float64 references in tests/test_kernels.py;
these tests check what a sweep cannot pin down: the error bound over the whole range and the
derivation that makes the coefficients reproducible.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edgeact.kernels import _float32

REDUCED = 0.3466  # |r| <= ln(2)/2 plus the reduction's slack (test_reduced_range_fits)


@dataclass(frozen=True)
class Form:
    """x + sum of c[k]·x**powers[k], approximating exact(x) on [low, high], its error measured
    relative to exact(x) (x itself is exact, so the polynomial part only needs that)."""

    powers: tuple[int, ...]
    exact: Callable[[np.ndarray], np.ndarray]
    low: float
    high: float

    def grid(self, points: int) -> np.ndarray:
        x = np.linspace(self.low, self.high, points)
        return x[x != 0]

    def relative_error(self, coefficients, x: np.ndarray) -> np.ndarray:
        """In float64 (~1e-16 relative: far below what it measures); coefficients highest first."""
        terms = sum(
            np.float64(c) * x**k for c, k in zip(coefficients[::-1], self.powers, strict=True)
        )
        return np.abs((x + terms - self.exact(x)) / self.exact(x))


EXPM1 = Form((2, 3, 4, 5, 6), np.expm1, -REDUCED, REDUCED)  # e**r - 1 = r + r²·P(r)
TANH_SMALL = Form((3, 5, 7, 9), np.tanh, 0.0, 0.3000001)  # tanh(x) = x + x³·T(x²), x < 0.3


def _minimax(form: Form, fixed: dict[int, float], iterations: int = 1000) -> np.ndarray:
    """Coefficients (lowest power first) minimising ``form``'s largest relative error on a 4000
    point grid with the ``fixed`` ones held: Lawson's iteratively reweighted least squares, which
    converges to the grid's minimax solution."""
    x = form.grid(4001)
    exact = form.exact(x)
    free = [k for k in range(len(form.powers)) if k not in fixed]
    basis = np.stack([x ** form.powers[k] / exact for k in free], axis=1)
    target = (exact - x - sum(v * x ** form.powers[k] for k, v in fixed.items())) / exact
    weights = np.full(x.size, 1.0 / x.size)
    for _ in range(iterations):
        root = np.sqrt(weights)
        solution = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)[0]
        weights *= np.abs(basis @ solution - target)
        weights /= weights.sum()
    c = np.zeros(len(form.powers))
    c[list(fixed)] = list(fixed.values())
    c[free] = solution
    return c


def derive_coefficients(form: Form) -> tuple[np.float32, ...]:
    """The minimax polynomial, rounded to float32 one coefficient at a time from the lowest power
    up, the others refitted after each rounding (the rounded set then comes within 4 % of the
    unrounded minimax's error), highest first as ``_float32`` holds them for Horner's rule."""
    fixed: dict[int, float] = {}
    for k in range(len(form.powers)):
        fixed[k] = float(np.float32(_minimax(form, fixed)[k]))
    return tuple(np.float32(fixed[k]) for k in reversed(range(len(form.powers))))


def test_the_coefficients_are_the_derivations():
    assert derive_coefficients(EXPM1) == _float32._EXPM1_P
    assert derive_coefficients(TANH_SMALL) == _float32._TANH_SMALL_P


def test_expm1_polynomial_error_bound():
    """1.4e-8 of e**r - 1 (0.23·2**-24; so at most that of e**r = 1 + (e**r - 1) too): ~0.03 ulp
    of the sigmoid's 1 + e, against the ~2 ulp that the kernels' own roundings may reach. The
    degree-7 Taylor polynomial used before reached 1.8e-8."""
    r = EXPM1.grid(400_001)
    assert EXPM1.relative_error(_float32._EXPM1_P, r).max() < 1.4e-8


def test_one_degree_less_would_not_do():
    """A degree-5 e**r (P of degree 3) rounded likewise is ~33 times worse, 7.6·2**-24: with it
    the kernels came out 3 (tanh, gelu_tanh) to 8 (selu) ulp off on test_kernels' sweep."""
    lower = Form(EXPM1.powers[:-1], EXPM1.exact, EXPM1.low, EXPM1.high)
    assert lower.relative_error(derive_coefficients(lower), lower.grid(40_001)).max() > 4e-7


def test_tanh_series_error_bound():
    """1.6e-10 of tanh(x) (0.003·2**-24), below the 8.0e-10 of the Taylor polynomial to x**13
    (with float32 coefficients) that it replaced with two multiply-adds less."""
    x = TANH_SMALL.grid(400_001)
    assert TANH_SMALL.relative_error(_float32._TANH_SMALL_P, x).max() < 1.6e-10


def test_reduced_range_fits():
    """n = round(w·LOG2E) with a float32 LOG2E leaves |w - n·ln 2| <= ln(2)·(1/2 + |w|·|LOG2E -
    log2(e)|), within ``REDUCED`` for every w the kernels pass (|w| <= 110)."""
    slack = 110 * abs(float(_float32._LOG2E) - 1 / math.log(2))
    assert math.log(2) * (0.5 + slack) < REDUCED


def test_ln2_split_is_close_enough():
    """n·(L1 + L2) is n·ln 2 to below 2**-45 for |n| <= 160 (w in [-110, 110])."""
    high, low = (float(part) for part in _float32._LN2)
    assert 160 * abs(high + low - math.log(2)) < 2.0**-45


def test_tanh_and_selu_afford_the_one_step_reduction():
    """``_exp32_normal`` leaves out n·(L1 - ln 2), so e**w comes out a factor 1 + 1.9e-9·n off:
    tanh = m/(m + 2), m = e**2a - 1, takes it divided by sinh(2a), a >= 0.3 (below, the
    polynomial); selu's e**x - 1 times e**x/(1 - e**x), and n = 0 above x = -ln(2)/2. Both stay
    below 4.6e-9 (0.08·2**-24)."""
    off = abs(float(_float32._LN2[0]) - math.log(2))
    a = np.linspace(0.3, 9.1, 100_001)
    tanh = np.rint(2 * a / math.log(2)) * off / np.sinh(2 * a)
    x = np.linspace(-87, -1e-6, 1_000_001)
    selu = np.abs(np.rint(x / math.log(2))) * off * np.exp(x) / -np.expm1(x)
    assert max(tanh.max(), selu.max()) < 4.6e-9


def test_first_reduction_step_is_exact():
    """fma(-n, LN2_HI, w) rounds nothing: every 211th float32 w in [-110, 110] (~5M), w - n·LN2_HI
    in float64 (exact: n·LN2_HI has 32 bits) is a float32."""
    high = int(np.float32(110).view(np.uint32))
    bits = np.arange(0, high, 211, dtype=np.uint32)
    w = np.concatenate([bits, bits | np.uint32(1 << 31)]).view(np.float32).astype(np.float64)
    n = np.rint(w * np.float64(_float32._LOG2E))
    r = w - n * np.float64(_float32._LN2[0])
    assert np.abs(r).max() < REDUCED
    np.testing.assert_array_equal(r.astype(np.float32).astype(np.float64), r)
