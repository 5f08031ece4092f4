"""Targets: the runtime configuration a converted model is meant for, and whether a change makes
the model slower there.

A swap that is cheaper in isolation can make a model slower in a runtime that fused or delegated
what it replaces (ONNX Runtime fuses the exporter's erf GELU; XNNPACK takes int8 LOGISTIC·x chains
as one table but not int8 HARD_SWISH). So with ``--target``, each change a preset chose is timed:
the model with the change alone against the original, in the target runtime on one thread, and
left out when the model gets slower by more than ``SLOWER``; then the whole plan is timed the
same way, and changes are dropped until it is not slower (``fit_speed``). Sites alike (same
rule, ops, dtype and input shape) share one timing, so a model with 50 SiLUs of 4 shapes is
timed 4 times and its identical sites get the same decision.
"""

import statistics
import time
from collections.abc import Callable

__all__ = [
    "SLOWER",
    "TARGETS",
    "check_target",
    "delegated",
    "fit_speed",
    "judge_speed",
    "paired_times",
    "time_ratio",
]

# name -> (model format, what runs the model)
TARGETS = {
    "onnxruntime": ("onnx", "ONNX Runtime, CPU execution provider"),
    "litert": ("tflite", "LiteRT, builtin kernels"),
    "litert-xnnpack": ("tflite", "LiteRT with its default XNNPACK delegate"),
}
SLOWER = 1.01  # time ratio above which a change counts as slower (paired_times' spread: ±1 %)
BATCH_SECONDS = 2e-3  # each timed batch runs the model this long at least
SESSIONS = 6  # fresh sessions per model: one session's speed varies by up to ±30 % here
ROUNDS = 12  # paired batches per pair of sessions (ABBA order)


def check_target(fmt: str, target: str) -> None:
    """ValueError for an unknown target or one that does not run ``fmt`` models."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; targets: {', '.join(TARGETS)}")
    if TARGETS[target][0] != fmt:
        runs = [t for t, (f, _) in TARGETS.items() if f == fmt]
        raise ValueError(f"target {target} does not run {fmt} models; use {' or '.join(runs)}")


def delegated(target: str | None) -> bool:
    """Whether ``target`` runs LiteRT with its default resolver (the XNNPACK delegate)."""
    return target == "litert-xnnpack"


def _batch(run: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return (time.perf_counter() - start) / calls


Runner = Callable[[], Callable[[], object]]  # makes a fresh session; returns its one run


def paired_times(
    original: Runner, changed: Runner, sessions: int = SESSIONS, rounds: int = ROUNDS
) -> tuple[float, float, float]:
    """(changed's time / original's, original's seconds per call, changed's), each the median
    over ``sessions`` fresh pairs of sessions × ``rounds`` pairs of batches run back to back.

    Why this estimator: on this 2-core VM, sessions of the same ONNX Runtime model differ by up
    to ±30 % (memory layout), so one session per model decides nothing; and other work slows
    whatever runs at that moment, so only batches adjacent in time are compared. The same
    model against itself comes out within ±1 % (bench/bench_plans.py measures it)."""
    ratios, times_a, times_b = [], [], []
    calls = 0
    for _ in range(sessions):
        a, b = original(), changed()
        for run in (a, b, a, b):  # warm-up: caches, lazy allocations
            run()
        calls = calls or max(1, int(BATCH_SECONDS / max(_batch(a, 1), 1e-7)))
        for i in range(rounds):
            if i % 2:  # ABBA: neither model always runs first
                tb, ta = _batch(b, calls), _batch(a, calls)
            else:
                ta, tb = _batch(a, calls), _batch(b, calls)
            ratios.append(tb / ta)
            times_a.append(ta)
            times_b.append(tb)
    return statistics.median(ratios), statistics.median(times_a), statistics.median(times_b)


def time_ratio(original: Runner, changed: Runner) -> float:
    """changed's time / original's per call (``paired_times``)."""
    return paired_times(original, changed)[0]


def fit_speed(changes: list[dict], plan_ratio: Callable[[], float], target: str) -> float | None:
    """The time ratio of the whole plan (``plan_ratio()``: the model with the applied changes
    against it with only the untimed ones, those the user named) once it is not slower, or None
    if nothing was timed. Changes each neutral alone can add up to slower; then the applied timed
    change with the largest own ratio is dropped and the plan timed again."""
    while True:
        timed = [c for c in changes if c["applied"] and c.get("time_ratio") is not None]
        if not timed:
            return None
        ratio = plan_ratio()
        if ratio <= SLOWER:
            return ratio
        worst = max(timed, key=lambda c: c["time_ratio"])
        worst["applied"] = False
        worst["skipped"] = (
            f"slower on {target} together: the plan took {ratio:.2f}× the time; this change's "
            f"own {worst['time_ratio']:.2f}× was the largest"
        )


def judge_speed(
    change: dict, measure: Callable[[], float], target: str, shared: dict, shape
) -> None:
    """Record the time ratio of the model with ``change`` alone (``measure()``, taken once per
    rule, ops, dtype and input ``shape`` in ``shared``; None: unknown, always measured); leave
    the change out if it makes the model slower."""
    like = (change["rule"], tuple(change["ops_before"]), change["dtype"], change["quantized"])
    if shape is None:
        ratio = measure()
    else:
        key = (*like, tuple(shape))
        if key not in shared:
            shared[key] = measure()
        ratio = shared[key]
    change["time_ratio"] = ratio
    if ratio > SLOWER:
        change["applied"] = False
        change["skipped"] = (
            f"slower on {target}: {ratio:.2f}× the original's time alone "
            f"(--swap {change['rule']} applies it)"
        )
