"""A report's figures as PNG images (matplotlib, Agg backend: no display needed), Chinese labels in Noto CJK."""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager
from matplotlib.figure import Figure as MplFigure

from dashboard.i18n import t
from dashboard.reports import Figure
from data_access.reports.fonts import FAMILY, cjk_font

_lock = threading.Lock()  # font registration is process-wide
_ready = False


def _font() -> None:
    global _ready
    with _lock:
        if not _ready:
            font_manager.fontManager.addfont(str(cjk_font()))
            _ready = True


def png(fig: Figure, lang: str = "zh", dpi: int = 130) -> bytes:
    """One figure as a PNG (a Figure object per call: no pyplot state shared between threads)."""
    _font()
    tall = fig.kind == "barh"
    m = MplFigure(figsize=(7.2, max(2.6, 0.26 * len(fig.labels) + 1.0) if tall else 3.0), dpi=dpi)
    ax = m.add_subplot()
    labels = list(fig.labels)
    n = max(len(fig.series), 1)
    for i, (name, values) in enumerate(fig.series):
        label = t(lang, name) if name.startswith("rp_") else name
        if fig.kind == "line":
            ax.plot(labels, values, marker="o", label=label)
        elif fig.kind == "barh":
            ax.barh(range(len(labels)), values, label=label, color="#2b6cb0")
            ax.set_yticks(range(len(labels)), labels)
            ax.invert_yaxis()
        else:
            width = 0.8 / n
            ax.bar([x + i * width - 0.4 + width / 2 for x in range(len(labels))], values, width, label=label)
            ax.set_xticks(
                range(len(labels)),
                labels,
                rotation=30 if len(labels) > 6 else 0,
                ha="right" if len(labels) > 6 else "center",
            )
    if n > 1:
        ax.legend(prop={"family": FAMILY, "size": 8})
    for item in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        item.set_fontfamily(FAMILY)
        item.set_fontsize(8)
    ax.set_title(t(lang, fig.name), fontfamily=FAMILY, fontsize=10)
    ax.grid(axis="x" if tall else "y", alpha=0.3)
    m.tight_layout()
    out = io.BytesIO()
    m.savefig(out, format="png")
    return out.getvalue()
