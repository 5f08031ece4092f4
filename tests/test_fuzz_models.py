"""Fuzz the model-file and CLI surfaces: ``inspect``, ``convert`` and the ``edgeact`` command.

Every case is a mutated seed model (``tests._mutations``) run in a child interpreter
(``tests._fuzz_worker``): the API's ``inspect`` and ``convert`` (verification off), then one of
``edgeact inspect``, ``convert --no-verify`` or ``verify`` (which runs the runtimes). Each outcome
must be success or the documented one-line error (exit 2 through the CLI), with the inputs
untouched and nothing partial in the output folder; a traceback, a signal or a case over
``TIMEOUT`` seconds fails.

Sizing: a fixed-seed run of ``CI_EXAMPLES`` per test by default. ``EDGEACT_FUZZ_EXAMPLES=N`` runs
N examples per test instead (``EDGEACT_FUZZ_EXAMPLES=1000``: 2000 mutated models per format);
``EDGEACT_FUZZ_LOG=cases.jsonl`` appends every case's outcomes there and keeps going after a
failing case (each test then fails at the end if any did), to collect every bug of a long run.
"""

import io
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from tests import _mutations as mu
from tests import onnx_models as om
from tests._fuzz_worker import Case, Worker

pytestmark = [pytest.mark.subprocess, pytest.mark.onnxruntime]  # a child process runs ORT

CI_EXAMPLES = 50  # per test: about 60 s for the whole file on a laptop-class CPU
_EXAMPLES = int(os.environ.get("EDGEACT_FUZZ_EXAMPLES") or 0)
_LOG = os.environ.get("EDGEACT_FUZZ_LOG")


