"""The selection guide: computed gradient facts, scenario data, JSON and text rendering."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from edgeact import cli
from edgeact.catalogue import ACTIVATIONS, get
from edgeact.converters._swaps import PRESETS as CONVERTER_PRESETS
from edgeact.converters._swaps import preset
from edgeact.guide import (
    PROPERTIES,
    SCENARIOS,
    Property,
    advise,
    dead_for_negative,
    format_advice,
    saturation,
)
from edgeact.presets import PRESETS, Preset

REQUIRED_SCENARIOS = [
    "hidden-default",
    "transformer",
    "mobile",
    "multiclass-output",
    "binary-output",
    "large-vocabulary",
    "positive-output",
    "self-normalising",
    "sparse",
]
INF = math.inf
# The seed's selection table (the original product spec), scenario -> activations, in order.
SEED_TABLE = {
    "hidden-default": ["relu", "gelu", "silu"],
    "transformer": ["gelu", "gelu_tanh", "silu"],
    "mobile": ["relu6", "hardswish", "hardsigmoid", "gelu_tanh"],
    "multiclass-output": ["softmax"],
    "binary-output": ["sigmoid"],
    "large-vocabulary": ["adaptive_log_softmax", "softmax"],
    "positive-output": ["softplus"],
    "self-normalising": ["selu"],
    "sparse": ["relu", "softshrink", "hardshrink"],
}
MOBILE_SWAPS = {  # what --preset mobile has always applied
    "gelu": "gelu_tanh",
    "silu": "hardswish",
    "mish": "hardswish",
    "sigmoid": "hardsigmoid",
    "tanh": "hardtanh",
    "elu": "relu6",
    "selu": "relu6",
}


# --- computed gradient facts ----------------------------------------------------------------------


def test_sigmoid_saturates_beyond_the_root_of_sigma_prime():
    # σ' = σ(1 - σ) = 0.01  <=>  σ = (1 - √0.96)/2, x = log(σ/(1 - σ))
    s = (1 - math.sqrt(1 - 4 * 0.01)) / 2
    root = math.log(s / (1 - s))  # -4.5848...
    (lo1, hi1), (lo2, hi2) = saturation("sigmoid")
    assert (lo1, hi2) == (-INF, INF)
    assert hi1 == pytest.approx(root, abs=0.006) and lo2 == pytest.approx(-root, abs=0.006)
    assert hi1 == pytest.approx(-4.6, abs=0.05)


def test_tanh_saturation_and_rounding():
    root = math.acosh(10.0)  # sech²(x) = 0.01
    assert saturation(get("tanh")) == [(-INF, -round(root, 2)), (round(root, 2), INF)]


def test_saturation_of_piecewise_linear_activations():
    assert saturation("relu") == [(-INF, 0.0)]
    assert saturation("relu6") == [(-INF, 0.0), (6.0, INF)]
    assert saturation("hardsigmoid") == [(-INF, -3.0), (3.0, INF)]
    assert saturation("leaky_relu") == []  # |f'| = 0.01 is not < 0.01
    assert saturation("hardswish") == [(-INF, -3.0), (-1.53, -1.47)]  # f' = x/3 + 1/2 crosses 0


def test_saturation_finds_the_flat_spot_of_non_monotonic_activations():
    (_, tail), (lo, hi) = saturation("gelu")
    x = np.linspace(-1.0, -0.5, 50_001)
    flat = x[np.abs(get("gelu").derivative(x)) < 0.01]
    assert lo == pytest.approx(flat[0], abs=0.006) and hi == pytest.approx(flat[-1], abs=0.006)
    assert tail == pytest.approx(-3.07, abs=0.01)


def test_dead_for_negative():
    assert dead_for_negative("relu") == (-INF, 0.0)
    assert dead_for_negative("relu6") == (-INF, 0.0)
    assert dead_for_negative("hardswish") == (-INF, -3.0)
    assert dead_for_negative("hardtanh") == (-INF, -1.0)
    assert dead_for_negative("silu_poly") == (-INF, -4.4)
    assert dead_for_negative("gelu_poly") == (-INF, round(-1.769 * math.sqrt(2), 2))
    assert dead_for_negative("hardshrink") == (-0.5, 0.0)
    for name in ["gelu", "gelu_tanh", "silu", "mish", "leaky_relu", "elu", "sigmoid", "tanh"]:
        assert dead_for_negative(name) is None, name


def test_gradient_facts_need_an_elementwise_activation():
    with pytest.raises(ValueError, match="softmax"):
        saturation("softmax")
    with pytest.raises(ValueError, match="softmax"):
        dead_for_negative("softmax")


# --- scenario data --------------------------------------------------------------------------------


def test_required_scenarios_exist_in_order():
    assert list(SCENARIOS) == REQUIRED_SCENARIOS
    assert [a["id"] for a in advise()] == REQUIRED_SCENARIOS


@pytest.mark.parametrize("scenario", REQUIRED_SCENARIOS)
def test_scenario_names_and_properties_exist(scenario):
    s = SCENARIOS[scenario]
    assert s.recommended and s.properties
    assert not set(s.recommended) & set(s.avoid)
    for name in (*s.recommended, *s.avoid):
        assert name in ACTIVATIONS
    for key in s.properties:
        assert key in PROPERTIES


@pytest.mark.parametrize("scenario", REQUIRED_SCENARIOS)
def test_every_choice_is_justified_by_a_property(scenario):
    (advice,) = advise(scenario)
    for e in advice["recommended"]:
        assert any(not w.startswith("caveat: ") for w in e["why"]), e["name"]
    for e in advice["avoid"]:
        assert e["why"], e["name"]


def test_mobile_is_consistent_with_the_catalogue_edge_replacements():
    (advice,) = advise("mobile")
    assert all(e["edge_replacement"] is None for e in advice["recommended"])
    assert all(e["edge_replacement"] is not None for e in advice["avoid"])
    table = {r["from"]: (r["to"], r["max_abs_error"]) for r in advice["edge_replacements"]}
    for act in ACTIVATIONS.values():
        if act.edge_replacement is None:
            assert act.name not in table
            continue
        errors = {p.name: p.max_abs_error for p in act.approximations}
        assert table[act.name] == (act.edge_replacement, errors.get(act.edge_replacement))
    assert table["gelu"] == ("gelu_tanh", get("gelu").approximations[0].max_abs_error)
    assert not any("edge_replacements" in a for a in advise() if a["id"] != "mobile")


def test_reasons_carry_computed_numbers():
    (sn,) = advise("self-normalising")
    selu, relu = sn["recommended"][0], sn["avoid"][0]
    assert "mean +0.000, variance 1.000" in selu["why"][0]
    assert f"mean +{1 / math.sqrt(2 * math.pi):.3f}" in relu["why"][0]  # E[relu(z)] = 1/√(2π)
    (sparse,) = advise("sparse")
    assert "maps 50% of N(0, 1) inputs to exactly 0" in sparse["recommended"][0]["why"]
    (lv,) = advise("large-vocabulary")
    softmax = next(e for e in lv["recommended"] if e["name"] == "softmax")
    assert f"{1 / 32000:.1e}" in " ".join(softmax["why"])
    (mobile,) = advise("mobile")
    silu = next(e for e in mobile["avoid"] if e["name"] == "silu")
    assert f"{get('silu').approximations[1].max_abs_error:g}" in silu["why"][0]


def test_entry_shape():
    (advice,) = advise("hidden-default")
    relu = advice["recommended"][0]
    assert relu["name"] == "relu" and relu["formula"] == get("relu").formula
    assert relu["output_range"] == [0.0, "inf"]
    assert relu["saturates"] == [["-inf", 0.0]]
    assert relu["dead_for_negative"] == ["-inf", 0.0]
    assert relu["edge_replacement"] == "relu6"
    keys = {"name", "formula", "output_range", "smoothness", "monotonic", "zero_centred"}
    keys |= {"saturates", "dead_for_negative", "edge_replacement", "approximations", "why"}
    for a in advise():
        for e in a["recommended"] + a["avoid"]:
            assert set(e) == keys
    (multi,) = advise("multiclass-output")
    assert multi["recommended"][0]["saturates"] is None  # softmax: not element-wise


def test_seed_scenarios_recommend_the_seed_activations(capsys):
    assert list(SEED_TABLE) == REQUIRED_SCENARIOS
    assert cli.main(["guide", "--json"]) == 0
    advice = json.loads(capsys.readouterr().out)
    assert {a["id"]: [e["name"] for e in a["recommended"]] for a in advice} == SEED_TABLE


def test_readme_scenario_table_matches_the_guide():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| `") and len(cells) == 3 and cells[0].strip("`") in SCENARIOS:
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    assert list(rows) == REQUIRED_SCENARIOS
    for sid, (use, avoid) in rows.items():
        s = SCENARIOS[sid]
        assert use == ", ".join(s.recommended), sid
        assert avoid == ("what `--preset mobile` replaces" if s.preset else ", ".join(s.avoid))


def test_adaptive_log_softmax_reasons_are_computed_from_its_reference():
    (lv,) = advise("large-vocabulary")
    als = lv["recommended"][0]
    assert als["name"] == "adaptive_log_softmax" and als["saturates"] is None
    act = get("adaptive_log_softmax")
    h = np.random.default_rng(0).standard_normal(act.params["in_features"])
    y = act.reference(h)
    assert abs(np.exp(y).sum() - 1) < 1e-12
    lo, step = float(y.min()), -float(y.min()) / 255
    sums, int8, order = als["why"]
    assert sums == "outputs are log-probabilities: their exp sums to 1 over the 32000 classes"
    assert f"over {lo:.1f} .. 0 (step {step:.3f})" in int8
    assert f"down to {math.exp(lo):.1e}, within {math.expm1(step / 2):.1%}" in int8
    assert order.startswith("caveat: not monotonic")
    assert PROPERTIES["independent_outputs"].con(act).startswith("one distribution over 32000")
    assert PROPERTIES["probability"].holds(act) is False
    for key in ("alive_positive", "no_dead_units", "sparse", "self_normalising"):
        assert PROPERTIES[key].holds(act) is None


def test_log_probability_properties_fail_for_a_reference_that_does_not_normalise():
    act = get("adaptive_log_softmax")
    doubled = dataclasses.replace(
        act, name="doubled", reference=lambda x, **p: act.reference(x, **p) + math.log(2.0)
    )
    prop: Property = PROPERTIES["sums_to_one"]
    assert prop.holds(doubled) is False
    assert prop.con(doubled) == "a N(0, 1) hidden state gives outputs whose exp sums to 2, not 1"
    wide = dataclasses.replace(
        act, name="wide", reference=lambda x, **p: 30 * act.reference(x, **p)
    )
    assert PROPERTIES["int8_resolution"].holds(wide) is False  # step ~2.4: e^1.2 - 1 > 50 %
    assert PROPERTIES["int8_resolution"].con(wide).endswith(": keep it in float")


def test_mobile_preset_is_data_that_the_guide_renders_and_the_converters_apply():
    assert CONVERTER_PRESETS == tuple(PRESETS) == ("mobile",)
    assert preset("mobile") == PRESETS["mobile"].swaps == MOBILE_SWAPS
    assert list(preset("mobile")) == list(MOBILE_SWAPS)  # in the preset's order
    assert SCENARIOS["mobile"].avoid == PRESETS["mobile"].replaces
    assert SCENARIOS["mobile"].preset == "mobile"
    (mobile,) = advise("mobile")
    errors = {r["from"]: r["max_abs_error"] for r in mobile["edge_replacements"]}
    assert mobile["preset"] == {
        "name": "mobile",
        "swaps": [
            {"from": f, "to": t, "max_abs_error": errors[f]} for f, t in MOBILE_SWAPS.items()
        ],
    }
    text = format_advice([mobile])
    assert "preset mobile (edgeact convert --preset mobile): gelu=gelu_tanh, silu=hardswish" in text
    assert not any("preset" in a for a in advise() if a["id"] != "mobile")
    with pytest.raises(ValueError, match="unknown preset 'desktop'; known: mobile"):
        preset("desktop")
    with pytest.raises(ValueError, match="preset 'x': 'relu6' has no catalogue edge replacement"):
        Preset("x", "", ("relu6",))


# --- rendering ----------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", [*REQUIRED_SCENARIOS, None])
def test_every_scenario_renders_as_json_and_text(scenario):
    advice = advise(scenario)
    text = json.dumps(advice, allow_nan=False)  # no inf/nan floats
    assert json.loads(text) == advice
    out = format_advice(advice)
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "\x1b" not in out
    for a in advice:
        assert f"== {a['id']}: {a['title']}" in out
        for e in a["recommended"] + a["avoid"]:
            assert any(
                line.split()[:2] in (["use", e["name"]], ["avoid", e["name"]]) for line in lines
            )
            assert f"{e['name']} = " in out


def test_text_columns_are_aligned():
    lines = format_advice(advise("mobile")).splitlines()
    rows = [line for line in lines if line.startswith(("  use ", "  avoid "))]
    header = next(line for line in lines if "smoothness" in line)
    col = header.index("smoothness")
    assert all(row[col - 2 : col] == "  " and row[col] != " " for row in rows)
    assert "edge replacements" in "\n".join(lines)


def test_unknown_scenario_names_it():
    with pytest.raises(ValueError, match=r"unknown scenario 'edge'; known: hidden-default, "):
        advise("edge")
