"""The loops run the elements before out's first 64-byte line apart from the rest
(``_loops.line_parts``): the split must end on the line and change no bit."""

import numpy as np
import pytest

from edgeact.kernels import _float32, _half, _loops, scalar

_ELEMENTS = 40_000  # float16: 78 KiB of out, above the size from which the loops split


def _placed(size: int, dtype, past_line: int) -> np.ndarray:
    dtype = np.dtype(dtype)
    raw = np.empty(size * dtype.itemsize + 2 * _loops.LINE_BYTES, np.uint8)
    start = -raw.ctypes.data % _loops.LINE_BYTES + past_line
    return raw[start : start + size * dtype.itemsize].view(dtype)


def _values(size: int, dtype) -> np.ndarray:
    """Normal values over the kernels' interesting range, with zeros, infinities and NaNs."""
    values = np.random.default_rng(7).standard_normal(size) * 8
    values[:40] = np.resize([0.0, -0.0, np.inf, -np.inf, np.nan, 6.0, -3.0, 3.0], 40)
    values[-300::7] = np.nan
    return values.astype(dtype)


@pytest.mark.parametrize("past_line", [0, 4, 16, 48])
def test_the_first_part_ends_at_outs_first_line(past_line):
    x = _placed(_ELEMENTS, np.float32, past_line)
    out = _placed(_ELEMENTS, np.float32, past_line)
    (lo, head), (start, stop) = _loops.line_parts(x, out)
    assert (lo, start, stop) == (0, head, _ELEMENTS)
    assert head == (-past_line % _loops.LINE_BYTES) // 4
    assert (out.ctypes.data + 4 * head) % _loops.LINE_BYTES == 0


def test_no_split_below_the_size_or_off_the_items_grid():
    small = _placed(1000, np.float32, 16)
    assert _loops.line_parts(small, small) == ((0, 0), (0, 1000))
    raw = _placed(4 * _ELEMENTS + 4, np.uint8, 1)
    off_grid = np.ndarray((_ELEMENTS,), np.float32, raw.data)  # 1 byte past a line
    assert _loops.line_parts(off_grid, off_grid)[0] == (0, 0)


def _loop_cases():
    for name in _float32.ELEMENTS:
        yield f"float32 {name}", _float32.float32_loop(name), np.float32, np.float32, ()
    for name in sorted(_half.HALF_ARITHMETIC):
        yield f"float16 {name}", _half.half_loop(name), np.float16, np.uint16, ()
    for name, params in [("elu", (0.7,)), ("gelu", ()), ("leaky_relu", (0.2,))]:
        loop = _loops.map_loop(scalar.ELEMENTS[name], for_float32=True)
        yield f"float64 {name}", loop, np.float32, np.float32, (params,)


_CASES = list(_loop_cases())


@pytest.mark.parametrize("past_line", [4, 16, 48])
@pytest.mark.parametrize(
    ("case", "loop", "dtype", "view", "params"), _CASES, ids=[c[0] for c in _CASES]
)
def test_a_split_loop_gives_the_bits_of_one_on_a_line(case, loop, dtype, view, params, past_line):
    results = {}
    for past in (0, past_line):
        x = _placed(_ELEMENTS, dtype, past)
        x[:] = _values(_ELEMENTS, dtype)
        out = _placed(_ELEMENTS, dtype, past)
        out.view(view)[:] = 0x5555  # an element left unwritten cannot pass
        assert (_loops.line_parts(x.view(view), out.view(view))[0][1] > 0) == (past > 0)
        loop(x.view(view), out.view(view), *params)
        results[past] = out.view(view)
    np.testing.assert_array_equal(results[past_line], results[0])
