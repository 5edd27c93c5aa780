#!/usr/bin/env bash
# Builds and runs examples/cpp (find_package) and examples/c (pkg-config) against an INSTALLED
# tree (cmake --install into a temporary prefix; the build tree is not on any search path), and
# examples/python against the installed wheel. Each example renders a request into a folder,
# which must be byte-identical to what the installed CLI renders.
#   BUILD_DIR=DIR                the configured appforge build to install from (default: build)
#   APPFORGE_VENV=DIR            a venv that already has the appforge wheel installed (default:
#                                build and install the wheel into a fresh venv)
#   APPFORGE_WHEEL_BUILD_DIR=DIR reuse a CMake build folder for the wheel
set -euo pipefail
source "$(dirname "$0")/lib-venv.sh"
BUILD_DIR=${BUILD_DIR:-build}
make_work_dir examples
PREFIX=$WORK/prefix
REQUEST=$ROOT/examples/requests/paperless-longhorn-backup.yaml
INVALID=$ROOT/tests/data/requests/invalid/app-name-uppercase.yaml

# The README's snippets are the examples, byte for byte: every fenced block preceded by
# "<!-- file: PATH -->" in README.md or docs/*.md must equal PATH.
python3 - "$ROOT" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
n = 0
for doc in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
    if not doc.exists():
        continue
    for m in re.finditer(r"<!-- file: (\S+) -->\n```[^\n]*\n(.*?)```\n", doc.read_text(), re.S):
        n += 1
        if (root / m.group(1)).read_text() != m.group(2):
            sys.exit(f"examples: the snippet of {m.group(1)} in {doc.name} differs from the file")
if n < 5:
    sys.exit(f"examples: only {n} example snippets found in README.md/docs (want C++, Python and C)")
print(f"examples: {n} README snippets match their files")
PY

if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" >/dev/null
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
echo "examples: installed into $PREFIX"
CLI=$PREFIX/bin/appforge
"$CLI" render "$REQUEST" --out "$WORK/expected"

same_as_cli() {  # $1 = folder an example wrote
  diff -r "$WORK/expected" "$1" >/dev/null || { echo "examples: $1 differs from the CLI's output" >&2; diff -r "$WORK/expected" "$1" | head -20 >&2; return 1; }
  echo "examples: $1 matches the CLI ($(ls "$1" | wc -l) files)"
}
fails_on_invalid() {  # $@ = command; must exit 1 on an invalid request and write nothing
  local out=$WORK/invalid-out rc=0
  "$@" "$INVALID" "$out" 2>"$WORK/invalid.err" || rc=$?
  [ "$rc" -eq 1 ] || { echo "examples: $* exited $rc on an invalid request (want 1)" >&2; cat "$WORK/invalid.err" >&2; return 1; }
  grep -q "/appName" "$WORK/invalid.err" || { echo "examples: no diagnostic naming /appName" >&2; return 1; }
  [ ! -e "$out" ] || { echo "examples: output written for an invalid request" >&2; return 1; }
}

# C++: find_package(appforge CONFIG) from the prefix only.
cmake -S examples/cpp -B "$WORK/cpp" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=Release >/dev/null
grep -q "appforge_DIR:PATH=$PREFIX/" "$WORK/cpp/CMakeCache.txt" || { echo "examples: appforge not found in the prefix" >&2; exit 1; }
cmake --build "$WORK/cpp" >/dev/null
"$WORK/cpp/render_request" "$REQUEST" "$WORK/out-cpp"
same_as_cli "$WORK/out-cpp"
fails_on_invalid "$WORK/cpp/render_request"

# C: pkg-config from the prefix only; C89, -pedantic -Werror.
mkdir -p "$WORK/c"
PKG_CONFIG_PATH=$(dirname "$(find "$PREFIX" -name appforge.pc | head -1)") make -s -C examples/c BUILD="$WORK/c"
"$WORK/c/render_request" "$REQUEST" "$WORK/out-c"
same_as_cli "$WORK/out-c"
fails_on_invalid "$WORK/c/render_request"
if ldd "$WORK/c/render_request" | grep -q "$ROOT/$BUILD_DIR"; then
  echo "examples: the C example links the build tree" >&2; exit 1
fi

# Python: the installed wheel.
if [ -n "${APPFORGE_VENV:-}" ] && [ -x "$APPFORGE_VENV/bin/python" ]; then
  PY=$APPFORGE_VENV/bin/python
else
  new_venv "$WORK/venv"
  install_wheel
fi
(cd "$WORK" && "$PY" "$ROOT/examples/python/render_request.py" "$REQUEST" "$WORK/out-py")
same_as_cli "$WORK/out-py"
(cd "$WORK" && fails_on_invalid "$PY" "$ROOT/examples/python/render_request.py")
echo "examples: ok"
