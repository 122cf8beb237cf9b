"""The Chinese font the PDF and the charts embed: Debian's fonts-noto-cjk (tests/run and the README install it)."""

from __future__ import annotations

from pathlib import Path

#: Where fonts-noto-cjk puts Noto Sans CJK (a TrueType collection; SC is its simplified-Chinese face).
CANDIDATES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
FAMILY = "Noto Sans CJK SC"


class FontMissing(RuntimeError):
    """No Chinese font: a report would print boxes instead of characters."""


def cjk_font() -> Path:
    """The Noto Sans CJK file; FontMissing naming the package to install when there is none."""
    for p in CANDIDATES:
        if p.is_file():
            return p
    raise FontMissing(
        "no Chinese font for reports: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk); looked in "
        + ", ".join(str(p) for p in CANDIDATES)
    )
