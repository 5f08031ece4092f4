"""The public array kernels: argument checks and dispatch in Python, all work in compiled loops.

- float32 computes in float32 where ``_float32`` has the activation (within 2 ulp, 16 lanes per
  AVX-512 vector); elsewhere, and with ``accuracy="exact"``, it runs the element function in a
  vectorised loop (float64 inside, rounded once, within 1 ulp; its exponential only as accurate
  as float32 needs, see ``_fastmath``).
- float16 runs through a 65 536-entry table holding the element function's float64 result for
  every float16 code, rounded once by NumPy's correctly rounded double-to-half conversion: one
  gather per element, as accurate as the float64 arithmetic, and the input is never converted.
  relu, relu6, hardsigmoid and hardswish compute in float32 instead (``_half``), with the same
  results, where the CPU converts float16 in hardware.
- int8/uint8 run through a 256-entry table computed by the arithmetic of the runtime named by
  ``compat`` (see ``edgeact.kernels._quantized``).
"""

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from edgeact.kernels import _threads
from edgeact.kernels._checks import (
    Accuracy,
    Compat,
    check_accuracy,
    check_array,
    check_compat,
    check_quant_params,
    checked_out,
    param_values,
)
from edgeact.kernels._float32 import computes_in_float32, float32_loop
from edgeact.kernels._half import HALF_ARITHMETIC, half_loop
from edgeact.kernels._loops import map_loop, unaliased
from edgeact.kernels._plan import Plan, Plans, table_c_loop, unary_c_loop, with_params_c_loop
from edgeact.kernels._quantized import TRACKED_RUNTIMES, quantized_table
from edgeact.kernels._simd import byte_lut_loop, half_lut_loop
from edgeact.kernels._threads import apply_threads, check_threads
from edgeact.quant import QuantParams

__all__ = [
    "DEFAULT_ACCURACY",
    "DEFAULT_COMPAT",
    "Accuracy",
    "Compat",
    "Kernel",
    "float16_table",
    "make_kernel",
    "run_table",
]

DEFAULT_COMPAT: Compat = "tflite"
DEFAULT_ACCURACY: Accuracy = "fast"
_FLOAT16, _CODES8, _CODES16 = np.dtype(np.float16), np.dtype(np.uint8), np.dtype(np.uint16)


class Kernel(Protocol):
    """The type of every public kernel, e.g. ``edgeact.kernels.hardswish``: x (float32, float16,
    or int8/uint8 codes with x_q and y_q) in, an array of the result's dtype out; ``threads`` for
    large arrays (``_threads``)."""

    __name__: str

    def __call__(
        self,
        x: np.ndarray,
        out: np.ndarray | None = None,
        *,
        x_q: QuantParams | None = None,
        y_q: QuantParams | None = None,
        compat: Compat = "tflite",
        accuracy: Accuracy = "fast",
        threads: int | None = None,
        **params: float,
    ) -> np.ndarray: ...


def make_kernel(
    name: str, element: Callable[..., float], params: Mapping[str, float], formula: str
) -> Kernel:
    """Build the public kernel ``name(x, out=None, *, x_q, y_q, compat, accuracy, threads,
    **params)``.

    Small arrays are common in inference, so a repeated call skips the checks and the dispatch:
    the first call's checked arguments become a ``Plan``, which later calls with the same
    arguments run directly (``_plan``).
    """
    defaults = dict(params)
    default_values = param_values(name, defaults, {})
    default_pairs = tuple(zip(defaults, default_values, strict=True))
    plans = Plans(name)
    gate = plans.gate

    def kernel(
        x: np.ndarray,
        out: np.ndarray | None = None,
        *,
        x_q: QuantParams | None = None,
        y_q: QuantParams | None = None,
        compat: Compat = DEFAULT_COMPAT,
        accuracy: Accuracy = DEFAULT_ACCURACY,
        threads: int | None = None,
        **kwargs: float,
    ) -> np.ndarray:
        if not kwargs:  # the short path: see _plan
            result = gate(x, out, x_q, y_q, compat, accuracy, threads, _threads.THREADED_BYTES)
            if result is None and type(x) is np.ndarray:
                result = plans.call(x, out, x_q, y_q, compat, accuracy, threads)
            if result is not None:
                return result
        values = param_values(name, defaults, kwargs) if kwargs else default_values
        check_array(name, x)
        check_compat(name, compat)
        check_accuracy(name, accuracy)
        check_quant_params(name, x, x_q, y_q)
        if threads is not None:
            check_threads(name, threads)
        chosen_by = (x.dtype, x_q, y_q, compat, accuracy)
        plan = None if kwargs else plans.find(chosen_by)
        if plan is None:
            pairs = tuple(zip(defaults, values, strict=True)) if kwargs else default_pairs
            plan = _plan(name, element, chosen_by, pairs, short_path=not kwargs)
        fresh = out is None
        out = checked_out(name, x, plan.out_dtype, out)
        if not fresh:  # a new out cannot overlap x
            x = unaliased(x, out)
        plan.run(x, out, threads)
        plans.remember(plan)  # a plan without a C loop (parameters given) is not kept
        return out

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = _docstring(name, formula, defaults)
    kernel.__signature__ = _signature(defaults)
    kernel.__annotations__ = {
        **{p.name: p.annotation for p in kernel.__signature__.parameters.values()},
        "return": np.ndarray,
    }
    return kernel


