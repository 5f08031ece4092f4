"""PNG charts of bench results, drawn with matplotlib's Agg backend.

matplotlib is imported only here, when a plot is asked for; without it the error is one line.
Both charts are made to be read by a person: linear throughput axes shared within a dtype (so a
bar twice as long is twice as fast), every peer that could not run a case marked "n/a" at the
origin instead of silently missing, and ratios on a log2 axis centred on 1×.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

from edgeact.bench.report import size_text

__all__ = ["plot_compare", "plot_kernels", "require_matplotlib"]

# One colour per peer, the same in every chart (matplotlib's tab10, edgeact first).
PEER_COLOURS = {
    "edgeact": "#1f77b4", "numpy": "#ff7f0e", "onnxruntime": "#2ca02c", "litert": "#d62728",
    "xnnpack": "#9467bd",
}  # fmt: skip
PEER_NAMES = {
    "edgeact": "edgeact", "numpy": "NumPy", "onnxruntime": "ONNX Runtime",
    "litert": "LiteRT (builtin)", "xnnpack": "LiteRT + XNNPACK",
}  # fmt: skip
FASTER, SLOWER = "#2a9d3f", "#d1495b"
RATIO_TICKS = (0.25, 0.5, 1, 2, 4)
NOT_RUN = "n/a"
SMALL = 0.03  # bars shorter than this fraction of the axis get their value written beside them


def require_matplotlib():
    """pyplot on the Agg backend; ValueError (one line) if matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError as error:
        raise ValueError(
            "--plot needs matplotlib: pip install 'edgeact[plot]' (or matplotlib)"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------- kernels


def plot_kernels(doc: Mapping, path: str | os.PathLike):
    """Throughput per case of a kernels document (``report.document``), one panel per dtype.

    Each panel has one group of horizontal bars per case (activation × size), one bar per peer,
    on a linear G elements/s axis shared by the panel; a peer that could not run the case ("n/a":
    unavailable or failed validation) is written at the origin; the copy of the same bytes is a
    black tick (the bandwidth roof). The title names the CPU and the date of the run. Returns the
    figure (closed, for tests to inspect).
    """
    plt = require_matplotlib()
    records = doc["records"]
    dtypes = list(dict.fromkeys(r["dtype"] for r in records))
    peers = [p for p in PEER_COLOURS if any(r["peer"] == p for r in records)]
    cases = {d: list(dict.fromkeys(_case(r) for r in records if r["dtype"] == d)) for d in dtypes}
    rows = max((len(c) for c in cases.values()), default=1)
    figure, axes = plt.subplots(
        1, max(1, len(dtypes)), squeeze=False,
        figsize=(5.2 * max(1, len(dtypes)), 1.6 + rows * (0.13 * len(peers) + 0.12)),
    )  # fmt: skip
    for ax, dtype in zip(axes[0], dtypes, strict=False):
        mine = {(_case(r), r["peer"]): r for r in records if r["dtype"] == dtype}
        _kernel_panel(ax, dtype, cases[dtype], peers, mine)
    for ax in axes[0][len(dtypes) :]:
        ax.set_visible(False)
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=PEER_COLOURS[p], label=PEER_NAMES[p]) for p in peers
    ]
    handles.append(plt.Line2D([], [], color="black", marker="|", linestyle="none",
                              markersize=12, label="copy of the same bytes (roof)"))  # fmt: skip
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
                  frameon=False, title=f'"{NOT_RUN}": the peer cannot run this case '
                  "(no such op or dtype, not installed, or a wrong result)",
                  title_fontsize=8)  # fmt: skip
    figure.suptitle(_kernels_title(doc), fontsize=11)
    figure.tight_layout(rect=(0, 0.06, 1, 0.97))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return figure


def _case(record: Mapping) -> str:
    """'relu6  L2 128Ki': activation and size, the row label of a case."""
    return f"{record['activation']}  {size_text(record)}"


