"""The public kernels inside users' own ``@njit`` code, through Numba overloads.

``edgeact.kernels.hardswish(x)`` written in a Numba function compiles to the same loops the
array kernel runs (``_loops``, ``_float32``, ``_half``, ``_simd``), so both give the same bits:

    from numba import njit
    import edgeact.kernels as K

    @njit
    def block(x, x_q, y_q):
        return K.hardswish(x), K.leaky_relu(x, negative_slope=0.2)      # float32 / float16
        # or on int8 codes: K.hardswish(q, x_q=x_q, y_q=y_q, compat="onnxruntime")

The signature is the array kernel's with every argument positional-or-keyword (Numba functions
take no keyword-only arguments):
``(x, out=None, x_q=None, y_q=None, compat="tflite", accuracy="fast", **params)``.
Numba decides types at compile time, so a wrong dtype, an ``out`` of another dtype or ``x_q`` on
float input is a ``TypingError`` naming the kernel; a shape mismatch is a ``ValueError`` at run
time. QuantParams are built outside and passed in.

An int8/uint8 table depends on run-time values (the QuantParams' scale and zero point, the
parameters, compat): the first call with each set of them builds it through a callback into
Python and records it in a memo that compiled code searches (``_njit_tables``), so later calls
cost ~0.2 µs on 16 codes. A float16 call with parameters fetches its table in object mode per
call (the default table is compiled in as a constant). In a hot loop over many different values,
build the table once with ``make_lut`` and call ``apply_lut(q, table)``, which has an overload too
and fetches nothing.

Numba's CPU target has no float16 type, so no float16 array could enter a Numba function at all;
``_enable_float16_arrays`` teaches it the type's layout (LLVM ``half``, 2 bytes). That is enough to
pass, allocate, reshape and view float16 arrays, which is all these overloads do; arithmetic on
float16 scalars stays unsupported by Numba.
"""

import functools
import itertools

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.datamodel import default_manager, models
from numba.core.errors import TypingError
from numba.extending import (
    NativeValue,
    box,
    make_attribute_wrapper,
    overload,
    register_model,
    typeof_impl,
    unbox,
)

from edgeact.kernels._checks import ACCURACIES, COMPATS, param_values
from edgeact.kernels._float32 import EXACT, computes_in_float32, float32_loop
from edgeact.kernels._half import HALF_ARITHMETIC, half_loop
from edgeact.kernels._loops import map_loop, overlaps_partly
from edgeact.kernels._njit_tables import (
    PARAM_WORDS,
    build_table,
    compat_index,
    find,
    float_bits,
    float_of,
    memo,
    register_builder,
    table_at,
    tag,
)
from edgeact.kernels._quantized import quantized_table
from edgeact.kernels._simd import fast_table_loop
from edgeact.quant import QuantParams

__all__ = ["QuantParamsType", "generated_function", "overload_apply_lut", "overload_kernel"]

_FLOAT = (types.float32, types.float16)
_CODES = (types.int8, types.uint8)
_HALF_TABLE = types.Array(types.uint16, 1, "C", readonly=True)


def _enable_float16_arrays() -> None:
    """Give Numba's float type model a ``half`` case (see the module docstring)."""
    float_model = default_manager._handlers[types.Float]
    if getattr(float_model, "has_half", False):
        return

    class FloatOrHalfModel(float_model):
        has_half = True

        def __init__(self, dmm, fe_type):
            if fe_type == types.float16:
                models.PrimitiveModel.__init__(self, dmm, fe_type, ir.HalfType())
            else:
                super().__init__(dmm, fe_type)

    default_manager._handlers[types.Float] = FloatOrHalfModel


_enable_float16_arrays()


class QuantParamsType(types.Type):
    """An ``edgeact.QuantParams`` in a Numba function: its scale and zero point as values (so
    compiled code can key a table by them, ``_njit_tables``); its dtype is part of the type."""

    def __init__(self, dtype: types.Integer) -> None:
        self.dtype = dtype
        super().__init__(name=f"QuantParams({dtype})")


@typeof_impl.register(QuantParams)
def _typeof_quant_params(value, context):
    return QuantParamsType(numba.from_dtype(value.dtype))


@register_model(QuantParamsType)
class _QuantParamsModel(models.StructModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, [("scale", types.float64), ("zero_point", types.int64)])


make_attribute_wrapper(QuantParamsType, "scale", "scale")
make_attribute_wrapper(QuantParamsType, "zero_point", "zero_point")


