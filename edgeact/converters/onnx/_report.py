"""The inspect report for people: aligned columns, at most 100 characters a line."""

import textwrap

from edgeact.converters._findings import group
from edgeact.converters._text import WIDTH, cut

__all__ = ["format_report"]


def _table(headers: list[str], rows: list[list[str]], caps: list[int]) -> list[str]:
    widths = [
        min(cap, max(len(h), *(len(r[i]) for r in rows)))
        for i, (h, cap) in enumerate(zip(headers, caps, strict=True))
    ]
    out = []
    for row in [headers, *rows]:
        cells = [cut(c, w).ljust(w) for c, w in zip(row, widths, strict=True)]
        out.append(cut(("  " + "  ".join(cells)).rstrip(), WIDTH))
    return out


def _nodes_line(nodes: list[list[str]], indent: str) -> str:
    text = "; ".join(" → ".join(occ) for occ in nodes)
    return cut(f"{indent}nodes: {text}", WIDTH)


def _replacement(f: dict) -> str:
    if f["replacement"] is None:
        return "— (already edge-friendly)"
    err = f["max_abs_error"]
    return f["replacement"] + (f" (max err {err:.2g})" if err is not None else "")


def format_report(report: dict) -> str:
    """Render an ``inspect`` report as an aligned, ≤100-column text table."""
    lines = []
    model = report["model"]
    imports = ", ".join(f"{d} {v}" for d, v in model["opset_imports"].items())
    lines.append(cut(f"{report['file']}", WIDTH))
    lines.append(
        cut(
            f"  opset {model['opset']} ({imports}) · IR {model['ir_version']} · "
            f"producer {model['producer']} · {model['nodes']} nodes in "
            f"{model['graphs']} graph(s)",
            WIDTH,
        )
    )
    total = len(report["findings"])
    findings = group(
        report["findings"], ("activation", "pattern", "ops", "dtype", "qdq", "replacement")
    )
    lines.append("")
    lines.append(f"Activations: {total} in {len(findings)} group(s)")
    if findings:
        headers = ["activation", "form", "count", "dtype", "QDQ", "edge replacement"]
        rows = [
            [
                f["activation"],
                f["pattern"],
                str(f["count"]),
                f["dtype"],
                "yes" if f["qdq"] else "no",
                _replacement(f),
            ]
            for f in findings
        ]
        table = _table(headers, rows, [11, 36, 5, 8, 3, 28])
        lines.append(table[0])
        for row_line, f in zip(table[1:], findings, strict=True):
            lines.append(row_line)
            lines.append(_nodes_line(f["node_lists"], "      "))
    misses = group(report["near_misses"], ("looks_like", "pattern", "reason"))
    lines.append("")
    lines.append(f"Near misses: {sum(m['count'] for m in misses)}")
    for m in misses:
        head = f"  {m['looks_like']} ×{m['count']}  {m['pattern']}"
        lines.append(cut(head, WIDTH))
        lines += textwrap.wrap(
            "why: " + m["reason"], WIDTH, initial_indent="      ", subsequent_indent="        "
        )
        lines.append(_nodes_line(m["node_lists"], "      "))
    return "\n".join(lines)
