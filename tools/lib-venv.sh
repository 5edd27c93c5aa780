# Sourced, not run, by tools/python-wheel-test.sh and tools/examples-test.sh: both work from the
# checkout's top in a scratch folder that is removed on exit, and both need a venv holding the
# appforge wheel built from this checkout, built the same way.
#   APPFORGE_WHEEL_BUILD_DIR=DIR  reuse a CMake build folder for the wheel (default: fresh)
#   PYTHON=EXE                    the interpreter new venvs are made from (default: python3)

# The callers' relative paths (BUILD_DIR, examples/...) are relative to the checkout's top.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}

# make_work_dir NAME: WORK becomes a fresh temporary folder, removed when the script exits.
make_work_dir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/appforge-$1.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
}

# new_venv DIR: DIR is replaced by a fresh venv so nothing from an earlier run is imported; PY is its python.
new_venv() {
  rm -rf "$1"
  "${PYTHON:-python3}" -m venv "$1"
  PY=$1/bin/python
}

# install_wheel: builds the wheel (isolated build) into $WORK/dist and installs it into PY's venv; WHEEL names it.
install_wheel() {
  local build_args=()
  [ -n "${APPFORGE_WHEEL_BUILD_DIR:-}" ] && build_args+=("-Cbuild-dir=$APPFORGE_WHEEL_BUILD_DIR")
  "$PY" -m pip wheel -q "$ROOT" --no-deps -w "$WORK/dist" "${build_args[@]}"
  WHEEL=$(ls "$WORK"/dist/appforge-*.whl)
  "$PY" -m pip install -q "$WHEEL"
}
