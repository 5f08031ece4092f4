"""Report text for people: every line of an inspect or convert report fits in ``WIDTH`` columns."""

__all__ = ["WIDTH", "cut"]

WIDTH = 100


def cut(text: str, width: int = WIDTH) -> str:
    """``text``, shortened to ``width`` characters with a trailing "…" if it is longer."""
    return text if len(text) <= width else text[: width - 1] + "…"
