"""The swap vocabulary both converters share: ``FROM=TO`` rules named after catalogue entries.

``gelu=gelu_tanh`` means "compute every GELU as the tanh approximation from now on". Names are
the catalogue's, plus the field's aliases (``swish`` is SiLU). Presets (``mobile``) are data in
``edgeact.presets``, which the selection guide renders too: each activation a preset replaces
goes to its catalogue edge replacement.
"""

from collections.abc import Iterable

from edgeact.catalogue import ACTIVATIONS
from edgeact.presets import PRESETS as _PRESETS

__all__ = [
    "ALIASES",
    "PRESETS",
    "canonical_name",
    "hold_back",
    "is_held",
    "not_approximations",
    "parse_swaps",
    "preset",
    "resolve_swaps",
]

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


def not_approximations(rules: dict[str, str], explicit: dict[str, str]) -> set[str]:
    """The sources of ``rules`` a preset chose whose target is not one of the catalogue's
    approximations of them (elu=relu6: ELU's negative half is lost, an error of ~1): a preset
    lists such changes but applies them only when asked for by name."""
    return {
        source
        for source, target in rules.items()
        if source not in explicit
        and all(a.name != target for a in ACTIVATIONS[source].approximations)
    }


def is_held(change: dict, held: set[str]) -> bool:
    """Whether ``change`` is a swap ``hold_back`` leaves out (so there is no use timing it)."""
    return change["kind"] == "swap" and change["activation"] in held


def hold_back(changes: list[dict], held: set[str]) -> None:
    """Mark the swaps of ``held`` activations (``not_approximations``) not applied, saying why
    and how to ask for them (before any other reason); their measured error stays."""
    for change in changes:
        if not is_held(change, held):
            continue
        err, before = change["max_abs_error"], change["skipped"]
        alone = "" if err is None else f", error alone {err:.3g}"
        change["applied"] = False
        change["skipped"] = (
            f"not an approximation ({change['rule']}{alone}): the preset applies it only "
            f"when asked, --swap {change['rule']}" + (f"; {before}" if before else "")
        )
