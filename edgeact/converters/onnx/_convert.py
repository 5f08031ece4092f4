"""ONNX ``convert``: plan the changes, measure each alone, apply the good ones, verify, write.

Order matters for the promise "bad input loses nothing": every check that can fail on the user's
input (paths, file, swap names, swaps that match nothing, ONNX Runtime refusing the model) runs
before anything is written, and the output appears only after the converted model passed
``onnx.checker`` (full check), loaded in ONNX Runtime and, unless told otherwise, agreed with the
original within the thresholds (``_compare``).
"""

import os
import tempfile
from collections import Counter
from functools import partial
from pathlib import Path

import numpy as np
import onnx

from edgeact.converters import _compare
from edgeact.converters._bias import (
    GATE,
    MIN_CALIBRATION_SAMPLES,
    kept,
    recovery_mode,
    recovery_record,
    taken_back,
)
from edgeact.converters._budget import fit_budget
from edgeact.converters._compare import (
    compare_samples,
    failed_note,
    judge_change,
    verification,
)
from edgeact.converters._convert_report import new_report
from edgeact.converters._errors import ModelError, first_line
from edgeact.converters._fit import FITTABLE, fit_hard_gate
from edgeact.converters._inputs import DEFAULT_SAMPLES, calibration_samples, sample_inputs
from edgeact.converters._progress import Steps
from edgeact.converters._swaps import hold_back, is_held
from edgeact.converters._targets import fit_speed, judge_speed, time_ratio
from edgeact.converters._write import (
    atomic_write,
    check_destination,
    deferred_signals,
    flush_to_disk,
    give_normal_mode,
)
from edgeact.converters.onnx._branches import mark_unexercised
from edgeact.converters.onnx._emit import EMITTABLE, emitted_ops
from edgeact.converters.onnx._graph import dtype_name, nested_graphs
from edgeact.converters.onnx._inspect import graphs, scan, with_types
from edgeact.converters.onnx._load import MAX_OPSET, default_opset, load_with_data
from edgeact.converters.onnx._ranges import input_ranges
from edgeact.converters.onnx._recover import Recovery
from edgeact.converters.onnx._rewrite import apply_sites, op_counts, plan_sites
from edgeact.converters.onnx._verify import (
    custom_ops,
    exposing,
    input_specs,
    run,
    runtime_name,
    session,
)

__all__ = ["convert", "runner"]

# what onnx.checker raises: full_check runs strict shape inference, whose errors are its own type
_CHECKER_ERRORS = (onnx.checker.ValidationError, onnx.shape_inference.InferenceError)
EXTERNAL_THRESHOLD = 1024  # bytes: tensors at least this big go to the external data file


def _upgrade(model: onnx.ModelProto, opset: int, source) -> onnx.ModelProto:
    current = default_opset(model) or 1
    if not current <= opset <= MAX_OPSET:
        raise ValueError(f"--opset {opset}: must be between the model's {current} and {MAX_OPSET}")
    if opset == current:
        return model
    from onnx import version_converter

    try:
        return version_converter.convert_version(model, opset)
    except Exception as exc:  # the converter raises bare RuntimeErrors from C++
        raise ModelError(f"{source}: onnx cannot convert it to opset {opset} ({exc})") from None


def _value_info(model: onnx.ModelProto) -> tuple[dict[str, str], dict[str, tuple]]:
    """Element type names of every typed value, and the shapes known in full (a dimension a
    number or a named parameter), from shape inference on an in-memory copy."""
    types, shapes = {}, {}
    for g in nested_graphs(with_types(model).graph):
        for vi in [*g.input, *g.value_info, *g.output]:
            tensor = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
            if tensor is None or not tensor.elem_type:
                continue
            types[vi.name] = dtype_name(tensor.elem_type)
            dims = [d.dim_value or d.dim_param for d in tensor.shape.dim]
            if tensor.HasField("shape") and all(dims):
                shapes[vi.name] = tuple(dims)
        for t in g.initializer:
            types[t.name] = dtype_name(t.data_type)
    return types, shapes


def _later_fusions(later: Counter, opset: int | None) -> list[str]:
    """Notes naming the ``--opset`` that fuses what this opset cannot, highest count first."""
    notes = []
    for (since, activation, op), n in sorted(later.items(), key=lambda kv: -kv[1]):
        notes.append(
            f"--opset {since} would fuse {n} decomposed {activation} pattern(s) into {op} "
            f"(the model has opset {opset}; {op} needs {since})"
        )
    return notes


def _check_explicit(explicit: dict, sites, model, source) -> None:
    used = {s.rule for s in sites if s.kind == "swap"}
    for a, b in explicit.items():
        if f"{a}={b}" not in used:
            found = Counter(m.activation for v in graphs(model) for m in scan(v)[0])
            have = ", ".join(f"{k} ×{n}" for k, n in sorted(found.items())) or "none"
            raise ModelError(f"swap {a}={b} matches nothing in {source}; its activations: {have}")


