#!/usr/bin/env bash
# Builds a release archive of kubectl-secfix for one target and renders the krew manifest.
#
#   scripts/release.sh
#
# makes, in $SECFIX_DIST_DIR (default: dist/):
#   kubectl-secfix-<version>-<target>.tar.gz   the binary, kubectl_complete-secfix, LICENSE,
#                                              README.md, man/*.1, completions/*
#   kubectl-secfix-<version>-<target>.tar.gz.sha256
#   secfix.yaml                                plugin-manifest/secfix.yaml with the uri and
#                                              sha256 of every archive of this version in
#                                              the dist folder (other platforms keep their
#                                              placeholder sha256)
#
# Environment:
#   SECFIX_TARGET            Rust target triple (default: this machine's, from `rustc -vV`).
#                            Other targets are built on their own machines (macOS for
#                            *-apple-darwin) or with a cross toolchain; run this script
#                            there and copy the archive into one dist folder, then run it
#                            once more (or with SECFIX_RENDER_ONLY=1) to render all sha256s.
#   SECFIX_BINARY            use this prebuilt binary instead of `cargo build --release`
#                            (the tests pass their debug build to keep test time sane).
#   SECFIX_DIST_DIR          output folder (default: <repo>/dist).
#   SECFIX_RELEASE_BASE_URI  where the archives are published (default: the GitHub release
#                            of the tag v<version>). A file:// URI suits a local
#                            `kubectl krew install --manifest=... --archive=...`.
#   SECFIX_RENDER_ONLY=1     only render secfix.yaml from the archives already in the folder.
#   SOURCE_DATE_EPOCH        timestamp for the archive entries (default: last commit).
#
# Man pages and completion scripts are the checked-in man/ and completions/ (kept fresh by
# `cargo test --test completions`); when the binary runs here the completions are compared
# with what it prints, and a difference stops the release.
set -euo pipefail

root=$(cd -- "$(dirname -- "$0")/.." && pwd)
manifest_in=$root/plugin-manifest/secfix.yaml
dist=${SECFIX_DIST_DIR:-$root/dist}
mkdir -p "$dist"
dist=$(cd -- "$dist" && pwd)

log() { echo "release: $*" >&2; }
die() { echo "release: error: $*" >&2; exit 1; }

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# The krew os/arch of a Rust target triple.
krew_platform() {
  local os arch
  case $1 in
    *-linux-*) os=linux ;;
    *-apple-darwin) os=darwin ;;
    *) return 1 ;;
  esac
  case $1 in
    x86_64-*) arch=amd64 ;;
    aarch64-*) arch=arm64 ;;
    *) return 1 ;;
  esac
  echo "$os $arch"
}

manifest_version=$(sed -n 's/^  version: *"\{0,1\}v\([^"]*\)"\{0,1\} *$/\1/p' "$manifest_in" | head -n1)
[ -n "$manifest_version" ] || die "$manifest_in has no spec.version"

