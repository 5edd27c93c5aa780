#!/usr/bin/env python3
"""Times Engine.render from Python against the same render from C++ (issue 7: at most +10%).

Usage: python_render.py [--bench PATH_TO_appforge_bench] [--repeat 7] [--number 2000]

Python side: timeit of appforge.Engine().render(TEXT) with TEXT the richest example request
(examples/requests/paperless-longhorn-backup.yaml); the bundle's stream is read too, so both
sides produce the same text. C++ side: BM_FullPipelineToStream of appforge_bench (render_text +
stream()), run right after on the same machine. Prints both medians and the overhead; exits 1
if the package cannot be imported (build it with -DAPPFORGE_BUILD_PYTHON=ON and put
<build>/bindings/python on PYTHONPATH).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", help="path to appforge_bench (skip the C++ side when absent)")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--number", type=int, default=2000)
    args = ap.parse_args(argv)
    try:
        import appforge
    except ImportError as e:
        print(f"cannot import appforge ({e}); build with -DAPPFORGE_BUILD_PYTHON=ON and set PYTHONPATH", file=sys.stderr)
        return 1
    with open(os.path.join(ROOT, "examples/requests/paperless-longhorn-backup.yaml"), encoding="utf-8") as f:
        text = f.read()
    engine = appforge.Engine()
    engine.render(text)  # warm: the first render fills the template and validator caches

    def once():
        return engine.render(text).stream

    # process_time: CPU time of this process, like Google Benchmark's CPU column.
    runs = timeit.repeat(once, repeat=args.repeat, number=args.number, timer=__import__("time").process_time)
    py_us = statistics.median(runs) / args.number * 1e6
    print(f"python Engine.render + stream: median {py_us:.1f} us CPU per request "
          f"({args.repeat} x {args.number} calls)")
    if not args.bench:
        return 0
    out = subprocess.run([args.bench, "--benchmark_filter=BM_FullPipelineToStream$",
                          f"--benchmark_repetitions={args.repeat}", "--benchmark_format=json"],
                         check=True, capture_output=True, text=True).stdout
    rows = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    cpp_us = statistics.median(b["cpu_time"] for b in rows) / 1000.0  # ns -> us
    print(f"C++ render_text + stream:      median {cpp_us:.1f} us CPU per request")
    print(f"Python overhead: {100.0 * (py_us - cpp_us) / cpp_us:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
