"""The TFLite part of ``edgeact demo``: build two small models, convert them, return the reports.

Both models are FULLY_CONNECTED(fused RELU) -> LOGISTIC·x (SiLU) -> FULLY_CONNECTED -> GELU,
once in float32 and once fully int8, built in memory with the schema's object API (no
TensorFlow, no downloads). Each is converted with the mobile preset plus relu=relu6 and
verified in LiteRT.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeact.converters.tflite._build import ModelBuilder
from edgeact.converters.tflite._schema import schema

__all__ = ["demo", "float_model", "int8_model"]

SWAPS = ["relu=relu6"]
PRESET = "mobile"
WIDTH = 16
_RELU = schema.ActivationFunctionType.RELU


def demo(workdir: Path) -> list[dict]:
    """Write the two models into ``workdir``, convert each, return the conversion reports."""
    workdir = Path(workdir)
    from edgeact import converters  # the public entry: presets resolved as for users

    reports = []
    for name, build in (("demo_float32", float_model), ("demo_int8", int8_model)):
        source = workdir / f"{name}.tflite"
        source.write_bytes(build())
        destination = workdir / f"{name}_mobile.tflite"
        reports.append(converters.convert(source, destination, SWAPS, PRESET))
    return reports


def _weights(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.15, (WIDTH, WIDTH)), rng.normal(0, 0.1, WIDTH)


def float_model() -> bytes:
    """float32: FC(fused RELU) -> LOGISTIC·x -> FC -> GELU (exact)."""
    mb = ModelBuilder("edgeact demo float32")
    g = mb.subgraph("main")
    shape = [1, WIDTH]
    x = g.tensor("x", shape)
    (w1, b1), (w2, b2) = _weights(1), _weights(2)
    fc1 = [x, g.tensor("fc1/w", w1.shape, data=w1), g.tensor("fc1/b", b1.shape, data=b1)]
    h, s, m, f, y = (g.tensor(n, shape) for n in ("fc1", "sigmoid", "silu", "fc2", "y"))
    fc2 = [m, g.tensor("fc2/w", w2.shape, data=w2), g.tensor("fc2/b", b2.shape, data=b2)]
    g.op(
        "FULLY_CONNECTED", fc1, [h], options="FullyConnectedOptions", fusedActivationFunction=_RELU
    )
    g.op("LOGISTIC", [h], [s])
    g.op("MUL", [h, s], [m], options="MulOptions")
    g.op("FULLY_CONNECTED", fc2, [f], options="FullyConnectedOptions")
    g.op("GELU", [f], [y], options="GeluOptions", approximate=False)
    g.io([x], [y])
    mb.signature("serving_default", g)
    return mb.build()


# (scale, zero_point) per int8 tensor, chosen to cover each tensor's range on N(0, 2²) inputs
_Q = {
    "x": (0.05, 0),
    "fc1": (0.03, -128),
    "sigmoid": (1 / 256, -128),  # LOGISTIC's required output range
    "silu": (0.03, -118),
    "fc2": (0.035, 0),
    "y": (0.03, -122),
}
_W_SCALE = 0.004


def int8_model() -> bytes:
    """Full int8: the float model's graph with per-tensor int8 weights and activations."""
    mb = ModelBuilder("edgeact demo int8")
    g = mb.subgraph("main")
    shape = [1, WIDTH]

    def act(name):
        return g.tensor(name, shape, "INT8", quant=_Q[name])

    def fc_params(name, seed, in_scale):
        w, b = _weights(seed)
        wq = np.clip(np.rint(w / _W_SCALE), -127, 127)
        bq = np.rint(b / (in_scale * _W_SCALE))
        return [
            g.tensor(f"{name}/w", w.shape, "INT8", data=wq, quant=(_W_SCALE, 0)),
            g.tensor(f"{name}/b", b.shape, "INT32", data=bq, quant=(in_scale * _W_SCALE, 0)),
        ]

    x = act("x")
    h, s, m, f, y = (act(n) for n in ("fc1", "sigmoid", "silu", "fc2", "y"))
    fc1 = [x, *fc_params("fc1", 1, _Q["x"][0])]
    fc2 = [m, *fc_params("fc2", 2, _Q["silu"][0])]
    g.op("FULLY_CONNECTED", fc1, [h], options="FullyConnectedOptions", version=4,
         fusedActivationFunction=_RELU)  # fmt: skip
    g.op("LOGISTIC", [h], [s], version=2)
    g.op("MUL", [h, s], [m], options="MulOptions", version=2)
    g.op("FULLY_CONNECTED", fc2, [f], options="FullyConnectedOptions", version=4)
    g.op("GELU", [f], [y], options="GeluOptions", version=2, approximate=False)
    g.io([x], [y])
    mb.signature("serving_default", g)
    return mb.build()
