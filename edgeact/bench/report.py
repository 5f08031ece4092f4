"""Reports: the plain-text tables, the JSON document (schema in ``edgeact.bench``), ``compare``."""

from __future__ import annotations

import datetime
import json
import os
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

from edgeact import schema
from edgeact.bench.kernels import MAX_ULPS

__all__ = [
    "SCHEMA",
    "compare",
    "document",
    "format_compare",
    "format_models",
    "format_table",
    "format_xnnpack",
    "read_document",
    "size_text",
    "table_legend",
    "write_document",
]

SCHEMA = schema.VERSION  # one version for every --json document (edgeact.schema)
TABLE_WIDTH = 110
LEGEND_WIDTH = 100
_PEER_SHORT = {"onnxruntime": "ORT", "litert": "LiteRT", "xnnpack": "XNNPACK"}  # else its own name
_PEER_TITLES = {p: f"× {short}" for p, short in _PEER_SHORT.items()}
_PEER_NAMES = {  # whose throughput a "×" column divides by
    "numpy": "NumPy",
    "onnxruntime": "ONNX Runtime",
    "litert": "LiteRT builtin",
    "xnnpack": "LiteRT + XNNPACK",
}


# ---------------------------------------------------------------------------------- documents


def document(kind: str, machine: Mapping, settings: Mapping, records: list) -> dict:
    """The JSON document: schema, command, kind ("kernels" | "models"), date, machine, settings,
    records."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return {
        "schema": SCHEMA,
        "command": "bench",
        "kind": kind,
        "date": now,
        "machine": dict(machine),
        "settings": dict(settings),
        "records": list(records),
    }


def write_document(path: str | os.PathLike, doc: Mapping) -> None:
    """Write atomically: a crash never leaves a half-written results file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(partial, path)


def read_document(path: str | os.PathLike) -> dict:
    """A bench JSON document; ValueError (naming the file) if it is not one this version reads."""
    try:
        doc = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from error
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or "records" not in doc:
        raise ValueError(f"{path}: not an edgeact bench document of schema {SCHEMA}")
    return doc


# ---------------------------------------------------------------------------------- kernels

# edgeact's rate (G elements/s, GB/s read + written, % of the copy's), then edgeact's speedups.
_BASE_COLUMNS = (
    ("activation", 12, "<"),
    ("dtype", 8, "<"),
    ("size", 11, "<"),
    ("Gelem/s", 8, ">"),
    ("GB/s", 6, ">"),
    ("% copy", 6, ">"),
    ("× numpy", 8, ">"),
)


def format_table(rows: Iterable[Mapping]) -> str:
    """An aligned plain-text table of case rows (``edgeact.bench.rows``), ≤ 110 characters wide.

    Gelem/s, GB/s and % copy are edgeact's: 10⁹ elements per second, bytes read + written per
    second, and the copy's time over edgeact's. "× numpy" and one "× peer" column per runtime
    peer measured: how many times faster edgeact is. Under the table a legend says so
    (``table_legend``). A case whose edgeact result was wrong gets a "not timed" row; every
    validation error and every measurement above the copy roof is listed below the legend.
    """
    rows = list(rows)
    peers = list(dict.fromkeys(p for r in rows for p in r.get("speedups") or {}))
    columns = [*_BASE_COLUMNS, *((_PEER_TITLES.get(p, f"× {p}"), 9, ">") for p in peers)]
    lines = [_row([title for title, _, _ in columns], columns)]
    lines.append(_row(["-" * width for _, width, _ in columns], columns))
    notes = []
    for r in rows:
        case = [r["activation"], r["dtype"], size_text(r)]
        if r.get("error"):  # edgeact's, or a peer's (that peer's column then shows "-")
            notes.append(f"[{len(notes) + 1}] {' '.join(case)}: {r['error']}")
            if r.get("edgeact_s") is None:
                lines.append(_row([*case, f"not timed: wrong result [{len(notes)}]"], columns))
                continue
        if r.get("above_copy_roof"):
            notes.append(
                f"! {' '.join(case)}: above the copy roof: {', '.join(r['above_copy_roof'])}"
            )
        speedups = r.get("speedups") or {}
        cells = [
            *case,
            _rate(r["elements_per_s"]),
            f"{r['gb_per_s']:.1f}",
            "-" if r.get("fraction_of_copy") is None else f"{100 * r['fraction_of_copy']:.0f}%",
            _ratio(r.get("ratio_vs_numpy")),
            *(_ratio(speedups.get(p)) for p in peers),
        ]
        lines.append(_row(cells, columns))
    wrapped = [textwrap.fill(note, TABLE_WIDTH, subsequent_indent="    ") for note in notes]
    accuracy = _accuracy_block(rows)
    return "\n".join(
        [
            *lines, "", table_legend(peers),
            *([""] if notes else []), *wrapped,
            *([""] if accuracy else []), *accuracy,
        ]
    )  # fmt: skip


