"""The kernel harness: validate, then time edgeact and its peers on the same array, in one run.

Every result is checked before it is timed (a wrong kernel is never timed, and the check also warms
the JIT), and every peer is timed on the same input in the same run, so ratios compare like with
like: edgeact, the copy and the runtimes in turns (``time_calls``), NumPy on its own. Times are
best-of-N per call; bytes are read + written (2 × the array's
bytes for float, input + output codes for int8), the traffic of a streaming kernel.

``measure_kernels`` returns one record per measurement (the JSON ``records``, schema in
``edgeact.bench``); ``bench_kernels`` folds them into one row per case for tables and the demo.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from edgeact.bench import machine, numpy_peers, runtimes
from edgeact.bench.timing import time_call, time_calls
from edgeact.quant import QuantParams

__all__ = [
    "DTYPES",
    "MAX_ULPS",
    "PEERS",
    "ROOF_MARGIN",
    "SIZE_LABELS",
    "ValidationError",
    "bench_kernels",
    "measure_kernels",
    "parse_sizes",
]

DTYPES = ("float32", "float16", "int8", "uint8")
SIZE_LABELS = ("L1", "L2", "DRAM")
PEERS = ("numpy", *runtimes.RUNTIME_PEERS, "copy")
MAX_ULPS = 2  # edgeact float vs the float64 reference rounded to the dtype (float32's bound)
MAX_STEPS = 1  # int8: edgeact vs the rounded float64 reference, and vs a runtime (ties)
# float peers vs the reference: |error| <= tolerance · (1 + |reference|), see _check_float
PEER_TOLERANCE = {"float32": 1e-3, "float16": 1e-2}
ROOF_MARGIN = 1.1  # a measurement faster than copy × this is flagged "above_copy_roof"
# ... where the copy takes this long or more: below, np.copyto's own call (~0.2 µs) is most of the
# copy's time, and a kernel whose call costs less (edgeact's, ~0.15 µs) beats it honestly.
ROOF_FROM_SECONDS = 1e-6
SEED = 20_240_601
SCALE = 3.0  # float inputs ~ N(0, SCALE²): every branch of every activation is exercised
VALIDATE_ALL = 1 << 20  # arrays up to this many elements are checked everywhere, larger at a sample
# int8/uint8 quantization: input 0.05/zero point -3 (±6.4); outputs as LiteRT requires them
# (LOGISTIC: scale 1/256) or as the output range suggests. uint8 zero points are shifted by 128.
X_Q = (0.05, -3)
Y_Q = {"sigmoid": (1 / 256, -128), "hardsigmoid": (1 / 256, -128), "tanh": (1 / 128, 0)}
Y_Q_DEFAULT = (0.04, -20)


class ValidationError(RuntimeError):
    """A kernel (or a peer) gave a wrong result, so it was not timed."""


@dataclasses.dataclass
class _Case:
    """One activation × dtype × size: the shared input, edgeact's output, quantization, and
    edgeact's thread count (always passed: the kernels' own default is every core)."""

    name: str
    label: str | None
    x: np.ndarray
    out: np.ndarray
    kernel: Callable
    threads: int
    x_q: QuantParams | None = None
    y_q: QuantParams | None = None

    def edgeact(self, out=None, compat=None):
        """edgeact's kernel on x into ``out`` (default: the case's), int8 with ``compat``."""
        out = self.out if out is None else out
        if self.x_q is None:
            return self.kernel(self.x, out, threads=self.threads)
        extra = {} if compat is None else {"compat": compat}
        return self.kernel(self.x, out, x_q=self.x_q, y_q=self.y_q, threads=self.threads, **extra)

    def user_call(self) -> Callable[[], np.ndarray]:
        """The call a user writes, ``kernel(x, out, threads=n)`` (plus x_q and y_q), as one
        callable: what is timed, like the peers' bound ``run``, without this case's frame.

        A closure making that call, not ``functools.partial``: a partial with keywords copies
        them into a new dict on every call, which added ~130 ns (a fifth of a 16-value call)
        that the user's own call does not pay."""
        kernel, x, out, threads = self.kernel, self.x, self.out, self.threads
        if self.x_q is None:
            return lambda: kernel(x, out, threads=threads)
        x_q, y_q = self.x_q, self.y_q
        return lambda: kernel(x, out, x_q=x_q, y_q=y_q, threads=threads)

    def record(self, peer: str, **fields) -> dict:
        x = self.x
        base = {
            "activation": self.name, "dtype": x.dtype.name, "size_label": self.label,
            "elements": x.size, "bytes": x.nbytes + self.out.nbytes, "peer": peer,
            "implementation": None, "compat": None, "threads": None, "status": "ok",
            "error": None, "seconds": None, "elements_per_s": None, "bytes_per_s": None,
            "edgeact_speedup": None, "fraction_of_copy": None, "above_copy_roof": None,
            "validation": None,
        }  # fmt: skip
        return {**base, **fields}


