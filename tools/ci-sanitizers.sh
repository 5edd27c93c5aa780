#!/usr/bin/env bash
# The C++ test suite under AddressSanitizer + UndefinedBehaviorSanitizer (every finding is
# fatal), then the CLI integration tests (pytest tests/integration) against the ASan+UBSan-built
# appforge CLI, then the thread test alone under ThreadSanitizer: 8 threads rendering on one
# shared Engine, every output compared with the single-threaded one. Each job has its own build
# dir.
#   SAN_BUILD_DIR   prefix of the build folders   (default: build-san)
#   SAN_JOBS        parallel compile jobs         (default: 2)
# Every job always runs: there is no knob to skip one (a stage that ran nothing must not pass).
#
# The CLI tests run all of tests/integration with APPFORGE_CLI set to the sanitized binary:
# gitops plan/apply against real git checkouts and the security apply tests, the registry
# image checks (docker-registry, the token front, Docker Hub in a network namespace), the
# Komodo client against the loopback stand-in, the hostile corpus, validate/render, the YAML 1.1
# read-back, and the kubectl/ajv checks of the output (cheap, so they stay in). About 4-5 min on
# two shared cores. Every sanitizer report is also written under $PREFIX-asan/reports/: a report
# fails the stage even when the test that caused it tolerated the exit status.
set -euo pipefail
cd "$(dirname "$0")/.."
for knob in SAN_SKIP_ASAN SAN_SKIP_TSAN; do
  if [ -n "${!knob:-}" ]; then
    echo "ci-sanitizers: $knob is not supported any more: every job runs (unset it)" >&2
    exit 2
  fi
done
PREFIX=${SAN_BUILD_DIR:-build-san}
case "$PREFIX" in /*) ;; *) PREFIX="$PWD/$PREFIX" ;; esac
JOBS=${SAN_JOBS:-2}
status=0
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
        -DAPPFORGE_BUILD_PYTHON=OFF -DAPPFORGE_BUILD_BENCH=OFF -DAPPFORGE_BUILD_FUZZ=OFF -DAPPFORGE_INSTALL=OFF
        -DAPPFORGE_CLI_MIMALLOC=OFF)  # the sanitizers bring their own malloc

# 1. ASan + UBSan: the C++/C suite (ctest), then the CLI integration tests on the same build.
t0=$SECONDS
flags="-O1 -g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$PREFIX-asan" "${common[@]}" -DAPPFORGE_BUILD_TESTS=ON -DAPPFORGE_BUILD_CLI=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$PREFIX-asan" -j "$JOBS"
built=$SECONDS
asan_cli="$PREFIX-asan/cli/appforge"
[ -x "$asan_cli" ] || { echo "ci-sanitizers: $asan_cli was not built" >&2; exit 1; }
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --test-dir "$PREFIX-asan" --output-on-failure -j "$JOBS"; then
  echo "ci-sanitizers: ASan+UBSan ctest ok (build $((built - t0)) s, tests $((SECONDS - built)) s)"
else
  echo "ci-sanitizers: ASan+UBSan ctest FAILED (build $((built - t0)) s, tests $((SECONDS - built)) s)"
  status=1
fi

t1=$SECONDS
reports="$PREFIX-asan/reports"
rm -rf "$reports"
mkdir -p "$reports"
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:log_path="$reports/asan" \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path="$reports/ubsan" \
   APPFORGE_CLI="$asan_cli" APPFORGE_SOURCE_DIR="$PWD" \
   python3 -m pytest -q -p no:cacheprovider tests/integration; then
  pytest_ok=1
else
  pytest_ok=0
fi
found=$(find "$reports" -type f | sort)
if [ -n "$found" ]; then
  echo "ci-sanitizers: the ASan+UBSan CLI reported problems:"
  for f in $found; do echo "--- $f"; head -60 "$f"; done
  pytest_ok=0
fi
if [ "$pytest_ok" = 1 ]; then
  echo "ci-sanitizers: ASan+UBSan CLI integration tests ok ($((SECONDS - t1)) s, CLI $asan_cli)"
else
  echo "ci-sanitizers: ASan+UBSan CLI integration tests FAILED ($((SECONDS - t1)) s)"
  status=1
fi

# 2. TSan: the thread test alone.
t0=$SECONDS
flags="-O1 -g1 -fsanitize=thread -fno-omit-frame-pointer"
cmake -S . -B "$PREFIX-tsan" "${common[@]}" -DAPPFORGE_BUILD_TESTS=ON -DAPPFORGE_BUILD_CLI=OFF \
  -DAPPFORGE_BUILD_C_API=OFF \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$PREFIX-tsan" -j "$JOBS" --target appforge_thread_tests
built=$SECONDS
if TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 APPFORGE_THREAD_ROUNDS=${APPFORGE_THREAD_ROUNDS:-2} \
   "$PREFIX-tsan/tests/appforge_thread_tests" "[threads]"; then
  echo "ci-sanitizers: TSan ok (build $((built - t0)) s, run $((SECONDS - built)) s)"
else
  echo "ci-sanitizers: TSan FAILED (build $((built - t0)) s, run $((SECONDS - built)) s)"
  status=1
fi
exit $status
