"""SIMD table lookups for the int8/uint8 and float16 kernels, chosen at run time by CPU features.

A plain Numba loop does one scalar load per element from the table (~4-5 G elements/s here;
LLVM does not emit gather instructions for it on this CPU, its cost model finds them slower).
Numba cannot express the faster forms, so those loops are written in LLVM IR through intrinsics.

256-entry byte tables (``BYTE_LOOPS``, best first):

- ``avx512vbmi``: the two-register byte permute ``vpermi2b``; two of them cover the table for 64
  codes at once (low and high half, picked by each code's top bit): 6-11× the scalar loop.
- ``avx512bw`` (64 codes) and ``avx2`` (32 codes): ``vpshufb`` looks up 16-byte rows only, so
  all sixteen rows are looked up with the codes' low four bits and a tree of 15 byte selects
  keeps each code's row (``_pshufb_setup``). The shuffles are the limit, however the rows are
  combined: AVX-512BW at 5.3-6.2× the scalar loop at L2 and DRAM sizes. AVX2 looks up only 32
  codes per 16 shuffles, so each block of 40 codes sends 8 through scalar loads, which use the
  load ports the shuffles leave idle: 3.3-3.6× the scalar loop, where XNNPACK's technique (its
  x8-lut AVX2 kernel, 16 shuffles over XOR-telescoped rows) ran at 2.6-3.2× in the same runs.
  Going further would need fewer than 16 shuffles per 32 codes, which ``vpshufb``'s 16-byte
  reach does not allow.
- ``neon`` (AArch64, 16 codes): ``tbl`` over four registers looks up 64 bytes, and three ``tbx``
  fill in the other quarters of the table.

65 536-entry float16 tables (``HALF_LOOPS``): ``avx512f`` (16 lanes) and ``avx2`` (8 lanes)
``vpgatherdd`` fetch one entry per lane, reading each as 4 bytes at byte offset 2·code and keeping
the low half (x86 is little-endian). Code 0xFFFF reads entries 65 534-65 535 and keeps the high
half, so nothing past the table is read. They are chosen on Intel CPUs only: there they ran at
1.25× the scalar loop at L2 sizes and 1.4× at DRAM sizes (Xeon, earlier measurement), while on
this AMD EPYC (Zen 5) they run at 0.7-0.85× it on normally distributed values and 1.0× on uniform
codes (L2 and DRAM sizes, interleaved). AArch64 has no gather instruction; the portable loop runs
there.

The best path this process may use (``_cpu.has``) is chosen at import; ``EDGEACT_BYTE_LUT`` /
``EDGEACT_HALF_LUT`` name one instead (benchmarks, tests), and ``EDGEACT_PORTABLE=1`` turns all
but the portable loop off, so every path can be timed and tested where the CPU has it.
"""

import os
from collections.abc import Callable

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact.kernels._cpu import has, is_intel
from edgeact.kernels._loops import lut_loop, specialise

__all__ = [
    "BYTE_LOOPS",
    "BYTE_LUT_IMPLEMENTATION",
    "HALF_LOOPS",
    "HALF_LUT_IMPLEMENTATION",
    "byte_lut_loop",
    "fast_byte_loop",
    "fast_half_loop",
    "fast_table_loop",
    "half_lut_loop",
]

_BYTE = ir.IntType(8)
_ROW = ir.VectorType(_BYTE, 16)
_LAST_CODE = 0xFFFF


def _bytes(count: int) -> ir.VectorType:
    return ir.VectorType(_BYTE, count)


def _splat(vector: ir.VectorType, value: int) -> ir.Constant:
    return ir.Constant(vector, [value] * vector.count)


def _load(builder, pointer, offset: int, vector: ir.VectorType):
    """The ``vector`` at element ``offset`` of ``pointer``, unaligned."""
    at = builder.gep(pointer, [ir.Constant(ir.IntType(64), offset)])
    return builder.load(builder.bitcast(at, vector.as_pointer()), align=1)


def _declare(builder, name: str, result, *arguments):
    return builder.module.declare_intrinsic(name, fnty=ir.FunctionType(result, arguments))


def _blockwise(name: str, vector: ir.VectorType, setup, scalar_share: int = 0):
    """An intrinsic ``(codes, table, out, blocks)``: out[bk:bk+b] = lookup(codes[bk:bk+b]) for
    k < blocks, b = vector.count + ``scalar_share``, over contiguous arrays. ``setup(builder,
    table_ptr)`` emits what the loop reuses (table registers, constants) and returns
    ``lookup(builder, codes_vector)``, which takes the first vector.count codes of a block; the
    other ``scalar_share`` go through scalar loads, which run on the load ports while the
    vector lookup keeps the shuffle units busy (the AVX2 path: see the module docstring)."""

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
                block = vector.count + scalar_share
                offset = builder.mul(loop.index, ir.Constant(loop.index.type, block))
                src = builder.bitcast(builder.gep(codes_ptr, [offset]), vector_ptr)
                entries = lookup(builder, builder.load(src, align=1))
                dst = builder.bitcast(builder.gep(out_ptr, [offset]), vector_ptr)
                builder.store(entries, dst, align=1)
                for k in range(vector.count, block):
                    at = builder.add(offset, ir.Constant(offset.type, k))
                    index = builder.zext(builder.load(builder.gep(codes_ptr, [at])), offset.type)
                    entry = builder.load(builder.gep(table_ptr, [index]))
                    builder.store(entry, builder.gep(out_ptr, [at]))
            return context.get_dummy_value()

        return sig, codegen

    blocks_of.__name__ = blocks_of.__qualname__ = name
    return intrinsic(blocks_of)