@unbox(QuantParamsType)
def _unbox_quant_params(typ, obj, c):
    params = cgutils.create_struct_proxy(typ)(c.context, c.builder)
    for field, convert in (("scale", c.pyapi.float_as_double),
                           ("zero_point", c.pyapi.long_as_longlong)):  # fmt: skip
        value = c.pyapi.object_getattr_string(obj, field)
        setattr(params, field, convert(value))
        c.pyapi.decref(value)
    failed = cgutils.is_not_null(c.builder, c.pyapi.err_occurred())
    return NativeValue(params._getvalue(), is_error=failed)


@box(QuantParamsType)
def _box_quant_params(typ, value, c):
    """A new QuantParams of the same values (QuantParams compare and hash by value)."""
    params = cgutils.create_struct_proxy(typ)(c.context, c.builder, value=value)
    arguments = (
        c.pyapi.float_from_double(params.scale),
        c.pyapi.long_from_longlong(params.zero_point),
        c.pyapi.unserialize(c.pyapi.serialize_object(np.dtype(str(typ.dtype)))),
    )
    cls = c.pyapi.unserialize(c.pyapi.serialize_object(QuantParams))
    made = c.pyapi.call_function_objargs(cls, arguments)
    for argument in arguments:
        c.pyapi.decref(argument)
    return made


def overload_kernel(kernel, name: str, element, defaults: dict, half_table) -> None:
    """Register the Numba overload of the public ``kernel``; ``half_table(element, values)`` gives
    its float16 table (``_public.float16_table``)."""
    defaults = dict(defaults)
    _register_byte_builders(name, defaults)
    default_values = param_values(name, defaults, {})
    signature = "x, out=None, x_q=None, y_q=None, compat='tflite', accuracy='fast'" + "".join(
        f", {k}={v!r}" for k, v in zip(defaults, default_values, strict=True)
    )
    param_list = "".join(f"{k}, " for k in defaults)
    as_floats = "".join(f"np.float64({k}), " for k in defaults)
    finite_checks = "".join(
        f"    if not np.isfinite({k}):\n"
        f"        raise ValueError('{name}: parameter {k} must be a finite number')\n"
        for k in defaults
    )

    def implement(x, out, x_q, y_q, accuracy, param_types):
        _check_accuracy_type(name, accuracy)
        passed = any(isinstance(t, types.Type) and not _absent(t) for t in param_types)
        compute, result = _compute(name, element, defaults, default_values, half_table,
                                   x, x_q, y_q, passed)  # fmt: skip
        _check_out(name, out, result)
        fill = _filler(
            compute, f"{name}: out must have x's shape", _absent(out) or out.layout == "C"
        )
        y = "np.empty(x.shape, result)" if _absent(out) else "out"
        return generated_function(
            f"def impl({signature}):\n"
            f"{finite_checks}"
            f"    if accuracy != {ACCURACIES[0]!r} and accuracy != {ACCURACIES[1]!r}:\n"
            f"        raise ValueError('{name}: unknown accuracy; choose one of "
            f"{', '.join(ACCURACIES)}')\n"
            f"    y = {y}\n"
            f"    fill(x, y, x_q, y_q, compat, accuracy, ({as_floats}))\n"
            f"    return y\n",
            np=np, fill=fill, result=numba.np.numpy_support.as_dtype(result),
        )  # fmt: skip

    typer = generated_function(
        f"def typer({signature}):\n"
        f"    return implement(x, out, x_q, y_q, accuracy, ({param_list}))\n",
        implement=implement,
    )
    overload(kernel)(typer)


def overload_apply_lut(apply_lut) -> None:
    """``apply_lut(q, table, out=None)`` in Numba code: the hot-loop form of an int8 kernel, with
    the table built once outside (``make_lut``) instead of fetched per call."""

    def typer(q, table, out=None):
        if not isinstance(q, types.Array) or q.dtype not in (*_CODES, types.float16):
            raise TypingError(f"apply_lut: q must be an int8, uint8 or float16 array, got {q}")
        if not isinstance(table, types.Array) or table.ndim != 1:
            raise TypingError(f"apply_lut: table must be a 1-D array, got {table}")
        if table.dtype.bitwidth != q.dtype.bitwidth:
            raise TypingError(
                f"apply_lut: a {q.dtype} array needs a table of its width, got {table}"
            )
        _check_out("apply_lut", out, table.dtype)
        size = 256 if q.dtype.bitwidth == 8 else 1 << 16
        size_error = f"apply_lut: a {q.dtype} array needs a table of {size} entries"
        fill = _filler(_table_compute(q.dtype.bitwidth), "apply_lut: out must have q's shape",
                       _absent(out) or out.layout == "C")  # fmt: skip

        def impl(q, table, out=None):
            if table.size != size:
                raise ValueError(size_error)
            y = np.empty(q.shape, table.dtype) if out is None else out
            fill(q, y, None, None, "", "", np.ascontiguousarray(table))
            return y

        return impl

    overload(apply_lut)(typer)


