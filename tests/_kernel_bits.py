"""Run every public kernel on float32, float16 and int8/uint8 inputs and save the results to the
.npz named by argv[1]; tests/test_cpu_dispatch.py runs it under several Numba CPU targets.

``python tests/_kernel_bits.py --record`` rewrites tests/fixtures/kernel_bits.json, the digests
of these results that tests/test_kernel_bits.py holds every CPU to (x86-64 and the emulated
AArch64 in CI); run it after a change that is meant to change a kernel's bits.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

import edgeact.kernels as K
from edgeact.quant import QuantParams


def results() -> dict[str, np.ndarray]:
    every_half = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    special = np.array([np.inf, -np.inf, 1e-40, -1e-40, -0.0, 3.0, -3.0], np.float32)
    nans = np.array([0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFA12345], np.uint32).view(np.float32)
    floats = np.concatenate([np.linspace(-10, 10, 4099, dtype=np.float32), special, nans])
    out = {}
    for name, kernel in K.KERNELS.items():
        with np.errstate(all="ignore"):
            out[f"{name} float32"] = kernel(floats)
            out[f"{name} float16"] = kernel(every_half)
        for dtype, zero_point in (("int8", -3), ("uint8", 128)):
            codes = np.tile(np.arange(256, dtype=np.uint8).view(dtype), 5)  # > one SIMD block
            x_q, y_q = QuantParams(0.05, zero_point, dtype), QuantParams(0.04, zero_point, dtype)
            for compat in ("tflite", "xnnpack", "onnxruntime"):
                try:
                    out[f"{name} {dtype} {compat}"] = kernel(codes, x_q=x_q, y_q=y_q, compat=compat)
                except ValueError:  # no table for this compat
                    continue
    return out


RECORDED = Path(__file__).parent / "fixtures" / "kernel_bits.json"


def digests(arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """SHA-256 of each result's bytes (with its dtype): a few KiB instead of ~7 MB of arrays."""
    return {
        k: hashlib.sha256(f"{v.dtype.str}:".encode() + v.tobytes()).hexdigest()
        for k, v in arrays.items()
    }


if __name__ == "__main__":
    if sys.argv[1] == "--record":
        RECORDED.write_text(json.dumps(digests(results()), indent=1, sort_keys=True) + "\n")
    else:
        np.savez(sys.argv[1], **results())