def _vpermi2b_setup(builder, table_ptr):
    """The 256-byte table in four registers; each lookup is two two-register byte permutes."""
    vector = _bytes(64)
    quarters = [_load(builder, table_ptr, k, vector) for k in range(0, 256, 64)]
    permute = _declare(builder, "llvm.x86.avx512.vpermi2var.qi.512", vector, *[vector] * 3)

    def lookup(builder, index):
        low = builder.call(permute, [quarters[0], index, quarters[1]])
        high = builder.call(permute, [quarters[2], index, quarters[3]])
        upper_half = builder.icmp_signed("<", index, ir.Constant(vector, None))
        return builder.select(upper_half, high, low)

    return lookup


def _pshufb_setup(shuffle: str, width: int):
    """Setup for ``vpshufb`` (intrinsic ``shuffle`` on ``width`` bytes), which gives row[i & 15]
    of a 16-byte row in every 128-bit lane (for index bytes below 128).

    Each of the table's 16 rows is looked up with the code's low four bits, then a tree of byte
    selects keeps row ``code >> 4``: 8 selects on bit 4, 4 on bit 5, 2 on bit 6, 1 on bit 7, each
    reading its bit as the sign of the code shifted left (``vpblendvb``, or a mask register on
    AVX-512). 16 shuffles and 15 selects, against 16 shuffles and 30 subtractions and XORs of
    the telescoped rows in XNNPACK's x8-lut kernels (``src/x8-lut/avx2.c.in``): as fast on its
    own, the shuffles being the limit, but it leaves room for the scalar share of a block.
    """
    vector = _bytes(width)
    every_lane = ir.Constant(ir.VectorType(ir.IntType(32), width), [i % 16 for i in range(width)])

    def setup(builder, table_ptr):
        pshufb = _declare(builder, shuffle, vector, vector, vector)
        rows = [
            builder.shuffle_vector(
                _load(builder, table_ptr, 16 * k, _ROW), ir.Constant(_ROW, None), every_lane
            )
            for k in range(16)
        ]
        low_bits = _splat(vector, 15)

        def lookup(builder, index):
            low = builder.and_(index, low_bits)
            candidates = [builder.call(pshufb, [row, low]) for row in rows]
            for bit in (4, 5, 6, 7):
                at_sign = builder.shl(index, _splat(vector, 7 - bit)) if bit < 7 else index
                set_ = builder.icmp_signed("<", at_sign, ir.Constant(vector, None))
                candidates = [
                    builder.select(set_, candidates[j + 1], candidates[j])
                    for j in range(0, len(candidates), 2)
                ]
            return candidates[0]

        return lookup

    return setup


def _tbl_setup(builder, table_ptr):
    """The table in 16 NEON registers, four per 64-byte quarter. ``tbl`` gives 0 for an index
    past its 64 bytes and ``tbx`` keeps what was there, so quarter q looks up with the code minus
    64q (wrapping: codes below 64q wrap to ≥ 64 too) and fills in exactly its own codes."""
    quarters = [
        [_load(builder, table_ptr, 64 * q + 16 * r, _ROW) for r in range(4)] for q in range(4)
    ]
    tbl = _declare(builder, "llvm.aarch64.neon.tbl4.v16i8", _ROW, *[_ROW] * 5)
    tbx = _declare(builder, "llvm.aarch64.neon.tbx4.v16i8", _ROW, *[_ROW] * 6)
    sixty_four = _splat(_ROW, 64)

    def lookup(builder, index):
        entries = builder.call(tbl, [*quarters[0], index])
        for quarter in quarters[1:]:
            index = builder.sub(index, sixty_four)
            entries = builder.call(tbx, [entries, *quarter, index])
        return entries

    return lookup


