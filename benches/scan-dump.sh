#!/usr/bin/env bash
# Benchmark for issue 16: "reading a file should never cost more than reading a cluster".
#
# Usage: benches/scan-dump.sh [N]        (N pods, default 20000: about 21,800 objects)
#
# It starts its own test bed and seeds it exactly as benches/scan-large.sh does
# (benches/lib/seed.sh), dumps the same kinds `scan -A` lists with the real kubectl, and
# times, interleaved, RUNS rounds of (release build, each under /usr/bin/time: wall clock,
# peak RSS, CPU):
#   live       `kubectl-secfix scan -A -o json` against the seeded cluster;
#   yaml-list  `kubectl-secfix scan -f dump.yaml -o json`: `kubectl get … -A -o yaml`, one
#              `kind: List` document;
#   json-list  `kubectl-secfix scan -f dump.json -o json`: the same as `-o json`;
#   stream     `kubectl-secfix scan -f stream.yaml -o json`: the same objects as a
#              multi-document YAML stream (one `---` document per object);
#   docs-2000  `kubectl-secfix scan -f` and `fix -f` of the first 2,000 documents of the stream.
# One untimed warm-up round first checks that every offline scan finds exactly what the live
# scan finds. It prints a results table and appends it to docs/benchmarks.md.
#
# Environment: SECFIX_BENCH_RUNS (default 3), SECFIX_BENCH_PARALLEL, SECFIX_BENCH_DOC (file to
# append to; empty: do not write), CARGO_TARGET_DIR, and what tests/cluster/up.sh reads.
# Needs: tests/cluster/setup.sh done, curl with HTTP/2, jq, kubectl, /usr/bin/time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:-20000}
RUNS=${SECFIX_BENCH_RUNS:-3}
PARALLEL=${SECFIX_BENCH_PARALLEL:-32}
DOC=${SECFIX_BENCH_DOC-$ROOT/docs/benchmarks.md}
PODS_PER_RS=25
DOCS=2000

# shellcheck source=benches/common.sh
. "$ROOT/benches/common.sh"

check_sizes
need curl jq kubectl awk
build_release

