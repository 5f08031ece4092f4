"""``--budget``: the output error a user accepts for the whole model, met by rolling changes back.

Each change alone may be within the budget while together they exceed it (errors add up through
the network). Rather than refuse the model, ``fit_budget`` drops applied changes, the one with
the largest own error first (the least accuracy for the speed it may buy; the catalogue's swaps
cost about the same each), until the converted model passes. The empty plan is the original
model, which always passes, so a budget only fails where the thresholds beside it (``--rtol``,
``--min-cosine``) cannot be met by the input itself.
"""

from collections.abc import Callable

__all__ = ["fit_budget"]


def fit_budget(changes: list[dict], attempt: Callable[[], dict], budget: float) -> dict:
    """The verification block of ``attempt()`` (build the model from the applied ``changes``
    and verify it) once it passes or nothing is left to drop; each dropped change is marked
    not applied, with the reason."""
    while True:
        block = attempt()
        applied = [c for c in changes if c["applied"]]
        if block["passed"] or not applied:
            return block
        worst = max(applied, key=lambda c: c["max_abs_error"] or 0.0)
        worst["applied"] = False
        worst["skipped"] = (
            f"dropped to fit the budget {budget:g}: together the changes reach "
            f"{block['max_abs']:.3g}; its own error {worst['max_abs_error']:.3g} was the largest"
        )
