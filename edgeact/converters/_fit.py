"""Replacement constants fitted to the inputs an activation actually sees (``--recover fit``).

Hardsigmoid is clip(αx + β, 0, 1) and Hardswish x·clip(αx + β, 0, 1); the catalogue's α = 1/6,
β = 1/2 make them the best fit of σ and SiLU over all of ℝ in the max norm, not over the values
one layer of one model produces. ONNX's HardSigmoid takes any α and β, so a swap to either can
write the pair that minimises the mean squared error of the activation on the calibration
inputs at that site, without leaving the ops the model already runs. The search is a compass
search (halve the step when no neighbour improves) from the catalogue's pair: two parameters,
a smooth and nearly convex objective, no dependency beyond NumPy.
"""

from collections.abc import Callable

import numpy as np

from edgeact import references
from edgeact.catalogue import ACTIVATIONS

__all__ = ["FITTABLE", "fit_hard_gate"]

# swap target -> whether the gate multiplies x (hardswish) or is the output (hardsigmoid)
FITTABLE = {"hardsigmoid": False, "hardswish": True}
NOMINAL = (1 / 6, 0.5)  # the catalogue's α, β
MAX_VALUES = 200_000  # values the objective is evaluated on (a fixed-stride subsample)
_STEPS = (0.02, 0.05)  # first compass steps for α and β
_SMALLEST = 1e-6


def fit_hard_gate(source: str, target: str, x: np.ndarray, input_scale: float = 1.0) -> dict | None:
    """The (α, β) of ``target`` (a key of ``FITTABLE``) that best replaces the activation
    ``source`` (its float64 reference; ``input_scale`` s: source(s·x)/s, a swish(β)) on the
    values ``x``, as {alpha, beta, nominal_mse, fitted_mse, values}; None when ``x`` holds no
    finite value."""
    values = np.asarray(x, np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    values = values[:: max(1, values.size // MAX_VALUES)]
    want = _reference(source)(values * input_scale) / input_scale
    times_x = FITTABLE[target]

    def mse(alpha: float, beta: float) -> float:
        gate = np.clip(alpha * values + beta, 0.0, 1.0)
        return float(np.mean((want - (gate * values if times_x else gate)) ** 2))

    nominal = (NOMINAL[0] * input_scale, NOMINAL[1])  # the swap's own: hardswish(sx)/s
    best, best_mse = list(nominal), mse(*nominal)
    nominal_mse, steps = best_mse, list(_STEPS)
    while max(steps) > _SMALLEST:
        moved = False
        for i in (0, 1):
            for sign in (1, -1):
                trial = list(best)
                trial[i] += sign * steps[i]
                if (trial_mse := mse(*trial)) < best_mse:
                    best, best_mse, moved = trial, trial_mse, True
        if not moved:
            steps = [s / 2 for s in steps]
    return {
        "alpha": best[0],
        "beta": best[1],
        "nominal_mse": nominal_mse,
        "fitted_mse": best_mse,
        "values": int(values.size),
    }


def _reference(name: str) -> Callable[[np.ndarray], np.ndarray]:
    params = dict(ACTIVATIONS[name].params)
    function = getattr(references, name)
    return lambda v: np.asarray(function(v, **params), np.float64)
