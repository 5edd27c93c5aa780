#!/usr/bin/env bash
# Short mode of the benchmarks for CI: builds appforge_bench, runs every benchmark briefly (the
# 10,000-request batch once), the CLI over a small generated batch, and with APPFORGE_VENV set
# (a venv with the package installed) the Python-vs-C++ render comparison. Checks that they run
# and that the rendered output is complete; it does not assert times (shared CI machines). A
# benchmark that stops with SkipWithError (its input no longer validates or renders) makes
# appforge_bench exit 1, and so this stage fail.
# Usage: tools/ci-bench-smoke.sh [BUILD_DIR]   (default build-ci-bench)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-ci-bench}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DAPPFORGE_BUILD_BENCH=ON > /dev/null
ninja -C "$build" appforge_bench appforge_render_loop appforge_cli
"$build/bench/appforge_bench" --benchmark_min_time=0.01 \
  --benchmark_filter='BM_(ParseRequest|Validate|Render|Verify|FullPipeline|FullPipelineDistinct|FullPipelineToStream|EngineCreate|HostileCorpus)$'
"$build/bench/appforge_bench" --benchmark_filter='BM_Batch10000'
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 "$root/bench/gen_requests.py" "$tmp/req" --count 120
"$build/cli/appforge" render "$tmp"/req/* > "$tmp/stream.yaml"
docs=$(grep -c '^# Source: deployment.yaml$' "$tmp/stream.yaml")
if [ "$docs" -ne 120 ]; then
  echo "ci-bench-smoke: expected 120 Deployments in the stream, found $docs" >&2
  exit 1
fi
"$build/cli/appforge" render --out "$tmp/out" "$tmp"/req/*
apps=$(find "$tmp/out" -mindepth 1 -maxdepth 1 -type d | wc -l)
if [ "$apps" -ne 120 ]; then
  echo "ci-bench-smoke: expected 120 app folders from --out, found $apps" >&2
  exit 1
fi
# The Python-vs-C++ comparison, briefly, when a venv with the package is given (tools/test.sh).
if [ -n "${APPFORGE_VENV:-}" ]; then
  "$APPFORGE_VENV/bin/python" "$root/bench/python_render.py" --loop "$build/bench/appforge_render_loop" \
    --repeat 1 --number 50
fi
echo "ci-bench-smoke: ok"
