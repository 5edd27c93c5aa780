#!/usr/bin/env bash
# The C++ test suite under AddressSanitizer + UndefinedBehaviorSanitizer (every finding is
# fatal), then the thread test alone under ThreadSanitizer: 8 threads rendering on one shared
# Engine, every output compared with the single-threaded one. Each job has its own build dir.
#   SAN_BUILD_DIR   prefix of the build folders   (default: build-san)
#   SAN_JOBS        parallel compile jobs         (default: 2)
#   SAN_SKIP_ASAN / SAN_SKIP_TSAN = 1 to run only one of the two jobs
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${SAN_BUILD_DIR:-build-san}
JOBS=${SAN_JOBS:-2}
status=0
common=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
        -DAPPFORGE_BUILD_PYTHON=OFF -DAPPFORGE_BUILD_BENCH=OFF -DAPPFORGE_BUILD_FUZZ=OFF -DAPPFORGE_INSTALL=OFF
        -DAPPFORGE_CLI_MIMALLOC=OFF)  # the sanitizers bring their own malloc

if [ "${SAN_SKIP_ASAN:-0}" != 1 ]; then
  t0=$SECONDS
  flags="-O1 -g1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
  cmake -S . -B "$PREFIX-asan" "${common[@]}" -DAPPFORGE_BUILD_TESTS=ON -DAPPFORGE_BUILD_CLI=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$flags" -DCMAKE_C_FLAGS_RELWITHDEBINFO="$flags" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
  cmake --build "$PREFIX-asan" -j "$JOBS"
  built=$SECONDS
  # The CLI tests run the ASan-built appforge too (APPFORGE_CLI is compiled into the tests).
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest --test-dir "$PREFIX-asan" --output-on-failure -j "$JOBS"; then
    echo "ci-sanitizers: ASan+UBSan ok (build $((built - t0)) s, tests $((SECONDS - built)) s)"
  else
    echo "ci-sanitizers: ASan+UBSan FAILED (build $((built - t0)) s, tests $((SECONDS - built)) s)"
    status=1
  fi
fi

if [ "${SAN_SKIP_TSAN:-0}" != 1 ]; then
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
fi
exit $status
