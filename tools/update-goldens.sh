#!/usr/bin/env bash
# Regenerates the expected outputs the tests compare against, from the built CLI:
#   - tests/data/requests/{valid,invalid}/<name>.expected.json  (validate --output json, minus "file")
#   - tests/golden/<profile>/<storage>__<ingress>__<backup>.request.yaml and its folder
#     (render --out; a combination the rules reject gets diagnostics.json instead of manifests)
# Review `git diff` afterwards: a golden is only as good as the eye that read it.
#
# usage: tools/update-goldens.sh [path/to/appforge]   (default: build/cli/appforge)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CLI=${1:-${APPFORGE_CLI:-build/cli/appforge}}
case "$CLI" in /*) ;; *) CLI="$ROOT/$CLI" ;; esac
[ -x "$CLI" ] || { echo "update-goldens: $CLI is not an executable appforge binary" >&2; exit 2; }

# validate --output json, dropping the "file" key: the expected-diagnostics format.
expected_json() {  # $1 = request file, rest = extra CLI args
  local f=$1; shift
  local out rc=0
  out=$("$CLI" validate --output json "$@" "$f" 2>/dev/null) || rc=$?
  [ "$rc" -le 2 ] || { echo "update-goldens: $f: appforge exited $rc" >&2; exit 2; }
  printf '%s' "$out" | python3 -c '
import json, sys
ds = json.load(sys.stdin)
for d in ds:
    d.pop("file", None)
print(json.dumps(ds, indent=2, sort_keys=True, ensure_ascii=False))'
}

# 1. The request corpus.
n=0
for f in tests/data/requests/valid/* tests/data/requests/invalid/*; do
  case "$f" in *.expected.json|*.profile) continue ;; *.yaml|*.json) ;; *) continue ;; esac
  args=()
  side="${f%.*}.profile"
  [ -f "$side" ] && args=(--profile "tests/data/$(tr -d '\n' < "$side")")
  expected_json "$f" "${args[@]}" > "${f%.*}.expected.json"
  n=$((n + 1))
done
echo "update-goldens: $n corpus expectations written"

# 2. Golden bundles: every storage x ingress x backup combination under each profile.
request() {  # $1 profile, $2 storage, $3 ingress, $4 backup
  echo "# Golden input: $2 + $3 + $4 under the $1 profile (written by tools/update-goldens.sh)."
  echo "operatorId: golden"
  echo "appName: demo"
  if [ "$1" = lab2 ]; then
    echo "namespace: apps"
    echo "containerImage: registry.lan.example.net:5000/team/demo:2.1.0"
    echo "resourceRequests: {cpu: 250m, memory: 256Mi}"
  else
    echo "containerImage: ghcr.io/example/demo:1.0.0"
  fi
  echo "storagePattern: $2"
  case "$2:$1" in
    longhorn-persistent:*) echo "storageConfig: {sizeGi: 10}" ;;
    nas-mount:lab2) echo "storageConfig: {nasEndpoint: \"nfs://truenas.lan.example.net\", nasSubpath: /mnt/apps01/appdata/demo}" ;;
    nas-mount:*) echo "storageConfig: {nasEndpoint: \"nfs://nas.internal:2049\", nasSubpath: /mnt/apps/demo}" ;;
    s3-external:lab2) echo "storageConfig: {s3Bucket: demo-data, s3Region: garage, s3UseExternalSecrets: true}" ;;
    s3-external:*) echo "storageConfig: {s3Bucket: demo-data, s3Region: us-east-1, s3UseExternalSecrets: false}" ;;
  esac
  echo "ingressPattern: $3"
  echo "backupStrategy: $4"
  if [ "$4" = volsync-snapshots ] && [ "$1" = lab2 ]; then
    echo "backupConfig: {schedule: \"15 1 * * *\", retentionDays: 7}"
  fi
}

combos=0
for profile in default lab2; do
  pargs=()
  [ "$profile" = default ] || pargs=(--profile "examples/profiles/$profile.yaml")
  dir="tests/golden/$profile"
  rm -rf "$dir"
  mkdir -p "$dir"
  for storage in ephemeral longhorn-persistent nas-mount s3-external; do
    for ingress in internal-only external-via-tunnel; do
      for backup in none volsync-snapshots; do
        name="${storage}__${ingress}__${backup}"
        request "$profile" "$storage" "$ingress" "$backup" > "$dir/$name.request.yaml"
        if "$CLI" render "${pargs[@]}" --out "$dir/$name" "$dir/$name.request.yaml" 2>/dev/null; then
          :
        else
          rm -rf "$dir/$name"
          mkdir -p "$dir/$name"
          expected_json "$dir/$name.request.yaml" "${pargs[@]}" > "$dir/$name/diagnostics.json"
          # A render that fails on a request validation accepts is a bug, not a golden.
          grep -q '"severity": "error"' "$dir/$name/diagnostics.json" || {
            echo "update-goldens: $dir/$name: validation passes but render fails:" >&2
            "$CLI" render "${pargs[@]}" "$dir/$name.request.yaml" >/dev/null || true
            exit 1
          }
        fi
        combos=$((combos + 1))
      done
    done
  done
done
echo "update-goldens: $combos golden combinations written under tests/golden/"
