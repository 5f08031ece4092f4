"""The adaptive log-softmax reference (Grave et al. 2017; PyTorch's AdaptiveLogSoftmaxWithLoss).

Checked against a brute-force composition written differently (per class, in the probability
domain, with math.fsum), for normalisation over the vocabulary, shapes, and bad inputs.
"""

import bisect
import math
import warnings

import numpy as np
import pytest

from edgeact import references as ref
from edgeact.catalogue import get

ALS = get("adaptive_log_softmax")
DEFAULTS = {k: v for k, v in ALS.params.items() if k != "weights"}

CONFIGS = [  # in_features, n_classes, cutoffs, div_value, head_bias
    (16, 50, (5, 20, 30), 2.0, True),
    (10, 12, (3,), 4.0, False),
    (3, 20, (4, 10), 4.0, False),  # projections of size 3 // 4 = 0: uniform inside the clusters
    (8, 9, (1, 8), 1.5, True),  # a one-class shortlist and a one-class last cluster
]


def params(in_features, n_classes, cutoffs, div_value, head_bias, seed=0):
    return {
        "in_features": in_features,
        "n_classes": n_classes,
        "cutoffs": cutoffs,
        "div_value": div_value,
        "head_bias": head_bias,
        "seed": seed,
    }


def brute_force(h, w, n_classes, cutoffs):
    """log(p_head(cluster of c) · p_cluster(c)) for each class c, one at a time, in plain floats."""

    def probabilities(logits):
        top = max(logits)
        e = [math.exp(v - top) for v in logits]
        total = math.fsum(e)
        return [v / total for v in e]

    def linear(weight, v):
        return [
            math.fsum(float(a) * float(b) for a, b in zip(row, v, strict=True)) for row in weight
        ]

    head = linear(w.head, h)
    if w.head_bias is not None:
        head = [a + float(b) for a, b in zip(head, w.head_bias, strict=True)]
    p_head = probabilities(head)
    bounds = [*cutoffs, n_classes]
    p_tail = [probabilities(linear(out, linear(proj, h))) for proj, out in w.tail]
    out = []
    for c in range(n_classes):
        if c < cutoffs[0]:
            out.append(math.log(p_head[c]))
            continue
        i = bisect.bisect_right(bounds, c) - 1  # c in [bounds[i], bounds[i + 1])
        out.append(math.log(p_head[cutoffs[0] + i] * p_tail[i][c - bounds[i]]))
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_matches_a_brute_force_composition(config):
    p = params(*config)
    w = ref.adaptive_log_softmax_weights(**p)
    h = np.random.default_rng(3).normal(0.0, 3.0, (6, p["in_features"]))
    y = ref.adaptive_log_softmax(h, **p)
    for row, got in zip(h, y, strict=True):
        want = brute_force(row, w, p["n_classes"], p["cutoffs"])
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_default_vocabulary_matches_a_probability_domain_composition():
    w = ref.adaptive_log_softmax_weights(**DEFAULTS)
    h = np.random.default_rng(4).normal(0.0, 2.0, (3, DEFAULTS["in_features"]))
    e_head = np.exp(h @ w.head.T)
    p_head = e_head / e_head.sum(axis=1, keepdims=True)
    parts = [p_head[:, : DEFAULTS["cutoffs"][0]]]
    for i, (proj, out) in enumerate(w.tail):
        e = np.exp(h @ proj.T @ out.T)
        parts.append(p_head[:, DEFAULTS["cutoffs"][0] + i, None] * e / e.sum(axis=1, keepdims=True))
    want = np.log(np.concatenate(parts, axis=1))
    np.testing.assert_allclose(ALS.reference(h), want, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("scale", [0.0, 1.0, 10.0, 100.0])
def test_exp_of_the_output_sums_to_one_over_the_vocabulary(scale):
    h = np.random.default_rng(5).normal(0.0, scale, (4, DEFAULTS["in_features"]))
    y = ALS.reference(h)
    assert y.shape == (4, DEFAULTS["n_classes"]) and np.all(y <= 0.0)
    np.testing.assert_allclose(np.exp(y).sum(axis=1), 1.0, rtol=1e-13)
    for config in CONFIGS:
        p = params(*config)
        y = ref.adaptive_log_softmax(h[:, : p["in_features"]], **p)
        np.testing.assert_allclose(np.exp(y).sum(axis=-1), 1.0, rtol=1e-13)


def test_output_range_is_reached():
    lo, hi = ALS.output_range
    h = np.random.default_rng(6).normal(0.0, 300.0, (20, DEFAULTS["in_features"]))
    y = ALS.reference(h)
    assert lo <= y.min() < -1000.0 and -1e-9 < y.max() <= hi


def test_shapes_dtype_and_batches():
    n, d = DEFAULTS["n_classes"], DEFAULTS["in_features"]
    h = np.random.default_rng(7).normal(size=(2, 3, d)).astype(np.float32)
    y = ALS.reference(h)
    assert y.shape == (2, 3, n) and y.dtype == np.float64
    # rows are independent (BLAS may sum a batch in another order: a few ulp)
    np.testing.assert_allclose(y[1, 2], ALS.reference(h[1, 2]), rtol=1e-15, atol=1e-14)
    assert ALS.reference(np.zeros((0, d))).shape == (0, n)
    assert ALS.reference(np.zeros((2, 0, d))).shape == (2, 0, n)


def test_seeded_weights_are_deterministic_read_only_and_pytorch_shaped():
    p = params(16, 50, (5, 20, 30), 2.0, True)
    w = ref.adaptive_log_softmax_weights(**p)
    assert w.head.shape == (5 + 3, 16) and w.head_bias.shape == (8,)
    assert [(a.shape, b.shape) for a, b in w.tail] == [
        ((8, 16), (15, 8)),
        ((4, 16), (10, 4)),
        ((2, 16), (20, 2)),
    ]
    assert np.all(np.abs(w.head) <= 1 / math.sqrt(16)) and np.all(
        np.abs(w.tail[0][1]) <= 1 / 8**0.5
    )
    with pytest.raises(ValueError):
        w.head[0, 0] = 1.0
    h = np.random.default_rng(8).normal(size=16)
    y = ref.adaptive_log_softmax(h, **p)
    np.testing.assert_array_equal(y, ref.adaptive_log_softmax(h, **p, weights=w))
    np.testing.assert_array_equal(ref.adaptive_log_softmax_weights(**p).head, w.head)
    other = ref.adaptive_log_softmax(h, **{**p, "seed": 1})
    assert not np.array_equal(y, other)
    lists = ref.AdaptiveLogSoftmaxWeights(w.head.tolist(), w.head_bias, [list(t) for t in w.tail])
    np.testing.assert_array_equal(y, ref.adaptive_log_softmax(h, **p, weights=lists))


def test_nan_or_inf_in_a_hidden_state_gives_nan_without_warnings():
    h = np.random.default_rng(9).normal(size=(4, DEFAULTS["in_features"]))
    h[1, 5], h[2, 0] = np.nan, -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ALS.reference(h)
    assert np.isnan(y[1]).all() and np.isnan(y[2]).all()
    assert np.isfinite(y[[0, 3]]).all()


BAD_CALLS = [
    ({"x": 1.5}, r"x must hold hidden states of shape \(\.\.\., in_features=64\), got shape \(\)"),
    ({"x": np.zeros(63)}, r"in_features=64\), got shape \(63,\)"),
    ({"x": np.zeros((2, 65))}, r"got shape \(2, 65\)"),
    ({"cutoffs": (10000, 2000)}, r"cutoffs must be unique, increasing integers between 1 and"),
    ({"cutoffs": (2000, 2000)}, "cutoffs must be unique"),
    ({"cutoffs": (0, 2000)}, "cutoffs must be unique"),
    ({"cutoffs": (2000, 32000)}, r"n_classes - 1 = 31999, got \(2000, 32000\)"),
    ({"cutoffs": (2000.5,)}, "cutoffs must be unique"),
    ({"cutoffs": ()}, "cutoffs must be unique"),
    ({"cutoffs": 2000}, "cutoffs must be unique"),
    ({"n_classes": 1, "cutoffs": (1,)}, "n_classes must be an integer >= 2, got 1"),
    ({"in_features": 0, "x": np.zeros(0)}, "in_features must be an integer >= 1, got 0"),
    ({"div_value": 0.0}, "div_value must be a positive number, got 0.0"),
    ({"div_value": math.inf}, "div_value must be a positive number"),
    ({"head_bias": 1}, "head_bias must be True or False, got 1"),
    ({"seed": -1}, "seed must be a non-negative integer, got -1"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_CALLS)
def test_bad_inputs_name_what_is_wrong(changes, message):
    call = {"x": np.zeros(64), **changes}
    with pytest.raises(ValueError, match=message):
        ref.adaptive_log_softmax(call.pop("x"), **call)


def test_weights_of_the_wrong_shapes_are_rejected():
    p = params(10, 12, (3,), 4.0, False)
    w = ref.adaptive_log_softmax_weights(**p)
    h = np.zeros(10)
    cases = [
        (w._replace(head=w.head[:, :9]), r"weights.head has shape \(4, 9\), expected \(4, 10\)"),
        (w._replace(head_bias=np.zeros(4)), "head_bias must be None when head_bias is False"),
        (w._replace(tail=()), "weights.tail has 0 clusters, the cutoffs give 1"),
        (w._replace(tail=((w.tail[0][0], w.tail[0][1][:5]),)), r"weights.tail\[0\]\[1\] has shape"),
        (w._replace(tail=((w.tail[0][0],),)), r"weights.tail\[0\] must be \(projection, output\)"),
        ((w.head,), r"weights must be AdaptiveLogSoftmaxWeights\(head, head_bias, tail\)"),
    ]
    for weights, message in cases:
        with pytest.raises(ValueError, match=message):
            ref.adaptive_log_softmax(h, **p, weights=weights)
    with pytest.raises(ValueError, match=r"weights.head_bias has shape \(3,\), expected \(4,\)"):
        q = {**p, "head_bias": True}
        ref.adaptive_log_softmax(h, **q, weights=w._replace(head_bias=np.zeros(3)))


def test_not_monotonic_with_the_default_vocabulary():
    """The catalogue's monotonic=False holds for the default record too (sampled coarsely)."""
    x = np.linspace(-30.0, 30.0, 601)
    h = np.zeros((x.size, DEFAULTS["in_features"]))
    h[:, 0], h[:, 1] = x, 1.0
    y = ALS.reference(h)[:, 0]
    assert not ALS.monotonic and not np.all(np.diff(y) >= 0)
