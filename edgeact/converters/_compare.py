"""How far a converted model's outputs are from the original's, in the numbers people check.

Per output: max |a − b|, max relative error (max |a − b| / max |a|: elementwise ratios blow up
near zero crossings, which every activation has), cosine similarity of the flattened outputs,
and top-1 agreement along the last axis for outputs that look like scores (≥ 2 entries there).
"""

import numpy as np

__all__ = ["compare_outputs", "verification", "worst_abs_error"]

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


def worst_abs_error(records: list[dict]) -> float:
    """The largest max |a − b| over a model's outputs (the number ``--tolerance`` bounds)."""
    return max((r["max_abs"] for r in records), default=0.0)


def verification(runtime: str, notes: list[str], records: list[dict], tolerance) -> dict:
    """The reports' ``verification`` block: passed when the worst error is within ``tolerance``
    (always, when there is none)."""
    worst = worst_abs_error(records)
    return {
        "runtime": runtime,
        "inputs": notes,
        "outputs": records,
        "max_abs": worst,
        "tolerance": tolerance,
        "passed": tolerance is None or worst <= tolerance,
    }
