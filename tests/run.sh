#!/usr/bin/env bash
# The test command: every test, live ones included, against a real test bed.
#
# Usage: tests/run.sh [cargo test arguments...]
#   tests/run.sh                               # everything
#   tests/run.sh --test live_testbed           # one test file
#   tests/run.sh --test live_testbed -- stale  # tests whose name contains "stale"
#
# 1. tests/cluster/setup.sh installs what is missing (apt) and builds kube-apiserver once
#    (cached under ~/.cache/kubectl-secfix).
# 2. tests/cluster/up.sh starts etcd, kube-apiserver and two registries in a temp dir; at the
#    same time a second, independent test bed starts in another temp dir (for the tests that
#    scan several clusters at once; its variables are exported as SECFIX_TEST2_*).
# 3. `cargo test --no-fail-fast --workspace --all-targets ARGS -- --include-ignored` runs (without
#    --all-targets when ARGS pick targets, e.g. `--test NAME`) with the test bed's variables
#    and TMPDIR inside the test bed, so test temp files go away with it. Live tests are
#    `#[ignore]`d in a plain `cargo test`; here they run (and fail, never skip, without the
#    test bed).
# 4. tests/cluster/down.sh stops everything and removes the temp dirs: on success, failure,
#    Ctrl-C (SIGINT) or SIGTERM.
# Exits with cargo's status; non-zero when the test bed cannot start. CARGO_TARGET_DIR is
# honoured (cargo reads it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
root=$(dirname "$here")

child=
child2=
dir=
dir2=
# stop_group PID : stops a child that leads its own process group, with everything it started.
stop_group() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM -- "-$1" 2>/dev/null || kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_group "$child"
  stop_group "$child2"
  for d in "$dir" "$dir2"; do
    if [ -n "$d" ]; then
      "$here/cluster/down.sh" "$d" || status=1
    fi
  done
  exit "$status"
}
on_signal() {
  echo "run.sh: interrupted by SIG$1; stopping the test bed" >&2
  [ "$1" = INT ] && exit 130
  exit 143
}
trap cleanup EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM

# run CMD... : runs CMD in its own process group and waits for it. A signal to this script then
# interrupts the wait at once (the trap runs and stops the group), where a foreground command
# would first have to finish.
run() {
  (trap - INT QUIT TERM; exec setsid "$@") &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  return "$status"
}

run "$here/cluster/setup.sh" >/dev/null

dir=$(mktemp -d "${TMPDIR:-/tmp}/secfix-testbed.XXXXXX")
dir2=$(mktemp -d "${TMPDIR:-/tmp}/secfix-testbed2.XXXXXX")
# The second test bed starts in the background, alongside the first (each takes ~10 s).
(trap - INT QUIT TERM; exec setsid "$here/cluster/up.sh" "$dir2") &
child2=$!
if ! run "$here/cluster/up.sh" "$dir"; then
  echo "run.sh: error: the test cluster did not start (see above); no test was run" >&2
  exit 1
fi
status2=0
wait "$child2" || status2=$?
child2=
if [ "$status2" != 0 ]; then
  echo "run.sh: error: the second test cluster did not start (see above); no test was run" >&2
  exit 1
fi
# shellcheck disable=SC1091
. "$dir/env"
# shellcheck disable=SC1091
. <(sed 's/^export SECFIX_TEST_/export SECFIX_TEST2_/' "$dir2/env")
mkdir -p "$dir/tmp"
export TMPDIR="$dir/tmp"

cd "$root"
# Every crate of the workspace; --all-targets unless the arguments pick targets themselves
# (cargo would add them up).
targets=(--workspace --all-targets)
for arg in "$@"; do
  case "$arg" in
    --) break ;;
    --lib | --bin | --bin=* | --bins | --test | --test=* | --tests | --example | --example=* | \
      --examples | --bench | --bench=* | --benches | --all-targets | --doc) targets=(--workspace) ;;
  esac
done
# Live tests are #[ignore]d for a plain `cargo test`: run them too, after any test filter given
# after `--`.
cargo_args=()
test_args=(--include-ignored)
seen_sep=
for arg in "$@"; do
  if [ -z "$seen_sep" ] && [ "$arg" = -- ]; then
    seen_sep=1
  elif [ -n "$seen_sep" ]; then
    test_args+=("$arg")
  else
    cargo_args+=("$arg")
  fi
done
status=0
run cargo test --no-fail-fast "${targets[@]}" "${cargo_args[@]}" -- "${test_args[@]}" || status=$?
exit "$status"