def _gather_half_setup(gather: str, lanes: int, mask: ir.Type, scale: ir.IntType):
    """Setup for ``vpgatherdd`` (intrinsic ``gather``: pass-through, base, indices, lane mask,
    scale), one table entry per lane read as the 4 bytes at 2·code (module docstring)."""
    words = ir.VectorType(ir.IntType(32), lanes)
    halves = ir.VectorType(ir.IntType(16), lanes)
    bytes_ptr = _BYTE.as_pointer()
    every_lane = _splat(mask, -1)  # all bits set: "gather this lane" for both mask forms
    last, one_before_last = _splat(words, _LAST_CODE), _splat(words, _LAST_CODE - 1)

    def setup(builder, table_ptr):
        fetch = _declare(builder, gather, words, words, bytes_ptr, words, mask, scale)
        table_bytes = builder.bitcast(table_ptr, bytes_ptr)

        def lookup(builder, codes):
            index = builder.zext(codes, words)
            is_last = builder.icmp_unsigned("==", index, last)
            safe_index = builder.select(is_last, one_before_last, index)
            pairs = builder.call(
                fetch,
                [
                    ir.Constant(words, None),
                    table_bytes,
                    safe_index,
                    every_lane,
                    ir.Constant(scale, 2),
                ],
            )
            high = builder.lshr(pairs, _splat(words, 16))
            return builder.trunc(builder.select(is_last, high, pairs), halves)

        return lookup

    return setup


def _blocked_template(codes, table, out):
    blocks = codes.size // _block  # noqa: F821 - bound by specialise
    _blocks_of(codes, table, out, blocks)  # noqa: F821
    for i in range(blocks * _block, codes.size):  # noqa: F821
        out[i] = table[codes[i]]


def _blocked(name: str, vector: ir.VectorType, setup, scalar_share: int = 0):
    """The compiled ``loop(codes, table, out)``: whole blocks of a vector and ``scalar_share``
    codes through ``_blockwise``, the remainder through the scalar lookup."""
    blocks_of = _blockwise(f"_{name}_blocks", vector, setup, scalar_share)
    block = vector.count + scalar_share
    return specialise(_blocked_template, name, _block=block, _blocks_of=blocks_of)


def _gather_half_loop(name: str, gather: str, lanes: int, mask_bits: int, scale_bits: int):
    """The float16 table loop over ``vpgatherdd`` intrinsic ``gather``, whose lane mask has
    ``mask_bits`` per lane (AVX-512: a bit, AVX2: the sign of a word) and scale ``scale_bits``."""
    mask = ir.VectorType(ir.IntType(mask_bits), lanes)
    setup = _gather_half_setup(gather, lanes, mask, ir.IntType(scale_bits))
    return _blocked(name, ir.VectorType(ir.IntType(16), lanes), setup)


# Codes per 32 that the AVX2 path looks up with scalar loads alongside its shuffles: 8 ran fastest
# of 0-16 here (4, 6, 10 and 12 between 0 and 8's rate; 16 slower than none).
_AVX2_SCALAR_SHARE = 8
# The paths by the LLVM feature each needs, best first; each compiles on first use only.
BYTE_LOOPS = {
    "avx512vbmi": _blocked("vpermi2b", _bytes(64), _vpermi2b_setup),
    "avx512bw": _blocked("pshufb512", _bytes(64), _pshufb_setup("llvm.x86.avx512.pshuf.b.512", 64)),
    "avx2": _blocked(
        "pshufb256", _bytes(32), _pshufb_setup("llvm.x86.avx2.pshuf.b", 32), _AVX2_SCALAR_SHARE
    ),
    "neon": _blocked("tbl4", _bytes(16), _tbl_setup),
}
HALF_LOOPS = {
    "avx512f": _gather_half_loop("gather_half", "llvm.x86.avx512.mask.gather.dpi.512", 16, 1, 32),
    "avx2": _gather_half_loop("gather_half8", "llvm.x86.avx2.gather.d.d.256", 8, 32, 8),
}


def _choose(variable: str, loops: dict, faster: bool = True) -> tuple:
    """(name, loop): the path the environment variable ``variable`` names, if set, else the first
    of ``loops`` that ``_cpu.has`` allows (if ``faster``: these paths beat the portable loop on
    this CPU), else "portable". A name that is unknown or cannot run in this process is a
    ValueError naming the value and the choices here."""
    here = [name for name in loops if has(name)] + ["portable"]
    every = {**loops, "portable": lut_loop}
    forced = os.environ.get(variable, "")
    if forced and forced not in here:
        why = (
            f"needs {forced}, which this CPU or Numba's compile target lacks"
            f" (or EDGEACT_PORTABLE is set)"
            if forced in every
            else f"is not a path ({', '.join(every)})"
        )
        raise ValueError(f"{variable}={forced!r} {why}; available here: {', '.join(here)}")
    name = forced or (here[0] if faster else "portable")
    return name, every[name]


BYTE_LUT_IMPLEMENTATION, fast_byte_loop = _choose("EDGEACT_BYTE_LUT", BYTE_LOOPS)
HALF_LUT_IMPLEMENTATION, fast_half_loop = _choose("EDGEACT_HALF_LUT", HALF_LOOPS, is_intel())


def fast_table_loop(code) -> tuple[str, Callable]:
    """(its path's name, the compiled ``loop(codes, table, out)``) this CPU runs for ``code``:
    np.uint8 (int8/uint8 byte tables) or np.uint16 (float16 tables), C-contiguous arrays."""
    if code is np.uint8:
        return BYTE_LUT_IMPLEMENTATION, fast_byte_loop
    return HALF_LUT_IMPLEMENTATION, fast_half_loop


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
