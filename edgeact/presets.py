"""Named swap presets, as data: which activations a preset replaces.

A preset lists the activations it replaces; each one goes to its catalogue ``edge_replacement``,
so the targets live in one place (the catalogue). The converters apply a preset's swaps
(``--preset mobile``) and the selection guide renders them (its mobile scenario avoids exactly
these activations), both reading this module.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from edgeact.catalogue import ACTIVATIONS

__all__ = ["PRESETS", "Preset"]


@dataclass(frozen=True)
class Preset:
    """A named set of swaps: every activation in ``replaces`` to its catalogue edge replacement."""

    name: str
    description: str
    replaces: tuple[str, ...]

    def __post_init__(self):
        for n in self.replaces:
            act = ACTIVATIONS.get(n)
            if act is None or not act.elementwise or act.edge_replacement is None:
                raise ValueError(f"preset {self.name!r}: {n!r} has no catalogue edge replacement")

    @property
    def swaps(self) -> dict[str, str]:
        """{from: to}, in the order of ``replaces``."""
        return {n: ACTIVATIONS[n].edge_replacement for n in self.replaces}


_PRESET_LIST = (
    Preset(
        "mobile",
        "Mobile and int8 edge inference: smooth or exponential activations to cheap, quantisable "
        "ones",
        replaces=("gelu", "silu", "mish", "sigmoid", "tanh", "elu", "selu"),
    ),
)

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _PRESET_LIST})