def _kernel_panel(ax, dtype: str, cases: list[str], peers: list[str], mine: Mapping) -> None:
    height = 0.8 / max(1, len(peers))
    top = max((r["elements_per_s"] or 0) / 1e9 for r in mine.values()) or 1.0
    for i, case in enumerate(cases):
        for k, peer in enumerate(peers):
            y = i + (k - (len(peers) - 1) / 2) * height
            r = mine.get((case, peer))
            if r is None:
                continue
            colour = PEER_COLOURS[peer]
            if r["status"] == "ok":
                rate = r["elements_per_s"] / 1e9
                ax.barh(y, rate, height, color=colour)
                if rate < SMALL * top:  # too short to see: write its value, so it is not "n/a"
                    ax.text(rate + 0.005 * top, y, f"{rate:.2g}", va="center", ha="left",
                            fontsize=6.5, color=colour)  # fmt: skip
            else:  # unavailable or wrong: say so where the bar would start
                ax.text(0.005 * top, y, NOT_RUN, va="center", ha="left", fontsize=7,
                        color=colour, fontstyle="italic", fontweight="bold")  # fmt: skip
        copy = mine.get((case, "copy"))
        if copy is not None and copy["status"] == "ok":
            ax.plot([copy["elements_per_s"] / 1e9] * 2, [i - 0.45, i + 0.45], color="black",
                    linewidth=1.5)  # fmt: skip
        if i:  # a darker line where the size changes
            same_size = case.split()[1:] == cases[i - 1].split()[1:]
            ax.axhline(i - 0.5, color="#dddddd" if same_size else "#888888", linewidth=0.7)
    ax.set_yticks(range(len(cases)), cases, fontsize=8)
    ax.set_ylim(len(cases) - 0.5, -0.5)  # first case at the top
    ax.set_xlim(0, 1.04 * top)
    ax.set_xscale("linear")
    ax.set_xlabel("G elements/s  (higher is better)", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(dtype, fontsize=10, fontweight="bold")


def _kernels_title(doc: Mapping) -> str:
    machine = doc.get("machine") or {}
    cpu = machine.get("cpu_model") or "unknown CPU"
    arch = machine.get("architecture") or "unknown architecture"
    date = (doc.get("date") or "unknown date")[:10]
    return f"edgeact kernels vs peers on {cpu} ({arch}), run {date}: throughput, one thread"


# ---------------------------------------------------------------------------------- compare


def plot_compare(
    matched: Sequence[Mapping], path: str | os.PathLike, names=("A", "B"), *,
    higher_is_better: bool = True,
):  # fmt: skip
    """B/A per matched record (``report.compare``) on a log2 axis, one row per case.

    A dot at B/A with a stem from 1×; green where B is better (faster, or lower latency when
    ``higher_is_better`` is False, as for models), red where it is worse. Returns the figure.
    """
    plt = require_matplotlib()
    figure, ax = plt.subplots(figsize=(8, 1.6 + 0.2 * max(1, len(matched))))
    ratios = [m["b_over_a"] for m in matched]
    better = [(r >= 1) == higher_is_better for r in ratios]
    colours = [FASTER if b else SLOWER for b in better]
    ys = range(len(matched))
    ax.hlines(ys, 1, ratios, colors=colours, linewidth=1.5)
    ax.scatter(ratios, ys, color=colours, s=18, zorder=3)
    for y, ratio, colour in zip(ys, ratios, colours, strict=True):
        ax.annotate(f"{ratio:.2f}×", (ratio, y), xytext=(5 if ratio >= 1 else -5, 0),
                    textcoords="offset points", ha="left" if ratio >= 1 else "right",
                    va="center", fontsize=6.5, color=colour)  # fmt: skip
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log", base=2)
    low = min([r / 1.3 for r in ratios] + [RATIO_TICKS[0]])  # room for the value labels
    high = max([r * 1.3 for r in ratios] + [RATIO_TICKS[-1]])
    ax.set_xlim(2 ** math.floor(math.log2(low)), 2 ** math.ceil(math.log2(high)))
    ax.set_xticks(
        [2.0**e for e in range(math.floor(math.log2(low)), math.ceil(math.log2(high)) + 1)]
    )
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:g}×"))
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_yticks(list(ys), [" ".join(m["key"]) for m in matched], fontsize=7)
    ax.set_ylim(len(matched) - 0.5, -0.5)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    quantity = "elements/s" if higher_is_better else "median latency"
    good, bad = ("faster", "slower") if higher_is_better else ("lower", "higher latency")
    ax.set_xlabel(f"B / A of {quantity} (log2 axis)", fontsize=9)
    ax.set_title(
        f"B / A of {quantity} per case\nA = {names[0]}, B = {names[1]}\n"
        f"green: B {good}, red: B {bad}; 1× = no change",
        fontsize=9,
        wrap=True,
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return figure
