"""Output quantization parameters for swapped int8 ops, measured on real inputs.

A swapped op inherits the output range of what it replaced, which fits the new activation only
as well as the two agree (hardswish dips to -0.375 where SiLU stops at -0.278). With a
calibration file, the original model runs in LiteRT with every intermediate tensor kept; each
affected site's input codes are dequantized, passed through the target activation's float64
reference, and the observed range (widened to include 0) becomes the output's (scale, zero
point). Only these outputs change; every other tensor keeps its parameters.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edgeact.catalogue import ACTIVATIONS
from edgeact.converters._compare import mean_squared_error, squared_errors
from edgeact.converters.tflite._edit import FIXED_OUTPUT
from edgeact.converters.tflite._graph import SubgraphView
from edgeact.converters.tflite._rules import TARGET_OPS, Site
from edgeact.converters.tflite._verify import load, make_inputs, run, run_all

__all__ = ["calibrate", "keep_where_better", "output_error"]

_RANGES = {"INT8": (-128, 127), "UINT8": (0, 255)}
# readers whose quantized inputs LiteRT requires in their output's quantization (its
# concatenation.cc refuses to prepare otherwise): a re-measured range there would not load
_SHARED_QUANTIZATION = ("CONCATENATION",)


def calibrate(
    model: bytes, views: list[SubgraphView], sites: list[Site], arrays: dict, label
) -> tuple[dict, list[str]]:
    """({(subgraph, y tensor): (scale, zero_point)}, notes) for the sites that need it, from
    the real inputs ``arrays`` ({name: array}; ``label`` names them in the notes). ``views``
    are the subgraphs of ``model``, already parsed by the caller."""
    affected = [
        s for s in sites
        if s.quantized and not s.fused and (TARGET_OPS[s.target][-1], s.dtype) not in FIXED_OUTPUT
    ]  # fmt: skip
    affected, notes = _free_to_move(views, affected)
    if not affected:
        return {}, [*notes, f"calibration {label}: no swapped int8 output to recalibrate"]
    try:
        interp = load(model, preserve=True)
    except RuntimeError as error:
        raise ValueError(
            f"calibration needs LiteRT to run the model, which fails: {error}"
        ) from None
    samples, _ = make_inputs(interp, arrays)  # a row per sample: split_samples
    lows, highs = {}, {}
    for feeds in samples:
        run(interp, feeds)
        for site in affected:
            scale, zero = _input_params(views, site)
            codes = interp.get_tensor(site.x, site.subgraph).astype(np.float64)
            y = _reference(site)((codes - zero) * scale)
            key = (site.subgraph, site.y)
            lows[key] = min(lows.get(key, 0.0), float(y.min()))
            highs[key] = max(highs.get(key, 0.0), float(y.max()))
    params = {}
    for site in affected:
        key = (site.subgraph, site.y)
        qmin, qmax = _RANGES[site.dtype]
        low, high = lows[key], highs[key]
        scale = (high - low) / (qmax - qmin) if high > low else 1.0
        params[key] = (scale, int(np.clip(round(qmin - low / scale), qmin, qmax)))
    done = f"{len(samples)} sample(s), {len(params)} output(s) recalibrated"
    return params, [*notes, f"calibration {label}: {done}"]


def _free_to_move(views: list[SubgraphView], sites: list[Site]) -> tuple[list[Site], list[str]]:
    """The sites whose output range may change, and a note for each one that keeps it."""
    free, notes = [], []
    for site in sites:
        view = views[site.subgraph]
        bound = [view.ops[c] for c in view.consumers.get(site.y, [])
                 if view.ops[c] in _SHARED_QUANTIZATION]  # fmt: skip
        if bound:
            notes.append(
                f"calibration: {site.rule} at {site.nodes[-1]} keeps its inherited output "
                f"range: it feeds a {bound[0]}, which needs its inputs in its own quantization"
            )
        else:
            free.append(site)
    return free, notes


def _input_params(views: list[SubgraphView], site: Site) -> tuple[float, int]:
    q = views[site.subgraph].tensor(site.x).quantization
    return float(np.float32(q.scale[0])), int(q.zeroPoint[0])


def _reference(site: Site):
    act = ACTIVATIONS[site.target]
    if site.target == "leaky_relu":
        return lambda x: act.reference(x, negative_slope=site.params["alpha"])
    return act.reference


def output_error(data: bytes, arrays: dict, target) -> Callable[..., float | np.ndarray]:
    """The mean squared error of a model's outputs against those of ``data`` on the samples
    of the calibration ``arrays``, in the ``target``'s resolver (``per_sample=True``: one per
    sample, for a paired comparison). The samples and ``data``'s outputs are computed once, when
    first needed (a model LiteRT cannot load never is)."""
    samples: list = []
    reference: list = []

    def error(model: bytes, per_sample: bool = False) -> float | np.ndarray:
        if not samples:
            samples.extend(make_inputs(load(data), arrays)[0])
            reference.extend(run_all(data, samples, target))
        outputs = run_all(model, samples, target)
        if not per_sample:
            return mean_squared_error(reference, outputs)
        total, count = squared_errors(reference, outputs)
        return total / np.maximum(count, 1)

    return error


def keep_where_better(sites, params: dict, build, error) -> tuple[dict, list]:
    """The ``params`` (from ``calibrate``) under which the model with that site's swap alone
    is closer to the original on the calibration samples (``error``: ``output_error``) than
    with the inherited range, and a note for each one left out (on the int8 test MLP, 64
    N(0, 1) samples put HARD_SWISH's output scale at 0.0197 where SiLU's was 0.05, and fresh
    samples beyond their range went from cosine 0.997 to 0.976). ``build(selected, params)``:
    the model's bytes."""
    kept, notes = dict(params), []
    for i, site in enumerate(sites):
        key = (site.subgraph, site.y)
        if key not in kept:
            continue
        without = {k: v for k, v in kept.items() if k != key}
        if error(build([i], kept)[0]) >= error(build([i], without)[0]):
            kept = without
            notes.append(
                f"calibration: {site.rule} at {site.nodes[-1]} keeps its inherited output "
                "range, which measured closer to the original on the calibration samples"
            )
    return kept, notes
