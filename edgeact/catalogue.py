"""The activation catalogue: the single place an activation is defined.

One frozen record per activation: float64 reference and derivative (``edgeact.references``),
properties, the cheaper activations that approximate it with their measured error bound, the
edge-friendly replacement for mobile/int8, its runtime forms (``edgeact.forms``: the ONNX and
TFLite ops that compute it, their options, opsets, op versions, and which runtimes run it
natively) and its defining constants. Kernels, tests, converters, benchmarks and the selection
guide all iterate over ``ACTIVATIONS``; no other module has a table of op names.

Adding an activation (``tests/test_completeness.py`` names each piece that is missing):

1. ``edgeact/references.py``: its float64 reference ``<name>(x, **params)`` (keyword defaults are
   the catalogue parameters) and, where the guide should reason about gradients,
   ``<name>_derivative``.
2. This module: its record in ``_RECORDS``, with ``approximations`` measured by
   ``tests/test_catalogue.py`` and its ``onnx``/``tflite`` forms if a runtime has an op for it
   (``tests/test_forms.py`` checks them against the real runtimes).
3. Its ``@jit`` element function in its family module under ``edgeact/kernels/``, listed in
   ``kernels.scalar.ELEMENTS`` (every element-wise record needs one today: there is no generic
   kernel built from the reference yet).
4. Its Decimal formula in ``tests/test_catalogue.py``'s ``EXACT`` and its NumPy expression in
   ``edgeact/bench/numpy_peers.py`` (independent implementations, so they stay hand-written).

int8 cases against LiteRT and ONNX Runtime, bench peers and converter rules come from its forms.
"""

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from edgeact import references as ref
from edgeact.forms import RUNTIMES, OnnxForm, Param, TfliteForm

__all__ = [
    "ACTIVATIONS",
    "GELU_QUICK_ALPHA",
    "GELU_TANH_CUBIC",
    "IBERT_A",
    "IBERT_B",
    "ONNX_FORMS",
    "SELU_ALPHA",
    "SELU_SCALE",
    "SILU_POLY_KNEE",
    "TFLITE_FORMS",
    "Activation",
    "Approximation",
    "get",
    "registered",
]

_INF = math.inf

# Defining constants, stated once: kernels and converters read them from here; the float64
# references restate them in extended precision and tests/test_forms.py checks they agree.
GELU_QUICK_ALPHA = 1.702  # x·σ(1.702·x) (Hendrycks & Gimpel 2016)
GELU_TANH_CUBIC = 0.044715  # tanh-GELU's cubic coefficient
IBERT_A = -0.2888  # I-BERT's erf polynomial a·(min(|z|, −b) + b)² + 1 (Kim et al. 2021)
IBERT_B = -1.769
SILU_POLY_KNEE = 4.4  # |x| where silu_poly's quadratic sigmoid reaches 0 or 1
SELU_ALPHA = 1.6732632423543772  # Klambauer et al. 2017, to float64
SELU_SCALE = 1.0507009873554805

# Form shorthands: tensor types with their op versions, and what XNNPACK takes.
_F32 = {"FLOAT32": 1}
_Q8 = {"FLOAT32": 1, "INT8": 1, "UINT8": 1}
_XF32 = frozenset({"FLOAT32"})
_XQ8 = frozenset({"FLOAT32", "INT8", "UINT8"})
_MS = "com.microsoft"


def _gelu_tflite(*, approximate: bool) -> TfliteForm:
    return TfliteForm(
        "GELU",
        options="GeluOptions",
        values={"approximate": approximate},
        versions={**_F32, "INT8": 2, "UINT8": 2},
        xnnpack=_XF32,
    )


def _quick_gelu(alpha: float) -> OnnxForm:
    """ONNX Runtime's contrib QuickGelu, x·σ(alpha·x): GELU-quick at 1.702, SiLU at 1."""
    return OnnxForm(
        "QuickGelu",
        since=None,
        domain=_MS,
        attributes={"alpha": alpha},
        defaults={"alpha": GELU_QUICK_ALPHA},
        written=False,
    )


