"""Packaging promises: declared lower bounds are the tested ones, the package is typed, and Numba's
cache goes to a per-user directory (never into site-packages, where it outlives an uninstall)."""

import json
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import edgeact
import edgeact.kernels as K

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
MINIMUMS = ROOT / ".ci" / "minimum-versions.txt"


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", requirement).lower()


def _lower_bounds(requirements) -> dict[str, str]:
    bounds = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([^,;\s]+)", requirement.strip())
        assert match, f"pyproject.toml: {requirement!r} needs exactly one lower bound (name>=v)"
        bounds[_name(match[1])] = match[2]
    return bounds


@pytest.mark.skipif(not MINIMUMS.exists(), reason="needs the source checkout (.ci/)")
def test_minimum_versions_file_pins_pyprojects_lower_bounds():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    declared = _lower_bounds(project["dependencies"])
    extras = project["optional-dependencies"]
    tests = _lower_bounds(extras["test"])
    for extra, requirements in extras.items():
        for name, bound in _lower_bounds(requirements).items():
            assert declared.get(name, tests.get(name)) == bound, f"[{extra}] {name}>={bound}"
    pinned = {}
    for line in MINIMUMS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{MINIMUMS.name}: {line!r} is not name==version"
            pinned[_name(name)] = version
    assert pinned == declared | tests


def test_the_package_is_typed():
    assert (Path(edgeact.__file__).parent / "py.typed").is_file()


def test_generated_kernels_are_annotated():
    signature = K.leaky_relu.__signature__
    assert signature.return_annotation is np.ndarray
    assert signature.parameters["negative_slope"].annotation is float
    assert K.leaky_relu.__annotations__["compat"] is K.Compat
    assert set(K.leaky_relu.__annotations__) == {*signature.parameters, "return"}
    with pytest.raises(AttributeError, match="no attribute 'hardswsh'"):
        K.hardswsh  # noqa: B018 - the module __getattr__ for type checkers must still raise


def test_kernels_named_like_a_module_are_declared_for_type_checkers():
    modules = {m.name for m in pkgutil.iter_modules(K.__path__)}
    declared = {name for name, kind in K.__annotations__.items() if kind is K.Kernel}
    assert declared == modules & set(K.KERNELS)
    assert all(K.KERNELS[name] is getattr(K, name) for name in declared)


_CACHE_PROBE = textwrap.dedent(
    """
    import json, pathlib, sys
    import numba  # imported before edgeact, as user code may
    import numpy as np
    import edgeact._jit
    import edgeact.kernels as K

    K.relu(np.ones(5, np.float32))
    package = pathlib.Path(edgeact._jit.__file__).parent
    print(json.dumps({
        "cache_dir": str(edgeact._jit.cache_dir()),
        "numba_cache_dir": numba.config.CACHE_DIR,
        "in_package": [str(p) for p in package.rglob("*.nb[ic]") if p.stat().st_mtime > %r],
    }))
    """
)


def _probe(tmp_path, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environ.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "xdg"), **env)
    started = time.time() - 1  # coarse file-system timestamps
    done = subprocess.run(
        [sys.executable, "-c", _CACHE_PROBE % started],
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _cached_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.nbi"))


@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout is Linux's")
def test_numba_cache_goes_to_the_per_user_cache_directory(tmp_path):
    result = _probe(tmp_path)
    expected = tmp_path / "xdg" / "edgeact" / "numba"
    assert result["cache_dir"] == str(expected)
    assert _cached_files(expected), "no compiled kernel was cached there"
    assert result["numba_cache_dir"] == "", "numba's own setting must be left as it was"
    assert result["in_package"] == [], "numba wrote its cache into the package"


@pytest.mark.subprocess
def test_numba_cache_dir_overrides_it(tmp_path):
    result = _probe(tmp_path, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert result["cache_dir"] == str(tmp_path / "mine")
    assert _cached_files(tmp_path / "mine")
    assert not (tmp_path / "xdg" / "edgeact").exists()
    assert result["in_package"] == []
