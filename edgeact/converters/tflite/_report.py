"""``format_report``: the ``inspect`` report as aligned text for people (≤ 100 characters wide)."""

from __future__ import annotations

import textwrap

from edgeact.converters._text import WIDTH, cut

__all__ = ["format_report"]

_COLUMNS = ("op#", "activation", "form", "dtype", "in q", "out q", "edge replacement")


def format_report(report: dict) -> str:
    """Model facts, then one aligned row per activation grouped by subgraph (lines ≤ 100)."""
    model = report["model"]
    lines = [f"{report['file']}  ({model['size_bytes']} bytes, schema v{model['schema_version']})"]
    subgraphs = model["subgraphs"]
    lines.append(f"subgraphs: {len(subgraphs)}")
    for sg in subgraphs:
        ins = ", ".join(_io(t) for t in sg["inputs"])
        outs = ", ".join(_io(t) for t in sg["outputs"])
        lines.append(
            f"  [{sg['index']}] {sg['name'] or '-'}: {sg['operators']} ops; {ins} -> {outs}"
        )
    counts = ", ".join(f"{op}×{n}" for op, n in model["operator_counts"].items())
    lines.extend(_wrap(f"operators: {counts or '-'}"))
    if model["custom_ops"]:
        customs = ", ".join(f"{k}×{n}" for k, n in model["custom_ops"].items())
        lines.extend(_wrap(f"custom ops: {customs}"))
    for sig in model["signatures"]:
        lines.append(
            f"signature {sig['key']!r} -> subgraph {sig['subgraph']}: "
            f"({', '.join(sig['inputs'])}) -> ({', '.join(sig['outputs'])})"
        )
    weights = "/".join(model["weight_types"]) or "-"
    if model["float16_weights"]:
        weights += f" (float16 behind {model['float16_dequantize_ops']} DEQUANTIZE ops)"
    lines.append(f"weights: {weights}; quantized activations: {model['quantized'] or 'no'}")

    found = report["findings"]
    lines.append(f"activations: {len(found)}")
    if found:
        rows = [_COLUMNS] + [_row(a) for a in found]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
        names = {f"subgraph {sg['index']}": sg["name"] for sg in subgraphs}
        graph = None
        for a, row in zip([None, *found], rows, strict=True):
            if a is not None and a["graph"] != graph:
                graph = a["graph"]
                lines.append(f" {graph} ({names.get(graph) or '-'}):")
            line = "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
            lines.append(cut(line.rstrip()))
    for m in report["near_misses"]:
        ops = ",".join(str(o) for o in m["operators"])
        lines.extend(
            _wrap(f"near miss ({m['graph']}, op# {ops}): {m['looks_like']}: {m['reason']}")
        )
    return "\n".join(cut(line) for line in lines)


def _row(a: dict) -> tuple[str, ...]:
    ops = ",".join(str(o) for o in a["operators"])
    name = a["activation"]
    params = _params(a["params"])
    if params:
        name += f"({params})"
    if a["replacement"] is None:
        edge = f"one {a['params']['builtin_op']} op" if "builtin_op" in a["params"] else "-"
    else:
        edge = a["replacement"]
        if a["max_abs_error"] is not None:
            edge += f" ±{a['max_abs_error']:.2g}"
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