if [ "${SECFIX_RENDER_ONLY:-}" != 1 ]; then
  host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p') || host=
  target=${SECFIX_TARGET:-$host}
  [ -n "$target" ] || die "cannot tell the target: set SECFIX_TARGET (rustc not found)"
  krew_platform "$target" >/dev/null ||
    die "no krew platform for target $target (linux or darwin, x86_64 or aarch64)"

  # 1. The binary.
  if [ -n "${SECFIX_BINARY:-}" ]; then
    bin=$SECFIX_BINARY
    [ -x "$bin" ] || die "SECFIX_BINARY=$bin is not an executable file"
  else
    build=(cargo build --release --locked --manifest-path "$root/Cargo.toml")
    if [ -n "${SECFIX_TARGET:-}" ]; then
      build+=(--target "$target")
      bin=$root/target/$target/release/kubectl-secfix
    else
      bin=$root/target/release/kubectl-secfix
    fi
    log "building: ${build[*]}"
    "${build[@]}"
  fi

  version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)
  [ "$version" = "$manifest_version" ] ||
    die "Cargo.toml has version $version but $manifest_in has v$manifest_version: update the manifest (spec.version and caveats)"

  # 2. Stage the archive's files.
  stage=$(mktemp -d)
  trap 'rm -rf -- "$stage"' EXIT
  install -m 0755 "$bin" "$stage/kubectl-secfix"
  install -m 0755 "$root/scripts/kubectl_complete-secfix" "$stage/kubectl_complete-secfix"
  install -m 0644 "$root/LICENSE" "$root/README.md" "$stage/"
  mkdir -p "$stage/man" "$stage/completions"
  install -m 0644 "$root"/man/*.1 "$stage/man/"
  install -m 0644 "$root"/completions/* "$stage/completions/"

  if [ "$target" = "$host" ]; then
    got=$("$bin" --version) || die "$bin --version failed"
    [ "$got" = "kubectl-secfix $version" ] || die "$bin says \"$got\", expected kubectl-secfix $version"
    for pair in bash:kubectl-secfix.bash zsh:_kubectl-secfix fish:kubectl-secfix.fish powershell:_kubectl-secfix.ps1; do
      shell=${pair%%:*} file=${pair#*:}
      "$bin" completion "$shell" | cmp -s - "$stage/completions/$file" ||
        die "completions/$file is stale: run UPDATE_COMPLETIONS=1 cargo test --test completions and commit"
    done
  else
    log "not running the $target binary here: completions checked by the tests only"
  fi

  # 3. The archive, reproducible for a given commit and binary.
  archive=kubectl-secfix-$version-$target.tar.gz
  epoch=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}
  entries=(kubectl-secfix kubectl_complete-secfix LICENSE README.md man completions)
  if tar --version 2>/dev/null | grep -q 'GNU tar'; then
    tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
      -cf - "${entries[@]}" | gzip -9n >"$dist/$archive"
  else
    tar -C "$stage" --uid 0 --gid 0 -cf - "${entries[@]}" | gzip -9n >"$dist/$archive"
  fi
  sum=$(sha256 "$dist/$archive")
  echo "$sum  $archive" >"$dist/$archive.sha256"
  log "wrote $dist/$archive ($sum)"
fi

version=$manifest_version
base=${SECFIX_RELEASE_BASE_URI:-https://github.com/secfix-dev/kubectl-secfix/releases/download/v$version}
base=${base%/}

# 4. The manifest: for each platform (os/arch from its matchLabels), the archive of this
#    version in the dist folder whose target maps to that os/arch, if any.
table=
for f in "$dist"/kubectl-secfix-"$version"-*.tar.gz; do
  [ -e "$f" ] || continue
  name=${f##*/}
  t=${name#kubectl-secfix-"$version"-}
  t=${t%.tar.gz}
  platform=$(krew_platform "$t") || { log "skipping $name: no krew platform for $t"; continue; }
  table+="$platform $name $(sha256 "$f")"$'\n'
done
[ -n "$table" ] || die "no archive of version $version in $dist"

awk -v table="$table" -v base="$base" '
  BEGIN {
    n = split(table, rows, "\n")
    for (i = 1; i <= n; i++) {
      if (split(rows[i], f, " ") == 4) { archive[f[1] "/" f[2]] = f[3]; sum[f[1] "/" f[2]] = f[4] }
    }
  }
  /^  - selector:/ { os = ""; arch = "" }
  /^        os: / { os = $2 }
  /^        arch: / { arch = $2 }
  /^    uri: / {
    key = os "/" arch
    if (key in archive) { name = archive[key] } else { name = $2; sub(/.*\//, "", name) }
    print "    uri: " base "/" name
    next
  }
  /^    sha256: / {
    key = os "/" arch
    if (key in sum) { print "    sha256: " sum[key]; rendered++; next }
  }
  { print }
  END { if (!rendered) exit 3 }
' "$manifest_in" >"$dist/secfix.yaml" || die "rendering $dist/secfix.yaml failed"
log "wrote $dist/secfix.yaml"
while IFS=' ' read -r os arch name _; do
  [ -n "$os" ] || continue
  log "install locally ($os/$arch): kubectl krew install --manifest=$dist/secfix.yaml --archive=$dist/$name"
done <<<"$table"
