"""``convert``: swap a .tflite model's activations, verify in LiteRT, write atomically.

Steps: read and validate (``_reader``) -> find the sites each rule rewrites (``_rules``) ->
optionally measure new int8 output ranges (``_calibrate``) -> for each site, build the model
with that change alone and measure its error (``_verify``); breaking the thresholds: skipped ->
build the model with the kept changes (``_edit``, ``_writer``) -> verify it -> write it only if
it passed and LiteRT loads it. Every build starts again from the input's bytes, so a change is
measured exactly as it will be applied.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from functools import partial

import numpy as np

from edgeact.converters._bias import (
    CLEAR,
    GATE,
    MIN_CALIBRATION_SAMPLES,
    CachedValues,
    clearly_closer,
    kept,
    recovery_mode,
    recovery_record,
    taken_back,
)
from edgeact.converters._budget import fit_budget
from edgeact.converters._compare import (
    DEFAULT_THRESHOLDS,
    Thresholds,
    compare_samples,
    failed_note,
    judge_change,
    verification,
)
from edgeact.converters._convert_report import new_report
from edgeact.converters._errors import ModelError, first_line
from edgeact.converters._findings import Change
from edgeact.converters._fit import FITTABLE, fit_code_map, fit_input_maps, output_grid
from edgeact.converters._inputs import (
    DEFAULT_SAMPLES,
    calibration_arrays,
    enough_calibration,
    load_arrays,
)
from edgeact.converters._progress import Steps
from edgeact.converters._swaps import hold_back, is_held
from edgeact.converters._targets import delegated, fit_speed, judge_speed, time_ratio
from edgeact.converters._write import atomic_write, check_destination
from edgeact.converters.tflite._calibrate import calibrate, keep_where_better, output_error
from edgeact.converters.tflite._edit import apply_sites, prune, unused
from edgeact.converters.tflite._fold import Fold, apply_folds, find_fold
from edgeact.converters.tflite._graph import SubgraphView, opcode_names, text
from edgeact.converters.tflite._reader import parse_model, read_bytes
from edgeact.converters.tflite._recover import correct_biases, layers_after, tensor_values
from edgeact.converters.tflite._rules import Site, check_targets, find_sites
from edgeact.converters.tflite._verify import (
    entries,
    load,
    make_inputs,
    run,
    run_all,
    runtime_name,
)
from edgeact.converters.tflite._writer import inline_external, serialize

__all__ = ["convert", "runner"]


def convert(
    source,
    destination,
    rules: dict[str, str],
    *,
    explicit: dict[str, str] | None = None,
    held: set[str] = frozenset(),
    verify: bool = True,
    limits: Thresholds = DEFAULT_THRESHOLDS,
    budget: float | None = None,
    target: str | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    inputs=None,
    input_shapes=None,
    calibration=None,
    recover=False,
    progress=None,
) -> dict:
    """Apply ``rules`` ({from: to}, catalogue names) to the model at ``source``; the report.

    ``explicit`` are the rules the user named (an explicit rule that matches nothing is a
    ModelError; preset rules may match nothing); ``held``: sources whose swaps are only listed
    (``_swaps.hold_back``). ``limits``, ``budget``, ``samples``, ``seed``: as for the ONNX
    ``convert``; ``target`` ("litert", "litert-xnnpack"): as there, and the resolver every
    verification runs in (without one, builtin kernels). ``inputs``: {name: array} for
    verification (random otherwise); ``calibration``: a .npz of real inputs to recompute the
    swapped int8 outputs' parameters; ``progress(done, total, label)`` at each step (read, each
    change's verification, the final verification, write). ``recover`` ("bias" or True):
    correct the biases after the swaps on the ``calibration`` samples (``_recover``); "fit":
    first fold a fitted input map per channel into the layers around each swap to hardswish or
    hardsigmoid (``_fold``). The model
    is written only if verification passes (or is off or impossible).
    """
    recover = recovery_mode(recover)
    explicit = dict(explicit or {})
    name = os.fspath(source)
    report = new_report("tflite", source, destination, rules, False)
    dst = check_destination(source, destination, "tflite")
    steps = Steps(progress)
    steps.step(f"read and plan {name}")
    data = read_bytes(source)
    model = parse_model(data, name)
    codes = opcode_names(model)
    _check_known_ops(model, codes, name)
    usable, notes = check_targets(rules, explicit)
    report["notes"] += notes
    views = [SubgraphView.build(model, s, codes) for s in range(len(model.subgraphs))]
    sites, site_notes, seen = find_sites(views, codes, usable, explicit, name)
    report["notes"] += site_notes
    _check_explicit_matched(explicit, usable, sites, site_notes, seen, name)
    report["ops_before"] = _op_counts(views)

    y_params, error = {}, None
    if calibration is not None:  # read once: re-calibration and recovery both measure on it
        arrays = load_arrays(calibration)
        label = "arrays" if isinstance(calibration, dict) else calibration
        y_params, cal_notes = calibrate(data, views, sites, arrays, label)
        report["notes"] += cal_notes
        error = output_error(data, arrays, target)
    keep = unused(model)

    def build(selected: list[int], params: dict | None = None) -> tuple[bytes, list[list[str]]]:
        m = parse_model(data, name)
        inline_external(m, data)
        chosen = y_params if params is None else params
        site_notes = apply_sites(m, [sites[i] for i in selected], chosen)
        prune(m, keep)
        return serialize(m), site_notes

    if y_params and verify:  # min/max of the calibration samples is not always the better range
        y_params, judged = keep_where_better(sites, y_params, build, error)
        report["notes"] += judged

    fitting = recover == "fit"
    verify_steps = len(sites) * (2 if recover else 1) + 1 + bool(recover) + fitting
    steps.plan((verify_steps if verify else 0) + 1)
    _, all_notes = build(list(range(len(sites))))
    report["changes"] = [_change(s, views, n) for s, n in zip(sites, all_notes, strict=True)]

    reference = feeds = recovery = None
    if verify:
        try:
            interp = load(data, delegate=delegated(target))
        except RuntimeError as error:  # custom ops: the user's resolver has them, LiteRT not
            if recover:
                raise ModelError(
                    f"{name}: cannot --recover: LiteRT cannot run it: {first_line(error)}"
                ) from None
            if not limits.default:
                raise ModelError(
                    f"{name}: cannot hold the result to {limits.describe()}: LiteRT cannot run "
                    f"it: {first_line(error)}"
                ) from None
            report["notes"].append(
                f"verification skipped: LiteRT cannot run {name}: {first_line(error)}"
            )
        else:
            feeds, input_notes = make_inputs(interp, inputs, input_shapes, samples, seed)
            try:
                reference = [run(interp, feed) for feed in feeds]
            except RuntimeError as error:  # loads but cannot run: nothing to verify against
                raise ModelError(f"LiteRT fails to run {name}: {first_line(error)}") from None
            report["verification"] = {"runtime": runtime_name(target), "inputs": input_notes}
            _measure_each(report, build, feeds, reference, limits, explicit, steps, target)
            if recover:
                recovery = _Recovery(data, arrays, error, feeds, reference, target)
                if fitting:
                    steps.step("fit input maps on the calibration inputs")
                    recovery.folds = _fit_folds(recovery, views, sites, report["changes"], build)
                for i, change in enumerate(report["changes"]):
                    steps.step(f"recover after {change['rule']} at {change['nodes'][-1]}")
                    if change["applied"]:
                        layers, why = layers_after(views[sites[i].subgraph], sites[i])
                        recovery.layers[i] = layers
                        change["recovery"] = recovery.record(build([i])[0], [i], layers, why)[1]
            if target is not None:
                _time_each(report, build, sites, views, data, feeds[0], explicit, held, target)
    elif not limits.default:
        report["notes"].append("thresholds ignored: verification is off")

    hold_back(report["changes"], held)
    if target is not None and reference is not None:
        changes = report["changes"]

        def plan_ratio() -> float:
            untimed = [i for i, c in enumerate(changes) if c["applied"] and c["time_ratio"] is None]
            planned, _ = build([i for i, c in enumerate(changes) if c["applied"]])
            baseline = build(untimed)[0] if untimed else data
            steps.step(f"time the plan on {target}")
            before, after = (runner(m, feeds[0], target) for m in (baseline, planned))
            return time_ratio(before, after)

        report["plan_time_ratio"] = fit_speed(changes, plan_ratio, target)
    final = b""

    def attempt() -> dict:
        """Build the model with the applied changes and verify it; the verification block."""
        nonlocal final
        chosen = [i for i, c in enumerate(report["changes"]) if c["applied"]]
        final, _ = build(chosen)
        if recovery is not None:
            steps.step("recover after all swaps")
            layers = [layer for i in chosen for layer in recovery.layers.get(i, [])]
            final, report["recovery"] = recovery.record(final, chosen, layers, None)
            report["recovery"] |= {
                "mode": recover,
                "calibration": len(recovery.calibration),
                "gate": GATE,
            }
        steps.step("verify the converted model")
        return _verify_final(report, final, feeds, reference, limits, target)

    if reference is None:
        final, _ = build([i for i, c in enumerate(report["changes"]) if c["applied"]])
        passed = _loads_if_runnable(report, final, data)
    else:
        done = attempt() if budget is None else fit_budget(report["changes"], attempt, budget)
        report["verification"] = done
        passed = done["passed"]
        if not passed and done["outputs"]:  # none: it did not run, and a note says so
            report["notes"].append(failed_note(done))
    report["ops_after"] = _op_counts_of(final, name)
    if passed:
        steps.step(f"write {dst}")
        atomic_write(dst, lambda tmp: tmp.write_bytes(final))
        report["written"] = True
    return report


def _check_known_ops(model, codes, name: str) -> None:
    for s, sg in enumerate(model.subgraphs):
        for o, op in enumerate(sg.operators or []):
            op_name = codes[op.opcodeIndex][0]
            if op_name.startswith("UNKNOWN_"):
                raise ModelError(
                    f"{name}: subgraph {s} operator {o} uses builtin op code "
                    f"{op_name.removeprefix('UNKNOWN_')}, which LiteRT does not know"
                )


def _check_explicit_matched(explicit, usable, sites, site_notes, seen, name) -> None:
    matched = {s.source for s in sites}
    for source, target in explicit.items():
        if source not in usable or source in matched:
            continue
        why = [n.split(": ", 1)[1] for n in site_notes if n.startswith(f"swap {source}=")]
        reason = f" ({why[0]})" if why else ""
        found = ", ".join(f"{a} ×{len(forms)}" for a, forms in sorted(seen.items())) or "none"
        raise ModelError(
            f"swap {source}={target} matches nothing in {name}{reason}; its activations: {found}"
        )


def _change(site: Site, views, notes: list[str]) -> dict:
    sg = views[site.subgraph].subgraph
    graph = text(sg.name) or f"subgraph {site.subgraph}"
    return Change(
        kind="swap",
        rule=site.rule,
        activation=site.source,
        target=site.target,
        form=site.form,
        graph=graph,
        nodes=tuple(site.nodes),
        ops_before=tuple(site.ops_before),
        ops_after=tuple(site.ops_after),
        dtype=site.dtype.lower(),
        quantized=site.quantized,
        notes=tuple(notes),
    ).to_json()


class _Recovery:
    """Recovery for one conversion (``_recover``, ``_fold``): the calibration samples, the
    original's tensors on them (computed once), the layers found and the input maps fitted per
    change."""

    def __init__(self, data: bytes, arrays: dict, error, feeds, reference, target) -> None:
        interp = load(data, preserve=True)
        expected = [(n, list(d["shape"])) for e in entries(interp) for n, d in e.inputs.items()]
        arrays = calibration_arrays(arrays, expected)
        samples, _ = make_inputs(interp, arrays)
        self.calibration = enough_calibration(samples, MIN_CALIBRATION_SAMPLES)
        self.values = CachedValues(
            lambda names: tensor_values(interp, self.calibration, names, run)
        )
        self.feeds, self.reference, self.target = feeds, reference, target
        self.error = error  # ``output_error`` on the same samples: shared with re-calibration
        self.layers: dict[int, list] = {}
        self.folds: dict[int, Fold] = {}
        self.requantized: dict[int, dict] = {}  # the int8 outputs the folds gave a new grid

    def _run(self, model: bytes, names: list[str]) -> list[dict]:
        return tensor_values(load(model, preserve=True), self.calibration, names, run)

    def corrected(self, model: bytes, layers: list) -> tuple[bytes, list[dict]]:
        """(``model`` with ``layers``' biases corrected, a record per layer); corrections that
        do not bring it enough closer to the original on the calibration samples are taken
        back."""
        if not layers:
            return model, []
        fixed, records = correct_biases(model, layers, self.values, self._run)
        if fixed != model and not kept(self.error(fixed), self.error(model)):
            return model, taken_back(records)
        return fixed, records

    def record(
        self, plain: bytes, changes: list[int], layers: list, why: str | None
    ) -> tuple[bytes, dict]:
        """(``plain``, the model with ``changes`` applied, with their fitted input maps folded
        in and ``layers`` corrected; the ``recovery_record`` of the two). Corrections that do
        not bring the model enough closer on the calibration samples are taken back."""
        model = apply_folds(plain, [self.folds[i] for i in changes if i in self.folds])
        fixed, records = self.corrected(model, layers)
        outputs = run_all(fixed, self.feeds, self.target)
        plain_outputs = run_all(plain, self.feeds, self.target)
        grids = [self.requantized[i] for i in changes if i in self.folds and i in self.requantized]
        return fixed, recovery_record(self.reference, plain_outputs, outputs, records, why, grids)


def _fit_folds(recovery: _Recovery, views, sites: list[Site], changes: list[dict], build):
    """The fitted input maps (``_fold``) by change index: for each applied swap to a
    ``FITTABLE`` target whose fit brings the model closer to the original on the calibration
    samples; each change records its fit, or in a note why it has none."""
    folds = {}
    for i, (site, change) in enumerate(zip(sites, changes, strict=True)):
        if not change["applied"] or site.target not in FITTABLE:
            continue
        if site.subgraph != 0 or site.fused:
            change["notes"].append("not fitted: only unfused swaps in the first subgraph are")
            continue
        plain, _ = build([i])
        x, y = (text(views[0].tensor(t).name) for t in (site.x, site.y))
        found = find_fold(plain, x, y, FITTABLE[site.target])
        if isinstance(found, str):
            change["notes"].append(f"not fitted: {found}")
            continue
        layers = layers_after(views[0], site)[0]
        original = recovery.values([x, y])
        seen, want = (np.stack([v[t] for v in original]) for t in (x, y))
        if found.fold.aligned:
            scale, zero = found.input_params
            codes = np.rint(seen / np.float32(scale)) + zero  # the int8 codes, dequantized
            fit = fit_code_map(site.target, codes, want, found.input_params,
                               found.output_params, centred=bool(layers))  # fmt: skip
        else:
            fit = fit_input_maps(
                site.target,
                seen,
                want,
                input_range=found.input_range,
                output_range=found.output_range,
                centred=bool(layers),  # a bias correction follows
            )
        if fit is None or fit["fitted_mse"] >= fit["nominal_mse"]:
            continue
        fold = replace(found.fold, k=tuple(fit["scale"]), c=tuple(fit["offset"]))
        with_fit, without = (
            recovery.error(recovery.corrected(m, layers)[0], per_sample=True)
            for m in (apply_folds(plain, [fold]), plain)
        )
        if not clearly_closer(with_fit, without):  # each with the bias correction that follows
            change["notes"].append(
                "not fitted: the fitted input map brought the model less than "
                f"{CLEAR:g} standard errors closer to the original on the calibration samples "
                f"than bias correction alone (mse {without.mean():.3g} → {with_fit.mean():.3g})"
            )
            continue
        folds[i] = fold
        change["fit"] = fit
        where = ", ".join((x, *fold.readers))
        change["notes"].append(
            f"fitted input map k·x + c per channel (k {min(fold.k):.3g}..{max(fold.k):.3g}, "
            f"c {min(fold.c):.3g}..{max(fold.c):.3g}) folded into the layers of {where}: the "
            f"activation's mse {fit['nominal_mse']:.3g} → {fit['fitted_mse']:.3g}"
        )
        if fold.aligned:
            recovery.requantized[i] = _aligned(change, found, fold.k[0], x, y, site.target)
    return folds


def _aligned(change: dict, found, k: float, x: str, y: str, target: str) -> dict:
    """Note an aligned int8 fold in ``change``; the report's record of y's new quantization."""
    (scale, zero), old = found.input_params, found.output_params
    grid = output_grid(target, k * scale, zero)
    change["notes"].append(
        f"int8: one k for {x!r}, whose scale takes it (its codes stay, shifted by whole codes); "
        f"output {y!r}: scale {grid[0]:.6g}, zero point {grid[1]} (was {old[0]:.6g}, {old[1]}), "
        f"the range {target} reaches from its input; the readers' weight scales take 1/k"
    )
    return {"tensor": y, "scale": [old[0], grid[0]], "zero_point": [old[1], grid[1]],
            "applied": True}  # fmt: skip


def _measure_each(report, build, feeds, reference, limits, explicit, steps: Steps, target):
    changes = report["changes"]
    for i, change in enumerate(changes):
        steps.step(f"verify {change['rule']} at {change['nodes'][-1]}")
        single, _ = build([i])
        try:
            records = compare_samples(reference, run_all(single, feeds, target))
        except RuntimeError as failure:
            change["applied"] = False
            change["skipped"] = f"LiteRT cannot run the model with this change: {failure}"
            continue
        judge_change(change, records, limits, asked=change["activation"] in explicit)


def runner(model: bytes, feed: dict, target: str):
    """A factory of fresh one-thread LiteRT interpreters of ``model`` in the ``target``'s
    resolver, each returned as its invoke with the inputs set (``_targets.paired_times``)."""

    def fresh():
        interp = load(model, delegate=delegated(target))
        run(interp, feed)  # sets the inputs (and resizes dynamic ones)
        return interp.invoke

    return fresh


def _time_each(report, build, sites, views, data: bytes, feed: dict, explicit, held, target):
    """``judge_speed`` for each applied change the user did not name and the preset does not
    hold back."""
    original, shared = runner(data, feed, target), {}
    for i, change in enumerate(report["changes"]):
        named = change["activation"] in explicit
        if change["applied"] and not (named or is_held(change, held)):
            site = sites[i]
            measure = partial(_ratio_alone, build, i, original, feed, target)
            judge_speed(change, measure, target, shared, views[site.subgraph].shape(site.y))


def _ratio_alone(build, i: int, original, feed: dict, target: str) -> float:
    single, _ = build([i])
    return time_ratio(original, runner(single, feed, target))


def _verify_final(report, final: bytes, feeds, reference, limits, target) -> dict:
    """The verification block of the model ``final`` (failed, with a note, if it cannot run)."""
    started = report["verification"]
    runtime, inputs = started["runtime"], started["inputs"]
    try:
        records = compare_samples(reference, run_all(final, feeds, target))
    except RuntimeError as error:
        report["notes"].append(f"the converted model does not run in LiteRT: {error}")
        failed = verification(runtime, inputs, len(feeds), [], limits)
        return {**failed, "max_abs": None, "passed": False}
    return verification(runtime, inputs, len(feeds), records, limits)


def _loads_if_runnable(report, final: bytes, data: bytes) -> bool:
    """Without verification: the result must load in LiteRT whenever the input does."""
    try:
        load(data)
    except RuntimeError:
        return True  # e.g. custom ops: LiteRT cannot load the input either
    try:
        load(final)
    except RuntimeError as error:
        report["notes"].append(f"not written: the converted model does not load in LiteRT: {error}")
        return False
    return True


def _op_counts(views) -> dict[str, int]:
    return dict(sorted(Counter(op for v in views for op in v.ops).items()))


def _op_counts_of(model_bytes: bytes, name: str) -> dict[str, int]:
    model = parse_model(model_bytes, name)
    codes = opcode_names(model)
    return _op_counts([SubgraphView.build(model, s, codes) for s in range(len(model.subgraphs))])