def run_table(x: np.ndarray, table: np.ndarray, out: np.ndarray, threads: int | None) -> np.ndarray:
    """out[...] = table[code of x[...]], over 8- or 16-bit codes, on up to ``threads`` threads;
    returns out. x must not overlap out partly (see ``unaliased``)."""
    if x.dtype.itemsize == 1:
        bytes_in, bytes_out = x.view(_CODES8), out.view(_CODES8)
        apply_threads(lambda a, b: byte_lut_loop(a, table, b), bytes_in, bytes_out, threads)
    else:
        halves_in, halves_out = x.view(_CODES16), out.view(_CODES16)
        apply_threads(lambda a, b: half_lut_loop(a, table, b), halves_in, halves_out, threads)
    return out


def _plan(name, element, chosen_by: tuple, pairs, *, short_path: bool) -> Plan:
    """What ``name`` runs for the checked arguments ``chosen_by`` = (x.dtype, x_q, y_q, compat,
    accuracy) and parameters ``pairs`` (module docstring); its C loop only with ``short_path``
    (no parameters given: the only plans remembered). A parameterised float32 plan's C loop has
    its values compiled in, ~0.12 s for each new value."""
    dtype, x_q, y_q, compat, accuracy = chosen_by
    values = tuple(value for _, value in pairs)
    constant, out_dtype = None, dtype
    if x_q is not None:
        table = quantized_table(name, pairs, x_q, y_q, compat)
        run = functools.partial(_run_table, table)
        c_loop, constant, out_dtype = functools.partial(table_c_loop, np.uint8), table, y_q.dtype
    elif dtype == _FLOAT16 and name in HALF_ARITHMETIC:
        loop = half_loop(name)
        run = functools.partial(_run_on_codes, loop)
        c_loop = functools.partial(unary_c_loop, f"half_{name}", loop, np.uint16)
    elif dtype == _FLOAT16:
        table = float16_table(element, values)
        run = functools.partial(_run_table, table)
        c_loop, constant = functools.partial(table_c_loop, np.uint16), table
    elif computes_in_float32(name, accuracy):
        loop = float32_loop(name)
        run = functools.partial(apply_threads, loop)
        c_loop = functools.partial(unary_c_loop, f"float32_{name}", loop)
    else:
        loop = map_loop(element, for_float32=True)
        run = functools.partial(_run_with_params, loop, values)
        c_loop = functools.partial(with_params_c_loop, element.py_func.__name__, loop, values)
    return Plan(run, c_loop() if short_path else None, constant, out_dtype, chosen_by)


def _run_table(table, x, out, threads) -> None:
    run_table(x, table, out, threads)


def _run_on_codes(loop, x, out, threads) -> None:
    apply_threads(loop, x.view(_CODES16), out.view(_CODES16), threads)


def _run_with_params(loop, values, x, out, threads) -> None:
    apply_threads(lambda a, b: loop(a, b, values), x, out, threads)


@functools.lru_cache(maxsize=128)
def float16_table(element: Callable[..., float], values: tuple[float, ...]) -> np.ndarray:
    """The float16 result bits of ``element`` for all 65 536 float16 codes (read-only, cached)."""
    with np.errstate(over="ignore", invalid="ignore"):  # NaN codes and results beyond float16's
        inputs = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)
        results = np.empty(inputs.size, dtype=np.float64)
        map_loop(element)(inputs, results, values)
        table = results.astype(np.float16).view(np.uint16)  # range are what they should be
    table.flags.writeable = False
    return table


def _docstring(name, formula, defaults) -> str:
    described = ", ".join(f"{k}={v}" for k, v in defaults.items()) or "none"
    note = "" if computes_in_float32(name, "fast") else " (no float32 loop yet: as 'exact')"
    litert, ort = TRACKED_RUNTIMES["tflite"].version, TRACKED_RUNTIMES["onnxruntime"].version
    return (
        f"{name}(x) = {formula}, element-wise.\n\n"
        f"x: an array of any shape and layout: float32, float16, or int8/uint8 codes with\n"
        f"quantization parameters x_q and y_q (edgeact.QuantParams). out: optional array for the\n"
        f"result (may be x itself). Parameters: {described}.\n"
        f"compat: whose int8 arithmetic to reproduce bit for bit: 'tflite' (LiteRT {litert}'s\n"
        f"builtin kernels, the default), 'xnnpack' (LiteRT {litert}'s default delegate) or\n"
        f"'onnxruntime' (ONNX Runtime {ort}, QDQ); see edgeact.kernels.TRACKED_RUNTIMES.\n"
        f"accuracy (float32 only): 'fast', the default, computes in float32, within 2 ulp of the\n"
        f"float64 result{note}; 'exact' computes in float64 and rounds once, within 1 ulp.\n"
        f"threads: the most threads to use (default None: numba.config.NUMBA_NUM_THREADS);\n"
        f"arrays under {_threads.THREADED_BYTES >> 20} MiB run on one. Every count gives the same "
        f"bits.\n"
        f"float16 is the float64 result rounded to nearest."
    )


def _signature(defaults) -> inspect.Signature:
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    keyword = inspect.Parameter.KEYWORD_ONLY
    optional_array, optional_params = np.ndarray | None, QuantParams | None
    return inspect.Signature(
        [
            inspect.Parameter("x", positional, annotation=np.ndarray),
            inspect.Parameter("out", positional, default=None, annotation=optional_array),
            inspect.Parameter("x_q", keyword, default=None, annotation=optional_params),
            inspect.Parameter("y_q", keyword, default=None, annotation=optional_params),
            inspect.Parameter("compat", keyword, default=DEFAULT_COMPAT, annotation=Compat),
            inspect.Parameter("accuracy", keyword, default=DEFAULT_ACCURACY, annotation=Accuracy),
            inspect.Parameter("threads", keyword, default=None, annotation=int | None),
            *(
                inspect.Parameter(k, keyword, default=v, annotation=float)
                for k, v in defaults.items()
            ),
        ],
        return_annotation=np.ndarray,
    )
