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


def test_ranges_the_model_states_shape_the_samples_and_are_noted():
    ranges = {"x": (0.0, 1.0, "the range of its uint8 quantization"), "ids": (0, 100, "rows")}
    feeds, notes = sample_inputs(SPECS, {"ids": (4000,)}, samples=2, ranges=ranges)
    for feed in feeds:
        assert 0 <= feed["x"].min() and feed["x"].max() <= 1  # N(0.5, (1/6)²) clipped
        assert feed["ids"].min() >= 0 and feed["ids"].max() == 99  # every row, not only 0..3
    assert notes[0].startswith("random inputs")  # the generic note first, then one per range
    x_note = "input 'x': floats ~ N(0.5, 0.1667²) within [0, 1], the range of its uint8"
    assert any(n.startswith(x_note) for n in notes[1:])
    assert "input 'ids': integers in [0, 100), rows" in notes[1:]
    assert not any(n.startswith("random inputs") for n in notes[1:])
    given = {"x": np.full((1, 4), 7.0, np.float32)}  # a given array wins over a stated range
    feeds, notes = sample_inputs(SPECS, {"ids": (2,)}, given, ranges=ranges)
    assert feeds[0]["x"].max() == 7.0 and not any("input 'x'" in n for n in notes)


def test_onnx_ranges_come_from_quantize_linear_and_gather_tables():
    from onnx import TensorProto, helper, numpy_helper

    from edgeact.converters.onnx._ranges import input_ranges

    inits = [
        numpy_helper.from_array(np.array(0.1, np.float32), "s"),
        numpy_helper.from_array(np.array(-28, np.int8), "z"),
        numpy_helper.from_array(np.zeros((30, 4), np.float32), "table"),
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"]),
        helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, [3]),
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "e")],
        initializer=inits,
    )
    ranges = input_ranges(helper.make_model(graph))
    low, high, why = ranges["x"]
    assert (low, high) == pytest.approx((0.1 * -100, 0.1 * 155)) and "int8 quantization" in why
    assert ranges["ids"] == (0, 30, "the rows of table 'table'")


def test_readers_that_disagree_on_an_inputs_range_state_none():
    from onnx import TensorProto, helper, numpy_helper

    from edgeact.converters.onnx._ranges import input_ranges

    inits = [
        numpy_helper.from_array(np.array(0.1, np.float32), "s"),
        numpy_helper.from_array(np.array(0, np.uint8), "z_u8"),  # [0, 25.5]
        numpy_helper.from_array(np.array(127, np.int8), "z_i8"),  # [-25.5, 0]
    ]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", z], [f"q{i}"])
        for i, z in enumerate(["z_u8", "z_i8"])
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info(n, TensorProto.UINT8, None) for n in ("q0", "q1")],
        initializer=inits,
    )
    assert input_ranges(helper.make_model(graph)) == {}
