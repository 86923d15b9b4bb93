#!/usr/bin/env bash
# Builds the real Kubernetes components the integration tests run against —
# kube-apiserver, etcd and helm — from the Go module proxy, once per version;
# with the argument `kubectl`, only kubectl of the same version (benchmarks).
# The binaries are cached outside the checkout, so a fresh clone on the same
# machine reuses them. Prints the directory holding the binaries on stdout.
#
# Honours KUBEBUILDER_ASSETS: when it names a directory holding kube-apiserver
# and etcd, those are used and only helm is built.
#
# Runs under an exclusive flock on $CACHE/assets.lock: a second run (another
# checkout, another `deno task test`) waits for the first and then finds the
# binaries built, instead of building them again in the same work directory.
set -euo pipefail

KUBE_VERSION="${DORGU_WS_KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${DORGU_WS_ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${DORGU_WS_HELM_VERSION:-v3.22.0}"
# Prometheus 3.16's module version: promtool checks the chart's alert rules
# and parses /metrics in the tests.
PROMETHEUS_VERSION="${DORGU_WS_PROMETHEUS_VERSION:-v0.316.0}"
# The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule), for the
# chart's manifests to be checked against the real schemas.
PROMETHEUS_OPERATOR_VERSION="${DORGU_WS_PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
CACHE="${DORGU_WS_CACHE:-$HOME/.cache/dorgu-ws}"
ASSETS="$CACHE/assets-r2-kube-$KUBE_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"

log() { echo "ensure_assets: $*" >&2; }

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    log "Go is missing: the Kubernetes test binaries are built from source with it; install Go 1.26 or later and put it on PATH."
    exit 1
  fi
}

# Builds k8s.io/kubernetes/cmd/$2 (kube-apiserver for the tests, kubectl for
# the benchmarks) at $KUBE_VERSION into $1.
build_kube_command() {
  need_go
  local out="$1" name="$2" work="$CACHE/build/kube-$KUBE_VERSION"
  # kubectl in a module of its own, so that building it never holds up the
  # tests' kube-apiserver.
  [ "$name" = kube-apiserver ] || work="$CACHE/build/$name-$KUBE_VERSION"
  mkdir -p "$work"
  cd "$work"
  if [ ! -f go.mod ]; then
    go mod init dorgu-ws-envtest >&2
  fi
  local staging="v0.${KUBE_VERSION#v1.}"
  local modfile
  modfile="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  # k8s.io/kubernetes points its staging modules at ./staging; outside its own
  # tree each one has to be pinned to the published v0.x.y twin instead.
  local edits=(-require "k8s.io/kubernetes@$KUBE_VERSION")
  while read -r mod; do
    edits+=(-replace "$mod=$mod@$staging")
  done < <(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile")
  go mod edit "${edits[@]}"
  cat > tools.go <<GO
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/$name"
GO
  GOFLAGS=-mod=mod go mod tidy -e >&2 || true
  # Stamp the version the way the Kubernetes release build does, so /version
  # and clients that check it see v1.x.y instead of v0.0.0-master.
  local minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    -o "$out/$name" "k8s.io/kubernetes/cmd/$name" >&2
}

build_go_tool() {
  local out="$1" name="$2" module="$3" pkg="$4"
  need_go
  local work="$CACHE/build/$name"
  mkdir -p "$work"
  cd "$work"
  [ -f go.mod ] || go mod init "dorgu-ws-$name" >&2
  GOFLAGS=-mod=mod go get "$module" >&2
  GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/$name" "$pkg" >&2
}

mkdir -p "$ASSETS"
# `ensure_assets.sh kubectl`: only kubectl of the same version, for the
# benchmarks (never built for the tests), under a lock of its own so the
# tests' set-up never waits for it; prints its path.
WANT="${1:-}"
LOCK="$CACHE/assets.lock"
[ "$WANT" = kubectl ] && LOCK="$CACHE/kubectl.lock"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$LOCK"
  if ! flock --nonblock 9; then
    log "another run is building the test binaries; waiting for it"
    flock 9
  fi
else
  log "flock is missing (util-linux); building without a lock"
fi
if [ "$WANT" = kubectl ]; then
  if [ ! -x "$ASSETS/kubectl" ]; then
    log "building kubectl $KUBE_VERSION from the Go module proxy (a few minutes, once)"
    (build_kube_command "$ASSETS" kubectl)
  fi
  echo "$ASSETS/kubectl"
  exit 0
fi
if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
  log "using kube-apiserver and etcd from KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
  ln -sf "$KUBEBUILDER_ASSETS/kube-apiserver" "$ASSETS/kube-apiserver"
  ln -sf "$KUBEBUILDER_ASSETS/etcd" "$ASSETS/etcd"
fi
if [ ! -x "$ASSETS/etcd" ]; then
  log "building etcd $ETCD_VERSION from the Go module proxy"
  (build_go_tool "$ASSETS" etcd "go.etcd.io/etcd/server/v3@$ETCD_VERSION" go.etcd.io/etcd/server/v3)
fi
if [ ! -x "$ASSETS/kube-apiserver" ]; then
  log "building kube-apiserver $KUBE_VERSION from the Go module proxy (several minutes, once)"
  (build_kube_command "$ASSETS" kube-apiserver)
fi
if [ ! -x "$ASSETS/helm" ]; then
  log "building helm $HELM_VERSION from the Go module proxy"
  (build_go_tool "$ASSETS" helm "helm.sh/helm/v3@$HELM_VERSION" helm.sh/helm/v3/cmd/helm)
fi
if [ ! -x "$ASSETS/promtool" ]; then
  log "building promtool $PROMETHEUS_VERSION from the Go module proxy"
  (build_go_tool "$ASSETS" promtool "github.com/prometheus/prometheus@$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool)
fi
crds="$ASSETS/prometheus-operator-crds"
if [ "$(cat "$crds/VERSION" 2>/dev/null)" != "$PROMETHEUS_OPERATOR_VERSION" ]; then
  log "fetching the Prometheus Operator $PROMETHEUS_OPERATOR_VERSION CRDs from the Go module proxy"
  need_go
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  rm -rf "$crds" && mkdir -p "$crds"
  for kind in servicemonitors prometheusrules; do
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$crds/"
  done
  chmod -R u+w "$crds"
  echo "$PROMETHEUS_OPERATOR_VERSION" > "$crds/VERSION"
fi
echo "$ASSETS"
