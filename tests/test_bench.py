"""The benchmark harness's logic: peers, validation, records, machine info, the table.

No timing assertions (timings depend on the machine); tiny sizes and min_time keep this fast.
"""

import itertools
import math
import time

import numpy as np
import pytest

import edgeact.kernels as K
from edgeact import bench
from edgeact.bench import kernels as harness
from edgeact.bench import machine, numpy_peers, report, timing
from edgeact.catalogue import ACTIVATIONS

NAMES = list(K.KERNELS)
TINY = {"min_time": 1e-4, "repeats": 2}


def _inputs(dtype=np.float32):
    """N(0, 3²) values plus the breakpoints of the piecewise activations."""
    x = np.random.default_rng(0).normal(0.0, 3.0, 2000)
    breakpoints = [-6.0, -4.4, -3.0, -1.0, -0.0, 0.0, 1.0, 3.0, 4.4, 6.0, 12.0, -12.0]
    return np.concatenate([x, breakpoints]).astype(dtype)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_equivalent_matches_reference_in_float32(name):
    x = _inputs()
    act = ACTIVATIONS[name]
    with np.errstate(all="ignore"):
        got = bench.numpy_equivalent(name)(x)
    want = act.reference(x.astype(np.float64), **act.params)
    assert got.dtype == np.float32, "the NumPy peer must compute in x's dtype"
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_equivalent_stays_in_float16(name):
    with np.errstate(all="ignore"):
        assert bench.numpy_equivalent(name)(_inputs(np.float16)).dtype == np.float16


def test_numpy_equivalent_takes_parameters():
    x = np.array([-2.0, 0.5, 2.0], dtype=np.float32)
    got = bench.numpy_equivalent("hardtanh", min_val=-1.5, max_val=0.25)(x)
    np.testing.assert_array_equal(got, np.array([-1.5, 0.25, 0.25], dtype=np.float32))


def test_numpy_equivalent_rejects_unknown_name():
    with pytest.raises(ValueError, match="no_such_act"):
        bench.numpy_equivalent("no_such_act")


def test_bench_kernels_records_are_well_formed():
    calls = []
    records = bench.bench_kernels(
        ["hardswish", "relu"], ["float32", "float16"], [97, 64], **TINY,
        progress=lambda i, total, label: calls.append((i, total, label)),
    )  # fmt: skip
    assert [(r["activation"], r["dtype"], r["elements"]) for r in records] == [
        (name, dtype, n)
        for dtype in ("float32", "float16")
        for n in (97, 64)
        for name in ("hardswish", "relu")
    ]
    assert [c[:2] for c in calls] == [(i, 8) for i in range(8)]
    assert "hardswish" in calls[0][2]
    for r in records:
        itemsize = np.dtype(r["dtype"]).itemsize
        assert r["bytes"] == 2 * itemsize * r["elements"]
        assert r["size_label"] is None
        assert min(r["edgeact_s"], r["numpy_s"], r["copy_s"]) > 0
        assert math.isclose(r["ratio_vs_numpy"], r["numpy_s"] / r["edgeact_s"])
        assert math.isclose(r["fraction_of_copy"], r["copy_s"] / r["edgeact_s"])
        assert math.isclose(r["elements_per_s"], r["elements"] / r["edgeact_s"])
        assert math.isclose(r["gb_per_s"], r["bytes"] / r["edgeact_s"] / 1e9)
        assert math.isclose(r["numpy_elements_per_s"], r["elements"] / r["numpy_s"])
        assert 0 <= r["max_ulps"] <= bench.MAX_ULPS