def measure_kernels(
    names: Iterable[str] | None = None,
    dtypes: Iterable[str] | None = None,
    sizes: Iterable[int | str] | None = None,
    *,
    peers: Iterable[str] = ("numpy", "copy"),
    threads: int = 1,
    min_time: float = 0.1,
    repeats: int = 5,
    max_time: float | None = None,
    seed: int = SEED,
    errors: str = "raise",
    progress: Callable[[int, int, str], object] | None = None,
) -> list[dict]:
    """Validate, then time edgeact and each of ``peers`` (see PEERS), case by case.

    names default to every kernel; dtypes to float32/float16; sizes are element counts or labels
    "L1"/"L2"/"DRAM" (resolved per dtype by ``default_sizes``), default "L2" and "DRAM". Each
    measurement repeats up to ``repeats`` times or until ``max_time`` (default 10 × min_time) was
    spent on it. edgeact (its kernels' ``threads=``) and the runtime peers use ``threads``
    threads; NumPy and the copy one.

    A wrong result raises ValidationError (a RuntimeError naming the kernel or peer), or with
    ``errors="record"`` becomes a record with status "wrong" and no timings, so one wrong kernel
    does not cost a long run the other results. A peer that cannot run a case (no such op, dtype,
    runtime or delegate) gets a record with status "unavailable".
    """
    if errors not in ("raise", "record"):
        raise ValueError(f"errors must be 'raise' or 'record', got {errors!r}")
    if not min_time > 0 or repeats < 1:
        raise ValueError(f"need min_time > 0 and repeats >= 1, got {min_time!r}, {repeats!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    kernels = _kernels()
    names, dtypes, sizes = _checked_cases(kernels, names, dtypes, sizes)
    peers = _checked_peers(peers)
    timing = {"min_time": min_time, "repeats": repeats, "max_time": max_time or 10 * min_time}
    total, done, records = len(names) * len(dtypes) * len(sizes), 0, []
    for dtype in dtypes:
        for label, n in _resolve_sizes(sizes, dtype):
            x = _random_input(n, dtype, seed)
            for name in names:
                if progress is not None:
                    progress(done, total, f"{name} {dtype} {label or ''} ({n} elements)")
                case = _case(name, kernels[name], x, label, threads)
                records += _bench_case(case, peers, timing, threads, errors)
                done += 1
            del x
    return records


def bench_kernels(*args, **kwargs) -> list[dict]:
    """``measure_kernels`` folded into one row per case (``rows``): edgeact's rate, the copy
    roof and how many times faster edgeact is than each peer. What the table and the demo show."""
    return rows(measure_kernels(*args, **kwargs))


def rows(records: Iterable[Mapping]) -> list[dict]:
    """One row per activation × dtype × size from measurement records (order kept).

    Keys: activation, dtype, size_label, elements, bytes, edgeact_s, numpy_s, copy_s,
    elements_per_s, gb_per_s, numpy_elements_per_s, copy_gb_per_s, ratio_vs_numpy,
    fraction_of_copy, max_ulps, error; ``speedups`` {runtime peer: edgeact_speedup} and
    ``above_copy_roof`` (peers flagged) where runtime peers were measured; ``looser_peers``
    {peer: its validation} where a float peer's results were beyond edgeact's MAX_ULPS.
    """
    cases: dict[tuple, dict[str, Mapping]] = {}
    for r in records:
        cases.setdefault((r["activation"], r["dtype"], r["size_label"], r["elements"]), {})[
            r["peer"]
        ] = r
    result = []
    for (name, dtype, label, n), by_peer in cases.items():
        edgeact, numpy = by_peer.get("edgeact", {}), by_peer.get("numpy", {})
        seconds = {p: r.get("seconds") for p, r in by_peer.items()}
        e, np_s, c = seconds.get("edgeact"), seconds.get("numpy"), seconds.get("copy")
        nbytes = edgeact.get("bytes")
        row = {
            "activation": name, "dtype": dtype, "size_label": label, "elements": n,
            "bytes": nbytes, "edgeact_s": e, "numpy_s": np_s, "copy_s": c,
            "elements_per_s": edgeact.get("elements_per_s"),
            "gb_per_s": e and nbytes / e / 1e9,
            "numpy_elements_per_s": numpy.get("elements_per_s"),
            "copy_gb_per_s": c and nbytes / c / 1e9,
            "ratio_vs_numpy": numpy.get("edgeact_speedup"),
            "fraction_of_copy": edgeact.get("fraction_of_copy"),
            "max_ulps": (edgeact.get("validation") or {}).get("max_ulps"),
            "error": "; ".join(r["error"] for r in by_peer.values() if r["status"] == "wrong")
            or None,
        }  # fmt: skip
        speedups = {
            p: r["edgeact_speedup"]
            for p, r in by_peer.items()
            if p in runtimes.RUNTIME_PEERS and r["status"] == "ok"
        }
        if speedups:
            row["speedups"] = speedups
        looser = {
            p: r["validation"]
            for p, r in by_peer.items()
            if r["status"] == "ok" and (r.get("validation") or {}).get("above_max_ulps")
        }
        if looser:
            row["looser_peers"] = looser
        flagged = [p for p, r in by_peer.items() if r.get("above_copy_roof")]
        row["above_copy_roof"] = flagged
        result.append(row)
    return result


def parse_sizes(text: str) -> list[int | str]:
    """'L1,L2,DRAM' / '4096,64K,1M' -> labels and element counts; ValueError for anything else."""
    sizes = []
    for item in (part.strip() for part in text.split(",")):
        if item.upper() in SIZE_LABELS:
            sizes.append(item.upper())
            continue
        n = machine.parse_size(item.removeprefix("-"))  # the sign is refused just below
        if item.startswith("-") or n < 1:
            raise ValueError(f"sizes must be >= 1 element, got {item!r}")
        sizes.append(n)
    return sizes


# ------------------------------------------------------------------------------------ cases


def _kernels() -> dict:
    """The kernels as they are now (looked up per call, so tests can substitute one), including
    records registered after import."""
    from edgeact import kernels
    from edgeact.catalogue import ACTIVATIONS

    added = [n for n in ACTIVATIONS if n not in kernels.KERNELS and n in kernels.scalar.ELEMENTS]
    return {**kernels.KERNELS, **{name: kernels.get(name) for name in added}}


def _checked_cases(kernels, names, dtypes, sizes):
    names = _as_list(names, list(kernels))
    dtypes = _as_list(dtypes, ["float32", "float16"])
    sizes = _as_list(sizes, ["L2", "DRAM"])
    for name in names:
        if name not in kernels:
            raise ValueError(f"unknown activation {name!r}; known: {', '.join(kernels)}")
        if name not in numpy_peers.EXPRESSIONS:
            raise ValueError(f"kernel {name!r} has no NumPy peer: add it to EXPRESSIONS")
    dtypes = [_dtype_name(d) for d in dtypes]
    for size in sizes:
        if isinstance(size, str):
            if size not in SIZE_LABELS:
                raise ValueError(f"unknown size label {size!r}; use {', '.join(SIZE_LABELS)}")
        elif isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"sizes must be element counts >= 1 or labels, got {size!r}")
    return names, dtypes, sizes