def _settings(examples: int = CI_EXAMPLES):
    return settings(
        max_examples=_EXAMPLES or examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


@pytest.fixture
def failures():
    """The failing cases of one test, when ``EDGEACT_FUZZ_LOG`` collects instead of stopping."""
    found = []
    yield found
    assert not found, f"{len(found)} cases broke the contract (see {_LOG}):\n" + "\n".join(found)


def _check(worker: Worker, failures: list, fmt: str, case: Case) -> None:
    outcomes = worker.run(case)
    bugs = [f"{o.operation}: {o.detail}" for o in outcomes if o.kind == "bug"]
    if _LOG:
        record = {"format": fmt, "case": case.label, "outcomes": [o.__dict__ for o in outcomes]}
        with open(_LOG, "a") as log:
            log.write(json.dumps(record) + "\n")
        failures.extend(f"{case.label}: {b.splitlines()[0]}" for b in bugs)
        return
    assert not bugs, f"{case.label}:\n" + "\n".join(bugs)


@_settings()
@given(case=mu.byte_cases(mu.ONNX_SEEDS))
def test_onnx_files_with_mutated_bytes(worker, failures, case):
    _check(worker, failures, "onnx", case)


@_settings()
@given(case=mu.onnx_cases())
def test_onnx_models_with_mutated_protobufs(worker, failures, case):
    _check(worker, failures, "onnx", case)


@_settings()
@given(case=mu.byte_cases(mu.TFLITE_SEEDS))
def test_tflite_files_with_mutated_bytes(worker, failures, case):
    _check(worker, failures, "tflite", case)


@_settings()
@given(case=mu.tflite_cases())
def test_tflite_models_with_mutated_flatbuffers(worker, failures, case):
    _check(worker, failures, "tflite", case)


@_settings(CI_EXAMPLES // 2)
@given(case=mu.random_cases())
def test_random_bytes(worker, failures, case):
    _check(worker, failures, "random", case)


# --- bad arguments and paths ------------------------------------------------------------------
def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _dynamic_onnx() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _seed(name: str) -> bytes:
    return next(s.data for s in mu.ONNX_SEEDS + mu.TFLITE_SEEDS if s.name == name)


# The folder "{dir}" holds these files; "{model}" is its model.onnx, "{out}" a fresh path.
_FILES = {
    "model.onnx": om.single(om.silu).SerializeToString(),  # x [1, 8, 4, 4] -> y
    "model.tflite": _seed("silu.tflite"),
    "dynamic.onnx": _dynamic_onnx(),
    "dynamic.tflite": _seed("dynamic_batch_int8"),
    "other.onnx": _seed("mobile_block_opset17.onnx"),
    "empty.onnx": b"",
    "empty.tflite": b"",
    "bad.npz": b"PK\x03\x04 not a zip",
    "names.npz": _npz(z=np.zeros((1, 8), np.float32)),
    "shape.npz": _npz(x=np.zeros((3, 3), np.float32)),
    "strings.npz": _npz(x=np.array(["a", "b"])),
}
_BAD_ARGUMENTS = [
    # (the command, a fragment of the one error line)
    ("inspect {dir}/missing.onnx", "no such file"),
    ("inspect {dir}/missing.tflite", "no such file"),
    ("inspect {dir}", "is a directory"),
    ("inspect {dir}/empty.onnx", "empty"),
    ("inspect {dir}/empty.tflite", "empty"),
    ("inspect {dir}/bad.npz", "not an ONNX model"),
    ("convert {dir}/missing.onnx -o {out}", "no such file"),
    ("convert {dir} -o {out}", "is a directory"),
    ("convert {model} -o {dir}/../nowhere/out.onnx", "does not exist"),
    ("convert {model} -o {model}", "is the input model"),
    ("convert {model} -o {dir}/../in/model.onnx", "is the input model"),
    ("convert {model} -o {dir}", "is a directory"),
    ("convert {model} -o {dir}/../cli/out.tflite", "named like a tflite model"),
    ("convert {dir}/model.tflite -o {dir}/../cli/out.onnx", "named like a onnx"),
    ("convert {model} -o {out} --swap nope=relu6", "unknown swap source 'nope'"),
    ("convert {model} -o {out} --swap silu=nope", "unknown swap target 'nope'"),
    ("convert {model} -o {out} --swap silu", "is not FROM=TO"),
    ("convert {model} -o {out} --swap =", "is not FROM=TO"),
    ("convert {model} -o {out} --swap silu=silu", "maps silu to itself"),
    ("convert {model} -o {out} --swap gelu=gelu_tanh", "matches nothing"),
    ("convert {model} -o {out} --swap silu=prelu", "no ONNX form"),
    (
        "convert {dir}/model.tflite -o {dir}/../cli/out.tflite --swap silu=silu_poly",
        "TFLite has no op for silu_poly",
    ),
    ("convert {model} -o {out} --input-shape x", "is not NAME=D1xD2x"),
    ("convert {model} -o {out} --input-shape x=", "does not fit"),
    ("convert {model} -o {out} --input-shape x=axb", "is not NAME=D1xD2x"),
    ("convert {model} -o {out} --input-shape x=-1x8", "is not NAME=D1xD2x"),
    ("convert {model} -o {out} --input-shape =1x8", "is not NAME=D1xD2x"),
    ("convert {model} -o {out} --input-shape x=1x8x", "is not NAME=D1xD2x"),
    ("convert {model} -o {out} --input-shape z=1x8", "has no input 'z'"),
    ("convert {model} -o {out} --input-shape x=1x8", "does not fit"),
    ("convert {dir}/dynamic.onnx -o {out} --input-shape x=99999999999x8", "too large"),
    (
        "convert {dir}/dynamic.tflite -o {dir}/../cli/out.tflite --input-shape x=99999999999x256",
        "too large",
    ),
    ("convert {model} -o {out} --tolerance nan", "must be a number >= 0"),
    ("convert {model} -o {out} --tolerance -1", "must be a number >= 0"),
    ("convert {model} -o {out} --inputs {dir}/missing.npz", "cannot read"),
    ("convert {model} -o {out} --inputs {dir}/bad.npz", "cannot read"),
    ("convert {model} -o {out} --inputs {dir}/model.onnx", "cannot read"),
    ("convert {model} -o {out} --inputs {dir}/names.npz", "has no input 'z'"),
    ("convert {model} -o {out} --inputs {dir}/shape.npz", "has shape [3, 3]; the model takes"),
    ("convert {model} -o {out} --inputs {dir}/strings.npz", "not castable to float32"),
    ("convert {model} -o {out} --calibration {dir}/bad.npz", "is for --recover"),
    (
        "convert {dir}/dynamic.tflite -o {dir}/../cli/out.tflite --swap silu=hardswish "
        "--calibration {dir}/bad.npz",
        "cannot read",
    ),
    ("convert {model} -o {out} --opset -1", "must be between"),
    ("convert {model} -o {out} --opset 9999", "must be between"),
    ("verify {dir}/missing.onnx {model}", "no such file"),
    ("verify {model} {dir}", "is a directory"),
    ("verify {model} {dir}/model.tflite", "compare models of one format"),
    ("verify {model} {dir}/other.onnx", "does not run on"),
    ("verify {model} {model} --tolerance nan", "must be a number >= 0"),
    ("verify {model} {model} --min-cosine 1.5", "must be in [-1, 1]"),
    ("verify {model} {model} --rtol -0.1", "must be a number >= 0"),
    ("verify {model} {model} --samples 0", "must be an integer in [1, 1000]"),
    ("verify {model} {model} --samples 1001", "must be an integer in [1, 1000]"),
    ("verify {model} {model} --seed -5", "must be an integer in [0, "),
    ("verify {model} {model} --input-shape x=1", "does not fit"),
    ("verify {dir}/model.tflite {dir}/model.tflite --inputs {dir}/bad.npz", "cannot read"),
]
_USAGE_ERRORS = [
    "inspect",
    "inspect {model} --bogus",
    "convert {model}",
    "convert {model} -o {out} --preset bogus",
    "convert {model} -o {out} --tolerance abc",
    "convert {model} -o {out} --tolerance -inf",
    "convert {model} -o {out} --opset x",
    "verify {model}",
]


def _argument_case(command: str, usage_ok=False) -> Case:
    """The command in-process (``--no-isolate``: a child per case would double this file's time;
    the fuzz cases above run half their commands isolated)."""
    argv = command.split()
    if argv[0] != "inspect":
        argv.append("--no-isolate")
    return Case(command, _FILES, {}, tuple(argv), api=False, usage_ok=usage_ok)


@pytest.mark.parametrize(("command", "message"), _BAD_ARGUMENTS, ids=[c for c, _ in _BAD_ARGUMENTS])
def test_bad_arguments_and_paths_are_one_line_errors(worker, command, message):
    (outcome,) = worker.run(_argument_case(command))
    assert outcome.kind == "error", outcome.detail
    assert message in outcome.detail, outcome.detail


@pytest.mark.parametrize("command", _USAGE_ERRORS)
def test_malformed_command_lines_are_argparse_usage_errors(worker, command):
    (outcome,) = worker.run(_argument_case(command, usage_ok=True))
    assert outcome.kind == "error" and "usage" not in outcome.detail, outcome.detail


_VALUES = [
    "x",
    "=",
    "1",
    "-1",
    "0",
    "x=1x8",
    "x=0x8",
    "x=1x256",
    "silu=hardswish",
    "gelu",
    "relu6=",
    "mobile",
    "nan",
    "inf",
    "1e999",
    "1e-30",
    "é",
    "\x00",
    "",
]
_PATHS = ["{dir}/bad.npz", "{dir}/names.npz", "{dir}/shape.npz", "{dir}/missing.npz", "{dir}"]
_OPTIONS = [
    "--swap",
    "--tolerance",
    "--rtol",
    "--min-cosine",
    "--samples",
    "--seed",
    "--input-shape",
    "--inputs",
    "--calibration",
    "--opset",
    "--preset",
    "--no-verify",
    "--no-fuse",
    "--json",
]


@st.composite
def _option(draw) -> list[str]:
    option = draw(st.sampled_from(_OPTIONS))
    if option in ("--no-verify", "--no-fuse", "--json"):
        return [option]
    if option in ("--inputs", "--calibration"):
        return [option, draw(st.sampled_from(_PATHS))]
    text = st.text(st.sampled_from("x=0123456789-.e,n "), max_size=12)
    return [option, draw(st.sampled_from(_VALUES) | text)]


@st.composite
def _command_lines(draw) -> Case:
    """convert or verify with random options and values over the good models of ``_FILES``."""
    model = draw(st.sampled_from(["model.onnx", "model.tflite", "dynamic.onnx", "dynamic.tflite"]))
    files = {model: _FILES[model], **_FILES}
    if draw(st.booleans()):
        head = ["convert", "{model}", "-o", "{out}"]
    else:
        head = ["verify", "{model}", "{dir}/" + draw(st.sampled_from(list(_FILES)))]
    argv = head + [word for option in draw(st.lists(_option(), max_size=5)) for word in option]
    return Case(" ".join(map(repr, argv)), files, {}, tuple(argv), api=False, usage_ok=True)


@_settings(CI_EXAMPLES // 2)
@given(case=_command_lines())
def test_random_command_lines(worker, failures, case):
    _check(worker, failures, "cli", case)