def test_bench_kernels_resolves_size_labels_per_dtype(monkeypatch):
    monkeypatch.setattr(
        machine, "default_sizes", lambda itemsize: {"L2": 40 // itemsize, "DRAM": 3}
    )
    records = bench.bench_kernels("relu", ["float32", "float16"], ["L2"], **TINY)
    assert [(r["size_label"], r["elements"]) for r in records] == [("L2", 10), ("L2", 20)]


@pytest.mark.parametrize("threads", [None, 2])
def test_edgeact_runs_on_the_threads_asked_for(monkeypatch, threads):
    """One thread unless told (the kernels' own default is every core), and recorded."""
    real, seen = K.KERNELS["relu"], set()

    def recording(x, out=None, **kwargs):
        seen.add(kwargs["threads"])
        return real(x, out, **kwargs)

    monkeypatch.setitem(K.KERNELS, "relu", recording)
    options = {} if threads is None else {"threads": threads}
    records = bench.measure_kernels(["relu"], ["float32", "int8"], [100], **options, **TINY)
    want = threads or 1
    assert seen == {want}
    assert {r["threads"] for r in records if r["peer"] == "edgeact"} == {want}


def test_validation_rejects_a_wrong_kernel(monkeypatch):
    def zeros(x, out=None, **params):
        out = np.empty_like(x) if out is None else out
        out[...] = 0
        return out

    timed = []
    monkeypatch.setitem(K.KERNELS, "hardswish", zeros)
    monkeypatch.setattr(harness, "time_call", lambda *a, **k: timed.append(a) or 1.0)
    monkeypatch.setattr(
        harness, "time_calls", lambda fns, **k: timed.append(fns) or [1.0] * len(fns)
    )
    with pytest.raises(RuntimeError, match="hardswish"):
        bench.bench_kernels(["hardswish"], ["float32"], [1000], **TINY)
    assert not timed, "a wrong kernel must never be timed"


def test_wrong_kernel_is_recorded_untimed_on_request(monkeypatch):
    monkeypatch.setitem(K.KERNELS, "relu", lambda x, out=None, **_: np.multiply(x, 2, out=out))
    records = bench.bench_kernels(["relu", "relu6"], ["float32"], [100], errors="record", **TINY)
    wrong, right = records
    assert "relu" in wrong["error"] and wrong["edgeact_s"] is None and wrong["numpy_s"] is None
    assert right["error"] is None and right["edgeact_s"] > 0
    assert set(wrong) == set(right)
    table = bench.format_table(records).splitlines()
    assert "not timed" in table[2]
    assert any(line.startswith("[1] relu float32 100: edgeact kernel 'relu'") for line in table)
    assert max(map(len, table)) <= 110
    with pytest.raises(ValueError, match="errors"):
        bench.bench_kernels(["relu"], ["float32"], [10], errors="ignore")


def test_validation_rejects_a_kernel_that_ignores_out(monkeypatch):
    monkeypatch.setitem(K.KERNELS, "relu", lambda x, out=None, **_: np.maximum(x, 0))
    with pytest.raises(RuntimeError, match=r"relu.*out"):
        bench.bench_kernels(["relu"], ["float32"], [100], **TINY)


def test_validation_samples_large_arrays_including_the_tail(monkeypatch):
    """Above VALIDATE_ALL elements only a sample is checked; the last element is in it."""
    monkeypatch.setattr(harness, "VALIDATE_ALL", 256)
    real = K.KERNELS["relu"]

    def wrong_last(x, out=None, **kwargs):
        real(x, out, **kwargs)
        out[-1] = 123.0
        return out

    monkeypatch.setitem(K.KERNELS, "relu", wrong_last)
    with pytest.raises(RuntimeError, match="relu"):
        bench.bench_kernels(["relu"], ["float32"], [5000], **TINY)


@pytest.mark.parametrize(
    ("names", "dtypes", "sizes", "message"),
    [
        (["no_such_act"], ["float32"], [10], "no_such_act"),
        (["relu"], ["float64"], [10], "float64"),
        (["relu"], ["int16"], [10], "int16"),
        (["relu"], ["not_a_dtype"], [10], "not_a_dtype"),
        (["relu"], ["float32"], [0], "got 0$"),
        (["relu"], ["float32"], [-5], "got -5$"),
        (["relu"], ["float32"], [2.5], "2.5"),
        (["relu"], ["float32"], ["L3"], "L3"),
    ],
    ids=["name", "float64", "int16", "dtype", "zero", "negative", "fraction", "label"],
)
def test_bad_cases_raise_value_error(names, dtypes, sizes, message):
    with pytest.raises(ValueError, match=message):
        bench.bench_kernels(names, dtypes, sizes, **TINY)


def test_kernel_without_numpy_peer_is_rejected_before_any_work(monkeypatch):
    monkeypatch.setitem(K.KERNELS, "brand_new", K.KERNELS["relu"])
    with pytest.raises(ValueError, match=r"brand_new.*NumPy"):
        bench.bench_kernels(["relu", "brand_new"], ["float32"], [10], **TINY)


def test_time_call_best_per_call_and_calibrates():
    calls = []
    seconds = bench.time_call(lambda: calls.append(1), min_time=1e-3, repeats=3)
    assert seconds > 0
    assert len(calls) > 3, "fast calls are batched until a measurement lasts min_time"


def test_time_call_caps_slow_calls(monkeypatch):
    clock = iter(range(100))
    monkeypatch.setattr(timing.time, "perf_counter", lambda: float(next(clock)))
    calls = []
    seconds = bench.time_call(lambda: calls.append(1), min_time=0.5, repeats=5, max_time=0.5)
    assert calls == [1, 1] and seconds == 1.0  # the untimed first call, then one measurement


def test_time_call_does_not_time_a_slow_first_call():
    """A first call that compiles must not set the calibration (it left cold single calls)."""
    calls = []

    def compiles_first():
        if not calls:
            time.sleep(0.05)
        calls.append(1)

    seconds = bench.time_call(compiles_first, min_time=0.01, repeats=3)
    assert seconds < 1e-3 and len(calls) > 10


def test_time_calls_interleaves_its_callables_measurements():
    """One measurement of each per round, so that a drift of the machine hits all alike."""
    order = []
    seconds = timing.time_calls(
        [lambda: order.append("a"), lambda: order.append("b")], min_time=1e-3, repeats=4
    )
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    runs = [key for key, _ in itertools.groupby(order)]
    assert runs[-6:] == ["a", "b"] * 3, "the last three rounds alternate a and b"


def test_time_call_rejects_bad_settings():
    with pytest.raises(ValueError):
        bench.time_call(lambda: None, min_time=0)
    with pytest.raises(ValueError):
        bench.time_call(lambda: None, repeats=0)


def test_describe_machine_is_one_line_even_when_nothing_is_known():
    line = bench.describe_machine()
    assert "\n" not in line and np.__version__ in line
    assert "unknown" in bench.describe_machine({})


def test_parse_cache_sizes():
    assert bench.parse_size("48K\n") == 48 << 10
    assert bench.parse_size("300M") == 300 << 20
    assert bench.parse_size("512") == 512


def test_default_sizes_follow_the_caches():
    info = {"l2_bytes": 2 << 20, "l3_bytes": 300 << 20}
    info["l1d_bytes"] = 48 << 10
    assert bench.default_sizes(4, info) == {"L1": 3 << 10, "L2": 128 << 10, "DRAM": 75 << 20}
    assert bench.default_sizes(2, info) == {"L1": 6 << 10, "L2": 256 << 10, "DRAM": 150 << 20}
    unknown = bench.default_sizes(4, {"l2_bytes": None, "l3_bytes": None})
    assert unknown["DRAM"] == 64 << 20 and unknown["L2"] > 0


def test_format_table_renders_every_record():
    records = bench.bench_kernels(["relu", "gelu_poly"], ["float32", "float16"], [33], **TINY)
    table = bench.format_table(records).splitlines()
    # rows, a blank, the legend, then (timing-dependent: tiny arrays can beat a tiny copy) flag
    # lines after a blank
    rows, after = table[2 : 2 + len(records)], table[2 + len(records) :]
    legend = report.table_legend().splitlines()  # no runtime peers: "× numpy" only
    assert after[0] == "" and after[1 : 1 + len(legend)] == legend
    flags = after[1 + len(legend) :]  # flags, then the accuracy block's head and indented lines
    assert all(line == "" or line.startswith(("!", "≈", "  ")) for line in flags), flags
    assert max(map(len, table)) <= 110
    for line, r in zip(rows, records, strict=True):
        assert line.split()[:2] == [r["activation"], r["dtype"]]
        assert line.rstrip().endswith("×")


def test_numpy_gelu_in_blocks_equals_whole_array(monkeypatch):
    x = _inputs().reshape(2, -1)
    whole = bench.numpy_equivalent("gelu")(x)
    monkeypatch.setattr(numpy_peers, "ERF_BLOCK", 100)
    np.testing.assert_array_equal(bench.numpy_equivalent("gelu")(x), whole)


def test_wrong_numpy_peer_is_recorded_untimed_while_edgeact_is_timed(monkeypatch):
    monkeypatch.setitem(numpy_peers.EXPRESSIONS, "relu", lambda x, c: 2 * x)
    records = bench.measure_kernels(["relu"], ["float32"], [100], errors="record", **TINY)
    edgeact, numpy, copy = records
    assert edgeact["status"] == copy["status"] == "ok" and edgeact["seconds"] > 0
    assert (
        numpy["status"] == "wrong" and numpy["seconds"] is None and "numpy relu" in numpy["error"]
    )
    table = bench.format_table(bench.rows(records)).splitlines()
    assert table[2].split()[:2] == ["relu", "float32"] and "not timed" not in table[2]
    assert "\n[1] relu float32 100: numpy relu (float32) is wrong" in "\n".join(table)


@pytest.mark.parametrize(("offset", "status"), [(1, "ok"), (2, "wrong")])
def test_int8_runtime_peer_may_differ_by_one_step_only(monkeypatch, offset, status):
    """A runtime's int8 codes are checked against edgeact's (with the runtime's compat): a tie
    rounded the other way (one step) is counted, two steps are wrong and never timed."""
    from edgeact.bench import runtimes

    def fake_peer(peer, name, x, x_q, y_q, threads):
        want = K.get(name)(x, x_q=x_q, y_q=y_q, compat=runtimes.COMPAT[peer])
        got = want.copy()
        got[3] = want[3] - offset if want[3] > -100 else want[3] + offset
        return runtimes.Peer(lambda: None, lambda: got, "fake")

    monkeypatch.setattr(runtimes, "runtime_peer", fake_peer)
    records = bench.measure_kernels(
        ["sigmoid"], ["int8"], [300], peers=["xnnpack"], errors="record", **TINY
    )
    peer = records[1]
    assert peer["status"] == status and peer["compat"] == "xnnpack"
    if status == "ok":
        assert peer["validation"] == {"codes_differing": 1, "max_steps": 1}
    else:
        assert peer["seconds"] is None and "by 2 steps" in peer["error"]


@pytest.mark.parametrize("nudge", [2, 5])
def test_a_float_peer_beyond_edgeacts_bound_is_reported_with_its_ulps(monkeypatch, nudge):
    """A float peer within the benchmark's tolerance but beyond edgeact's 2 ulp is timed, and the
    row and the table say how far off it was (the accuracy its speed came with)."""
    from edgeact.bench import runtimes
    from edgeact.catalogue import ACTIVATIONS

    def fake_peer(peer, name, x, x_q, y_q, threads):
        got = ACTIVATIONS[name].reference(x.astype(np.float64)).astype(np.float32)
        got.view(np.int32)[3] += nudge  # sigmoid > 0: nudge ulps up
        return runtimes.Peer(lambda: None, lambda: got, "fake")

    monkeypatch.setattr(runtimes, "runtime_peer", fake_peer)
    records = bench.measure_kernels(["sigmoid"], ["float32"], [300], peers=["xnnpack"], **TINY)
    peer = records[1]
    assert peer["status"] == "ok" and peer["seconds"] > 0
    beyond = int(nudge > bench.MAX_ULPS)
    assert peer["validation"]["max_ulps"] == nudge
    assert peer["validation"]["above_max_ulps"] == beyond
    assert peer["validation"]["checked"] == 300
    [row] = bench.rows(records)
    table = bench.format_table([row])
    if beyond:
        assert row["looser_peers"] == {"xnnpack": peer["validation"]}
        *_, head, line = table.splitlines()
        assert head.startswith("≈ peers beyond edgeact's 2 ulp")
        want = f"sigmoid float32 300 edgeact {row['max_ulps']}; XNNPACK {nudge} (0.3%)"
        assert line.split() == want.split()
    else:
        assert "looser_peers" not in row and "≈" not in table


@pytest.mark.onnxruntime
def test_an_io_bound_peers_run_keeps_its_arrays_alive():
    """ONNX Runtime writes into the peer's output by address: the run callable alone must keep
    it alive (the harness keeps only the callable while it times the peers in turns)."""
    import gc
    import weakref

    from edgeact.bench import runtimes

    x = np.linspace(-4, 4, 64, dtype=np.float32)
    peer = runtimes.runtime_peer("onnxruntime", "sigmoid", x, None, None)
    run, output = peer.run, weakref.ref(peer.output())
    del peer
    gc.collect()
    assert output() is not None
    run()
    np.testing.assert_allclose(output(), 1 / (1 + np.exp(-x)), atol=1e-6)


def _row(name="relu6", dtype="float32", **speedups):
    """A table row as ``bench.rows`` makes it, with made-up numbers."""
    return {
        "activation": name, "dtype": dtype, "size_label": "L2", "elements": 1 << 17,
        "edgeact_s": 1e-4, "elements_per_s": 1.3e9, "gb_per_s": 10.5, "fraction_of_copy": 0.4,
        "ratio_vs_numpy": 2.5, "speedups": speedups, "above_copy_roof": [], "error": None,
    }  # fmt: skip


def test_table_legend_explains_each_ratio_column_shown():
    table = bench.format_table([_row(onnxruntime=1.5, xnnpack=0.25), _row("sigmoid")])
    head, legend = table.split("\n\n")
    assert "× ORT" in head and "× XNNPACK" in head and "× LiteRT" not in head
    lines = legend.splitlines()
    assert "× numpy   = edgeact's throughput / NumPy's: >1× means edgeact is faster" in lines
    assert "× ORT     = edgeact's throughput / ONNX Runtime's: >1× means edgeact is faster" in lines
    assert any(
        line.startswith("× XNNPACK = edgeact's throughput / LiteRT + XNNPACK's") for line in lines
    )
    assert not any("LiteRT builtin" in line for line in lines)  # no LiteRT column, no legend line
    assert max(map(len, lines)) <= 100 and max(map(len, head.splitlines())) <= 110


def test_accuracy_block_fits_the_table_and_keeps_each_peers_entry_whole():
    v = {"max_ulps": 891_611_189, "above_max_ulps": 19_853, "checked": 65_536}
    looser = {"numpy": {**v, "max_ulps": 3, "above_max_ulps": 6}, "xnnpack": v}
    looser.update(onnxruntime=v, litert={**v, "max_ulps": 12_287})
    row = {**_row("gelu_tanh", xnnpack=0.3), "max_ulps": 2, "looser_peers": looser}
    block = bench.format_table([row]).split("\n\n")[-1]
    assert block.startswith("≈ peers beyond edgeact's 2 ulp")
    text = " ".join(block.split())
    for entry in ["edgeact 2;", "numpy 3 (<0.1%)", "XNNPACK 8.9e8 (30%)", "LiteRT 12,287 (30%)"]:
        assert entry in text
    assert all(len(line) <= 110 for line in block.splitlines())
    assert not any(line.rstrip().endswith(("8.9e8", "XNNPACK")) for line in block.splitlines())


def _doc(records, cpu="Test CPU 9000", date="2031-02-03T04:05:06+00:00"):
    machine = {"cpu_model": cpu, "architecture": "x86_64"}
    return {"schema": 1, "kind": "kernels", "date": date, "machine": machine, "records": records}


def _record(name, dtype, peer, rate, status="ok"):
    return {
        "activation": name, "dtype": dtype, "size_label": "L1", "elements": 4096, "peer": peer,
        "status": status, "elements_per_s": rate if status == "ok" else None,
        "error": None if status == "ok" else "cannot",
    }  # fmt: skip


def test_kernels_plot_has_linear_panels_per_dtype_and_marks_what_did_not_run(tmp_path):
    pytest.importorskip("matplotlib")
    from edgeact.bench.plot import NOT_RUN, plot_kernels

    records = [
        _record("relu6", "float32", "edgeact", 4e9), _record("relu6", "float32", "numpy", 1e9),
        _record("relu6", "float32", "xnnpack", None, "unavailable"),
        _record("relu6", "float32", "copy", 8e9),
        _record("sigmoid", "int8", "edgeact", 20e9), _record("sigmoid", "int8", "numpy", 0.5e9),
        _record("sigmoid", "int8", "xnnpack", None, "wrong"),
        _record("sigmoid", "int8", "copy", 30e9),
    ]  # fmt: skip
    path = tmp_path / "k.png"
    figure = plot_kernels(_doc(records), path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    title = figure.get_suptitle()
    assert "Test CPU 9000" in title and "2031-02-03" in title
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["float32", "int8"]
    for ax in panels:
        assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
        assert "higher is better" in ax.get_xlabel()
        assert [t.get_text() for t in ax.texts].count(NOT_RUN) == 1  # xnnpack, at the origin
        (na,) = [t for t in ax.texts if t.get_text() == NOT_RUN]
        assert na.get_position()[0] < 0.01 * ax.get_xlim()[1]
        assert len(ax.patches) == 2  # edgeact's and NumPy's bars
    assert panels[1].patches[0].get_width() == pytest.approx(20.0)  # G elements/s


def test_compare_plot_is_a_log2_ratio_chart_coloured_by_direction(tmp_path):
    pytest.importorskip("matplotlib")
    from edgeact.bench.plot import FASTER, SLOWER, plot_compare

    matched = [
        {"key": ["relu6", "float32", "L2", "edgeact"], "a": 2.0, "b": 4.0, "b_over_a": 2.0},
        {"key": ["relu6", "int8", "L2", "numpy"], "a": 2.0, "b": 0.5, "b_over_a": 0.25},
    ]
    path = tmp_path / "c.png"
    figure = plot_compare(matched, path, ("a.json", "b.json"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (ax,) = figure.axes
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert {"0.25×", "0.5×", "1×", "2×", "4×"} <= set(labels)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "relu6 float32 L2 edgeact", "relu6 int8 L2 numpy"]  # fmt: skip
    title = ax.get_title()
    assert "B / A of elements/s" in title and "A = a.json, B = b.json" in title
    assert "green: B faster" in title
    from matplotlib.colors import to_hex

    dots = ax.collections[-1]
    assert [to_hex(c) for c in dots.get_facecolors()] == [FASTER, SLOWER]
    # models: the ratio is of latency, so below 1× is the better side
    models = plot_compare(matched, tmp_path / "m.png", higher_is_better=False)
    assert [to_hex(c) for c in models.axes[0].collections[-1].get_facecolors()] == [SLOWER, FASTER]


@pytest.mark.parametrize(
    ("simd", "arch", "config", "want"),
    [
        (["sse4_2", "avx2", "f16c"], "x86_64", "x8_lut", "xnn_x8_lut_ukernel__avx2_u128"),
        (["sse4_2", "avx2", "f16c"], "x86_64", "f32_hswish", "xnn_f32_vhswish_ukernel__fma3_u16"),
        (["sse4_2", "avx2"], "x86_64", "f32_sigmoid",
         "xnn_f32_vsigmoid_ukernel__avx2_rr1_p5_div_u16"),
        (["sse4_2", "avx2"], "x86_64", "f32_clamp", "xnn_f32_vclamp_ukernel__avx_u16"),
        (["sse4_2", "avx2", "avx512f", "avx512bw", "avx512vbmi"], "x86_64", "x8_lut",
         "xnn_x8_lut_ukernel__avx512vbmi_vpermx2b_u128"),
        (["sse4_2", "avx2", "avx512f", "avx512bw"], "x86_64", "x8_lut",
         "xnn_x8_lut_ukernel__avx512skx_vpshufb_u64"),
        (["avx2", "avx512f", "avx512bw", "avx512vbmi"], "AMD64", "f32_hswish",
         "xnn_f32_vhswish_ukernel__avx512f_u32"),
        (["avx2", "avx512f"], "x86_64", "f32_approxgelu",
         "xnn_f32_vapproxgelu_ukernel__avx512f_rational_12_10_div_u32"),
        ([], "x86_64", "x8_lut", "xnn_x8_lut_ukernel__scalar_u4"),
        (["neon"], "aarch64", "x8_lut", "xnn_x8_lut_ukernel__aarch64_neon_tbx128x4_u64"),
        (["neon", "fp16"], "arm64", "f32_hswish", "xnn_f32_vhswish_ukernel__neon_u16"),
        (["neon"], "aarch64", "f32_sigmoid",
         "xnn_f32_vsigmoid_ukernel__neonfma_rr1_lut64_p2_nr2recps_u16"),
        (["rvv"], "riscv64", "x8_lut", None),
        (["avx2"], "x86_64", "qs8_lrelu", None),
    ],
    ids=["avx2-lut", "avx2-hswish", "avx2-sigmoid", "avx2-clamp", "vbmi-lut", "skx-lut",
         "amd64-hswish", "avx512-gelu", "sse2-lut", "neon-lut", "neon-hswish", "neon-sigmoid",
         "riscv", "no-table"],
)  # fmt: skip
def test_xnnpack_microkernel_derived_from_features(simd, arch, config, want):
    from edgeact.bench import xnnpack

    assert xnnpack.derived_microkernel(config, simd, arch) == want


def test_xnnpack_config_of_each_case():
    from edgeact.bench.xnnpack import config_for

    assert config_for("sigmoid", "int8") == config_for("tanh", "uint8") == "x8_lut"
    assert config_for("gelu_tanh", "float32") == "f32_approxgelu"
    assert config_for("gelu", "float32") == "f32_gelu"
    assert config_for("relu6", "float32") == config_for("hardtanh", "float32") == "f32_clamp"
    assert config_for("hardswish", "int8") is None  # LiteRT runs int8 HARD_SWISH itself
    assert config_for("relu6", "float16") is None and config_for("silu", "float32") is None


def test_report_header_shows_observed_and_derived_where_they_differ():
    lut, clamp = "xnn_x8_lut_ukernel__", "xnn_f32_vclamp_ukernel__avx512f_u32"
    machine = {"xnnpack_microkernels": {
        "relu6 float32": {"config": "f32_clamp", "observed": clamp, "derived": clamp},
        "sigmoid int8": {"config": "x8_lut", "observed": lut + "avx512skx_vpshufb_u64",
                         "derived": lut + "avx512vbmi_vpermx2b_u128"},
        "tanh int8": {"config": "x8_lut", "observed": None, "derived": None},
    }}  # fmt: skip
    lines = report.format_xnnpack(machine).splitlines()
    assert "as selected by XNNPACK's config for these" in " ".join(lines[:3])
    assert lines[3:] == [
        f"  relu6 float32      observed  {clamp}",
        f"  sigmoid int8       observed  {lut}avx512skx_vpshufb_u64",
        f"                     derived   {lut}avx512vbmi_vpermx2b_u128",
        "  tanh int8          derived   unknown (architecture not in the table)",
    ]
    assert report.format_xnnpack({}) == ""


@pytest.mark.xnnpack
def test_xnnpack_microkernels_are_observed_after_a_run():
    """The pointer read from LiteRT's XNNPACK names one of the config's own candidates (garbage
    would not), and the derivation agrees wherever the build has every kernel (float32 here)."""
    import platform

    from edgeact.bench import xnnpack

    if platform.system() != "Linux":
        pytest.skip("observing reads /proc/self/mem: Linux only; the derived name is recorded")
    records = bench.measure_kernels(
        ["hardswish", "sigmoid"], ["float32", "int8"], [4096], peers=["xnnpack"], **TINY
    )
    found = xnnpack.microkernels(records, machine.machine_info())
    # int8 HARD_SWISH runs in LiteRT's builtin kernel, not XNNPACK: no entry
    assert set(found) == {"hardswish float32", "sigmoid float32", "sigmoid int8"}
    for case, entry in found.items():
        prefix, candidates = xnnpack.SELECTION[entry["config"]]
        arch = "aarch64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
        assert entry["observed"] in {prefix + suffix for _, suffix in candidates[arch]}, case
    assert found["hardswish float32"]["observed"] == found["hardswish float32"]["derived"]