def _accuracy_block(rows: list) -> list[str]:
    """Lines for the cases where a peer passed the benchmark's loose check but not edgeact's bound
    (rows' ``looser_peers``): each such peer's worst ulps and share of elements beyond the bound,
    so that a "×" below 1 is read with the accuracy that peer's speed came with."""
    lines = []
    for r in rows:
        looser = r.get("looser_peers")
        if not looser or r.get("edgeact_s") is None:
            continue
        # a no-break space inside each peer's entry: lines wrap between entries only
        peers = "; ".join(
            f"{_PEER_SHORT.get(p, p)}\u00a0{_count(v['max_ulps'])}"
            f"\u00a0({_percent(v['above_max_ulps'] / v['checked'])})"
            for p, v in looser.items()
        )
        case = " ".join([r["activation"], r["dtype"], size_text(r)])
        line = f"  {case:<28}edgeact\u00a0{r['max_ulps']}; {peers}"
        wrapped = textwrap.fill(line, TABLE_WIDTH, subsequent_indent=" " * 30)
        lines.append(wrapped.replace("\u00a0", " "))
    head = (
        f"≈ peers beyond edgeact's {MAX_ULPS} ulp: worst ulps off the float64 reference "
        f"(% of checked elements beyond {MAX_ULPS} ulp)"
    )
    return [head, *lines] if lines else []


def _count(n: int) -> str:
    """An ulp count in ≤ 7 characters: 191, 12,287, 8.9e8."""
    if n < 100_000:
        return f"{n:,}"
    mantissa, exponent = f"{n:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _percent(share: float) -> str:
    """3%, 0.5%, <0.1%: enough to tell a rare miss from a systematic one."""
    if share >= 0.01:
        return f"{100 * share:.0f}%"
    return f"{100 * share:.1f}%" if share >= 0.001 else "<0.1%"


def table_legend(runtime_peers: Iterable[str] = ()) -> str:
    """What the columns of ``format_table`` mean, in lines of ≤ 100 characters: edgeact's own
    columns, then one line per "×" column shown (NumPy's and each runtime peer's)."""
    columns = [("× numpy", _PEER_NAMES["numpy"])]
    columns += [(_PEER_TITLES.get(p, f"× {p}"), _PEER_NAMES.get(p, p)) for p in runtime_peers]
    lines = [
        "Gelem/s (10⁹ elements/s), GB/s (bytes read + written) and % copy (a copy of the same "
        "bytes' time / edgeact's) are edgeact's; every peer ran on the same array.",
        *(
            f"{title:<9} = edgeact's throughput / {name}'s: >1× means edgeact is faster"
            for title, name in columns
        ),
        '"-" = the peer cannot run this case (no such op or dtype, not installed, or a wrong '
        "result: see the JSON's error).",
    ]
    return "\n".join(textwrap.fill(line, LEGEND_WIDTH, subsequent_indent="    ") for line in lines)


def format_xnnpack(machine: Mapping) -> str:
    """The machine record's ``xnnpack_microkernels`` (``edgeact.bench.xnnpack``) for the report
    header: per case the observed microkernel, and the derived one where it differs or nothing
    was observed; "" if there are none."""
    entries = machine.get("xnnpack_microkernels") or {}
    lines = textwrap.wrap(
        "XNNPACK microkernels LiteRT's delegate selects on this CPU. observed: read from the "
        "loaded library after the run; derived: as selected by XNNPACK's config for these "
        "features, shown where it differs or nothing was observed.",
        LEGEND_WIDTH,
    )
    for case, entry in entries.items():
        observed, derived = entry.get("observed"), entry.get("derived")
        shown = [("observed", observed)] if observed else []
        if observed is None or derived != observed:
            shown.append(("derived", derived or "unknown (architecture not in the table)"))
        for k, (how, name) in enumerate(shown):
            lines.append(f"  {'' if k else case:<18} {how:<8}  {name}")
    return "\n".join(lines) if entries else ""


