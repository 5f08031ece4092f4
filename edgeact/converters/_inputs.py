"""Inputs for verification: real ones from a ``.npz``, or seeded random ones shaped like the model.

Dynamic dimensions come from ``--input-shape name=1x3x224x224``; those left open are taken as 1
and the report says so. Float inputs are N(0, 2²), wide enough to reach every branch of every
activation (ReLU6's 6 and Hardswish's ±3 included); integer inputs (token ids, indices) are small
non-negative integers, valid for any vocabulary or axis. Where the model states an input's range
(``ranges``: a quantized input's codes, an embedding table's rows), floats are normal with the
range's ends at ±3σ (clipped to it: a quantized input of range [0, 1] got half its samples at
0 and a third at 1 from N(0, 2²)), and integers uniform over it. Verification runs several samples
(``DEFAULT_SAMPLES``, each from its own seed), or as many as a .npz holds (``split_samples``).
"""

import math
import os
import zipfile
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "DEFAULT_SAMPLES",
    "InputSpec",
    "calibration_arrays",
    "calibration_samples",
    "enough_calibration",
    "load_arrays",
    "load_npz",
    "parse_input_shapes",
    "sample_inputs",
    "split_samples",
    "zip_samples",
]

SEED = 0
FLOAT_STD = 2.0
MAX_INT = 4
DEFAULT_SAMPLES = 3  # random samples per verification: one can miss a branch (issue 14)
MAX_ELEMENTS = 2**28  # per random input: 2 GiB as the float64 the generator draws

InputSpec = tuple[str, Sequence[int | str | None], np.dtype]  # name, shape (None/str: dynamic)