@dataclass(frozen=True)
class Approximation:
    """A catalogue activation that can stand in for another one, and how far off it is.

    ``max_abs_error`` is sup |f(x) - approx(x)| over ℝ in float64, measured on a dense grid and
    rounded up to 2 significant digits (3 where 2 would overstate it by more than 5 %).
    """

    name: str
    max_abs_error: float


@dataclass(frozen=True)
class Activation:
    """Everything edgeact knows about one activation; ``params`` are the default keywords."""

    name: str
    family: str
    formula: str
    reference: Callable[..., np.ndarray]
    derivative: Callable[..., np.ndarray] | None
    params: Mapping[str, float] = field(hash=False)
    output_range: tuple[float, float]
    smoothness: str  # "C0" (kinks), "C1", "C∞", or "discontinuous"
    monotonic: bool
    zero_centred: bool  # f(0) = 0 and outputs of both signs
    elementwise: bool = True
    approximations: tuple[Approximation, ...] = ()
    edge_replacement: str | None = None
    onnx: tuple[OnnxForm, ...] = ()
    tflite: tuple[TfliteForm, ...] = ()

    @property
    def replacement_error(self) -> float | None:
        """Max |error| of ``edge_replacement`` as an approximation (None: another function)."""
        return next(
            (a.max_abs_error for a in self.approximations if a.name == self.edge_replacement), None
        )

    @property
    def onnx_op(self) -> str | None:
        """The op of the first default-domain ONNX form (None if standard ONNX has none)."""
        return next((f.op for f in self.onnx if not f.domain), None)

    @property
    def tflite_op(self) -> str | None:
        """The builtin op of the first TFLite form (None if TFLite has none)."""
        return self.tflite[0].op if self.tflite else None

    def onnx_form(self) -> OnnxForm | None:
        """The default-domain ONNX form edgeact writes, if any."""
        return next((f for f in self.onnx if f.written and not f.domain), None)

    def tflite_form(self) -> TfliteForm | None:
        """The TFLite form edgeact writes, if any."""
        return next((f for f in self.tflite if f.written), None)

    def native(self, runtime: str, dtype: str = "float32") -> bool:
        """Whether ``runtime`` (one of ``forms.RUNTIMES``) runs this activation as one op.

        ``dtype`` is the tensor type (``float32``, ``int8``, ``uint8``); ONNX Runtime runs 8-bit
        activations as DequantizeLinear -> op -> QuantizeLinear, so any ONNX form counts there.
        """
        dtype = dtype.upper()
        if runtime == "onnxruntime":
            return bool(self.onnx)
        if runtime == "litert":
            return any(dtype in f.versions for f in self.tflite)
        if runtime == "litert-xnnpack":
            return any(dtype in f.xnnpack for f in self.tflite)
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")


def _defaults(fn: Callable) -> Mapping[str, float]:
    """The reference's keyword defaults, so a parameter's name and default live in one place."""
    sig = inspect.signature(fn)
    return MappingProxyType(
        {p.name: p.default for p in sig.parameters.values() if p.default is not p.empty}
    )


def _record(name: str, *, approximations: tuple[tuple[str, float], ...] = (), **fields):
    """An Activation wired to ``references.<name>`` and ``references.<name>_derivative``."""
    reference = getattr(ref, name)
    return Activation(
        name=name,
        reference=reference,
        derivative=getattr(ref, f"{name}_derivative", None),
        params=_defaults(reference),
        approximations=tuple(Approximation(n, e) for n, e in approximations),
        **fields,
    )


