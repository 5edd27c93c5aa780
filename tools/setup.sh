#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine: installs what is missing, builds appforge, and runs the
# main job on the shipped example requests (validate all, render the GitOps ones, print the
# Komodo payload of the NAS one). `tools/setup.sh --deps-only` stops after installing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build g++ make pkg-config git binutils python3 python3-dev python3-venv python3-pip
  libyaml-cpp-dev nlohmann-json3-dev libvalijson-dev libkainjow-mustache-dev catch2 pybind11-dev
  libcurl4-openssl-dev libtoml11-dev libmimalloc-dev libbenchmark-dev docker-registry clang libclang-rt-14-dev ccache
)
PIP_PACKAGES=(pytest pyyaml)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! python3 -c "import pytest, yaml" 2>/dev/null; then
  python3 -m pip install -q "${PIP_PACKAGES[@]}"
fi
command -v kubectl >/dev/null || echo "setup: warning: kubectl not found; the kustomize tests need it" >&2
# ajv (the validator Backstage's forms use) for the form-vs-library agreement test.
if command -v npm >/dev/null && [ ! -d tests/integration/node_modules/ajv ]; then
  npm ci --prefix tests/integration --no-audit --no-fund --loglevel=error >/dev/null
fi

# Helm 3 for the tests that run the real `helm template` on app-template HelmReleases
# (tests/integration/test_shared_helm_*.py). Built from the Go module proxy into a per-user cache;
# a Helm built this way defaults to Kubernetes 1.20, so callers pass --kube-version 1.34.0.
HELM_VERSION=v3.22.0
HELM_BIN_DIR=${APPFORGE_TOOLS_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/appforge/bin}
GO=$(command -v go || echo /usr/local/go/bin/go)
helm_installed() {  # the module version is in the binary (`helm version` says only v3.22)
  [ -x "$HELM_BIN_DIR/helm" ] || return 1
  if [ -x "$GO" ]; then
    "$GO" version -m "$HELM_BIN_DIR/helm" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+helm.sh/helm/v3[[:space:]]+$HELM_VERSION([[:space:]]|\$)"
  else
    "$HELM_BIN_DIR/helm" version --template '{{.Version}}' 2>/dev/null | grep -q "^${HELM_VERSION%.*}"
  fi
}
if helm_installed; then
  :
elif [ -x "$GO" ]; then
  echo "setup: building helm $HELM_VERSION from the Go module proxy into $HELM_BIN_DIR (takes minutes)"
  mkdir -p "$HELM_BIN_DIR"
  GOBIN="$HELM_BIN_DIR" GOFLAGS="-p=2 ${GOFLAGS:-}" "$GO" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
else
  echo "setup: warning: go not found; the helm tests (tests/integration/test_shared_helm_*.py) need $HELM_BIN_DIR/helm" >&2
fi
if [ -x "$HELM_BIN_DIR/helm" ]; then
  echo "setup: helm $HELM_VERSION is $HELM_BIN_DIR/helm (the tests look there, or set APPFORGE_HELM)"
fi

[ "${1:-}" = "--deps-only" ] && exit 0

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR"
[ "${1:-}" = "--build-only" ] && exit 0

# The main job: every shipped request through the engine.
CLI="$BUILD_DIR/cli/appforge"
OUT=${OUT:-_out}
rm -rf "$OUT"
mkdir -p "$OUT"
"$CLI" validate examples/requests/*
for f in examples/requests/*; do
  if grep -q komodoRequest "$f"; then
    "$CLI" komodo payload "$f" > "$OUT/$(basename "${f%.*}").komodo.json"
  else
    "$CLI" render "$f" --out "$OUT/$(basename "${f%.*}")"
  fi
done
echo "setup: rendered bundles and payloads are in $OUT/:"
find "$OUT" -type f | sort
