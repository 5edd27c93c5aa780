#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then the C++/C suite (ctest), the CLI and
# real-tool integration tests (pytest: kubectl, git, docker-registry, a loopback Komodo), the
# Python package, the examples against an installed tree, sanitizers, fuzz and bench smoke runs.
# Ends with one "N passed, N failed" line over the stages.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export BUILD_DIR=${BUILD_DIR:-build}
# A test run compares; it never rewrites expected files (tools/update-goldens.sh and
# `test-patterns --update` do that on request).
unset APPFORGE_UPDATE

tools/setup.sh --deps-only || { echo "setup failed"; exit 1; }

passed=0; failed=0; failures=()
stage() {
  local name=$1; shift
  local t0=$SECONDS
  echo "=== $name"
  if "$@"; then
    passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "=== $name: FAILED ($((SECONDS - t0)) s)"
  fi
}

# ccache (installed by setup) lets the mutation check's own build reuse these objects.
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
build() {
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPFORGE_BUILD_TESTS=ON \
    -DAPPFORGE_BUILD_BENCH=ON "${LAUNCHER[@]}" >/dev/null &&
    cmake --build "$BUILD_DIR"
}
stage "build" build || true
[ "$failed" -eq 0 ] || { echo "0 passed, 1 failed"; exit 1; }

export APPFORGE_CLI="$ROOT/$BUILD_DIR/cli/appforge"
export APPFORGE_SOURCE_DIR="$ROOT"
stage "ctest" ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
stage "integration (pytest)" python3 -m pytest -q tests/integration
stage "mutation check (3 mutants rotating by date, tools/mutants.txt)" tools/mutants.sh --rotate 3
# The wheel is built once, into a kept venv that the examples reuse.
VENV_DIR="$ROOT/$BUILD_DIR-venv"
stage "python wheel (fresh venv, pytest, stubtest)" env KEEP_VENV="$VENV_DIR" tools/python-wheel-test.sh
stage "examples against the installed tree" env APPFORGE_VENV="$VENV_DIR" tools/examples-test.sh
stage "sanitizers (ASan+UBSan suite and CLI integration tests, TSan threads)" tools/ci-sanitizers.sh
stage "fuzz smoke" env FUZZ_TIME="${FUZZ_TIME:-5}" tools/ci-fuzz-smoke.sh
stage "bench smoke" env APPFORGE_VENV="$VENV_DIR" tools/ci-bench-smoke.sh "$ROOT/$BUILD_DIR"

echo
[ ${#failures[@]} -eq 0 ] || echo "failed stages: ${failures[*]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