_RECORDS = (
    _record(
        "relu",
        family="relu",
        formula="max(x, 0)",
        output_range=(0.0, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        edge_replacement="relu6",
        onnx=(OnnxForm("Relu"),),
        tflite=(
            TfliteForm(
                "RELU", versions={**_F32, "INT8": 2, "UINT8": 2}, xnnpack=_XF32, fused="RELU"
            ),
        ),
    ),
    _record(
        "relu6",
        family="relu",
        formula="min(max(x, 0), 6)",
        output_range=(0.0, 6.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        onnx=(OnnxForm("Clip", since=6, attributes={"min": 0.0, "max": 6.0}, inputs_since=11),),
        tflite=(
            TfliteForm(
                "RELU6", versions={**_F32, "INT8": 2, "UINT8": 1}, xnnpack=_XF32, fused="RELU6"
            ),
        ),
    ),
    _record(
        "leaky_relu",
        family="relu",
        formula="x if x >= 0 else negative_slope·x",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx=(OnnxForm("LeakyRelu", attributes={"alpha": Param("negative_slope")}),),
        tflite=(
            TfliteForm(
                "LEAKY_RELU",
                options="LeakyReluOptions",
                values={"alpha": Param("negative_slope")},
                versions=_Q8,
                xnnpack=_XQ8,
            ),
        ),
    ),
    _record(
        "prelu",
        family="relu",
        formula="x if x >= 0 else weight·x  (learned weight)",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="leaky_relu",
        onnx=(OnnxForm("PRelu", written=False),),  # the weight is a tensor input
        tflite=(TfliteForm("PRELU", versions={**_F32, "INT8": 2, "UINT8": 1}, written=False),),
    ),
    _record(
        "elu",
        family="exponential",
        formula="x if x > 0 else alpha·(exp(x) − 1)",
        output_range=(-1.0, _INF),
        smoothness="C1",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx=(OnnxForm("Elu", attributes={"alpha": Param("alpha")}),),
        tflite=(TfliteForm("ELU", versions={**_F32, "INT8": 1}, xnnpack=_XF32 | {"INT8"}),),
    ),
    _record(
        "selu",
        family="exponential",
        formula="1.0507·(x if x > 0 else 1.6733·(exp(x) − 1))",
        output_range=(-1.7581, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx=(OnnxForm("Selu"),),
    ),
    _record(
        "celu",
        family="exponential",
        formula="max(0, x) + min(0, alpha·(exp(x/alpha) − 1))",
        output_range=(-1.0, _INF),
        smoothness="C1",
        monotonic=True,
        zero_centred=True,
        edge_replacement="relu6",
        onnx=(OnnxForm("Celu", since=12, attributes={"alpha": Param("alpha")}),),
    ),
    _record(
        "gelu",
        family="gelu",
        formula="x·Φ(x) = 0.5·x·(1 + erf(x/√2))",
        output_range=(-0.1700, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(
            ("gelu_tanh", 4.8e-4),
            ("gelu_poly", 1.9e-2),
            ("gelu_quick", 2.1e-2),
            ("hardswish", 0.30),
        ),
        edge_replacement="gelu_tanh",
        onnx=(
            OnnxForm("Gelu", since=20, attributes={"approximate": "none"}),
            OnnxForm("Gelu", since=None, domain=_MS, written=False),
            OnnxForm("BiasGelu", since=None, domain=_MS, written=False),
        ),
        tflite=(_gelu_tflite(approximate=False),),
    ),
    _record(
        "gelu_tanh",
        family="gelu",
        formula="0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))",
        output_range=(-0.1701, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        onnx=(
            OnnxForm("Gelu", since=20, attributes={"approximate": "tanh"}),
            OnnxForm("FastGelu", since=None, domain=_MS, written=False),
        ),
        tflite=(_gelu_tflite(approximate=True),),
    ),
    _record(
        "gelu_quick",
        family="gelu",
        formula="x·σ(1.702·x)",
        output_range=(-0.1637, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        onnx=(
            _quick_gelu(GELU_QUICK_ALPHA),
            OnnxForm("Swish", since=24, attributes={"alpha": GELU_QUICK_ALPHA}, written=False),
        ),
    ),
    _record(
        "gelu_poly",
        family="gelu",
        formula="0.5·x·(1 + L(x/√2)), L(z) = sign(z)·(1 − 0.2888·(min(|z|, 1.769) − 1.769)²)",
        output_range=(-0.1675, _INF),
        smoothness="C0",
        monotonic=False,
        zero_centred=True,
    ),
    _record(
        "silu",
        family="silu",
        formula="x·σ(x)",
        output_range=(-0.2785, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(("silu_poly", 6.0e-2), ("hardswish", 0.143)),
        edge_replacement="hardswish",
        onnx=(
            OnnxForm("Swish", since=24, attributes={"alpha": 1.0}, written=False),
            _quick_gelu(1.0),
        ),
    ),
    _record(
        "silu_poly",
        family="silu",
        formula="x·(0.5 + 0.5·sign(x)·(1 − (1 − min(|x|, 4.4)/4.4)²))",
        output_range=(-0.3260, _INF),
        smoothness="C1",
        monotonic=False,
        zero_centred=True,
    ),
    _record(
        "mish",
        family="silu",
        formula="x·tanh(softplus(x))",
        output_range=(-0.3089, _INF),
        smoothness="C∞",
        monotonic=False,
        zero_centred=True,
        approximations=(("hardswish", 0.29),),
        edge_replacement="hardswish",
        onnx=(OnnxForm("Mish", since=18),),
    ),
    _record(
        "softplus",
        family="relu",
        formula="log(1 + exp(beta·x))/beta  (x where beta·x > threshold)",
        output_range=(0.0, _INF),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        approximations=(("relu", 0.70),),
        edge_replacement="relu",
        onnx=(OnnxForm("Softplus"),),
    ),
    _record(
        "sigmoid",
        family="sigmoid",
        formula="σ(x) = 1/(1 + exp(−x))",
        output_range=(0.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        approximations=(("hardsigmoid", 7.0e-2),),
        edge_replacement="hardsigmoid",
        onnx=(OnnxForm("Sigmoid"),),
        tflite=(
            TfliteForm(
                "LOGISTIC",
                versions={**_F32, "INT8": 2, "UINT8": 1},
                xnnpack=_XQ8,
                fixed_output={"INT8": (1 / 256, -128), "UINT8": (1 / 256, 0)},
            ),
        ),
    ),
    _record(
        "tanh",
        family="sigmoid",
        formula="tanh(x)",
        output_range=(-1.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=True,
        approximations=(("hardtanh", 0.24),),
        edge_replacement="hardtanh",
        onnx=(OnnxForm("Tanh"),),
        tflite=(
            TfliteForm(
                "TANH",
                versions={**_F32, "INT8": 2, "UINT8": 1},
                xnnpack=_XQ8,
                fused="TANH",
                fixed_output={"INT8": (1 / 128, 0), "UINT8": (1 / 128, 128)},
            ),
        ),
    ),
    _record(
        "hardswish",
        family="silu",
        formula="x·min(max(x + 3, 0), 6)/6",
        output_range=(-0.375, _INF),
        smoothness="C0",
        monotonic=False,
        zero_centred=True,
        onnx=(OnnxForm("HardSwish", since=14),),
        tflite=(TfliteForm("HARD_SWISH", options="HardSwishOptions", versions=_Q8, xnnpack=_XF32),),
    ),
    _record(
        "hardsigmoid",
        family="sigmoid",
        formula="min(max(x + 3, 0), 6)/6",
        output_range=(0.0, 1.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=False,
        onnx=(OnnxForm("HardSigmoid", since=6, attributes={"alpha": 1.0 / 6.0, "beta": 0.5}),),
    ),
    _record(
        "hardtanh",
        family="sigmoid",
        formula="min(max(x, min_val), max_val)",
        output_range=(-1.0, 1.0),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        onnx=(
            OnnxForm(
                "Clip",
                since=6,
                attributes={"min": Param("min_val"), "max": Param("max_val")},
                inputs_since=11,
            ),
        ),
        tflite=(TfliteForm("RELU_N1_TO_1", versions=_Q8, xnnpack=_XF32, fused="RELU_N1_TO_1"),),
    ),
    _record(
        "hardshrink",
        family="shrink",
        formula="x if |x| > lambd else 0",
        output_range=(-_INF, _INF),
        smoothness="discontinuous",
        monotonic=True,
        zero_centred=True,
        onnx=(OnnxForm("Shrink", since=9, attributes={"bias": 0.0, "lambd": Param("lambd")}),),
    ),
    _record(
        "softshrink",
        family="shrink",
        formula="x − lambd if x > lambd, x + lambd if x < −lambd, else 0",
        output_range=(-_INF, _INF),
        smoothness="C0",
        monotonic=True,
        zero_centred=True,
        onnx=(
            OnnxForm(
                "Shrink", since=9, attributes={"bias": Param("lambd"), "lambd": Param("lambd")}
            ),
        ),
    ),
    _record(
        "softmax",
        family="softmax",
        formula="exp(x_i − max(x))/Σ_j exp(x_j − max(x))  along axis",
        output_range=(0.0, 1.0),
        smoothness="C∞",
        monotonic=True,
        zero_centred=False,
        elementwise=False,
        onnx=(OnnxForm("Softmax", since=13, attributes={"axis": Param("axis")}),),
        tflite=(TfliteForm("SOFTMAX", options="SoftmaxOptions", versions=_F32, written=False),),
    ),
    _record(
        "adaptive_log_softmax",
        family="softmax",
        formula=(
            "log p(y|h): head log-softmax over the shortlist + one logit per cluster; "
            "+ the cluster's log-softmax over a projection of h to in_features/div_value^i "
            "(Grave et al. 2017)"
        ),
        output_range=(-_INF, 0.0),
        smoothness="C∞",
        monotonic=False,
        zero_centred=False,
        elementwise=False,
    ),
)

_BY_NAME: dict[str, Activation] = {a.name: a for a in _RECORDS}
ACTIVATIONS: Mapping[str, Activation] = MappingProxyType(_BY_NAME)


@contextlib.contextmanager
def registered(*records: Activation) -> Iterator[None]:
    """Add ``records`` to ``ACTIVATIONS`` for the duration of the block (tests, experiments).

    Kernels (``edgeact.kernels.get``), benchmarks and the guide see them like any record; the
    converters' op indexes (``ONNX_FORMS``, ``TFLITE_FORMS``) keep the built-in records only.
    """
    taken = [r.name for r in records if r.name in _BY_NAME]
    if taken:
        raise ValueError(f"activation(s) {', '.join(taken)} already in the catalogue")
    _BY_NAME.update({r.name: r for r in records})
    try:
        yield
    finally:
        for r in records:
            _BY_NAME.pop(r.name, None)


def _index(forms_of: Callable[[Activation], tuple], key: Callable) -> Mapping:
    index: dict = {}
    for act in _RECORDS:
        for form in forms_of(act):
            index.setdefault(key(form), []).append((act.name, form))
    return MappingProxyType({k: tuple(v) for k, v in index.items()})


# Reverse lookups for the converters' single-op matchers, in catalogue order:
# (domain, op) -> ((activation, OnnxForm), ...) and builtin op -> ((activation, TfliteForm), ...).
ONNX_FORMS: Mapping[tuple[str, str], tuple[tuple[str, OnnxForm], ...]] = _index(
    lambda a: a.onnx, lambda f: (f.domain, f.op)
)
TFLITE_FORMS: Mapping[str, tuple[tuple[str, TfliteForm], ...]] = _index(
    lambda a: a.tflite, lambda f: f.op
)


def get(name: str) -> Activation:
    """The record for ``name``; ValueError listing the known names otherwise."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(ACTIVATIONS)
        raise ValueError(f"unknown activation {name!r}; known: {known}") from None
