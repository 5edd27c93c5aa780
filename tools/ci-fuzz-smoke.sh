#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each one for a short time on a
# seed corpus copied from tests/data, examples/requests and the shipped profile and patterns.
# Exits non-zero on any crash, hang, leak or broken invariant.
#   FUZZ_BUILD_DIR  build folder               (default: build-fuzz-ci)
#   FUZZ_TIME       seconds per target         (default: 20)
#   FUZZ_TARGETS    space-separated subset     (default: every target; one not built fails)
#   FUZZ_CORPUS     keep corpora here between runs (default: $FUZZ_BUILD_DIR/corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz-ci}
TIME=${FUZZ_TIME:-20}
CORPUS=${FUZZ_CORPUS:-$BUILD/corpus}

command -v clang++ >/dev/null || { echo "ci-fuzz-smoke: clang++ is missing (apt: clang libclang-rt-14-dev)"; exit 1; }
t0=$SECONDS
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DAPPFORGE_BUILD_FUZZ=ON -DAPPFORGE_BUILD_TESTS=OFF -DAPPFORGE_BUILD_CLI=OFF -DAPPFORGE_INSTALL=OFF \
  -DAPPFORGE_BUILD_PYTHON=OFF -DAPPFORGE_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target appforge_fuzz
echo "ci-fuzz-smoke: build took $((SECONDS - t0)) s"

# Seeds are copied at run time, never committed twice.
seed() {  # seed TARGET FILE...
  local dir="$CORPUS/$1"; shift
  mkdir -p "$dir"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    [ "$(stat -c %s "$f")" -le 65536 ] || continue
    cp "$f" "$dir/seed-$(printf '%s' "$f" | sha1sum | cut -c1-12)"
  done
}
mapfile -t requests < <(find examples/requests tests/data -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) | sort)
mapfile -t profiles < <(find libappforge/profiles tests/data -type f -path '*profile*' \( -name '*.yaml' -o -name '*.json' \) | sort)
mapfile -t patterns < <(find libappforge/patterns tests/data -type f -path '*pattern*' -name '*.yaml' | sort)
for t in fuzz_parse fuzz_check fuzz_render fuzz_capi fuzz_plan; do seed "$t" "${requests[@]}"; done
seed fuzz_parse "${profiles[@]}" "${patterns[@]}"
seed fuzz_profile "${profiles[@]}"
seed fuzz_pattern "${patterns[@]}"
seed fuzz_pattern_policy "${patterns[@]}"
# fuzz_render_fields: first byte picks request and field, the rest is the value.
mkdir -p "$CORPUS/fuzz_render_fields"
for i in $(seq 0 59); do
  printf "\\x$(printf %02x "$i")%s" "value-$i" >"$CORPUS/fuzz_render_fields/seed-$i"
done

# Every target must have been built: one that is missing fails the stage (it is not skipped).
all_targets="fuzz_parse fuzz_check fuzz_render fuzz_render_fields fuzz_profile fuzz_pattern fuzz_plan fuzz_pattern_policy fuzz_capi"
for src in fuzz/fuzz_*.cpp; do  # a new target must join the list (and so the smoke run)
  t=$(basename "$src" .cpp)
  case " $all_targets " in *" $t "*) ;; *) echo "ci-fuzz-smoke: FAILED: $src is not in this script's target list" >&2; exit 1 ;; esac
done
targets=${FUZZ_TARGETS:-$all_targets}
missing=""
for t in $targets; do
  [ -x "$BUILD/fuzz/$t" ] || missing="$missing $t"
done
if [ -n "$missing" ]; then
  echo "ci-fuzz-smoke: FAILED: fuzz target(s) not built:$missing (see fuzz/CMakeLists.txt)" >&2
  exit 1
fi
status=0
for t in $targets; do
  mkdir -p "$CORPUS/$t" "$BUILD/artifacts/$t"
  log="$BUILD/artifacts/$t.log"
  echo "=== $t (${TIME} s)"
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$BUILD/fuzz/$t" "$CORPUS/$t" -dict="$ROOT/fuzz/appforge.dict" -max_total_time="$TIME" \
       -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
       -artifact_prefix="$BUILD/artifacts/$t/" >"$log" 2>&1; then
    grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | tr '\n' ' '; echo
  else
    status=1
    echo "ci-fuzz-smoke: $t FAILED; artifacts in $BUILD/artifacts/$t/"
    grep -E 'ERROR|invariant|SUMMARY|==[0-9]+==' "$log" | head -20
  fi
done
exit $status