@functools.cache
def _table_compute(bits: int):
    """compute(...) for a table passed in the ``params`` slot (see ``_filler``)."""
    lookup = _lookup(bits)
    return numba.njit(lambda x, y, x_q, y_q, compat, accuracy, table: lookup(x, table, y))


@functools.cache
def _lookup(bits: int):
    """lookup(x, table, y): y[i] = table[bits of x[i]], 8- or 16-bit, with this CPU's fastest
    loop: the one gather every table path (int8, float16, apply_lut) ends in."""
    codes = np.uint8 if bits == 8 else np.uint16
    _, loop = fast_table_loop(codes)
    return numba.njit(lambda x, table, y: loop(x.view(codes), table.view(codes), y.view(codes)))


def generated_function(source: str, **names):
    """The one function defined by ``source``. Numba matches an overload and its implementation
    by their parameter names, which differ per kernel, so both are generated from the signature."""
    namespace = dict(names)
    exec(source, namespace)
    (function,) = (v for k, v in namespace.items() if k not in names and k != "__builtins__")
    return function


def _compute(name, element, defaults, default_values, half_table, x, x_q, y_q, passed):
    """(compute(x_1d, y_1d, x_q, y_q, compat, accuracy, params), result dtype) for x's type."""
    if not isinstance(x, types.Array):
        raise TypingError(f"{name}: x must be a NumPy array, got {x}")
    quantized = not _absent(x_q) or not _absent(y_q)
    if x.dtype in _FLOAT:
        if quantized:
            raise TypingError(
                f"{name}: x_q/y_q describe int8/uint8 codes, but x is a {x.dtype} array"
            )
        return _float_compute(name, element, half_table, x.dtype, default_values, passed), x.dtype
    if x.dtype not in _CODES:
        raise TypingError(f"{name}: x must be float32, float16, int8 or uint8, not {x.dtype}")
    for label, q in (("x_q", x_q), ("y_q", y_q)):
        if not isinstance(q, QuantParamsType):
            raise TypingError(
                f"{name}: x is an {x.dtype} array; quantized kernels need x_q and y_q "
                f"(edgeact.QuantParams), {label} is {q}"
            )
    if x_q.dtype != x.dtype:
        raise TypingError(f"{name}: x_q.dtype is {x_q.dtype} but x is an {x.dtype} array")
    return _byte_compute(name, tuple(defaults.items()), str(x.dtype), str(y_q.dtype)), y_q.dtype


# The compute and fill functions are cached: each compiles once per process however many call
# sites and layouts use it.
@functools.cache
def _byte_compute(name, default_items, x_dtype, y_dtype):
    """compute(...) for int8/uint8 codes: the table from the memo, or built through the callback
    (``_njit_tables``), by a key of the values it depends on."""
    defaults, lookup = dict(default_items), _lookup(8)
    params = [f"float_bits(params[{i}])" for i in range(len(defaults))]
    key = ", ".join([str(tag(name, x_dtype, y_dtype)), "compat_at", "float_bits(x_q.scale)",
                     "x_q.zero_point", "float_bits(y_q.scale)", "y_q.zero_point", *params,
                     *["0"] * (PARAM_WORDS - len(defaults))])  # fmt: skip
    fetch = numba.njit(
        generated_function(
            "def fetch(x_q, y_q, compat, params):\n"
            "    compat_at = compat_index(compat)\n"
            "    if compat_at < 0:\n"
            "        raise ValueError(unknown_compat)\n"
            f"    key = ({key})\n"
            "    address = find(memo(), key)\n"
            "    if address != 0:\n"
            "        return table_at(address)\n"
            "    table = np.empty(256, np.uint8)\n"
            "    if build_table(key, table) == 0:\n"
            "        raise RuntimeError(not_built)\n"
            "    return table\n",
            np=np, float_bits=float_bits, compat_index=compat_index, find=find, memo=memo,
            table_at=table_at, build_table=build_table,
            unknown_compat=f"{name}: unknown compat; choose one of {', '.join(COMPATS)}",
            not_built=f"{name}: its table could not be built; the same call outside Numba "
                      "raises the reason",
        )
    )  # fmt: skip

    @numba.njit
    def compute(x, y, x_q, y_q, compat, accuracy, params):
        lookup(x, fetch(x_q, y_q, compat, params), y)

    return compute