def parse_input_shapes(specs: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """``["x=1x3x224x224"]`` → {"x": (1, 3, 224, 224)}; ValueError naming a bad spec."""
    shapes = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x")) if dims else ()
        except ValueError:
            shape = None
        if not sep or not name or shape is None or any(d < 0 for d in shape):
            raise ValueError(f"input shape {spec!r} is not NAME=D1xD2x... (e.g. x=1x3x224x224)")
        shapes[name] = shape
    return shapes


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a ``.npz`` file by name; ValueError if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # EOFError: empty file
        raise ValueError(f"{path}: cannot read inputs as .npz ({exc})") from None


def load_arrays(source) -> dict[str, np.ndarray]:
    """{name: array} from a .npz path, or the mapping ``source`` itself."""
    return load_npz(source) if isinstance(source, (str, os.PathLike)) else dict(source)


def calibration_samples(
    specs: Sequence[InputSpec], shapes: dict | None, arrays, minimum: int
) -> list[dict[str, np.ndarray]]:
    """The samples of calibration ``arrays`` (a .npz path or {name: array}) for inputs
    ``specs``: ``calibration_arrays`` checked, at least ``minimum`` of them."""
    arrays = calibration_arrays(arrays, [(n, shape) for n, shape, _ in specs])
    feeds, _ = sample_inputs(specs, shapes, arrays)
    return enough_calibration(feeds, minimum)


def calibration_arrays(arrays, expected: list[tuple[str, list]]) -> dict[str, np.ndarray]:
    """Calibration ``arrays`` (a .npz path or {name: array}) holding every ``expected`` input
    (name, shape), all finite; ValueError naming what is wrong otherwise."""
    arrays = load_arrays(arrays)
    missing = [name for name, _ in expected if name not in arrays]
    if missing:
        takes = ", ".join(f"{name} {_show(shape)}" for name, shape in expected)
        raise ValueError(
            f"calibration arrays lack input(s) {', '.join(missing)}; the model takes {takes} "
            "(one more leading axis for samples)"
        )
    for name, array in arrays.items():
        array = np.asarray(array)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise ValueError(f"calibration input {name!r} holds non-finite values")
    return arrays


def enough_calibration(feeds: list, minimum: int) -> list:
    """``feeds``, or ValueError when they are fewer than ``minimum`` samples."""
    if len(feeds) < minimum:
        raise ValueError(
            f"calibration holds {len(feeds)} sample(s); at least {minimum} are needed for a "
            "per-channel mean (one more leading axis than the input holds one per row)"
        )
    return feeds


def _concrete(spec: InputSpec, shapes: dict, notes: list[str]) -> tuple[int, ...]:
    name, shape, _ = spec
    if name in shapes:
        given = shapes[name]
        fixed = [(i, d) for i, d in enumerate(shape) if isinstance(d, int) and d >= 0]
        if len(given) != len(shape) or any(given[i] != d for i, d in fixed):
            raise ValueError(
                f"--input-shape {name}={'x'.join(map(str, given))} does not fit "
                f"the model's shape {_show(shape)}"
            )
        return given
    open_dims = [i for i, d in enumerate(shape) if not (isinstance(d, int) and d >= 0)]
    note = (
        f"input {name!r} {_show(shape)}: dynamic dimensions taken as 1 "
        f"(set them with --input-shape {name}=...)"
    )
    if open_dims and note not in notes:  # once for all samples
        notes.append(note)
    return tuple(1 if i in open_dims else int(d) for i, d in enumerate(shape))


def _check_fits(name: str, got: tuple, shape) -> None:
    """ValueError naming the input and both shapes when a given array cannot feed it."""
    fixed = [(i, d) for i, d in enumerate(shape) if isinstance(d, int) and d >= 0]
    if len(got) != len(shape) or any(got[i] != d for i, d in fixed):
        raise ValueError(
            f"input {name!r} from file has shape {_show(got)}; the model takes {_show(shape)} "
            f"(or one more leading axis of samples)"
        )


def _show(shape) -> str:
    return "[" + ", ".join("?" if d is None or d == -1 else str(d) for d in shape) + "]"


def split_samples(arrays: dict, shapes: dict) -> list[dict]:
    """``arrays`` (name → array, as in a .npz) as a list of samples. An array with one more axis
    than its input's shape in ``shapes`` holds one sample per row, as does a batch above 1 for
    an input of fixed batch 1; any other array is one sample, used in every sample. ValueError if
    two arrays hold different numbers of samples."""
    rows = {}
    for name, array in arrays.items():
        array, shape = np.asarray(array), shapes.get(name)
        if shape is not None and array.ndim == len(shape) + 1:
            rows[name] = list(array)
        elif shape and shape[0] == 1 and array.ndim == len(shape) and len(array) > 1:
            rows[name] = [row[None] for row in array]
        else:
            rows[name] = [array]
    if any(len(r) == 0 for r in rows.values()):
        raise ValueError("an input array holds no samples (its first axis is empty)")
    return zip_samples(rows, "the input arrays") if rows else []


def zip_samples(rows: dict[str, list], what: str) -> list[dict]:
    """{name: [sample, ...]} as [{name: sample}, ...]: the lists hold one common number of
    samples, or one, which serves every sample. ValueError naming ``what`` otherwise."""
    counts = {len(r) for r in rows.values()} - {1}
    if len(counts) > 1:
        raise ValueError(f"{what} hold different numbers of samples: {sorted(counts)}")
    n = counts.pop() if counts else 1
    return [{name: r[i % len(r)] for name, r in rows.items()} for i in range(n)]


def sample_inputs(
    specs: Sequence[InputSpec],
    shapes: dict | None = None,
    provided: dict | None = None,
    samples: int = 1,
    seed: int = SEED,
    ranges: dict[str, tuple[float, float, str]] | None = None,
) -> tuple[list[dict[str, np.ndarray]], list[str]]:
    """(a list of samples, each inputs by name; notes for the report) for input ``specs``.

    ``provided`` arrays (from a .npz; ``split_samples`` says how they hold several samples) are
    used as they are, cast to the input's dtype; the rest are random, sample i from seed
    ``seed + i``. There are as many samples as the arrays hold when they give every input,
    else ``samples``. ``ranges``: {name: (low, high, why)} the model states (floats drawn in
    [low, high], normal with its ends at ±3σ; integers uniform in [low, high)). ValueError if
    ``shapes`` or ``provided`` name an input the model does not have.
    """
    shapes, provided = shapes or {}, provided or {}
    ranges = {n: r for n, r in (ranges or {}).items() if n not in provided}
    names = {s[0] for s in specs}
    for name in [*shapes, *provided]:
        if name not in names:
            raise ValueError(f"the model has no input {name!r}; inputs: {', '.join(sorted(names))}")
    rows = split_samples(provided, {s[0]: s[1] for s in specs})
    if not rows or (len(rows) == 1 and names - set(provided)):
        rows = [rows[0] if rows else {} for _ in range(samples)]
    notes = [f"{len(provided)} input(s) from file, {len(rows)} sample(s)"] if provided else []
    feeds = [_sample(specs, shapes, given, ranges, seed + i, notes) for i, given in enumerate(rows)]
    random_dtypes = [s[2] for s in specs if s[0] not in provided and s[0] not in ranges]
    kinds = [f"floats ~ N(0, {FLOAT_STD:g}²)", f"integers in [0, {MAX_INT})"]
    used = [any(np.issubdtype(d, t) for d in random_dtypes) for t in (np.floating, np.integer)]
    if any(used) or ranges:
        seeds = f"seed {seed}" if len(rows) == 1 else f"seeds {seed}–{seed + len(rows) - 1}"
        drawn = ", ".join(k for k, u in zip(kinds, used, strict=True) if u)
        notes.append(f"random inputs ({seeds})" + (f": {drawn}" if drawn else ""))
    for spec in specs:
        if spec[0] in ranges:
            notes.append(_range_note(spec, *ranges[spec[0]]))
    return feeds, notes


def _range_note(spec: InputSpec, low: float, high: float, why: str) -> str:
    name, _, dtype = spec
    if np.issubdtype(dtype, np.integer):
        return f"input {name!r}: integers in [{low:g}, {high:g}), {why}"
    mid, sigma = (low + high) / 2, (high - low) / 6
    within = f"within [{low:.4g}, {high:.4g}]"
    return f"input {name!r}: floats ~ N({mid:.4g}, {sigma:.4g}²) {within}, {why}"


def _sample(specs, shapes: dict, provided: dict, ranges: dict, seed: int, notes: list) -> dict:
    """One sample: the ``provided`` arrays cast, the other inputs random from ``seed``; notes on
    dynamic dimensions are added to ``notes`` once."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for spec in specs:
        name, _, dtype = spec
        if name in provided:
            try:
                inputs[name] = np.asarray(provided[name]).astype(dtype, copy=False)
            except (TypeError, ValueError) as exc:  # e.g. strings for a float input
                raise ValueError(
                    f"input {name!r} from file: not castable to {dtype} ({exc})"
                ) from None
            _check_fits(name, inputs[name].shape, spec[1])
            continue
        shape = _concrete(spec, shapes, notes)
        if math.prod(shape) > MAX_ELEMENTS:  # before numpy tries to allocate it
            raise ValueError(
                f"input {name!r} of shape {_show(shape)} is too large for random inputs "
                f"(over {MAX_ELEMENTS:,} values); give a smaller --input-shape or --inputs"
            )
        low, high, _ = ranges.get(name, (None, None, None))
        if np.issubdtype(dtype, np.floating) and low is not None:
            drawn = rng.normal((low + high) / 2, (high - low) / 6, shape)
            inputs[name] = np.clip(drawn, low, high).astype(dtype)
        elif np.issubdtype(dtype, np.floating):
            inputs[name] = (rng.standard_normal(shape) * FLOAT_STD).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            lo, hi = (int(low), int(high)) if low is not None else (0, MAX_INT)
            inputs[name] = rng.integers(lo, hi, shape).astype(dtype)
        elif dtype == np.bool_:
            inputs[name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            raise ValueError(
                f"input {name!r} has type {dtype}, which verification cannot fake; "
                "give real inputs with --inputs FILE.npz"
            )
    return inputs
