#!/usr/bin/env bash
# The mutation check: see tools/mutants.py (the list is tools/mutants.txt).
#   tools/mutants.sh [--rotate N | --list | NAME...]
set -euo pipefail
cd "$(dirname "$0")/.."
# The source is restored by mutants.py itself (finally, SIGINT/SIGTERM, a backup for SIGKILL);
# this trap only makes an interrupted wrapper pass the signal on.
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"' INT TERM
python3 tools/mutants.py "$@" &
child=$!
wait "$child"