WORK=$(mktemp -d "${TMPDIR:-/tmp}/secfix-dump-bench.XXXXXX")
cleanup() {
  trap - EXIT INT TERM
  log "stopping the test bed"
  "$ROOT/tests/cluster/down.sh" "$WORK" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$ROOT/tests/cluster/up.sh" "$WORK"
export KUBECONFIG="$WORK/kubeconfig"
SERVER=$(kubectl config view --raw -o jsonpath='{.clusters[0].cluster.server}')
TOKEN=$(kubectl config view --raw -o jsonpath='{.users[?(@.name=="admin")].user.token}')
CA="$WORK/apiserver/apiserver.crt"
mkdir -p "$WORK/results"
# shellcheck source=benches/lib/seed.sh
. "$ROOT/benches/lib/seed.sh"

# --- the dumps -------------------------------------------------------------------------------
# The kinds `scan -A` lists (crates/secfix-io/src/inventory.rs `requests`), as in scan-large.sh.
KINDS=deployments.apps,statefulsets.apps,daemonsets.apps,replicasets.apps,replicationcontrollers,jobs.batch,cronjobs.batch,pods,networkpolicies.networking.k8s.io,namespaces
D="$WORK/dumps"
mkdir -p "$D"
log "dumping with kubectl get -A -o yaml / -o json"
kubectl get "$KINDS" -A -o yaml >"$D/dump.yaml"
kubectl get "$KINDS" -A -o json >"$D/dump.json"
# kubectl's List: `items:` at column 0, each item `- ` at column 0 and indented by 2.
awk '
  /^items:/ { initems = 1; next }
  initems && /^- / { print "---"; print substr($0, 3); next }
  initems && /^  / { print substr($0, 3); next }
  initems && /^$/ { print ""; next }
  { initems = 0 }
' "$D/dump.yaml" >"$D/stream.yaml"
awk -v max="$DOCS" '/^---$/ { n++ } n <= max' "$D/stream.yaml" >"$D/docs-$DOCS.yaml"
size() { awk -v b="$(wc -c <"$1")" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
OBJECTS=$(jq '.items | length' "$D/dump.json")
log "dumps: $OBJECTS objects; yaml $(size "$D/dump.yaml"), json $(size "$D/dump.json"), stream $(size "$D/stream.yaml"), $DOCS docs $(size "$D/docs-$DOCS.yaml")"

# --- warm-up and sanity ----------------------------------------------------------------------
summary() { jq -c '.summary | del(.suppressed)' "$1"; }
run_scan() { # run_scan OUT ARGS... : scan, exit code 0 or 3
  local out=$1 rc=0
  shift
  "$SECFIX" scan "$@" -o json >"$out" 2>"$WORK/results/stderr" || rc=$?
  [ $rc = 0 ] || [ $rc = 3 ] || { cat "$WORK/results/stderr" >&2; die "scan $* exited $rc"; }
}
log "warm-up round"
run_scan "$WORK/results/live.json" -A
LIVE=$(summary "$WORK/results/live.json")
for f in dump.yaml dump.json stream.yaml; do
  run_scan "$WORK/results/offline.json" -f "$D/$f"
  got=$(summary "$WORK/results/offline.json")
  [ "$got" = "$LIVE" ] || die "scan -f $f found $got, the live scan $LIVE"
done
log "every offline scan finds what the live scan finds: $LIVE"

# measure NAME CMD... : one timed run, appends "wall max_rss_kb user sys" to results/NAME.
measure() {
  local name=$1 rc=0
  shift
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/results/time" "$@" >/dev/null 2>"$WORK/results/stderr" || rc=$?
  if [ $rc != 0 ] && [ $rc != 3 ]; then
    echo "bench: error: $name exited $rc:" >&2
    tail -n 5 "$WORK/results/stderr" | sed 's/^/    /' >&2
    exit 1
  fi
  tail -n 1 "$WORK/results/time" >>"$WORK/results/$name"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
  log "round $r/$RUNS"
  measure live "$SECFIX" scan -A -o json
  measure yaml-list "$SECFIX" scan -f "$D/dump.yaml" -o json
  measure json-list "$SECFIX" scan -f "$D/dump.json" -o json
  measure stream "$SECFIX" scan -f "$D/stream.yaml" -o json
  measure docs-scan "$SECFIX" scan -f "$D/docs-$DOCS.yaml" -o json
  measure docs-fix "$SECFIX" fix -f "$D/docs-$DOCS.yaml" --digest-source pods
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# stats NAME : "median_wall min_wall max_wall median_rss_kb median_cpu"
stats() {
  local f="$WORK/results/$1" mid=$(((RUNS + 1) / 2))
  echo "$(cut -d' ' -f1 "$f" | sort -n | sed -n "${mid}p") $(cut -d' ' -f1 "$f" | sort -n | head -n1) $(cut -d' ' -f1 "$f" | sort -n | tail -n1) $(cut -d' ' -f2 "$f" | sort -n | sed -n "${mid}p") $(awk '{ print $3 + $4 }' "$f" | sort -n | sed -n "${mid}p")"
}
read -r LIVE_MED _ _ _ _ <<<"$(stats live)"
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
row() { # row LABEL INPUT NAME
  local med min max rss cpu
  read -r med min max rss cpu <<<"$(stats "$3")"
  printf '| %s | %s | %s s | %s–%s s | %s s | %s MiB | %sx |\n' "$1" "$2" "$med" "$min" "$max" "$cpu" \
    "$(mib "$rss")" "$(awk -v a="$med" -v b="$LIVE_MED" 'BEGIN { printf "%.2f", a / b }')"
}
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
if [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  DIRTY=" (with local changes)"
fi
RESULT=$(
  echo "### $(date -u +%F) — dumps of N=$N pods ($OBJECTS objects), secfix $COMMIT$DIRTY"
  echo
  echo "- Machine: $(nproc) cores ($CPU); shared with other jobs: load average $LOAD_BEFORE before the timed rounds, $LOAD_AFTER after."
  echo "- The cluster of benches/scan-large.sh, dumped with kubectl $(kubectl version --client -o json | jq -r .clientVersion.gitVersion): the kinds \`scan -A\` lists. Every offline scan found what the live scan found: \`$LIVE\`."
  echo "- $RUNS interleaved rounds after one warm-up. CPU is user + system time."
  echo
  echo "| command | input | wall (median) | wall (min–max) | CPU (median) | peak RSS (median) | vs live |"
  echo "|---|---|---|---|---|---|---|"
  row "\`scan -A\` (live)" "the test bed's API server" live
  row "\`scan -f\`" "YAML List dump, $(size "$D/dump.yaml")" yaml-list
  row "\`scan -f\`" "JSON List dump, $(size "$D/dump.json")" json-list
  row "\`scan -f\`" "multi-document stream, $(size "$D/stream.yaml")" stream
  row "\`scan -f\`" "first $DOCS documents, $(size "$D/docs-$DOCS.yaml")" docs-scan
  row "\`fix -f\`" "first $DOCS documents, $(size "$D/docs-$DOCS.yaml")" docs-fix
)
echo
echo "$RESULT"
echo
if [ -n "$DOC" ]; then
  printf '\n%s\n' "$RESULT" >>"$DOC"
  log "appended to $DOC"
fi
