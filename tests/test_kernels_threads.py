"""``threads=``: the same bits as one thread on every path and layout, one thread below the
threshold, and clear errors.

The threshold is lowered for these tests (``small_threshold``) so that arrays of a few thousand
elements are split; ``parts_run`` records the parts each call was cut into, so a test that meant
to run threads fails if it silently ran one.
"""

import multiprocessing
import threading

import numpy as np
import pytest

import edgeact.kernels as K
from edgeact.kernels import _threads
from edgeact.quant import QuantParams

MIN_BYTES = 1024  # per thread: the threshold is twice that
X_Q8, Y_Q8 = QuantParams(0.05, -3, np.int8), QuantParams(1 / 256, -128, np.int8)
X_QU8, Y_QU8 = QuantParams(0.05, 125, np.uint8), QuantParams(0.04, 108, np.uint8)


@pytest.fixture
def small_threshold(monkeypatch):
    monkeypatch.setattr(_threads, "THREADED_BYTES", 2 * MIN_BYTES)


@pytest.fixture
def parts_run(monkeypatch):
    """The (x part, out part) pairs of every ``apply_1d`` call that ``_threads`` made."""
    parts = []
    real = _threads.apply_1d

    def recording(loop, x, out):
        parts.append((x, out))
        real(loop, x, out)

    monkeypatch.setattr(_threads, "apply_1d", recording)
    return parts


def _data(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 256, shape, dtype=np.uint8).view(dtype)
    return (4 * rng.standard_normal(shape)).astype(dtype)


def _bits(a):
    return a.view(f"u{a.dtype.itemsize}")


# Every dispatch path: float32 in float32 (relu6) and in float64 (hardswish, gelu with exp);
# float16 on the bits (relu), in float32 (hardswish) and through the table (sigmoid); int8 and
# uint8 tables.
CASES = [
    ("relu6", np.float32, {}),
    ("hardswish", np.float32, {}),
    ("gelu", np.float32, {}),
    ("relu", np.float16, {}),
    ("hardswish", np.float16, {}),
    ("sigmoid", np.float16, {}),
    ("sigmoid", np.int8, {"x_q": X_Q8, "y_q": Y_Q8}),
    ("hardswish", np.uint8, {"x_q": X_QU8, "y_q": Y_QU8}),
]
IDS = [f"{name}-{np.dtype(dtype).name}" for name, dtype, _ in CASES]


@pytest.mark.usefixtures("small_threshold")
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize(("name", "dtype", "quant"), CASES, ids=IDS)
def test_threads_give_one_threads_bits(name, dtype, quant, threads, parts_run):
    x = _data(dtype, 10_007)  # not a multiple of any vector width or 64-byte line
    one = K.get(name)(x, **quant, threads=1)
    assert len(parts_run) == 1
    many = K.get(name)(x, **quant, threads=threads)
    assert len(parts_run) == 1 + threads
    np.testing.assert_array_equal(_bits(many), _bits(one))


@pytest.mark.usefixtures("small_threshold")
@pytest.mark.parametrize(("name", "dtype", "quant"), CASES, ids=IDS)
def test_in_place(name, dtype, quant, parts_run):
    x = _data(dtype, 9_000)
    want = K.get(name)(x, **quant, threads=1)
    assert K.get(name)(x, x, **quant, threads=2) is x
    assert len(parts_run) == 1 + 2
    np.testing.assert_array_equal(_bits(x), _bits(want))


def _layouts(dtype):
    base = _data(dtype, (40, 60, 4), seed=5)
    return {
        "C": (base, None),
        "Fortran": (np.asfortranarray(base), None),
        "strided 1-d": (base.ravel()[::3], None),
        "reversed": (base.ravel()[::-1], None),
        "strided N-d": (base[::2, 1::2, ::-1], None),
        "transposed": (base.transpose(2, 0, 1), None),
        "C into Fortran out": (base, np.asfortranarray(np.empty_like(base))),
        "one long strided row": (base.reshape(1, -1)[:, ::2], None),
        "strided out": (base.ravel()[:3000], np.empty(6000, base.dtype)[::2]),
    }


@pytest.mark.usefixtures("small_threshold")
@pytest.mark.parametrize("layout", list(_layouts(np.float32)))
@pytest.mark.parametrize(("name", "dtype", "quant"), CASES, ids=IDS)
def test_layouts(name, dtype, quant, layout, parts_run):
    x, out = _layouts(dtype)[layout]
    want = K.get(name)(x, **quant, threads=1)
    got = K.get(name)(x, out, **quant, threads=2)
    assert len(parts_run) > 2, "did not run on two threads"
    assert got.shape == x.shape
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.usefixtures("small_threshold")
def test_contiguous_parts_start_on_a_cache_line_of_out(parts_run):
    holder = np.empty(20_005, np.float32)
    for offset in range(5):  # out at every 4-byte position of a line
        out = holder[offset : offset + 20_000]
        parts_run.clear()
        K.relu6(_data(np.float32, 20_000), out, threads=3)
        starts = [o.__array_interface__["data"][0] for _, o in parts_run]
        assert len(starts) == 3 and all(s % 64 == 0 for s in starts[1:]), offset
        assert sum(o.size for _, o in parts_run) == out.size


