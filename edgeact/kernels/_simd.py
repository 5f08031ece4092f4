"""SIMD table lookups for the int8/uint8 and float16 kernels, chosen at run time by CPU features.

A plain Numba loop does one scalar load per element from the table (~3-3.6 G elements/s here;
LLVM does not emit gather instructions for it on this CPU, its cost model finds them slower).
Numba cannot express the faster forms, so those loops are written in LLVM IR through intrinsics:

- 256-entry byte tables: x86 CPUs with AVX-512 VBMI have a two-register byte permute,
  ``vpermi2b``: two of them cover the table for 64 elements at once (low and high half, picked by
  each index's top bit): ~7× the scalar loop.
- 65 536-entry float16 tables: AVX-512F ``vpgatherdd`` fetches 16 entries at once, reading each as
  4 bytes at byte offset 2·code and keeping the low half (x86 is little-endian). Code 0xFFFF reads
  entries 65 534-65 535 and keeps the high half, so nothing past the table is read: 1.25× the
  scalar loop at L2 sizes, 1.4× at DRAM sizes.

Elsewhere (ARM, older x86, a ``NUMBA_CPU_NAME=generic`` build: see ``_cpu``), and whenever
``EDGEACT_PORTABLE=1`` is set, the portable loop runs instead, so every code path can be tested on
any machine.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact.kernels._cpu import has
from edgeact.kernels._loops import lut_loop, specialise

__all__ = [
    "BYTE_LUT_IMPLEMENTATION",
    "HALF_LUT_IMPLEMENTATION",
    "byte_lut_loop",
    "fast_byte_loop",
    "fast_half_loop",
    "half_lut_loop",
]

_BLOCK = 64
_VECTOR = ir.VectorType(ir.IntType(8), _BLOCK)
_VECTOR_PTR = _VECTOR.as_pointer()
_HALF_BLOCK = 16
_HALVES = ir.VectorType(ir.IntType(16), _HALF_BLOCK)
_WORDS = ir.VectorType(ir.IntType(32), _HALF_BLOCK)
_LAST_CODE = 0xFFFF


def _blockwise(name: str, vector: ir.VectorType, setup):
    """An intrinsic ``(codes, table, out, blocks)``: out[bk:bk+b] = lookup(codes[bk:bk+b]) for
    k < blocks, b = vector.count, over contiguous arrays. ``setup(builder, table_ptr)`` emits what
    the loop reuses (table registers, constants) and returns ``lookup(builder, codes_vector)``."""

    code = getattr(types, f"uint{vector.element.width}")

    def typed_as_assumed(a) -> bool:
        return isinstance(a, types.Array) and (a.dtype, a.ndim, a.layout) == (code, 1, "C")

    def blocks_of(typingctx, codes, table, out, blocks):
        """Typed only for what the IR assumes: C-contiguous 1-D arrays of the vector's unsigned
        element type (any other argument is a typing error, not a wild load) and an integer."""
        if not all(map(typed_as_assumed, (codes, table, out))) or not out.mutable:
            return None
        if not isinstance(blocks, types.Integer):
            return None
        sig = types.void(codes, table, out, types.intp)

        def codegen(context, builder, signature, args):
            codes_ptr, table_ptr, out_ptr = (
                context.make_array(t)(context, builder, v).data
                for t, v in zip(signature.args[:3], args[:3], strict=True)
            )
            lookup = setup(builder, table_ptr)
            vector_ptr = vector.as_pointer()
            with cgutils.for_range(builder, args[3]) as loop:
                offset = builder.mul(loop.index, ir.Constant(loop.index.type, vector.count))
                src = builder.bitcast(builder.gep(codes_ptr, [offset]), vector_ptr)
                entries = lookup(builder, builder.load(src, align=1))
                dst = builder.bitcast(builder.gep(out_ptr, [offset]), vector_ptr)
                builder.store(entries, dst, align=1)
            return context.get_dummy_value()

        return sig, codegen

    blocks_of.__name__ = blocks_of.__qualname__ = name
    return intrinsic(blocks_of)


def _vpermi2b_setup(builder, table_ptr):
    """The 256-byte table in four registers; each lookup is two two-register byte permutes."""
    quarters = [
        builder.load(
            builder.bitcast(builder.gep(table_ptr, [ir.Constant(ir.IntType(64), k)]), _VECTOR_PTR),
            align=1,
        )
        for k in range(0, 256, _BLOCK)
    ]
    permute = builder.module.declare_intrinsic(
        "llvm.x86.avx512.vpermi2var.qi.512", fnty=ir.FunctionType(_VECTOR, [_VECTOR] * 3)
    )

    def lookup(builder, index):
        low = builder.call(permute, [quarters[0], index, quarters[1]])
        high = builder.call(permute, [quarters[2], index, quarters[3]])
        upper_half = builder.icmp_signed("<", index, ir.Constant(_VECTOR, None))
        return builder.select(upper_half, high, low)

    return lookup


def _gather_half_setup(builder, table_ptr):
    """16 table entries per ``vpgatherdd``, each read as the 4 bytes at 2·code (see above)."""
    bytes_ptr = ir.IntType(8).as_pointer()
    lanes = ir.VectorType(ir.IntType(1), _HALF_BLOCK)
    gather = builder.module.declare_intrinsic(
        "llvm.x86.avx512.mask.gather.dpi.512",
        fnty=ir.FunctionType(_WORDS, [_WORDS, bytes_ptr, _WORDS, lanes, ir.IntType(32)]),
    )
    every_lane = ir.Constant(lanes, [1] * _HALF_BLOCK)
    last = ir.Constant(_WORDS, [_LAST_CODE] * _HALF_BLOCK)
    one_before_last = ir.Constant(_WORDS, [_LAST_CODE - 1] * _HALF_BLOCK)
    table_bytes = builder.bitcast(table_ptr, bytes_ptr)

    def lookup(builder, codes):
        index = builder.zext(codes, _WORDS)
        is_last = builder.icmp_unsigned("==", index, last)
        safe_index = builder.select(is_last, one_before_last, index)
        scale = ir.Constant(ir.IntType(32), 2)
        pairs = builder.call(
            gather, [ir.Constant(_WORDS, None), table_bytes, safe_index, every_lane, scale]
        )
        high = builder.lshr(pairs, ir.Constant(_WORDS, [16] * _HALF_BLOCK))
        return builder.trunc(builder.select(is_last, high, pairs), _HALVES)

    return lookup


_vpermi2b_blocks = _blockwise("_vpermi2b_blocks", _VECTOR, _vpermi2b_setup)
_gather_half_blocks = _blockwise("_gather_half_blocks", _HALVES, _gather_half_setup)


def _blocked_template(codes, table, out):
    blocks = codes.size // _block  # noqa: F821 - bound by specialise
    _blocks_of(codes, table, out, blocks)  # noqa: F821
    for i in range(blocks * _block, codes.size):  # noqa: F821
        out[i] = table[codes[i]]


_vbmi_lut_loop = specialise(
    _blocked_template, "vpermi2b", _block=_BLOCK, _blocks_of=_vpermi2b_blocks
)
_avx512_half_lut_loop = specialise(
    _blocked_template, "gather_half", _block=_HALF_BLOCK, _blocks_of=_gather_half_blocks
)


def _choose(feature: str, fast_loop):
    """(name, loop): the loop for ``feature`` where ``_cpu.has`` allows it, else portable."""
    return (feature, fast_loop) if has(feature) else ("portable", lut_loop)


BYTE_LUT_IMPLEMENTATION, fast_byte_loop = _choose("avx512vbmi", _vbmi_lut_loop)
HALF_LUT_IMPLEMENTATION, fast_half_loop = _choose("avx512f", _avx512_half_lut_loop)


def _run(fast_loop, codes, table, out) -> None:
    if codes.flags.c_contiguous and out.flags.c_contiguous and table.flags.c_contiguous:
        fast_loop(codes, table, out)
    else:
        lut_loop(codes, table, out)


def byte_lut_loop(codes, table, out) -> None:
    """out[i] = table[codes[i]] over uint8 views, with the fastest loop this CPU has."""
    _run(fast_byte_loop, codes, table, out)


def half_lut_loop(codes, table, out) -> None:
    """out[i] = table[codes[i]] over uint16 views and a 65 536-entry table, likewise."""
    _run(fast_half_loop, codes, table, out)