def _row(cells, columns) -> str:
    parts = [
        f"{cell:{align}{width}}"
        for cell, (_, width, align) in zip(cells, columns[: len(cells)], strict=True)
    ]
    return "  ".join(parts).rstrip()


def size_text(record: Mapping) -> str:
    """'L2 128Ki': the size label (if any) and the element count of a case."""
    n, count = record["elements"], str(record["elements"])
    for shift, unit in ((10, "Ki"), (20, "Mi")):
        if n >= 1 << shift and n % (1 << shift) == 0:
            count = f"{n >> shift}{unit}"
    return f"{record.get('size_label') or ''} {count}".strip()


def _rate(per_s: float | None) -> str:
    return "-" if per_s is None else f"{per_s / 1e9:.3f}"


def _ratio(ratio: float | None) -> str:
    if ratio is None:
        return "-"
    return f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.1f}×" if ratio >= 10 else f"{ratio:.2f}×"


# ---------------------------------------------------------------------------------- models


def format_models(records: list[Mapping]) -> str:
    """Latency and memory per model, and the second model's ratio to the first."""
    lines = [f"{'model':<40} {'runtime':<12} {'median ms':>10} {'p90 ms':>9} {'min ms':>9} "
             f"{'peak RSS MiB':>13}"]  # fmt: skip
    for r in records:
        lat, peak = r["latency_ms"], r["peak_rss_bytes"]
        memory = "unknown" if peak is None else f"{peak / (1 << 20):.1f}"
        lines.append(
            f"{Path(r['model']).name[-40:]:<40} {r['runtime']:<12} {lat['median']:>10.3f} "
            f"{lat['p90']:>9.3f} {lat['min']:>9.3f} {memory:>13}"
        )
    if len(records) == 2 and records[1].get("median_ratio") is not None:
        lines.append(f"second / first median latency: {records[1]['median_ratio']:.3f}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- compare


def _key(record: Mapping) -> tuple:
    """What a record measures, independent of the machine: kernel case and peer, or model."""
    if "peer" in record:
        label = record.get("size_label") or str(record["elements"])
        return (record["activation"], record["dtype"], label, record["peer"])
    return (Path(record["model"]).name, record["runtime"], f"#{record.get('index', 0)}")


def _value(record: Mapping) -> float | None:
    """Kernels: elements/s (higher is better); models: median latency in ms (lower is better)."""
    if "peer" in record:
        return record.get("elements_per_s")
    return (record.get("latency_ms") or {}).get("median")


def compare(a: Mapping, b: Mapping) -> list[dict]:
    """Records of two documents matched by activation/dtype/size label/peer (or model), B/A."""
    if a.get("kind") != b.get("kind"):
        raise ValueError(f"cannot compare a {a.get('kind')} report with a {b.get('kind')} report")
    theirs = {_key(r): r for r in b["records"]}
    matched = []
    for r in a["records"]:
        other = theirs.get(_key(r))
        va, vb = _value(r), other and _value(other)
        if other is None or va is None or vb is None:
            continue
        matched.append({"key": list(_key(r)), "a": va, "b": vb, "b_over_a": vb / va})
    return matched


def format_compare(a: Mapping, b: Mapping, matched: list[Mapping], names=("A", "B")) -> str:
    """Side by side: the two machines, then one line per matched record with B/A."""
    from edgeact.bench.machine import describe_machine

    unit = "Gelem/s" if a.get("kind") == "kernels" else "median ms"
    scale = 1e9 if unit == "Gelem/s" else 1.0
    lines = [f"{names[0]}: {describe_machine(a['machine'])}", f"{names[1]}: "
             f"{describe_machine(b['machine'])}", ""]  # fmt: skip
    lines.append(f"{'case':<52} {'A ' + unit:>14} {'B ' + unit:>14} {'B/A':>8}")
    for m in matched:
        lines.append(
            f"{' '.join(m['key']):<52} {m['a'] / scale:>14.4g} {m['b'] / scale:>14.4g} "
            f"{m['b_over_a']:>8.3f}"
        )
    if not matched:
        lines.append("(no records in common)")
    return "\n".join(lines)