def _register_byte_builders(name: str, defaults: dict) -> None:
    """How the callback builds ``name``'s table from a key, for each pair of code dtypes."""
    if len(defaults) > PARAM_WORDS:
        raise RuntimeError(
            f"{name} has {len(defaults)} parameters; a table key holds {PARAM_WORDS}"
        )
    for x_dtype, y_dtype in itertools.product(("int8", "uint8"), repeat=2):
        build = functools.partial(_byte_table_of_key, name, defaults, x_dtype, y_dtype)
        register_builder(name, x_dtype, y_dtype, build)


def _byte_table_of_key(name, defaults, x_dtype, y_dtype, key) -> np.ndarray:
    """The table of a key that compiled code built: its compat is known and its parameters
    finite (``fetch`` and the overload checked them), so only the values are read back."""
    x_q = QuantParams(float_of(key[2]), key[3], x_dtype)
    y_q = QuantParams(float_of(key[4]), key[5], y_dtype)
    words = key[6 : 6 + len(defaults)]
    params = tuple((k, float_of(word)) for k, word in zip(defaults, words, strict=True))
    return quantized_table(name, params, x_q, y_q, COMPATS[key[1]])


@functools.cache
def _float_compute(name, element, half_table, dtype, default_values, passed):
    if dtype == types.float32 and name in EXACT:
        loop = float32_loop(name)
        return numba.njit(lambda x, y, x_q, y_q, compat, accuracy, params: loop(x, y))
    if dtype == types.float32:
        exact = map_loop(element, for_float32=True)
        if not computes_in_float32(name, "fast"):
            return numba.njit(lambda x, y, x_q, y_q, compat, accuracy, params: exact(x, y, params))
        fast = float32_loop(name)

        @numba.njit
        def choose(x, y, x_q, y_q, compat, accuracy, params):
            if accuracy == "exact":
                exact(x, y, params)
            else:
                fast(x, y)

        return choose
    if name in HALF_ARITHMETIC:
        loop = half_loop(name)
        return numba.njit(
            lambda x, y, x_q, y_q, compat, accuracy, params: loop(
                x.view(np.uint16), y.view(np.uint16)
            )
        )
    lookup = _lookup(16)
    if not passed:
        table = half_table(element, default_values)
        return numba.njit(lambda x, y, x_q, y_q, compat, accuracy, params: lookup(x, table, y))

    @numba.njit
    def compute(x, y, x_q, y_q, compat, accuracy, params):
        with numba.objmode(table=_HALF_TABLE):
            table = half_table(element, params)
        lookup(x, table, y)

    return compute


def _check_accuracy_type(name, accuracy) -> None:
    if not isinstance(accuracy, (str, types.UnicodeType, types.StringLiteral, types.Omitted)):
        raise TypingError(f"{name}: accuracy must be 'fast' or 'exact', got {accuracy}")


def _check_out(name, out, result) -> None:
    if _absent(out):
        return
    if not isinstance(out, types.Array) or not out.mutable or out.dtype != result:
        raise TypingError(f"{name}: out must be a writable {result} array, got {out}")


def _absent(t) -> bool:
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


@functools.cache
def _filler(compute, shape_error: str, contiguous_out: bool):
    """fill(x, y, ...): y[...] = kernel(x) through ``compute`` on C-contiguous 1-D arrays. A C
    array y is written in place (x copied first where y overlaps it only partly), any other
    computed aside and copied in."""
    if contiguous_out:

        @numba.njit
        def fill(x, y, x_q, y_q, compat, accuracy, params):
            if x.shape != y.shape:
                raise ValueError(shape_error)
            xs, ys = np.ascontiguousarray(x).reshape(x.size), y.reshape(y.size)
            if overlaps_partly(xs, ys):
                xs = xs.copy()
            compute(xs, ys, x_q, y_q, compat, accuracy, params)

        return fill

    @numba.njit
    def fill_aside(x, y, x_q, y_q, compat, accuracy, params):
        if x.shape != y.shape:
            raise ValueError(shape_error)
        ys = np.empty(x.size, y.dtype)
        compute(np.ascontiguousarray(x).reshape(x.size), ys, x_q, y_q, compat, accuracy, params)
        y[...] = ys.reshape(y.shape)

    return fill_aside
