"""Array loops around the scalar element functions.

One loop template serves every activation: ``map_loop(element)`` gives it the element function as
a *global*, so Numba inlines the element function into the loop and vectorises the pair. (Passing
the element function as an argument or a closure variable would work too, but Numba then cannot
cache the compiled loop, and every process would pay the JIT again.) Each specialisation gets its
own qualified name, which is what Numba's on-disk cache is keyed by. Numba only checks the loop's
own file for changes, so the name also carries a hash of the kernel sources: editing an element
function can never load a stale loop from the cache.

Loops take 1-D arrays of any stride; the public wrappers flatten N-d arrays into such views.
"""

import hashlib
import pathlib
import types

import numpy as np

from edgeact._jit import jit

__all__ = ["lut16_loop", "map_loop"]


def _map_template(x, out, params):
    for i in range(x.size):
        out[i] = _element(np.float64(x[i]), *params)  # noqa: F821 - bound by map_loop


_map_loops = {}
_SOURCES_HASH = hashlib.sha1(
    b"".join(p.read_bytes() for p in sorted(pathlib.Path(__file__).parent.glob("*.py")))
).hexdigest()[:10]


def map_loop(element):
    """The compiled loop ``loop(x, out, params)``: ``out[i] = element(float64(x[i]), *params)``.

    ``out`` may be float32 or float64; the float64 result is rounded once, to nearest even.
    """
    name = element.py_func.__name__
    if name not in _map_loops:
        namespace = dict(_map_template.__globals__, _element=element)
        qualname = f"_map_{name}_{_SOURCES_HASH}"
        fn = types.FunctionType(_map_template.__code__, namespace, qualname)
        fn.__qualname__ = qualname
        _map_loops[name] = jit(fn)
    return _map_loops[name]


@jit
def lut16_loop(codes, table, out):
    """out[i] = table[codes[i]] over 16-bit codes: a float16 kernel as one gather per element."""
    for i in range(codes.size):
        out[i] = table[codes[i]]