def _checked_peers(peers) -> list[str]:
    peers = _as_list(peers, [])
    for peer in peers:
        if peer not in PEERS:
            raise ValueError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")
    return peers


def _as_list(values, default: list) -> list:
    """None -> default; a single string -> [it]; any other iterable -> its list."""
    if values is None:
        return default
    return [values] if isinstance(values, str) else list(values)


def _dtype_name(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {dtype!r}; supported: {', '.join(DTYPES)}")
    return name


def _resolve_sizes(sizes, dtype: str) -> list[tuple[str | None, int]]:
    """(label, element count) pairs: labels become this dtype's default sizes."""
    defaults = None
    resolved = []
    for size in sizes:
        if isinstance(size, str):
            defaults = defaults or machine.default_sizes(np.dtype(dtype).itemsize)
            resolved.append((size, defaults[size]))
        else:
            resolved.append((None, int(size)))
    return resolved


def _random_input(n: int, dtype: str, seed: int) -> np.ndarray:
    """n values ~ N(0, SCALE²) in dtype, or n uniform codes for int8/uint8; same per (n, seed)."""
    rng = np.random.default_rng(seed)
    if dtype in ("int8", "uint8"):
        return rng.integers(0, 256, n, dtype=np.uint8).view(dtype)
    x = rng.standard_normal(n, dtype=np.float32)
    x *= SCALE
    return x if dtype == "float32" else x.astype(dtype)


def _case(name: str, kernel, x: np.ndarray, label, threads: int) -> _Case:
    if x.dtype.kind == "f":
        return _Case(name, label, x, np.empty_like(x), kernel, threads)
    shift = 128 if x.dtype == np.uint8 else 0
    x_q = QuantParams(X_Q[0], X_Q[1] + shift, x.dtype)
    scale, zero = Y_Q.get(name, Y_Q_DEFAULT)
    y_q = QuantParams(scale, zero + shift, x.dtype)
    return _Case(name, label, x, np.empty_like(x), kernel, threads, x_q, y_q)


# ------------------------------------------------------------------------------------ timing


def _bench_case(case: _Case, peers, timing: dict, threads: int, errors: str) -> list[dict]:
    """edgeact's record, then one per peer; ratios filled in at the end.

    edgeact, the copy (its roof) and the runtime peers are timed in turns (``time_calls``), so
    that the host's bandwidth swings hit them alike: timed one after the other, float32
    hardswish read 0.82, 0.59 and 1.21× XNNPACK at DRAM size in three runs. NumPy, up to 250×
    slower, is timed on its own: in the turns it would cut edgeact's repeats short."""
    try:
        validation = _validate_edgeact(case)
    except ValidationError as error:
        if errors == "raise":
            raise
        return [case.record("edgeact", status="wrong", error=str(error), threads=case.threads)]
    ready = {peer: _ready_peer(case, peer, threads, errors) for peer in peers if peer != "copy"}
    turns = {"edgeact": case.user_call()}
    if "copy" in peers:
        turns["copy"] = lambda: np.copyto(case.out, case.x)
    turns.update((p, run) for p, (run, _) in ready.items() if run is not None and p != "numpy")
    with np.errstate(all="ignore"):  # float16 exp overflows to inf by design; NumPy would warn
        seconds = dict(zip(turns, time_calls(list(turns.values()), **timing), strict=True))
        numpy_run = ready.get("numpy", (None, None))[0]
        if numpy_run is not None:
            seconds["numpy"] = time_call(numpy_run, **timing)
    records = [
        case.record(
            "edgeact",
            seconds=seconds["edgeact"],
            validation=validation,
            implementation=_implementation(case),
            threads=case.threads,
        )
    ]
    for peer in peers:
        if peer == "copy":
            records.append(case.record(peer, implementation="np.copyto", seconds=seconds[peer]))
            continue
        run, record = ready[peer]
        if run is not None:
            record["seconds"] = seconds[peer]
        records.append(record)
    _fill_ratios(records)
    return records


def _fill_ratios(records: list[dict]) -> None:
    """Rates, edgeact's speedup over each peer, fraction of copy and the roof flag of one case."""
    edgeact_s = records[0]["seconds"]
    copy_s = next((r["seconds"] for r in records if r["peer"] == "copy"), None)
    for r in records:
        if r["seconds"] is not None:
            r["elements_per_s"] = r["elements"] / r["seconds"]
            r["bytes_per_s"] = r["bytes"] / r["seconds"]
            r["edgeact_speedup"] = r["seconds"] / edgeact_s
            if copy_s is not None:
                r["fraction_of_copy"] = copy_s / r["seconds"]
                r["above_copy_roof"] = (
                    copy_s >= ROOF_FROM_SECONDS and r["fraction_of_copy"] > ROOF_MARGIN
                )


def _ready_peer(case: _Case, peer: str, threads: int, errors: str) -> tuple:
    """(run, record): a peer set up and validated on the case, its record waiting for seconds;
    or (None, record) where it is unavailable or wrong (raised unless errors="record")."""
    compat = runtimes.COMPAT.get(peer)
    fields = {"compat": compat if case.x_q is not None else None}
    try:
        if peer == "numpy":
            run, validation, implementation = _numpy_peer(case)
        else:
            fields["threads"] = threads
            ready = runtimes.runtime_peer(peer, case.name, case.x, case.x_q, case.y_q, threads)
            run, implementation = ready.run, ready.implementation
            ready.run()
            validation = _validate_peer(case, peer, ready.output(), compat)
    except runtimes.Unavailable as reason:
        return None, case.record(peer, status="unavailable", error=str(reason), **fields)
    except ValidationError as error:
        if errors == "raise":
            raise
        return None, case.record(peer, status="wrong", error=str(error), **fields)
    return run, case.record(peer, implementation=implementation, validation=validation, **fields)


def _implementation(case: _Case) -> str:
    from edgeact.kernels import implementation_of

    return implementation_of(case.name, case.x.dtype)


def _numpy_peer(case: _Case):
    """NumPy's expression (float; allocating its result, as users' code does) or, for int8,
    ``np.take`` of edgeact's table into a preallocated output."""
    x = case.x
    if case.x_q is None:
        expression = numpy_peers.numpy_equivalent(case.name)
        at = _sample(x.size)
        with np.errstate(all="ignore"):
            validation = _check_float(case, "numpy", expression(_at(x, at)), at)
        return (lambda: expression(x)), validation, "expression"
    from edgeact.kernels import make_lut

    table, taken = make_lut(case.name, case.x_q, case.y_q), np.empty_like(case.out)
    codes = x.view(np.uint8)
    np.take(table, codes, out=taken)
    if not np.array_equal(taken, case.edgeact()):
        raise ValidationError(f"{case.name}: NumPy's table indexing disagrees with edgeact")
    return (lambda: np.take(table, codes, out=taken)), {"codes_differing": 0}, "np.take"


# ----------------------------------------------------------------------------------- validation


def _sample(n: int) -> np.ndarray | None:
    """Indices to check in an n-element array: all (None) up to VALIDATE_ALL, else a sample
    (head, tail, random interior): the references are slow and the functions element-wise."""
    if n <= VALIDATE_ALL:
        return None
    quarter = VALIDATE_ALL // 4
    interior = np.random.default_rng(n).integers(quarter, n - quarter, VALIDATE_ALL // 2)
    return np.unique(np.concatenate([np.arange(quarter), interior, np.arange(n - quarter, n)]))


def _at(array: np.ndarray, at) -> np.ndarray:
    return array if at is None else array[at]


def _reference(case: _Case, at) -> np.ndarray:
    """The float64 reference at the sampled inputs (int8: of the dequantized codes)."""
    from edgeact.catalogue import ACTIVATIONS

    activation = ACTIVATIONS[case.name]
    xs = _at(case.x, at)
    values = xs.astype(np.float64) if case.x_q is None else case.x_q.dequantize(xs)
    with np.errstate(all="ignore"):
        return np.asarray(activation.reference(values.astype(np.float64), **activation.params))


def _validate_edgeact(case: _Case) -> dict:
    """edgeact on the whole array (as timed) vs the float64 reference at a sample.

    float: ≤ MAX_ULPS ulps of the reference rounded to the dtype; int8: ≤ MAX_STEPS codes from the
    reference quantized (ties to even; runtimes differ by one step on ties).
    """
    from edgeact.numerics import ulp_distance

    result = case.edgeact()
    x, name = case.x, case.name
    if not isinstance(result, np.ndarray) or result.shape != x.shape or result.dtype != x.dtype:
        kind = type(result).__name__
        raise ValidationError(f"edgeact kernel {name!r} returned a {kind}, not an array like x")
    if result is not case.out:
        raise ValidationError(f"edgeact kernel {name!r} did not return the out array it was given")
    at = _sample(x.size)
    got, reference = _at(result, at), _reference(case, at)
    if case.x_q is None:
        want, limit, unit = reference.astype(x.dtype), MAX_ULPS, "ulps"
        distance = ulp_distance(got, want)
    else:
        want, limit, unit = case.y_q.quantize(reference), MAX_STEPS, "steps"
        distance = np.abs(got.astype(np.int32) - want)
    worst = int(np.argmax(distance))
    if distance[worst] > limit:
        raise ValidationError(
            f"edgeact kernel {name!r} ({x.dtype}) is wrong, not timing it: {distance[worst]} "
            f"{unit} > {limit} at x={_at(x, at)[worst]!s}: got {got[worst]!s}, want "
            f"{want[worst]!s} ({int((distance > limit).sum())} of {got.size} checked elements off)"
        )
    return {f"max_{unit}": int(distance[worst])}


def _validate_peer(case: _Case, peer: str, got: np.ndarray, compat: str | None) -> dict:
    """A peer's result (whole array): int8 against edgeact with the runtime's compat (≤ 1 step on
    ties), float against the reference at a sample (``_check_float``)."""
    if case.x_q is None:
        at = _sample(case.x.size)
        return _check_float(case, peer, _at(got, at), at)
    want = case.edgeact(out=np.empty_like(case.out), compat=compat)
    differ = np.flatnonzero(got != want)  # few or none: cheaper than steps everywhere
    steps = np.abs(got[differ].astype(np.int32) - want[differ])
    worst = int(steps.max(initial=0))
    if worst > MAX_STEPS:
        raise ValidationError(
            f"{peer} {case.name} ({case.x.dtype}) differs from edgeact compat={compat!r} by "
            f"{worst} steps at {int((steps > MAX_STEPS).sum())} of {got.size} codes"
        )
    return {"codes_differing": int(differ.size), "max_steps": worst}


def _check_float(case: _Case, peer: str, got: np.ndarray, at) -> dict:
    """Finite wherever the reference is, and within PEER_TOLERANCE[dtype] · (1 + |reference|):
    loose enough for float16 arithmetic and the runtimes' float32 approximations, tight enough to
    catch a wrong op, parameter or overflow (NumPy's float16 exp).

    A peer that passes is then measured as edgeact is, in ulps of the reference rounded to the
    dtype, with the count of checked elements beyond edgeact's bound (MAX_ULPS): a faster peer's
    speed may come from looser arithmetic, and the report says so (``report.format_table``)."""
    from edgeact.numerics import ulp_distance

    reference = _reference(case, at)
    with np.errstate(all="ignore"):
        error = np.abs(got.astype(np.float64) - reference)
    finite = np.isfinite(reference)
    bad = finite & ~(error <= PEER_TOLERANCE[case.x.dtype.name] * (1 + np.abs(reference)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"{peer} {case.name} ({case.x.dtype}) is wrong, not timing it: at "
            f"x={_at(case.x, at)[i]!s} got {got[i]!s}, reference {reference[i]!s}"
        )
    ulps = ulp_distance(got.astype(case.x.dtype), reference.astype(case.x.dtype))
    return {
        "max_abs_error": float(error[finite].max(initial=0.0)),
        "max_ulps": int(ulps.max(initial=0)),
        "above_max_ulps": int((ulps > MAX_ULPS).sum()),
        "checked": int(ulps.size),
    }
