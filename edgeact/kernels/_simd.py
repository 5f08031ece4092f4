"""SIMD byte-table lookup for the int8/uint8 kernels, chosen at run time by CPU features.

A plain Numba loop does one scalar load per element from the 256-byte table (~3 G elements/s
here). x86 CPUs with AVX-512 VBMI have a two-register byte permute, ``vpermi2b``: two of them
cover the 256-entry table for 64 elements at once (low and high half, picked by each index's top
bit). Numba cannot express that, so the loop is written in LLVM IR through an intrinsic.

Elsewhere (ARM, older x86), and whenever ``EDGEACT_PORTABLE=1`` is set, the portable gather loop
runs instead, so every code path can be tested on any machine.
"""

import os

from llvmlite import binding as llvm
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from edgeact._jit import jit
from edgeact.kernels._loops import lut_loop

__all__ = ["BYTE_LUT_IMPLEMENTATION", "byte_lut_loop"]

_BLOCK = 64
_VECTOR = ir.VectorType(ir.IntType(8), _BLOCK)


def _has_vbmi() -> bool:
    return "+avx512vbmi" in llvm.get_host_cpu_features().flatten().split(",")


@intrinsic
def _vpermi2b_blocks(typingctx, codes, table, out, blocks):
    """out[64k:64k+64] = table[codes[64k:64k+64]] for k < blocks (contiguous uint8 arrays)."""
    sig = types.void(codes, table, out, types.intp)

    def codegen(context, builder, signature, args):
        arrays = [
            context.make_array(t)(context, builder, v)
            for t, v in zip(signature.args[:3], args[:3], strict=True)
        ]
        codes_ptr, table_ptr, out_ptr = (a.data for a in arrays)
        vector_ptr = _VECTOR.as_pointer()
        quarters = [
            builder.load(
                builder.bitcast(
                    builder.gep(table_ptr, [ir.Constant(ir.IntType(64), k)]), vector_ptr
                ),
                align=1,
            )
            for k in range(0, 256, _BLOCK)
        ]
        permute = builder.module.declare_intrinsic(
            "llvm.x86.avx512.vpermi2var.qi.512", fnty=ir.FunctionType(_VECTOR, [_VECTOR] * 3)
        )
        with cgutils.for_range(builder, args[3]) as loop:
            offset = builder.mul(loop.index, ir.Constant(loop.index.type, _BLOCK))
            src = builder.bitcast(builder.gep(codes_ptr, [offset]), vector_ptr)
            index = builder.load(src, align=1)
            low = builder.call(permute, [quarters[0], index, quarters[1]])
            high = builder.call(permute, [quarters[2], index, quarters[3]])
            upper_half = builder.icmp_signed("<", index, ir.Constant(_VECTOR, None))
            dst = builder.bitcast(builder.gep(out_ptr, [offset]), vector_ptr)
            builder.store(builder.select(upper_half, high, low), dst, align=1)
        return context.get_dummy_value()

    return sig, codegen


@jit
def _vbmi_lut_loop(codes, table, out):
    blocks = codes.size // 64
    _vpermi2b_blocks(codes, table, out, blocks)
    for i in range(blocks * 64, codes.size):
        out[i] = table[codes[i]]


def _choose():
    if os.environ.get("EDGEACT_PORTABLE", "") not in ("", "0") or not _has_vbmi():
        return "portable", lut_loop
    return "avx512vbmi", _vbmi_lut_loop


BYTE_LUT_IMPLEMENTATION, _fast_loop = _choose()


def byte_lut_loop(codes, table, out) -> None:
    """out[i] = table[codes[i]] over uint8 views, with the fastest loop this CPU has."""
    if codes.flags.c_contiguous and out.flags.c_contiguous and table.flags.c_contiguous:
        _fast_loop(codes, table, out)
    else:
        lut_loop(codes, table, out)
