"""Name tables for the TFLite schema's enums (op codes, tensor types, fused activations).

Only enum values are used here; reading flatbuffers is ``_reader``'s job.
"""

from ai_edge_litert import schema_py_generated as schema

__all__ = ["ACTIVATION_FUNCTIONS", "BUILTIN_OPS", "TENSOR_TYPES", "schema"]


def _names(enum) -> dict[int, str]:
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_OPS: dict[int, str] = _names(schema.BuiltinOperator)
TENSOR_TYPES: dict[int, str] = _names(schema.TensorType)
ACTIVATION_FUNCTIONS: dict[int, str] = _names(schema.ActivationFunctionType)
