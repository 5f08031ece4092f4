"""Shared test helpers: expected results from the catalogue's float64 references, ulp checks."""

import numpy as np

from edgeact import numerics
from edgeact.catalogue import ACTIVATIONS


def expected(name, x, **params):
    """The catalogue's float64 reference of x, rounded once to x's dtype."""
    return numerics.expected(ACTIVATIONS[name].reference, x, **params)


def assert_within_ulp(result, want, bound, where=None):
    """Every element of result within `bound` ulp of want; report the worst input otherwise."""
    distance = numerics.ulp_distance(result, want)
    worst = int(np.argmax(distance)) if distance.size else 0
    if distance.size and distance.flat[worst] > bound:
        at = "" if where is None else f" at x={where.flat[worst]!r}"
        raise AssertionError(
            f"{distance.flat[worst]} ulp > {bound}{at}: got {result.flat[worst]!r}, "
            f"want {want.flat[worst]!r} ({int((distance > bound).sum())} elements off)"
        )
