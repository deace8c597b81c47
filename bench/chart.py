"""The PNG chart: median requests/s and p99 latency per variant and connection count."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def draw(summary: dict[str, Any], connections: Sequence[int], path: Path, title: str) -> bool:
    """Write the chart to `path`; False when matplotlib (the `bench` extra) is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, never a display
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    variants = [key for key in ("A", "B", "C", "D", "E") if key in summary]
    fig, (ax_rps, ax_p99) = plt.subplots(1, 2, figsize=(11, 4.2))
    width = 0.8 / max(1, len(connections))
    for index, conns in enumerate(connections):
        xs = [i + index * width for i in range(len(variants))]
        rps = [summary[k].get(conns, {}).get("rps", 0.0) for k in variants]
        p99 = [summary[k].get(conns, {}).get("p99_ms", 0.0) for k in variants]
        ax_rps.bar(xs, rps, width, label=f"{conns} conn")
        ax_p99.bar(xs, p99, width, label=f"{conns} conn")
    for axis, label in ((ax_rps, "requests/s (median)"), (ax_p99, "p99 latency ms (median)")):
        axis.set_xticks([i + width * (len(connections) - 1) / 2 for i in range(len(variants))])
        axis.set_xticklabels(variants)
        axis.set_ylabel(label)
        axis.legend()
        axis.grid(axis="y", alpha=0.3)
    ax_p99.axhline(25.0, color="red", linewidth=0.8, linestyle="--")  # the p99 target for C
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
