"""``format_report``: the ``inspect`` report as aligned text for people (≤ 100 characters wide)."""

from __future__ import annotations

import textwrap

from edgeact.converters._text import WIDTH, cut

__all__ = ["format_report"]

_COLUMNS = ("op#", "activation", "form", "dtype", "in q", "out q", "edge replacement")


def format_report(report: dict) -> str:
    """Model facts, then one aligned row per activation grouped by subgraph (lines ≤ 100)."""
    lines = [
        f"{report['file']}  ({report['size_bytes']} bytes, schema v{report['schema_version']})"
    ]
    subgraphs = report["subgraphs"]
    lines.append(f"subgraphs: {len(subgraphs)}")
    for sg in subgraphs:
        ins = ", ".join(_io(t) for t in sg["inputs"])
        outs = ", ".join(_io(t) for t in sg["outputs"])
        lines.append(
            f"  [{sg['index']}] {sg['name'] or '-'}: {sg['operators']} ops; {ins} -> {outs}"
        )
    counts = ", ".join(f"{op}×{n}" for op, n in report["operator_counts"].items())
    lines.extend(_wrap(f"operators: {counts or '-'}"))
    if report["custom_ops"]:
        customs = ", ".join(f"{k}×{n}" for k, n in report["custom_ops"].items())
        lines.extend(_wrap(f"custom ops: {customs}"))
    for sig in report["signatures"]:
        lines.append(
            f"signature {sig['key']!r} -> subgraph {sig['subgraph']}: "
            f"({', '.join(sig['inputs'])}) -> ({', '.join(sig['outputs'])})"
        )
    weights = "/".join(report["weight_types"]) or "-"
    if report["float16_weights"]:
        weights += f" (float16 behind {report['float16_dequantize_ops']} DEQUANTIZE ops)"
    lines.append(f"weights: {weights}; quantized activations: {report['quantized'] or 'no'}")

    found = report["findings"]
    lines.append(f"activations: {len(found)}")
    if found:
        rows = [_COLUMNS] + [_row(a) for a in found]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
        names = {sg["index"]: sg["name"] for sg in subgraphs}
        subgraph = None
        for a, row in zip([None, *found], rows, strict=True):
            if a is not None and a["subgraph"] != subgraph:
                subgraph = a["subgraph"]
                lines.append(f" subgraph {subgraph} ({names.get(subgraph) or '-'}):")
            line = "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append(cut(line.rstrip()))
    return "\n".join(cut(line) for line in lines)


def _row(a: dict) -> tuple[str, ...]:
    ops = ",".join(str(o) for o in a["operators"])
    name = a["activation"]
    params = _params(a["params"])
    if params:
        name += f"({params})"
    rec = a["recommendation"]
    if rec is None:
        edge = f"one {a['params']['builtin_op']} op" if "builtin_op" in a["params"] else "-"
    else:
        edge = rec["replacement"]
        if rec["max_abs_error"] is not None:
            edge += f" ±{rec['max_abs_error']:.2g}"
    form = a["pattern"].replace("fused into ", "fused:").replace("pattern: ", "")
    return (
        ops,
        cut(name, 24),
        cut(form, 24),
        a["dtype"] or "-",
        _quant(a["input"]),
        _quant(a["output"]),
        edge,
    )


def _quant(tensor: dict | None) -> str:
    q = tensor and tensor["quantization"]
    if not q:
        return "-"
    if isinstance(q["scale"], list):
        return f"{len(q['scale'])} channels"
    return f"{q['scale']:.3g}/{q['zero_point']}"


def _params(params: dict) -> str:
    """The parameters worth a glance (the name already says fused kind and GELU's form)."""
    shown = []
    if "alpha" in params:
        shown.append(f"alpha={params['alpha']:g}")
    if "alpha_shape" in params:
        shown.append("alpha[" + ("x".join(str(d) for d in params["alpha_shape"]) or "") + "]")
    if "gated_tensor" in params:
        shown.append(f"×{params['gated_tensor']}")
    return ", ".join(shown)


def _io(t: dict) -> str:
    shape = "x".join(str(d) for d in t["shape"])
    return f"{t['name']}:{t['dtype']}[{shape}]"


def _wrap(s: str) -> list[str]:
    return textwrap.wrap(s, WIDTH, subsequent_indent="    ", break_on_hyphens=False)
