"""How an activation appears in a model: one structured id per shape, shared by ONNX and TFLite.

Rules and rewrites decide on a ``Form``; the text a report shows (``"pattern: erf form,
Div(√2)"``) is carried next to it as ``pattern`` and is never parsed. In JSON a finding's
``form`` is the id (the enum's value) and ``pattern`` the text.
"""

from enum import Enum

__all__ = ["Form"]


class Form(str, Enum):
    """The shape an activation was found in."""

    OP = "op"  # one op (ONNX node, TFLite builtin)
    FUSED = "fused"  # a TFLite fused_activation_function of CONV_2D/FULLY_CONNECTED/ADD/...
    GELU_ERF = "gelu_erf"  # 0.5·x·(1 + erf(x/√2)), Div(√2) or Mul(1/√2)
    GELU_TANH = "gelu_tanh"  # 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    SIGMOID_MUL = "sigmoid_mul"  # σ(x)·x
    SCALED_SIGMOID_MUL = "scaled_sigmoid_mul"  # σ(a·x)·x
    SIGMOID_GATE = "sigmoid_gate"  # σ(y)·x with y ≠ x (squeeze-and-excitation)
    HARDSIGMOID_MUL = "hardsigmoid_mul"  # ONNX HardSigmoid(x)·x
    HARD_CHAIN = "hard_chain"  # Add(3) → clamp(0, 6) → ÷6 (→ ·x)
    HARDSIGMOID_GATE = "hardsigmoid_gate"  # relu6(y + 3)/6 · x with y ≠ x
    MIN_MAX_CLAMP = "min_max_clamp"  # Min(Max(x, 0), 6) or Max(Min(x, 6), 0)
    MISH_CHAIN = "mish_chain"  # x·tanh(softplus(x)), softplus as an op or as log(exp(x) + 1)
    SOFTPLUS_LOG_EXP = "softplus_log_exp"  # log(exp(x) + 1)

    def __str__(self) -> str:
        return self.value
