"""The format-neutral arithmetic of bias correction (``--recover``): shift and safety gate.

A swap changes the mean of what the next linear layer sees, and so the mean of that layer's
output; its bias can absorb the shift (Nagel et al. 2019, "Data-Free Quantization", §4.2, for
quantization; the same algebra holds for any change of the activation). The shift is measured
per output channel on calibration inputs as mean(original − converted). NNCF's safety gate is
kept: a correction of an existing bias is skipped when max |shift / bias| reaches ``GATE``
(infinite when a bias entry is 0), as a sign the layer's output moved too far for a mean to
cure it.
"""

from collections.abc import Callable

import numpy as np

from edgeact.converters._compare import mean_squared_error

__all__ = [
    "CLEAR",
    "GATE",
    "MIN_CALIBRATION_SAMPLES",
    "CachedValues",
    "clearly_closer",
    "collect_layers",
    "gate_refusal",
    "kept",
    "mean_shift",
    "recovery_mode",
    "recovery_record",
    "taken_back",
]

_MODES = {False: None, None: None, True: "bias", "bias": "bias", "fit": "fit"}
GATE = 1000.0  # NNCF's default threshold for the bias shift magnitude
MIN_CALIBRATION_SAMPLES = 16  # a per-channel mean of fewer samples is mostly noise


def recovery_mode(recover) -> str | None:
    """The converters' ``recover`` argument as "bias", "fit" or None (no recovery)."""
    try:
        return _MODES[recover]
    except (KeyError, TypeError):
        raise ValueError(f"recover {recover!r} must be one of: bias, fit") from None


def mean_shift(wanted: list, got: list, axis: int, channels: int) -> np.ndarray:
    """Per channel (``axis`` of each sample): the mean of original − converted over the samples
    and every other axis, in float64."""
    diff = np.stack([np.asarray(w, np.float64) - g for w, g in zip(wanted, got, strict=True)])
    axis = axis % (diff.ndim - 1) + 1  # axis 0 holds the samples
    return np.moveaxis(diff, axis, -1).reshape(-1, channels).mean(axis=0)


def gate_refusal(bias: np.ndarray, shift: np.ndarray, quantized: bool = False) -> str | None:
    """Why NNCF's gate refuses adding ``shift`` to ``bias`` (same shape), or None. A
    ``quantized`` bias (integer codes) leaves its zero entries out: a code of 0 is the quantizer
    rounding a small bias, which NNCF's float gate would read as an infinite shift (ONNX
    Runtime's QDQ MLPs quantize an Add's bias to int8 and have such codes)."""
    judged = bias != 0 if quantized else np.ones(bias.shape, bool)
    if not judged.any() or np.any(bias[judged] == 0):
        magnitude = np.inf
    else:
        magnitude = float(np.abs(shift[judged] / bias[judged]).max())
    if magnitude < GATE:
        return None
    why = "the bias has zeros" if np.isinf(magnitude) else f"max |shift/bias| {magnitude:.3g}"
    return f"{why}: NNCF's gate needs max |shift/bias| < {GATE:g}"


class CachedValues:
    """The original model's values by name on the calibration samples, each computed once
    (``compute(names)``: a dict per sample) and shared by every correction of a conversion."""

    def __init__(self, compute: Callable[[list[str]], list[dict]]) -> None:
        self.compute, self.values = compute, {}

    def __call__(self, names: list[str]) -> list[dict]:
        todo = [n for n in names if n not in self.values]
        if todo:
            runs = self.compute(todo)
            self.values |= {name: [r[name] for r in runs] for name in todo}
        count = len(next(iter(self.values.values()))) if self.values else 0
        return [{n: self.values[n][i] for n in names} for i in range(count)]


def recovery_record(reference, plain, recovered, layers: list[dict], note, requantized=()) -> dict:
    """The report's record: the mean squared error of the ``plain`` outputs (the swap without
    recovery) and the ``recovered`` ones against ``reference`` (outputs per sample), with the
    bias corrections (``layers``) and the outputs given new quantization (``requantized``)."""
    return {
        "note": note,
        "layers": layers,
        "requantized": list(requantized),
        "mse_without": mean_squared_error(reference, plain),
        "mse_with": mean_squared_error(reference, recovered),
    }


def collect_layers(found: list[tuple[str, object]], is_output: bool) -> tuple[list, str | None]:
    """(the layers among ``found`` (each reader's label, and its layer or why it is none),
    why there are none, if so; ``is_output``: the activation is also a model output)."""
    layers = [layer for _, layer in found if not isinstance(layer, str)]
    if layers:
        return layers, None
    why = [f"{label}: {reason}" for label, reason in found]
    if is_output:
        why.append("it is an output of the model")
    return [], "; ".join(why) if why else "nothing reads it"


MIN_GAIN = 0.10  # the least calibration-set gain a recovery keeps (see ``taken_back``)
TAKEN_BACK = (
    f"taken back: with the corrections the model came less than {MIN_GAIN:.0%} closer to the "
    "original on the calibration samples"
)


def kept(error_after: float, error_before: float) -> bool:
    """Whether a recovery that moved the calibration-set error from ``error_before`` to
    ``error_after`` is kept: it must gain ``MIN_GAIN``. Smaller gains did not carry over to
    fresh inputs here: the int8 SiLU test MLP 3 % closer on its 64 calibration samples, 6 %
    further on 16 fresh ones; a tanh-GELU fixture (errors of 1e-9) 2 % closer, 5 % further."""
    return error_after <= (1 - MIN_GAIN) * error_before


CLEAR = 2.0  # standard errors a fit's calibration gain must reach (see ``clearly_closer``)


def clearly_closer(after: np.ndarray, before: np.ndarray) -> bool:
    """Whether the per-sample errors ``after`` lie below ``before`` (the same calibration
    samples) by at least ``CLEAR`` standard errors of their paired differences: a fit is kept
    over bias correction alone only then. A gain within the samples' spread did not carry over:
    the int8 SiLU test MLP under bench_recovery's inputs came 2 % closer on its 64 calibration
    samples (0.8 standard errors) and went 2 % further on 16 fresh ones; the kept fits of the
    test models were 3.8-114 standard errors clear."""
    gain = np.asarray(before, np.float64) - np.asarray(after, np.float64)
    if gain.size == 0 or gain.mean() <= 0:
        return False
    spread = gain.std(ddof=1) / np.sqrt(gain.size) if gain.size > 1 else 0.0
    return bool(gain.mean() >= CLEAR * spread)


def taken_back(records: list[dict]) -> list[dict]:
    """``records`` with their corrections undone as a whole (``kept`` said no)."""
    return [
        r | {"corrected": False, "skipped": TAKEN_BACK} if r["corrected"] else r for r in records
    ]
