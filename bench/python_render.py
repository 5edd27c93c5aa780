#!/usr/bin/env python3
"""Times Engine.render from Python against the same render from C++ (issue 7: at most +10%).

Usage: python_render.py [--loop PATH_TO_appforge_render_loop] [--repeat 9] [--number 2000]

Python side: a loop of appforge.Engine().render(TEXT).stream() with TEXT the richest example
request (examples/requests/paperless-longhorn-backup.yaml). C++ side: appforge_render_loop
(bench/render_loop.cpp), the same loop of render_text + stream() in C++. Each side runs in a
fresh process of its own that warms up with a quarter of the renders first and then reports the
CPU time per render; the sides take turns so that a change in the machine's load hits both
alike. (Timing Python in this process would be unfair to it: after each fork of a child, every
page the parent writes takes a copy-on-write fault.) Prints the minimum and median of each side
and the overhead; exits 1 if the package cannot be imported (build it with
-DAPPFORGE_BUILD_PYTHON=ON and put <build>/bindings/python on PYTHONPATH).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUEST = os.path.join(ROOT, "examples/requests/paperless-longhorn-backup.yaml")


def python_loop(number: int) -> float:
    """CPU microseconds per render + stream from Python, after a warm-up like the C++ loop's."""
    import appforge

    with open(REQUEST, encoding="utf-8") as f:
        text = f.read()
    engine = appforge.Engine()
    engine.render(text)
    for _ in range(number // 4):
        engine.render(text).stream()
    t0 = time.process_time()
    for _ in range(number):
        engine.render(text).stream()
    return (time.process_time() - t0) / number * 1e6


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--loop", help="path to appforge_render_loop (skip the C++ side when absent)")
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--number", type=int, default=2000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(python_loop(args.number))
        return 0
    try:
        import appforge  # noqa: F401
    except ImportError as e:
        print(f"cannot import appforge ({e}); build with -DAPPFORGE_BUILD_PYTHON=ON and set PYTHONPATH", file=sys.stderr)
        return 1
    py_runs, cpp_runs = [], []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", "--number", str(args.number)],
                             check=True, capture_output=True, text=True).stdout
        py_runs.append(float(out.split()[0]))
        if args.loop:
            out = subprocess.run([args.loop, REQUEST, str(args.number)], check=True, capture_output=True,
                                 text=True).stdout
            cpp_runs.append(float(out.split()[0]))
    # The minimum is the run least disturbed by other work on the machine (what timeit advises);
    # the median is printed too.
    py_min, py_med = min(py_runs), statistics.median(py_runs)
    print(f"python Engine.render + stream: min {py_min:.1f} us, median {py_med:.1f} us CPU per request "
          f"({args.repeat} x {args.number} calls)")
    if not args.loop:
        return 0
    cpp_min, cpp_med = min(cpp_runs), statistics.median(cpp_runs)
    print(f"C++ render_text + stream:      min {cpp_min:.1f} us, median {cpp_med:.1f} us CPU per request "
          f"({args.repeat} x {args.number} calls, taking turns)")
    print(f"Python overhead: {100.0 * (py_min - cpp_min) / cpp_min:+.1f}% (min), "
          f"{100.0 * (py_med - cpp_med) / cpp_med:+.1f}% (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