def _checked(path: Path, strict: bool, runnable: bool) -> None:
    """onnx.checker, and loading in ONNX Runtime unless the model has ops ORT cannot run."""
    try:
        onnx.checker.check_model(str(path), full_check=strict)
    except _CHECKER_ERRORS as exc:
        raise ModelError(f"the converted model fails onnx.checker: {first_line(exc)}") from None
    if runnable:
        session(str(path), "the converted model")


def _write(model: onnx.ModelProto, dst: Path, external: bool, strict: bool, runnable: bool) -> None:
    """Atomically write ``model`` (with an external data file ``<name>.data`` if ``external``)."""
    if not external:

        def write(tmp: Path) -> None:
            onnx.save_model(model, str(tmp))
            _checked(tmp, strict, runnable)

        atomic_write(dst, write)
        return
    location = f"{dst.name}.data"
    with tempfile.TemporaryDirectory(prefix=f".{dst.name}.", dir=dst.resolve().parent) as tmp:
        tmp_model = Path(tmp) / dst.name
        onnx.save_model(
            model,
            str(tmp_model),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=location,
            size_threshold=EXTERNAL_THRESHOLD,
        )
        _checked(tmp_model, strict, runnable)
        data, data_dst = Path(tmp) / location, dst.resolve().parent / location
        for path, final in ((tmp_model, dst), (data, data_dst)):
            if path.exists():
                flush_to_disk(path)
                give_normal_mode(path, final)
        with deferred_signals():  # both files, or neither
            if data.exists():
                os.replace(data, data_dst)
            os.replace(tmp_model, dst)


def _passes_full_check(model: onnx.ModelProto) -> bool:
    try:
        onnx.checker.check_model(model, full_check=True)
    except (*_CHECKER_ERRORS, ValueError):
        return False
    return True


def runner(model: onnx.ModelProto, feed: dict):
    """A factory of fresh one-thread ONNX Runtime sessions of ``model``, each returned as its
    one run on ``feed`` (``_targets.paired_times``)."""
    from edgeact.runtimes.onnxruntime import cpu_session

    blob = model.SerializeToString()

    def fresh():
        sess = cpu_session(blob, threads=1)
        return lambda: sess.run(None, feed)

    return fresh


def _fit_gates(recovery: Recovery, pending) -> dict[int, tuple[float, float]]:
    """Fitted HardSigmoid (α, β) by site number for the swaps to a ``FITTABLE`` target in the
    main graph, where they beat the catalogue's constants on the calibration inputs; each
    change records its fit and the ops it now writes."""
    gates = {}
    for site, change in pending:
        if change["kind"] != "swap" or site.target not in FITTABLE or change["graph"] != "main":
            continue
        x = np.concatenate([np.ravel(v[site.match.x]) for v in recovery.values([site.match.x])])
        fit = fit_hard_gate(site.match.activation, site.target, x, site.match.input_scale)
        if fit is None or fit["fitted_mse"] >= fit["nominal_mse"]:
            continue
        gates[site.number] = (fit["alpha"], fit["beta"])
        change["fit"] = fit
        ops = emitted_ops(
            site.target, site.opset, False, site.match.input_scale, gates[site.number]
        )
        change["ops_after"] = ops
        change["notes"].append(
            f"fitted HardSigmoid α = {fit['alpha']:.4g}, β = {fit['beta']:.4g}: the activation's "
            f"mse {fit['nominal_mse']:.3g} → {fit['fitted_mse']:.3g} on the calibration inputs"
        )
    return gates


def _run_all(model: onnx.ModelProto, names: list[str] | None, feeds: list[dict]) -> list[dict]:
    """The values ``names`` (None: the outputs) hold in ``model`` on each of ``feeds``."""
    exposed = exposing(model, names) if names else model
    sess = session(exposed, "the model with the values bias correction measures")
    return [run(sess, feed) for feed in feeds]


