"""Replacement constants fitted to the inputs an activation actually sees (``--recover fit``).

Hardsigmoid is clip(αx + β, 0, 1) and Hardswish x·clip(αx + β, 0, 1); the catalogue's α = 1/6,
β = 1/2 make them the best fit of σ and SiLU over all of ℝ in the max norm, not over the values
one layer of one model produces. ONNX's HardSigmoid takes any α and β, so a swap to either can
write the pair that minimises the mean squared error of the activation on the calibration
inputs at that site, without leaving the ops the model already runs. The search is a compass
search (halve the step when no neighbour improves) from the catalogue's pair: two parameters,
a smooth and nearly convex objective, no dependency beyond NumPy.

Where the runtime's op has no constants (TFLite's HARD_SWISH), the same freedom comes from the
layers around the activation: ``fit_input_maps`` fits a scale k and offset c per channel, which
the converter folds into the layer that computes the activation's input (and, for hardswish, 1/k
into the layers that read its output), so the ops stay as they are.
"""

from collections.abc import Callable
from functools import partial

import numpy as np

from edgeact import references
from edgeact.catalogue import ACTIVATIONS

__all__ = ["FITTABLE", "fit_hard_gate", "fit_input_maps"]

# swap target -> whether the gate multiplies x (hardswish) or is the output (hardsigmoid)
FITTABLE = {"hardsigmoid": False, "hardswish": True}
NOMINAL = (1 / 6, 0.5)  # the catalogue's α, β
MAX_VALUES = 200_000  # values the objective is evaluated on (a fixed-stride subsample)
_STEPS = (0.02, 0.05)  # first compass steps for α and β
_SMALLEST = 1e-6
_MAP_STEPS = (0.05, 0.1)  # first compass steps for an input map's scale and offset
# an input map's scale k stays in this range (GELU as hardswish(kx)/k wants k ≈ 2.6)
MIN_SCALE, MAX_SCALE = 0.5, 4.0


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
    nominal_mse = mse(*nominal)
    best, best_mse = compass_search(mse, nominal, _STEPS)
    return {
        "alpha": best[0],
        "beta": best[1],
        "nominal_mse": nominal_mse,
        "fitted_mse": best_mse,
        "values": int(values.size),
    }


def compass_search(objective: Callable[..., float], start, steps) -> tuple[list[float], float]:
    """(the parameters, the value) where ``objective(*parameters)`` is least, found from
    ``start``: step each parameter up and down by its step, keep any improvement, halve every
    step when none improves, until the steps are below 1e-6."""
    best, best_value, steps = list(start), objective(*start), list(steps)
    while max(steps) > _SMALLEST:
        moved = False
        for i, step in enumerate(steps):
            for sign in (1, -1):
                trial = list(best)
                trial[i] += sign * step
                if (trial_value := objective(*trial)) < best_value:
                    best, best_value, moved = trial, trial_value, True
        if not moved:
            steps = [s / 2 for s in steps]
    return best, best_value


def fit_input_maps(
    target: str,
    x: np.ndarray,
    want: np.ndarray,
    *,
    input_range=(-np.inf, np.inf),
    output_range=(-np.inf, np.inf),
    centred: bool = False,
) -> dict | None:
    """Per channel j (the last axis of ``x``), the (k_j, c_j) for which the ``target`` (a key
    of ``FITTABLE``) at k·x + c comes closest to ``want`` (what the replaced activation gave on
    ``x``, same shape): ``target(k·x + c)/k`` for hardswish (the layers reading it take the
    1/k), ``target(k·x + c)`` for hardsigmoid. k·x + c is clipped to ``input_range`` and the
    target's value to ``output_range`` (an int8 tensor's; rounding to the tensors' codes in the
    objective as well made the int8 test MLP's fit worse on fresh inputs, 0.66 of the swap's
    error instead of 0.59). k stays in [``MIN_SCALE``, ``MAX_SCALE``]. ``centred``: a bias
    correction follows, so a constant error is not counted. {"scale": [k_j], "offset": [c_j],
    "nominal_mse", "fitted_mse", "values"}; None when ``x`` holds no finite value."""
    channels = np.shape(x)[-1]
    pairs = np.stack([np.reshape(x, (-1, channels)), np.reshape(want, (-1, channels))], axis=1)
    pairs = pairs[np.isfinite(pairs).all(axis=(1, 2))]
    if pairs.size == 0:
        return None
    pairs = pairs[:: max(1, pairs.size // (2 * MAX_VALUES))]
    values, want = pairs[:, 0], pairs[:, 1]
    function, times_x = _reference(target), FITTABLE[target]

    def error(j: int, k: float, c: float) -> float:
        if not MIN_SCALE <= k <= MAX_SCALE:
            return np.inf
        got = np.clip(function(np.clip(k * values[:, j] + c, *input_range)), *output_range)
        diff = want[:, j] - (got / k if times_x else got)
        return float(np.var(diff) if centred else np.mean(diff**2))

    scales, offsets, nominal, fitted = [], [], 0.0, 0.0
    for j in range(channels):
        (k, c), channel_error = compass_search(partial(error, j), (1.0, 0.0), _MAP_STEPS)
        scales.append(k)
        offsets.append(c)
        nominal += error(j, 1.0, 0.0)
        fitted += channel_error
    return {
        "scale": scales,
        "offset": offsets,
        "nominal_mse": nominal / channels,
        "fitted_mse": fitted / channels,
        "values": int(values.size),
    }


def _reference(name: str) -> Callable[[np.ndarray], np.ndarray]:
    params = dict(ACTIVATIONS[name].params)
    function = getattr(references, name)
    return lambda v: np.asarray(function(v, **params), np.float64)
