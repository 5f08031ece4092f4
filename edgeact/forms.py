"""Runtime forms: how ONNX and TFLite write an activation, and which runtimes run it natively.

A catalogue record lists its forms (``Activation.onnx``, ``Activation.tflite``); the first
*written* one is what edgeact emits, the others are only recognised (vendor-domain ops such as
``com.microsoft.FastGelu``, or ops that need an extra tensor). Attribute and option values are
constants or ``Param(name)``, which reads the activation's parameter of that name, so a form
never restates a default.

Runtime configurations (``RUNTIMES``), named as ``--target`` and ``bench`` name them:

- ``litert``: LiteRT's builtin kernels (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``); a TFLite form
  runs there for the tensor types in its ``versions``.
- ``litert-xnnpack``: LiteRT's default resolver, whose XNNPACK delegate takes the op for the
  types in ``xnnpack`` (the rest fall back to the builtin kernels). Checked against LiteRT 2.3
  by ``tests/test_forms.py``; the int8 range conditions are arithmetic, in
  ``edgeact.kernels._tflite.xnnpack_delegates``.
- ``onnxruntime``: ONNX Runtime's CPU execution provider, which has a kernel for every
  default-domain op and for the ``com.microsoft`` contrib ops named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["RUNTIMES", "OnnxForm", "Param", "TfliteForm", "resolve"]

RUNTIMES = ("litert", "litert-xnnpack", "onnxruntime")


@dataclass(frozen=True)
class Param:
    """An attribute or option whose value is the activation's parameter ``name``."""

    name: str


def resolve(values: Mapping[str, object], params: Mapping[str, object]) -> dict[str, object]:
    """``values`` with every ``Param`` replaced by its parameter from ``params``."""
    return {k: params[v.name] if isinstance(v, Param) else v for k, v in values.items()}


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class OnnxForm:
    """One ONNX op computing the activation.

    ``since`` is the first default-domain opset with the op in this form (None for vendor
    domains). ``attributes`` identify the activation (constants) or carry its parameters
    (``Param``); ``defaults`` are the values a node may omit, for vendor ops that ``onnx.defs``
    does not describe. From opset ``inputs_since`` on, the attributes are inputs instead
    (Clip's min/max from opset 11).
    """

    op: str
    since: int | None = 1
    domain: str = ""
    attributes: Mapping[str, object] = field(default_factory=dict, hash=False)
    defaults: Mapping[str, object] = field(default_factory=dict, hash=False)
    inputs_since: int | None = None
    written: bool = True  # False: recognised only (vendor op, or it needs an extra tensor)

    def __post_init__(self):
        object.__setattr__(self, "attributes", _frozen(self.attributes))
        object.__setattr__(self, "defaults", _frozen(self.defaults))

    def attributes_for(self, params: Mapping[str, object]) -> dict[str, object]:
        """The node's attributes for an activation with ``params``."""
        return resolve(self.attributes, params)


@dataclass(frozen=True)
class TfliteForm:
    """One TFLite builtin op computing the activation.

    ``versions`` maps each tensor type LiteRT's builtin kernels run the op in to the op version
    ``tensorflow/lite/tools/versioning/op_version.cc`` gives it; ``xnnpack`` lists the types
    LiteRT's XNNPACK delegate takes; ``fused`` is the ``ActivationFunctionType`` name when the
    activation can be fused into CONV_2D/FULLY_CONNECTED/ADD/...; ``fixed_output`` is the output
    (scale, zero point) per quantized type that the builtin kernel insists on.
    """

    op: str
    options: str | None = None  # the schema's ...Options table
    values: Mapping[str, object] = field(default_factory=dict, hash=False)  # option field -> value
    versions: Mapping[str, int] = field(default_factory=dict, hash=False)
    xnnpack: frozenset[str] = frozenset()
    fused: str | None = None
    fixed_output: Mapping[str, tuple[float, int]] = field(default_factory=dict, hash=False)
    written: bool = True

    def __post_init__(self):
        for name in ("values", "versions", "fixed_output"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def options_for(self, params: Mapping[str, object]) -> dict[str, object]:
        """The builtin options' field values for an activation with ``params``."""
        return resolve(self.values, params)

    def version(self, dtype: str) -> int:
        """The op version for input tensor type ``dtype`` (1 for types without an entry)."""
        return self.versions.get(dtype, 1)