def _recovered(recovery, converted, plain, layers, why, feeds, reference, outputs=()) -> dict:
    """Correct ``layers`` in ``converted`` (in place), after re-quantizing the swapped QDQ
    ``outputs`` where that measures better on the calibration samples; ``recovery_record`` of
    ``plain`` (the swap as the catalogue writes it: ``converted`` before any recovery) against
    it on the verification samples (``why``: no bias to correct)."""
    plain_outputs = _run_all(plain, None, feeds)
    before = onnx.ModelProto()
    before.CopyFrom(converted)
    requantized = []
    if outputs:
        trial = onnx.ModelProto()
        trial.CopyFrom(converted)
        requantized = recovery.requantize(trial, list(outputs))
        trial_records = recovery.correct(trial, layers) if layers else []
    records = recovery.correct(converted, layers) if layers else []
    error = recovery.calibration_error  # each of its calls runs the calibration samples
    error_now = error(converted) if requantized or any(r["corrected"] for r in records) else None
    if requantized:  # min/max of the calibration samples is not always the better range
        error_trial = error(trial)
        better = error_trial < error_now
        for r in requantized:
            r["applied"] = better
        if better:
            converted.CopyFrom(trial)
            records, error_now = trial_records, error_trial
    changed = any(r["corrected"] for r in records) or any(q["applied"] for q in requantized)
    if changed and not kept(error_now, error(before)):
        converted.CopyFrom(before)
        records = taken_back(records)
        requantized = [q | {"applied": False} for q in requantized]
    outputs_after = _run_all(converted, None, feeds)
    return recovery_record(reference, plain_outputs, outputs_after, records, why, requantized)


def _qdq_outputs(pairs) -> list[str]:
    """The outputs of the swaps among (site, change) ``pairs`` that lie between Q/DQ pairs of
    the main graph: the values ``requantize_outputs`` may give parameters of their own."""
    return [
        s.match.y
        for s, c in pairs
        if c["kind"] == "swap" and c["quantized"] and c["graph"] == "main"
    ]


def _measure(change: dict, alone: onnx.ModelProto, feeds, reference, limits, asked) -> None:
    """Record the error of one change applied alone; skip it if broken, or if it breaks the
    thresholds (``judge_change``: a change the user ``asked`` for by name only breaks theirs)."""
    try:
        sess = session(alone, "the model with this change alone")
        records = compare_samples(reference, [run(sess, feed) for feed in feeds])
    except ValueError as exc:  # ModelError included
        change["applied"], change["skipped"] = False, str(exc)
        return
    judge_change(change, records, limits, asked)


