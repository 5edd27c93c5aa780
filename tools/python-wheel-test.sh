#!/usr/bin/env bash
# Builds the appforge wheel from this checkout (scikit-build-core + pybind11 from PyPI, the core
# linked statically against the Debian C++ libraries), installs it into a fresh virtual
# environment, and runs against the INSTALLED package: the pytest suite (tests/python), mypy
# stubtest on the stubs, mypy --strict on the Python example, and a check that `appforge` is on PATH.
#   APPFORGE_WHEEL_BUILD_DIR=DIR  reuse a CMake build folder between runs (default: fresh)
#   KEEP_VENV=DIR                 create the venv there and keep it (default: temporary)
#   PYTHON=EXE                    the interpreter the venv is made from (default: python3)
set -euo pipefail
source "$(dirname "$0")/lib-venv.sh"

make_work_dir wheel
VENV=${KEEP_VENV:-$WORK/venv}

echo "wheel-test: fresh venv in $VENV"
new_venv "$VENV"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q pytest mypy pyyaml  # pyyaml: the YAML 1.1 reader tests/python/test_yaml11.py reads output back with

echo "wheel-test: building the wheel (isolated build: scikit-build-core, pybind11 from PyPI)"
install_wheel
echo "wheel-test: built and installed $(basename "$WHEEL")"

# Everything below runs outside the source tree so only the installed package can be imported.
cd "$WORK"
"$PY" - <<'PY'
import appforge, pathlib, sys
where = pathlib.Path(appforge.__file__).resolve()
assert "site-packages" in where.parts, f"appforge imported from {where}, not the installed wheel"
assert (where.parent / "py.typed").exists() and (where.parent / "_core.pyi").exists(), "stubs missing"
print(f"wheel-test: appforge {appforge.__version__} from {where.parent}")
PY
CLI=$(PATH="$VENV/bin:$PATH" command -v appforge)
[ "$CLI" = "$VENV/bin/appforge" ] || { echo "wheel-test: appforge on PATH is $CLI, not the venv's" >&2; exit 1; }
"$CLI" --version

echo "wheel-test: pytest tests/python"
PATH="$VENV/bin:$PATH" APPFORGE_SOURCE_DIR="$ROOT" "$PY" -m pytest -q -p no:cacheprovider "$ROOT/tests/python"

echo "wheel-test: mypy stubtest"
"$PY" -m mypy.stubtest appforge --allowlist "$ROOT/bindings/python/stubtest-allowlist.txt"
echo "wheel-test: mypy --strict on the package and the Python example"
"$PY" -m mypy --strict --no-incremental -p appforge
"$PY" -m mypy --strict --no-incremental "$ROOT/examples/python/render_request.py"
echo "wheel-test: ok"
