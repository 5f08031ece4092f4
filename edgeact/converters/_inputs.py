"""Inputs for verification: real ones from a ``.npz``, or seeded random ones shaped like the model.

Dynamic dimensions come from ``--input-shape name=1x3x224x224``; those left open are taken as 1
and the report says so. Float inputs are N(0, 2²), wide enough to reach every branch of every
activation (ReLU6's 6 and Hardswish's ±3 included); integer inputs (token ids, indices) are small
non-negative integers, valid for any vocabulary or axis.
"""

import math
import os
import zipfile
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["InputSpec", "load_npz", "parse_input_shapes", "random_inputs"]

SEED = 0
FLOAT_STD = 2.0
MAX_INT = 4
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
    if open_dims:
        notes.append(
            f"input {name!r} {_show(shape)}: dynamic dimensions taken as 1 "
            f"(set them with --input-shape {name}=...)"
        )
    return tuple(1 if i in open_dims else int(d) for i, d in enumerate(shape))


def _show(shape) -> str:
    return "[" + ", ".join("?" if d is None or d == -1 else str(d) for d in shape) + "]"


def random_inputs(
    specs: Sequence[InputSpec],
    shapes: dict | None = None,
    provided: dict | None = None,
    seed: int = SEED,
) -> tuple[dict[str, np.ndarray], list[str]]:
    """(inputs by name, notes for the report) for a model's input ``specs``.

    ``provided`` arrays (from a .npz) are used as they are, cast to the input's dtype; the rest
    are random. ValueError if ``shapes`` or ``provided`` name an input the model does not have.
    """
    shapes, provided = shapes or {}, provided or {}
    names = {s[0] for s in specs}
    for name in [*shapes, *provided]:
        if name not in names:
            raise ValueError(f"the model has no input {name!r}; inputs: {', '.join(sorted(names))}")
    rng = np.random.default_rng(seed)
    notes = [f"{len(provided)} input(s) from file"] if provided else []
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
            continue
        shape = _concrete(spec, shapes, notes)
        if math.prod(shape) > MAX_ELEMENTS:  # before numpy tries to allocate it
            raise ValueError(
                f"input {name!r} of shape {_show(shape)} is too large for random inputs "
                f"(over {MAX_ELEMENTS:,} values); give a smaller --input-shape or --inputs"
            )
        if np.issubdtype(dtype, np.floating):
            inputs[name] = (rng.standard_normal(shape) * FLOAT_STD).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            inputs[name] = rng.integers(0, MAX_INT, shape).astype(dtype)
        elif dtype == np.bool_:
            inputs[name] = rng.integers(0, 2, shape).astype(np.bool_)
        else:
            raise ValueError(
                f"input {name!r} has type {dtype}, which verification cannot fake; "
                "give real inputs with --inputs FILE.npz"
            )
    kinds = [f"floats ~ N(0, {FLOAT_STD:g}²)", f"integers in [0, {MAX_INT})"]
    used = [
        any(np.issubdtype(inputs[s[0]].dtype, t) for s in specs if s[0] not in provided)
        for t in (np.floating, np.integer)
    ]
    if any(used):
        notes.append(
            f"random inputs (seed {seed}): "
            + ", ".join(k for k, u in zip(kinds, used, strict=True) if u)
        )
    return inputs, notes
