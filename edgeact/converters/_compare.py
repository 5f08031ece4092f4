"""How far a converted model's outputs are from the original's, in the numbers people check.

Per output: max |a − b|, max relative error (max |a − b| / max |a|: elementwise ratios blow up
near zero crossings, which every activation has), cosine similarity of the flattened outputs,
and top-1 agreement along the last axis for outputs that look like scores (≥ 2 entries there).
Over several input samples each output keeps its worst sample (largest errors, lowest cosine).

``Thresholds`` say what "agrees" means; each bounds one of those numbers, so a failure is
always one the report shows. Without any from the user, ``DEFAULT_THRESHOLDS`` hold: cosine
≥ 0.99. Cosine, not a max error, because random inputs reach values real ones rarely do: ReLU→
ReLU6 differs only above 6, yet that alone is a relative error of 0.3 on N(0, 2²) inputs. On
the test models the approximations meet it (GELU's tanh form: 1.0; SiLU→Hardswish: 0.996)
while swaps that are not can fail (ELU→ReLU6 in misc.tflite: 0.93; Mish→Hardswish in
mish_opset17.onnx: 0.989), and another model does (same graph, other weights: 0.26). Like
Polygraphy's default atol/rtol, they make ``verify`` a check that can fail with no flags.
"""

from dataclasses import asdict, dataclass

import numpy as np

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Thresholds",
    "compare_outputs",
    "compare_samples",
    "failed_note",
    "judge_change",
    "mean_squared_error",
    "per_tensor",
    "squared_errors",
    "thresholds",
    "verification",
    "worst_abs_error",
]

_TINY = 1e-30


def _top1(ref: np.ndarray, out: np.ndarray) -> float | None:
    if ref.ndim == 0 or ref.shape[-1] < 2 or ref.size == 0:
        return None
    return float(np.mean(ref.argmax(axis=-1) == out.argmax(axis=-1)))


def _cosine(ref: np.ndarray, out: np.ndarray) -> float:
    a, b = ref.reshape(-1), out.reshape(-1)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na < _TINY and nb < _TINY:
        return 1.0
    if na < _TINY or nb < _TINY:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def compare_outputs(reference: dict, candidate: dict) -> list[dict]:
    """One metrics record per output of ``reference`` (name → array), in float64.

    ValueError names an output that is missing, changed shape, or is not finite where the
    reference is: a conversion must not change what a model returns, only how it computes it.
    """
    records = []
    for name, ref in reference.items():
        if name not in candidate:
            raise ValueError(f"converted model has no output {name!r}")
        ref = np.asarray(ref, dtype=np.float64)
        out = np.asarray(candidate[name], dtype=np.float64)
        if ref.shape != out.shape:
            raise ValueError(f"output {name!r} changed shape: {ref.shape} -> {out.shape}")
        finite = np.isfinite(ref)
        if not np.array_equal(finite, np.isfinite(out)):
            raise ValueError(f"output {name!r} is not finite where the original is (or vice versa)")
        diff = np.abs(ref[finite] - out[finite])
        max_abs = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(ref[finite]).max()) if diff.size else 0.0
        records.append(
            {
                "output": name,
                "shape": list(ref.shape),
                "max_abs": max_abs,
                "max_rel": max_abs / scale if scale > _TINY else (0.0 if max_abs == 0 else None),
                "cosine": _cosine(np.where(finite, ref, 0), np.where(finite, out, 0)),
                "top1": _top1(ref, out),
            }
        )
    return records


def compare_samples(references: list[dict], candidates: list[dict]) -> list[dict]:
    """``compare_outputs`` per input sample, each output's records merged into its worst."""
    per_sample = [compare_outputs(r, c) for r, c in zip(references, candidates, strict=True)]
    merged = []
    for records in zip(*per_sample, strict=True):
        worst = dict(records[0])
        rels = [r["max_rel"] for r in records]
        top1 = [r["top1"] for r in records if r["top1"] is not None]
        worst.update(
            max_abs=max(r["max_abs"] for r in records),
            max_rel=None if None in rels else max(rels),
            cosine=min(r["cosine"] for r in records),
            top1=min(top1) if top1 else None,
        )
        merged.append(worst)
    return merged


@dataclass(frozen=True)
class Thresholds:
    """Per output: max |a − b| ≤ ``tolerance``, max |a − b| / max |a| ≤ ``rtol`` and cosine ≥
    ``min_cosine``; None is not checked. ``default``: these are the defaults, not the user's."""

    tolerance: float | None = None
    rtol: float | None = None
    min_cosine: float | None = None
    default: bool = False

    def failures(self, record: dict) -> list[str]:
        """What of ``record`` (one output's metrics) breaks these thresholds, in words."""
        out, found = record["output"], []
        if self.tolerance is not None and record["max_abs"] > self.tolerance:
            found.append(f"{out!r} max |error| {record['max_abs']:.3g} > {self.tolerance:g}")
        rel = record["max_rel"]
        if self.rtol is not None and (rel is None or rel > self.rtol):
            shown = "unbounded (the original is 0)" if rel is None else f"{rel:.3g}"
            found.append(f"{out!r} max relative error {shown} > {self.rtol:g}")
        if self.min_cosine is not None and record["cosine"] < self.min_cosine:
            found.append(f"{out!r} cosine {record['cosine']:.4f} < {self.min_cosine:g}")
        return found

    def describe(self) -> str:
        """E.g. "max |error| ≤ 0.01, cosine ≥ 0.99"."""
        parts = []
        if self.tolerance is not None:
            parts.append(f"max |error| ≤ {self.tolerance:g}")
        if self.rtol is not None:
            parts.append(f"relative ≤ {self.rtol:g}")
        if self.min_cosine is not None:
            parts.append(f"cosine ≥ {self.min_cosine:g}")
        return ", ".join(parts) + (" (defaults)" if self.default else "")

    def to_json(self) -> dict:
        return asdict(self)


