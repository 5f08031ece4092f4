"""Accuracy measures shared by the demo, the benchmarks and the tests."""

import numpy as np

__all__ = ["expected", "ulp_distance"]

_SIGNED = {
    np.dtype(np.float64): np.int64,
    np.dtype(np.float32): np.int32,
    np.dtype(np.float16): np.int16,
}


def expected(reference, x, **params) -> np.ndarray:
    """A float64 reference evaluated on x and rounded once to x's dtype."""
    with np.errstate(over="ignore", invalid="ignore"):
        return reference(x.astype(np.float64), **params).astype(x.dtype)


def ulp_distance(a, b) -> np.ndarray:
    """Representable values between a and b, element-wise (int64).

    +0 and -0 are 0 apart, as are two NaNs; a NaN against a number is the int64 maximum.
    """
    if a.dtype != b.dtype or a.shape != b.shape:
        raise ValueError(
            "ulp_distance needs equal dtypes and shapes, "
            f"got {a.dtype}{a.shape} and {b.dtype}{b.shape}"
        )
    magnitude_mask = (1 << (a.dtype.itemsize * 8 - 1)) - 1

    def ordered(v):
        bits = np.ascontiguousarray(v).view(_SIGNED[v.dtype]).astype(np.int64)
        return np.where(bits < 0, -(bits & magnitude_mask), bits)

    distance = np.abs(ordered(a) - ordered(b))
    a_nan, b_nan = np.isnan(a), np.isnan(b)
    distance = np.where(a_nan & b_nan, 0, distance)
    return np.where(a_nan ^ b_nan, np.iinfo(np.int64).max, distance)
