"""The swap vocabulary both converters share: ``FROM=TO`` rules named after catalogue entries.

``gelu=gelu_tanh`` means "compute every GELU as the tanh approximation from now on". Names are
the catalogue's, plus the field's aliases (``swish`` is SiLU). Presets (``mobile``) are data in
``edgeact.presets``, which the selection guide renders too: each activation a preset replaces
goes to its catalogue edge replacement.
"""

from collections.abc import Iterable

from edgeact.catalogue import ACTIVATIONS
from edgeact.presets import PRESETS as _PRESETS

__all__ = ["ALIASES", "PRESETS", "canonical_name", "parse_swaps", "preset", "resolve_swaps"]

ALIASES = {"swish": "silu", "logistic": "sigmoid", "hard_swish": "hardswish"}
PRESETS = tuple(_PRESETS)


def canonical_name(name: str, role: str = "activation") -> str:
    """The catalogue name for ``name`` (aliases resolved); ValueError naming it otherwise."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in ACTIVATIONS or not ACTIVATIONS[key].elementwise:
        known = ", ".join(sorted(n for n, a in ACTIVATIONS.items() if a.elementwise))
        raise ValueError(f"unknown {role} {name!r}; known: {known} (aliases: swish, logistic)")
    return key


def parse_swaps(specs: Iterable[str]) -> dict[str, str]:
    """``["gelu=gelu_tanh", ...]`` as {from: to}; ValueError naming the first bad spec."""
    swaps: dict[str, str] = {}
    for spec in specs:
        source, sep, target = spec.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"swap {spec!r} is not FROM=TO (e.g. gelu=gelu_tanh)")
        source = canonical_name(source, "swap source")
        target = canonical_name(target, "swap target")
        if source == target:
            raise ValueError(f"swap {spec!r} maps {source} to itself")
        if swaps.get(source, target) != target:
            raise ValueError(f"swap {spec!r} conflicts with {source}={swaps[source]}")
        swaps[source] = target
    return swaps


def preset(name: str) -> dict[str, str]:
    """The swaps {from: to} of a named preset (``edgeact.presets``; only ``mobile`` so far)."""
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return _PRESETS[name].swaps


def resolve_swaps(
    specs: Iterable[str] = (), preset_name: str | None = None
) -> tuple[dict[str, str], dict[str, str]]:
    """(all rules, the explicit ones): a preset's swaps overridden by explicit ``FROM=TO`` specs.

    The explicit ones are returned apart because each of them must match something.
    """
    explicit = parse_swaps(specs)
    return (preset(preset_name) if preset_name else {}) | explicit, explicit