@pytest.mark.usefixtures("small_threshold")
def test_table_and_integer_kernels_take_threads(parts_run):
    q = _data(np.int8, 10_000)
    table = K.make_lut("silu", X_Q8, Y_Q8)
    np.testing.assert_array_equal(
        K.apply_lut(q, table, threads=2), K.apply_lut(q, table, threads=1)
    )
    half = _data(np.float16, 10_000)
    half_table = K.make_lut("gelu", np.float16)
    np.testing.assert_array_equal(
        _bits(K.apply_lut(half, half_table, threads=2)),
        _bits(K.apply_lut(half, half_table, threads=1)),
    )
    for kernel in (K.gelu_poly_int, K.silu_poly_int):
        one = kernel(q, X_Q8, Y_Q8, threads=1)
        np.testing.assert_array_equal(kernel(q, X_Q8, Y_Q8, threads=2), one)
    assert len(parts_run) == 4 * (1 + 2)  # one part with one thread, two with two


def test_below_the_threshold_no_pool_is_used(monkeypatch):
    def no_pool(loop, parts):
        raise AssertionError("the pool was used below the threshold")

    monkeypatch.setattr(_threads, "_submit", no_pool)
    largest_one_thread = _threads.THREADED_BYTES // 4 - 1  # float32 elements
    x = _data(np.float32, largest_one_thread)
    np.testing.assert_array_equal(K.relu6(x, threads=8), K.relu6(x, threads=1))
    q = _data(np.int8, _threads.THREADED_BYTES - 1)
    K.sigmoid(q, x_q=X_Q8, y_q=Y_Q8, threads=8)
    with pytest.raises(AssertionError, match="pool was used"):
        K.sigmoid(np.concatenate([q, q[:1]]), x_q=X_Q8, y_q=Y_Q8, threads=2)


@pytest.mark.usefixtures("small_threshold")
def test_none_means_numbas_thread_count(monkeypatch, parts_run):
    monkeypatch.setattr(_threads.numba_config, "NUMBA_NUM_THREADS", 3)
    K.hardswish(_data(np.float32, 10_000))
    assert len(parts_run) == 3
    monkeypatch.setattr(_threads.numba_config, "NUMBA_NUM_THREADS", 1)
    K.hardswish(_data(np.float32, 10_000))
    assert len(parts_run) == 3 + 1


@pytest.mark.usefixtures("small_threshold")
def test_one_part_per_threshold_at_most(parts_run):
    K.relu6(_data(np.float32, 3 * MIN_BYTES // 4), threads=8)  # three threads' minimum worth
    assert len(parts_run) == 3


@pytest.mark.parametrize(
    ("threads", "error", "message"),
    [
        (0, ValueError, "threads must be >= 1"),
        (-2, ValueError, "threads must be >= 1"),
        (1.5, TypeError, "threads must be an int >= 1 or None, got 1.5"),
        (True, TypeError, "threads must be an int >= 1 or None, got True"),
        ("2", TypeError, "threads must be an int >= 1 or None, got '2'"),
    ],
)
def test_bad_thread_counts(threads, error, message):
    x = np.zeros(4, np.float32)
    with pytest.raises(error, match=f"hardswish: {message}"):
        K.hardswish(x, threads=threads)
    q = np.zeros(4, np.int8)
    with pytest.raises(error, match=f"apply_lut: {message}"):
        K.apply_lut(q, K.make_lut("relu6", X_Q8, Y_Q8), threads=threads)
    with pytest.raises(error, match=f"gelu_poly_int: {message}"):
        K.gelu_poly_int(q, X_Q8, Y_Q8, threads=threads)


def test_numpy_integer_thread_counts_are_taken():
    x = _data(np.float32, 100)
    np.testing.assert_array_equal(K.relu6(x, threads=np.int64(2)), K.relu6(x))


@pytest.mark.usefixtures("small_threshold")
def test_a_workers_error_is_raised_in_the_caller_after_every_part_finished():
    caller, finished = threading.get_ident(), []

    def loop(x, out):
        if threading.get_ident() != caller:
            raise ZeroDivisionError("in a worker")
        out[:] = x
        finished.append(x.size)

    x = np.arange(10_000, dtype=np.float32)
    out = np.zeros_like(x)
    with pytest.raises(ZeroDivisionError, match="in a worker"):
        _threads.apply_threads(loop, x, out, 2)
    assert len(finished) == 1 and out[: finished[0]].tolist() == x[: finished[0]].tolist()


def _threaded_relu6_in_child(queue):
    x = _data(np.float32, 10_000)
    queue.put(np.array_equal(K.relu6(x, threads=2), K.relu6(x, threads=1)))


@pytest.mark.usefixtures("small_threshold")
def test_a_forked_child_gets_its_own_pool():
    """The parent's pool threads do not exist in a forked child; using its pool there would
    wait forever."""
    K.relu6(_data(np.float32, 10_000), threads=2)  # the parent's pool is running
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_threaded_relu6_in_child, args=(queue,), daemon=True)
    child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
        child.join()
    assert child.exitcode == 0, "the child hung or failed"
    assert queue.get(timeout=1) is True


@pytest.mark.usefixtures("small_threshold")
def test_callers_on_several_threads_share_the_pool_while_it_grows():
    x = _data(np.float32, 20_000)
    want = K.hardswish(x, threads=1)
    failures = []

    def caller(threads):
        try:
            for _ in range(20):
                if not np.array_equal(K.hardswish(x, threads=threads), want):
                    failures.append(f"{threads} threads: other bits")
        except Exception as error:  # e.g. submitting to a pool that was shut down
            failures.append(f"{threads} threads: {error!r}")

    callers = [threading.Thread(target=caller, args=(n,)) for n in (2, 3, 4, 5, 6)]
    for c in callers:
        c.start()
    for c in callers:
        c.join()
    assert not failures
