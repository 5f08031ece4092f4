"""Every catalogue record has all its pieces: the checklist in ``edgeact.catalogue``'s docstring.

Each test names the piece that is missing, so adding a record and forgetting one fails here.
"""

import pytest

from edgeact import kernels
from edgeact.bench import numpy_peers
from edgeact.catalogue import ACTIVATIONS
from edgeact.kernels import scalar
from tests import test_catalogue, test_int8_litert, test_int8_onnxruntime

ELEMENTWISE = sorted(n for n, a in ACTIVATIONS.items() if a.elementwise)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_has_an_element_function_and_a_kernel(name):
    assert name in scalar.ELEMENTS, f"{name}: add its @jit element function to scalar.ELEMENTS"
    assert callable(kernels.get(name)), f"{name}: no public kernel"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_has_a_numpy_peer(name):
    assert name in numpy_peers.EXPRESSIONS, f"{name}: add its NumPy expression to bench"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_has_exact_reference_rows(name):
    assert name in test_catalogue.EXACT, f"{name}: add its Decimal formula to test_catalogue.EXACT"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_has_int8_cases_against_every_runtime_it_has_a_form_for(name):
    act = ACTIVATIONS[name]
    form = act.tflite_form()
    if form is not None:
        for dtype in ("int8", "uint8"):
            if dtype.upper() in form.versions:
                assert (name, dtype) in test_int8_litert.CASES, f"{name} {dtype}: no LiteRT case"
    if act.onnx_form() is not None and kernels.emulates("onnxruntime", name):
        assert (name, {}) in test_int8_onnxruntime.CASES, f"{name}: no ONNX Runtime case"
