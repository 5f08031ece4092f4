"""PNG charts of bench results, drawn with matplotlib's Agg backend.

matplotlib is imported only here, when a plot is asked for; without it the error is one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

__all__ = ["plot_compare", "plot_kernels", "require_matplotlib"]


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


def plot_kernels(records: Sequence[Mapping], path: str | os.PathLike) -> None:
    """Throughput (G elements/s, log scale) per activation: one panel per size × dtype, the
    peers' bars side by side, the memory copy of the same bytes as a dashed line (the roof)."""
    plt = require_matplotlib()
    timed = [r for r in records if r["status"] == "ok"]
    sizes = list(dict.fromkeys(r["size_label"] or str(r["elements"]) for r in timed))
    dtypes = list(dict.fromkeys(r["dtype"] for r in timed))
    peers = [p for p in dict.fromkeys(r["peer"] for r in timed) if p != "copy"]
    figure, axes = plt.subplots(
        len(sizes) or 1, len(dtypes) or 1, squeeze=False,
        figsize=(4.5 * max(1, len(dtypes)), 3.2 * max(1, len(sizes))),
    )  # fmt: skip
    width = 0.8 / max(1, len(peers))
    for row, size in enumerate(sizes):
        for col, dtype in enumerate(dtypes):
            ax = axes[row][col]
            mine = [
                r
                for r in timed
                if r["dtype"] == dtype and (r["size_label"] or str(r["elements"])) == size
            ]
            names = list(dict.fromkeys(r["activation"] for r in mine))
            for k, peer in enumerate(peers):
                rate = {
                    r["activation"]: r["elements_per_s"] / 1e9 for r in mine if r["peer"] == peer
                }
                xs = [
                    i + (k - (len(peers) - 1) / 2) * width for i, n in enumerate(names) if n in rate
                ]
                ax.bar(xs, [rate[n] for n in names if n in rate], width, label=peer)
            copies = [r["elements_per_s"] / 1e9 for r in mine if r["peer"] == "copy"]
            if copies:
                ax.axhline(max(copies), color="black", linestyle="--", linewidth=1, label="copy")
            ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
            ax.set_yscale("log")
            ax.set_title(f"{dtype}, {size}", fontsize=9)
            ax.set_ylabel("G elements/s", fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="upper center", ncol=len(labels) or 1, fontsize=8)
    figure.tight_layout(rect=(0, 0, 1, 0.95))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_compare(matched: Sequence[Mapping], path: str | os.PathLike, names=("A", "B")) -> None:
    """B/A per matched record as horizontal bars, with the line at 1 (no change)."""
    plt = require_matplotlib()
    figure, ax = plt.subplots(figsize=(7, 0.25 * len(matched) + 1.2))
    labels = [" ".join(m["key"]) for m in matched]
    ax.barh(range(len(matched)), [m["b_over_a"] for m in matched])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_yticks(range(len(matched)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel(f"{names[1]} / {names[0]}")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
