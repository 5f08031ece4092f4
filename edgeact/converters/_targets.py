"""Targets: the runtime configuration a converted model is meant for, and whether a change makes
the model slower there.

A swap that is cheaper in isolation can make a model slower in a runtime that fused or delegated
what it replaces (ONNX Runtime fuses the exporter's erf GELU; XNNPACK takes int8 LOGISTIC·x chains
as one table but not int8 HARD_SWISH). So with ``--target``, each change a preset chose is timed:
the model with the change alone against the original, interleaved in the target runtime on one
thread, and left out when the model gets slower by more than ``SLOWER`` in most rounds; then the
whole plan is timed the same way, and changes are dropped until it is not slower (``fit_speed``).
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
    "time_ratio",
]

# name -> (model format, what runs the model)
TARGETS = {
    "onnxruntime": ("onnx", "ONNX Runtime, CPU execution provider"),
    "litert": ("tflite", "LiteRT, builtin kernels"),
    "litert-xnnpack": ("tflite", "LiteRT with its default XNNPACK delegate"),
}
SLOWER = 1.02  # time ratio above which a change counts as slower (noise on a busy 2-core host)
BATCH_SECONDS = 2e-3  # each timed sample runs the model this long at least
ROUNDS = 21  # interleaved samples per model (ABBA order)


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


def time_ratio(original: Callable[[], object], changed: Callable[[], object]) -> float:
    """changed's time / original's time per call: the lower quartile over interleaved rounds,
    so a change counts as slower only when three rounds in four say so (on a shared machine,
    other work adds time to either side at random; one slow round must not decide)."""
    for run in (original, changed, original, changed):  # warm-up: caches, lazy allocations
        run()
    once = max(_batch(original, 1), 1e-7)
    calls = max(1, int(BATCH_SECONDS / once))
    ratios = []
    for i in range(ROUNDS):
        if i % 2:  # ABBA: neither model always runs first
            b, a = _batch(changed, calls), _batch(original, calls)
        else:
            a, b = _batch(original, calls), _batch(changed, calls)
        ratios.append(b / a)
    return statistics.quantiles(ratios, n=4)[0]


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


def judge_speed(change: dict, ratio: float, target: str) -> None:
    """Record the time ratio of the model with ``change`` alone; leave it out if slower."""
    change["time_ratio"] = ratio
    if ratio > SLOWER:
        change["applied"] = False
        change["skipped"] = (
            f"slower on {target}: {ratio:.2f}× the original's time alone "
            f"(--swap {change['rule']} applies it)"
        )
