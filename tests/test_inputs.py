"""Verification inputs: how a .npz holds several samples, and how random samples are drawn."""

import numpy as np
import pytest

from edgeact.converters._inputs import sample_inputs, split_samples

SPECS = [("x", [1, 4], np.dtype(np.float32)), ("ids", [None], np.dtype(np.int64))]


def test_a_leading_axis_or_a_batch_over_one_holds_one_sample_per_row():
    rows = np.arange(12, dtype=np.float32).reshape(3, 1, 4)
    for given in (rows, rows[:, 0]):  # (3, 1, 4): a sample axis; (3, 4): a batch of 3 for 1
        samples = split_samples({"x": given}, {"x": [1, 4]})
        assert len(samples) == 3
        for got, want in zip(samples, rows, strict=True):
            np.testing.assert_array_equal(got["x"], want)


def test_a_single_sample_serves_every_sample_and_unequal_counts_are_refused():
    x, ids = np.zeros((2, 1, 4)), np.array([1, 2, 3])
    samples = split_samples({"x": x, "ids": ids}, {"x": [1, 4], "ids": [None]})
    assert len(samples) == 2 and all(s["ids"] is ids for s in samples)
    with pytest.raises(ValueError, match=r"different numbers of samples: \[2, 3\]"):
        split_samples({"x": x, "ids": np.zeros((3, 5))}, {"x": [1, 4], "ids": [None]})
    with pytest.raises(ValueError, match="holds no samples"):
        split_samples({"x": np.zeros((0, 1, 4))}, {"x": [1, 4]})


def test_random_samples_come_from_consecutive_seeds():
    feeds, notes = sample_inputs(SPECS, {"ids": (5,)}, samples=3, seed=7)
    assert len(feeds) == 3 and notes[-1].startswith("random inputs (seeds 7–9)")
    again, _ = sample_inputs(SPECS, {"ids": (5,)}, samples=1, seed=8)
    np.testing.assert_array_equal(feeds[1]["x"], again[0]["x"])
    assert not np.array_equal(feeds[0]["x"], feeds[1]["x"])


def test_inputs_given_for_every_input_make_one_sample_however_many_are_asked():
    given = {"x": np.ones((1, 4), np.float32), "ids": np.arange(3)}
    feeds, notes = sample_inputs(SPECS, provided=given, samples=5)
    assert len(feeds) == 1 and notes == ["2 input(s) from file, 1 sample(s)"]
    feeds, _ = sample_inputs(SPECS, {"ids": (2,)}, provided={"x": given["x"]}, samples=4)
    assert len(feeds) == 4 and all(f["x"] is feeds[0]["x"] for f in feeds)  # x given once
    assert len({f["ids"].tobytes() for f in feeds}) > 1  # ids random per sample


def test_a_given_array_of_the_wrong_shape_names_the_input_and_both_shapes():
    with pytest.raises(ValueError) as error:
        sample_inputs(SPECS, {"ids": (2,)}, provided={"x": np.zeros((1, 5), np.float32)})
    assert str(error.value) == (
        "input 'x' from file has shape [1, 5]; the model takes [1, 4] (or one more leading axis "
        "of samples)"
    )
