"""Numbered progress steps for ``progress(done, total, label)`` callbacks.

A conversion only knows how many steps it has once it has read and planned the model, so the
first step is reported alone and ``plan`` then sets how many follow.
"""

from collections.abc import Callable

__all__ = ["Steps"]


class Steps:
    def __init__(self, progress: Callable[[int, int, str], object] | None):
        self.progress, self.done, self.total = progress, 0, 1

    def plan(self, remaining: int) -> None:
        """``remaining`` more steps follow the ones reported so far."""
        self.total = self.done + remaining

    def step(self, label: str) -> None:
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done + 1), label)
        self.done += 1
