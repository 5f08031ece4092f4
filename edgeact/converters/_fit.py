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
into the layers that read its output), so the ops stay as they are; ``fit_code_map`` is its form
for int8 tensors, which keeps their codes on the original's grid.
"""

from collections.abc import Callable
from functools import partial

import numpy as np

from edgeact import references
from edgeact.catalogue import ACTIVATIONS

__all__ = ["FITTABLE", "fit_code_map", "fit_hard_gate", "fit_input_maps", "output_grid"]

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


INT8 = (-128, 127)
MAX_CODE_SHIFT = 16  # the whole-code offsets ``fit_code_map`` tries, either way
_CODE_SCALES = np.arange(MIN_SCALE, MAX_SCALE + 1e-9, 0.01)  # the k it tries


def output_grid(target: str, scale: float, zero: int) -> tuple[float, int]:
    """The int8 (scale, zero point) spanning what ``target`` gives on the 256 codes of an int8
    input quantized with (``scale``, ``zero``), 0 included: hardswish reaches −0.375 where the
    activation it replaced may stop short (SiLU −0.278), and most of an inherited range below 0
    goes unused."""
    values = _reference(target)(np.float32(scale) * (np.arange(INT8[0], INT8[1] + 1.0) - zero))
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    step = (high - low) / (INT8[1] - INT8[0])
    return float(np.float32(step)), int(np.clip(np.rint(INT8[0] - low / step), *INT8))


def fit_code_map(
    target: str,
    codes: np.ndarray,
    want: np.ndarray,
    input_params: tuple[float, int],
    output_params: tuple[float, int],
    *,
    centred: bool = False,
) -> dict | None:
    """``fit_input_maps`` for an int8 hardswish between int8 layers, in a form that keeps the
    codes lined up: one k for the whole tensor and a whole number of codes m_j per channel, so
    the activation's input codes are the original's shifted by m_j (the fold relabels the
    tensor's scale by k instead of moving its codes) and its output takes ``output_grid``.
    Per-channel k moved every code off the original's grid: the original's own rounding, which
    the replacement then cannot follow, cost about what the fit gained (on 256 fresh inputs,
    per-channel k: the int8 SiLU mobile block kept 0.69-0.71 of the swap's error, bias alone
    0.71; this form: 0.64; the int8 GELU and Mish MLPs 0.10-0.13 and 0.26-0.29 before,
    0.07-0.08 and 0.21-0.23 now).
    ``codes``: the original's int8 input codes (channels on the last axis), ``want``: what the
    replaced activation gave on them; (scale, zero point) of the input and of the swap's
    output. Each k in [``MIN_SCALE``, ``MAX_SCALE``] (steps of 0.01) with each channel's best
    m_j (|m_j| ≤ ``MAX_CODE_SHIFT``) is scored exactly from per-code sums. Returns
    ``fit_input_maps``' record (offset c_j = m_j·k·scale, the real value of the shift), with
    "shift": [m_j]; None when ``codes`` holds no value."""
    channels = np.shape(codes)[-1]
    codes = np.reshape(codes, (-1, channels)).astype(np.int64) - INT8[0]
    want = np.reshape(want, (-1, channels)).astype(np.float64)
    if codes.size == 0:
        return None
    size = INT8[1] - INT8[0] + 1
    index = codes + size * np.arange(channels)
    count, total, square = (
        np.bincount(index.ravel(), weights, channels * size).reshape(channels, size)
        for weights in (None, want.ravel(), want.ravel() ** 2)
    )
    shifts = np.arange(-MAX_CODE_SHIFT, MAX_CODE_SHIFT + 1)
    shifted = np.clip(np.arange(size)[None, :] + shifts[:, None], 0, size - 1)
    scale, zero = input_params
    n = len(codes)

    def errors(k: float, grid: tuple[float, int]) -> np.ndarray:
        """Per channel and shift: the mean squared (``centred``: less the squared mean) error
        of the fold at k, its output on ``grid``."""
        x = np.float32(k * scale) * (np.arange(size) + INT8[0] - zero)
        out = np.clip(np.rint(_reference(target)(x) / grid[0]) + grid[1], *INT8)
        got = ((out - grid[1]) * grid[0] / k)[shifted]  # shifts × codes, the readers' units
        squares = (square.sum(1)[:, None] - 2 * total @ got.T + count @ (got**2).T) / n
        if not centred:
            return squares
        return squares - ((total.sum(1)[:, None] - count @ got.T) / n) ** 2

    nominal = errors(1.0, output_params)[:, MAX_CODE_SHIFT]
    best = None
    for k in _CODE_SCALES:
        per_shift = errors(float(k), output_grid(target, k * scale, zero))
        value = per_shift.min(axis=1).sum()
        if best is None or value < best[0]:
            best = (value, float(k), shifts[per_shift.argmin(axis=1)])
    _, k, shift = best
    return {
        "scale": [k] * channels,
        "offset": [float(m * np.float32(k * scale)) for m in shift],
        "shift": [int(m) for m in shift],
        "nominal_mse": float(nominal.mean()),
        "fitted_mse": float(best[0] / channels),
        "values": int(n),
    }


def _reference(name: str) -> Callable[[np.ndarray], np.ndarray]:
    params = dict(ACTIVATIONS[name].params)
    function = getattr(references, name)
    return lambda v: np.asarray(function(v, **params), np.float64)