def convert(
    source,
    destination,
    rules: dict,
    *,
    explicit: dict | None = None,
    held: set[str] = frozenset(),
    fuse: bool = True,
    verify: bool = True,
    limits: _compare.Thresholds = _compare.DEFAULT_THRESHOLDS,
    budget: float | None = None,
    target: str | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = 0,
    input_shapes=None,
    inputs=None,
    opset: int | None = None,
    recover: bool = False,
    calibration=None,
    progress=None,
) -> dict:
    """Fuse and swap the activations of the ONNX model ``source``; write ``destination``.

    ``rules`` {from: to} over catalogue names; ``explicit`` the subset the user named, each of
    which must match something; ``held`` the sources whose swaps are only listed
    (``_swaps.hold_back``). ``limits``: what agreeing with the original means; a change that
    alone breaks them is skipped (``judge_change``), and a final model that breaks them is not
    written, unless a ``budget`` (limits' tolerance) rolls changes back until it is
    (``_budget``). With a ``target`` ("onnxruntime"), each change not asked for by name is also
    timed and left out if it makes the model slower (``_targets``). Verification runs
    ``samples`` random samples from ``seed`` on (or the samples of ``inputs``). ``recover``:
    correct the biases after the swaps on the ``calibration`` samples (a .npz path or
    {name: array}; ``_recover``). Returns the report documented in
    ``edgeact.converters._convert_report``.
    """
    recover = recovery_mode(recover)
    if calibration is not None and not recover:
        raise ValueError("--calibration of an ONNX model is for --recover; give both")
    for missing in set(rules.values()) - EMITTABLE:
        raise ValueError(
            f"no ONNX form for swap target {missing!r}; "
            f"ONNX targets: {', '.join(sorted(EMITTABLE))}"
        )
    dst = check_destination(source, destination, "onnx")
    steps = Steps(progress)
    steps.step(f"read and plan {source}")
    model, external = load_with_data(source)
    if opset is not None:
        model = _upgrade(model, opset, source)
    types, shapes = _value_info(model)
    later = Counter()
    sites = plan_sites(model, rules, fuse, types, later)
    _check_explicit(explicit or {}, sites, model, source)
    report = new_report("onnx", source, dst, rules, fuse)
    report["notes"] += _later_fusions(later, default_opset(model))
    changes = report["changes"] = [s.record() for s in sites]
    report["ops_before"] = op_counts(model)
    strict = _passes_full_check(model)
    if not strict:
        report["notes"].append("the input fails onnx.checker's full check; checked without it")
    custom = custom_ops(model)
    if custom and verify and not limits.default:
        raise ModelError(
            f"{source}: cannot hold the result to {limits.describe()}: ONNX Runtime has no "
            f"kernels for {', '.join(custom)}; convert without thresholds, unverified"
        )
    if custom:
        verify = False
        report["notes"].append(
            f"not verified: ONNX Runtime has no kernels for {', '.join(custom)} without your "
            "op library; the result passed onnx.checker only"
        )
    pending = [(s, c) for s, c in zip(sites, changes, strict=True) if c["applied"]]
    swaps = sum(1 for _, c in pending if c["kind"] == "swap") + 1 if recover else 0
    swaps += recover == "fit"
    steps.plan((len(pending) + swaps + 1 if verify else 0) + 1)
    gates = {}  # site number -> fitted (α, β), with --recover fit

    def build(numbers) -> onnx.ModelProto:
        return apply_sites(model, rules, fuse, types, numbers, gates)

    def unfitted(numbers) -> onnx.ModelProto:
        return apply_sites(model, rules, fuse, types, numbers)

    if verify:
        original = session(model, f"the input model {source}")
        specs = input_specs(original)
        ranges = input_ranges(model)
        feeds, notes = sample_inputs(specs, input_shapes, inputs, samples, seed, ranges)
        reference = [run(original, feed, f"the input model {source}") for feed in feeds]
        recovery = None
        if recover:
            cal = calibration_samples(specs, input_shapes, calibration, MIN_CALIBRATION_SAMPLES)
            recovery = Recovery(model, cal, _run_all)
        if recover == "fit":
            steps.step("fit replacement constants on the calibration inputs")
            gates |= _fit_gates(recovery, pending)
        timed, shared = (runner(model, feeds[0]) if target else None), {}
        for site, change in pending:
            steps.step(f"verify {change['rule']} at {change['nodes'][-1]}")
            alone = build([site.number])
            asked = change["kind"] == "swap" and change["activation"] in (explicit or {})
            _measure(change, alone, feeds, reference, limits, asked)
            if recovery is not None and change["kind"] == "swap":
                steps.step(f"recover after {change['rule']} at {change['nodes'][-1]}")
            if recovery is not None and change["kind"] == "swap" and change["applied"]:
                where = (site.match.y, change["graph"])
                fixed = onnx.ModelProto()
                fixed.CopyFrom(alone)  # ``alone`` stays as it is, for the timing below
                plain = unfitted([site.number]) if site.number in gates else alone
                qdq = _qdq_outputs([(site, change)])
                args = (*recovery.layers_for(*where), feeds, reference, qdq)
                change["recovery"] = _recovered(recovery, fixed, plain, *args)
            if timed is not None and change["applied"] and not (asked or is_held(change, held)):
                measure = partial(time_ratio, timed, runner(alone, feeds[0]))
                judge_speed(change, measure, target, shared, shapes.get(site.match.x))

        mark_unexercised(model, feeds, changes, partial(_run_all, model, feeds=feeds))
    hold_back(changes, held)
    if target and verify:

        def plan_ratio() -> float:
            untimed = [s.number for s, c in zip(sites, changes, strict=True)
                       if c["applied"] and c["time_ratio"] is None]  # fmt: skip
            chosen = [s.number for s, c in zip(sites, changes, strict=True) if c["applied"]]
            steps.step(f"time the plan on {target}")
            baseline = build(untimed) if untimed else model
            planned = build(chosen)
            return time_ratio(runner(baseline, feeds[0]), runner(planned, feeds[0]))

        report["plan_time_ratio"] = fit_speed(changes, plan_ratio, target)
    converted = model

    def attempt() -> dict | None:
        """Build the model with the applied changes; its verification block (None if off)."""
        nonlocal converted
        chosen = [s.number for s, c in zip(sites, changes, strict=True) if c["applied"]]
        converted = build(chosen)
        if not verify:  # then _write's check is the one that ORT accepts the result
            return None
        if recovery is not None:
            steps.step("recover after all swaps")
            layers = [
                layer
                for s, c in zip(sites, changes, strict=True)
                if c["applied"] and c["recovery"] and not c["recovery"]["note"]
                for layer in recovery.layers_for(s.match.y, c["graph"])[0]
            ]
            plain = unfitted(chosen) if gates else converted
            swapped = [(s, c) for s, c in zip(sites, changes, strict=True) if c["applied"]]
            args = (layers, None, feeds, reference, _qdq_outputs(swapped))
            report["recovery"] = _recovered(recovery, converted, plain, *args) | {
                "mode": recover,
                "calibration": len(recovery.calibration),
                "gate": GATE,
            }
        steps.step("verify the converted model")
        final = session(converted, "the converted model")
        outputs = [run(final, feed, "the converted model") for feed in feeds]
        records = compare_samples(reference, outputs)
        return verification(runtime_name(), notes, len(feeds), records, limits)

    done = attempt() if budget is None else fit_budget(changes, attempt, budget)
    report["ops_after"] = op_counts(converted)
    if done is not None:
        report["verification"] = done
        if not done["passed"]:
            report["notes"].append(failed_note(done))
            return report
    steps.step(f"check and write {dst}")
    _write(converted, dst, external, strict, runnable=not custom)
    report["written"] = True
    return report