DEFAULT_THRESHOLDS = Thresholds(min_cosine=0.99, default=True)


def thresholds(tolerance=None, rtol=None, min_cosine=None) -> Thresholds:
    """The user's thresholds, or the defaults when none is given; ValueError for a bad one."""
    for name, value, low, high in (
        ("tolerance", tolerance, 0.0, float("inf")),
        ("rtol", rtol, 0.0, float("inf")),
        ("min_cosine", min_cosine, -1.0, 1.0),
    ):
        if value is not None and not low <= value <= high:  # NaN fails both
            bound = f"a number >= {low:g}" if high == float("inf") else f"in [{low:g}, {high:g}]"
            raise ValueError(f"{name} {value} must be {bound}")
    if tolerance is None and rtol is None and min_cosine is None:
        return DEFAULT_THRESHOLDS
    return Thresholds(tolerance, rtol, min_cosine)


def judge_change(change: dict, records: list[dict], limits: Thresholds, asked: bool) -> None:
    """Record the error of a change measured alone (``records``) in its report entry, and skip
    it if it breaks the thresholds. The user's thresholds hold for every change; the defaults
    only for changes the user did not ask for by name (an explicit swap is applied, and the
    final verification says whether the model still agrees)."""
    change["max_abs_error"] = worst_abs_error(records)
    failures = [f for r in records for f in limits.failures(r)]
    if failures and not (asked and limits.default):
        change["applied"] = False
        change["skipped"] = f"alone it breaks the thresholds: {failures[0]}"


def failed_note(block: dict) -> str:
    """The report's note for a final verification ``block`` that failed: what broke, and the
    options that accept it."""
    failures = [f for r in block["outputs"] for f in r["failures"]]
    return (
        f"not written: the converted model breaks the thresholds: {'; '.join(failures[:3])}"
        f"{' …' if len(failures) > 3 else ''} (accept more with --min-cosine, --rtol or "
        "--tolerance)"
    )


def per_tensor(names: list[str], references: list[dict], candidates: list[dict], limits) -> dict:
    """The ``per_op`` block of ``verify --per-op``: each tensor named in ``names`` (both models
    compute it; in the original's order), compared over the samples like an output, and the
    first that breaks ``limits``: where the two models start to disagree."""
    tensors = []
    for name in names:
        ours, theirs = [{name: r[name]} for r in references], [{name: c[name]} for c in candidates]
        try:
            [record] = compare_samples(ours, theirs)
        except ValueError as exc:  # changed shape or finiteness: a divergence of its own
            record = {"output": name, "error": str(exc), "failures": [str(exc)]}
        else:
            record["failures"] = limits.failures(record)
        tensors.append({"tensor": record.pop("output"), **record})
    first = next((t["tensor"] for t in tensors if t["failures"]), None)
    return {"compared": len(tensors), "first_failure": first, "tensors": tensors}


def mean_squared_error(references: list[dict], candidates: list[dict]) -> float:
    """Mean of (a − b)² over every finite element of every output and sample: the number
    accuracy recovery lowers (a max error hides a shift of the mean; a cosine barely sees it)."""
    total, count = squared_errors(references, candidates)
    return float(total.sum() / count.sum()) if count.sum() else 0.0


def squared_errors(references: list[dict], candidates: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Per sample: the sum of (a − b)² over the finite elements of its outputs, and how many
    there are (``mean_squared_error`` pools them; a paired comparison needs them apart)."""
    total, count = [], []
    for ref, cand in zip(references, candidates, strict=True):
        sample_total, sample_count = 0.0, 0
        for name, a in ref.items():
            a, b = np.asarray(a, np.float64), np.asarray(cand[name], np.float64)
            finite = np.isfinite(a) & np.isfinite(b)
            sample_total += float(np.sum((a[finite] - b[finite]) ** 2))
            sample_count += int(finite.sum())
        total.append(sample_total)
        count.append(sample_count)
    return np.asarray(total, np.float64), np.asarray(count, np.int64)


def worst_abs_error(records: list[dict]) -> float:
    """The largest max |a − b| over a model's outputs (the number ``--tolerance`` bounds)."""
    return max((r["max_abs"] for r in records), default=0.0)


def verification(
    runtime: str, notes: list[str], samples: int, records: list[dict], limits: Thresholds
) -> dict:
    """The reports' ``verification`` block: passed when every output meets ``limits``; each
    output record gains ``failures`` (the thresholds it breaks, in words)."""
    records = [{**r, "failures": limits.failures(r)} for r in records]
    return {
        "runtime": runtime,
        "inputs": notes,
        "samples": samples,
        "outputs": records,
        "max_abs": worst_abs_error(records),
        "tolerance": limits.tolerance,  # as before thresholds came: one schema version
        "thresholds": limits.to_json(),
        "passed": not any(r["failures"] for r in records),
    }
