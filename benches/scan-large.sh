#!/usr/bin/env bash
# Benchmark for issue 3: "a cluster with tens of thousands of Pods scans in about the time the
# API server needs to serve the lists".
#
# Usage: benches/scan-large.sh [N]        (N pods, default 20000)
#
# It starts its own test bed (tests/cluster/up.sh in a temp dir; stopped and removed on exit,
# Ctrl-C included), seeds it over the API, then times, interleaved, RUNS rounds of:
#   raw     the same paged LISTs secfix sends (every kind at once, limit=500), with curl, bodies
#           discarded: what the API server needs to serve them;
#   kubectl `kubectl get <same kinds> -A -o json --chunk-size=500 > /dev/null`;
#   secfix  `kubectl-secfix scan -A -o json > /dev/null` (release build).
# Each is measured with /usr/bin/time (wall clock and peak RSS); one untimed warm-up round
# comes first. It prints a results table and appends it to docs/benchmarks.md.
#
# What it seeds (N pods in ceil(N/1000) namespaces `bench-NNN`):
#   - 3/4 of the pods belong to Deployments through ReplicaSets (25 pods per ReplicaSet; each
#     Deployment also has an old ReplicaSet scaled to 0 with the previous tag), 1/4 are bare;
#   - every pod: two containers (one with a mutable tag and a secretKeyRef env, one pinned),
#     labels, annotations, probes, a volume; its status is then patched to Running with
#     container statuses and imageIDs (no kubelet runs, so this is how the lists get the size
#     and shape of a real cluster's, and how digest pinning from pods has data);
#   - a default-deny NetworkPolicy in every other namespace.
# Objects are created with `curl --parallel` (HTTP/2, SECFIX_BENCH_PARALLEL requests in
# flight, default 32), about 2x faster here than several concurrent `kubectl create -f`.
#
# Environment:
#   SECFIX_BENCH_RUNS      timed rounds (default 5)
#   SECFIX_BENCH_PARALLEL  concurrent create requests while seeding (default 32)
#   SECFIX_BENCH_DOC       file the results are appended to (default docs/benchmarks.md;
#                          empty: do not write)
#   SECFIX_BENCH_KEEP      1: leave the seeded test bed running at the end (for profiling);
#                          the script prints how to stop it
#   CARGO_TARGET_DIR       where `cargo build --release` puts the binary (default target/)
#   plus what tests/cluster/up.sh reads (KUBE_APISERVER, SECFIX_CACHE, ...).
# Needs: tests/cluster/setup.sh done, curl with HTTP/2, jq, kubectl, /usr/bin/time (Debian
# package `time`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
N=${1:-20000}
RUNS=${SECFIX_BENCH_RUNS:-5}
PARALLEL=${SECFIX_BENCH_PARALLEL:-32}
DOC=${SECFIX_BENCH_DOC-$ROOT/docs/benchmarks.md}
PAGE=500
PODS_PER_RS=25

# shellcheck source=benches/common.sh
. "$ROOT/benches/common.sh"

check_sizes
need curl jq kubectl

# --- build -----------------------------------------------------------------------------------
build_release

# --- test bed --------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/secfix-bench.XXXXXX")
KEEP=${SECFIX_BENCH_KEEP:-}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$KEEP" = 1 ] && [ $rc = 0 ]; then
    log "test bed left running: KUBECONFIG=$WORK/kubeconfig; stop it with tests/cluster/down.sh $WORK"
    return
  fi
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
SEED="$WORK/seed"
mkdir -p "$SEED/bodies" "$WORK/results"

# --- seeding ---------------------------------------------------------------------------------
# shellcheck source=benches/lib/seed.sh
. "$ROOT/benches/lib/seed.sh"

# --- what is measured ------------------------------------------------------------------------
# The kinds `scan -A` lists (crates/secfix-io/src/inventory.rs `requests`), at the versions a 1.20 server
# serves (CronJob: batch/v1beta1; secfix first asks batch/v1 and gets a 404).
LIST_PATHS="/apis/apps/v1/deployments /apis/apps/v1/statefulsets /apis/apps/v1/daemonsets
  /apis/apps/v1/replicasets /api/v1/replicationcontrollers /apis/batch/v1/jobs
  /apis/batch/v1beta1/cronjobs /api/v1/pods /apis/networking.k8s.io/v1/networkpolicies
  /api/v1/namespaces"
KUBECTL_KINDS=deployments.apps,statefulsets.apps,daemonsets.apps,replicasets.apps,replicationcontrollers,jobs.batch,cronjobs.batch,pods,networkpolicies.networking.k8s.io,namespaces

# raw_lists BYTES_FILE : every kind in $LIST_PATHS (space-separated) at once, page by page
# (limit/continue), bodies discarded; writes the total bytes served to BYTES_FILE. Exported,
# so that /usr/bin/time can run it as `bash -c raw_lists`.
# The user agent is not curl's: the API server pretty-prints JSON for curl and wget, which
# would make the bodies larger than what kubectl and secfix receive.
raw_lists() {
  local path dir
  dir=$(mktemp -d "$WORK/results/raw.XXXXXX")
  for path in $LIST_PATHS; do
    (
      page="$dir/page.$BASHPID" token="" bytes=0
      while :; do
        args=(-G --data-urlencode "limit=$PAGE")
        [ -n "$token" ] && args+=(--data-urlencode "continue=$token")
        n=$(curl -fsS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json' \
          -A secfix-bench -o "$page" -w '%{size_download}' "${args[@]}" "$SERVER$path") || exit 1
        bytes=$((bytes + n))
        token=$(head -c 4096 "$page" | grep -o '"continue":"[^"]*"' | head -n1 | cut -d'"' -f4)
        [ -n "$token" ] || break
      done
      echo "$bytes" >"$dir/bytes.$BASHPID"
    ) &
  done
  local pid failed=0
  for pid in $(jobs -p); do wait "$pid" || failed=1; done
  [ $failed = 0 ] || { echo "raw_lists: a LIST failed" >&2; rm -rf "$dir"; return 1; }
  cat "$dir"/bytes.* | awk '{ s += $1 } END { print s }' >"$1"
  rm -rf "$dir"
}
export -f raw_lists
export WORK CA TOKEN SERVER PAGE LIST_PATHS
# shellcheck disable=SC2016 # $1 is raw_lists' argument, expanded by the inner bash
RAW_CMD=(bash -c 'raw_lists "$1"' raw_lists "$WORK/results/bytes")
KUBECTL_CMD=(kubectl get "$KUBECTL_KINDS" -A -o json --chunk-size="$PAGE")
SECFIX_CMD=("$SECFIX" scan -A -o json)

# measure NAME CMD... : one timed run, appends "wall_seconds max_rss_kb" to results/NAME.
measure() {
  local name=$1 rc=0
  shift
  /usr/bin/time -f '%e %M' -o "$WORK/results/time" "$@" >/dev/null 2>"$WORK/results/stderr" || rc=$?
  # scan exits 3 when it has findings (the default --fail-on low).
  if [ $rc != 0 ] && ! { [ "$name" = secfix ] && [ $rc = 3 ]; }; then
    echo "bench: error: $name exited $rc:" >&2
    tail -n 5 "$WORK/results/stderr" | sed 's/^/    /' >&2
    exit 1
  fi
  tail -n 1 "$WORK/results/time" >>"$WORK/results/$name"
}

# --- warm-up and sanity ----------------------------------------------------------------------
log "warm-up round"
"${RAW_CMD[@]}"
LIST_MB=$(awk '{ printf "%.1f", $1 / 1048576 }' "$WORK/results/bytes")
"${KUBECTL_CMD[@]}" >"$WORK/results/kubectl.json"
PODS_LISTED=$(jq '[.items[] | select(.kind == "Pod")] | length' "$WORK/results/kubectl.json")
rm -f "$WORK/results/kubectl.json"
[ "$PODS_LISTED" = "$N" ] || die "kubectl lists $PODS_LISTED pods, expected $N"
rc=0
"${SECFIX_CMD[@]}" >"$WORK/results/report.json" 2>"$WORK/results/stderr" || rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || { cat "$WORK/results/stderr" >&2; die "secfix scan exited $rc"; }
SUMMARY=$(jq -r '.summary | "scanned \(.scanned) workloads, \(.total) findings (\([.byCheck | to_entries[] | "\(.key) \(.value)"] | join(", "))), \(.fixable) fixable"' "$WORK/results/report.json")
PINNED=$(jq '[.findings[] | select(.detail.digestSource? == "pods")] | length' "$WORK/results/report.json")
rm -f "$WORK/results/report.json"
log "LISTs serve ${LIST_MB} MiB; secfix: $SUMMARY; $PINNED digests from pods"

# --- timed rounds ----------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
  log "round $r/$RUNS"
  measure raw "${RAW_CMD[@]}"
  measure kubectl "${KUBECTL_CMD[@]}"
  measure secfix "${SECFIX_CMD[@]}"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# stats NAME : "median_wall min_wall max_wall median_rss_kb"
stats() {
  local f="$WORK/results/$1" mid=$(((RUNS + 1) / 2))
  local walls rsss
  walls=$(cut -d' ' -f1 "$f" | sort -n)
  rsss=$(cut -d' ' -f2 "$f" | sort -n)
  echo "$(sed -n "${mid}p" <<<"$walls") $(head -n1 <<<"$walls") $(tail -n1 <<<"$walls") $(sed -n "${mid}p" <<<"$rsss")"
}
read -r RAW_MED RAW_MIN RAW_MAX RAW_RSS <<<"$(stats raw)"
read -r KC_MED KC_MIN KC_MAX KC_RSS <<<"$(stats kubectl)"
read -r SF_MED SF_MIN SF_MAX SF_RSS <<<"$(stats secfix)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
if [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  DIRTY=" (with local changes)"
fi
ETCD_VERSION=$(etcd --version 2>/dev/null | awk 'NR == 1 {print $3}')

row() { # row LABEL MED MIN MAX RSS
  printf '| %s | %s s | %s–%s s | %s MiB | %sx | %sx |\n' "$1" "$2" "$3" "$4" "$(mib "$5")" \
    "$(ratio "$2" "$RAW_MED")" "$(ratio "$2" "$KC_MED")"
}
RESULT=$(
  echo "### $(date -u +%F) — N=$N pods, secfix $COMMIT$DIRTY"
  echo
  echo "- Machine: $(nproc) cores ($CPU), $MEM; shared with other jobs: load average $LOAD_BEFORE before the timed rounds, $LOAD_AFTER after."
  echo "- Test bed: kube-apiserver 1.20.2 + etcd $ETCD_VERSION on loopback (tests/cluster/up.sh)."
  echo "- Cluster: $N Pods ($OWNED owned by $RS_COUNT ReplicaSets of $RS_COUNT Deployments, $BARE bare), $((RS_COUNT * 2)) ReplicaSets, $NS_COUNT namespace(s); the LISTs serve ${LIST_MB} MiB of JSON. Seeded in ${SEED_SECONDS}s."
  echo "- secfix found: $SUMMARY; $PINNED image digests agreed from pods."
  echo "- $RUNS interleaved rounds after one warm-up; page size $PAGE."
  echo
  echo "| command | wall (median) | wall (min–max) | peak RSS (median) | vs raw | vs kubectl |"
  echo "|---|---|---|---|---|---|"
  row "raw paged LISTs (curl, all kinds at once)" "$RAW_MED" "$RAW_MIN" "$RAW_MAX" "$RAW_RSS"
  row "\`kubectl get … -A -o json --chunk-size=$PAGE\`" "$KC_MED" "$KC_MIN" "$KC_MAX" "$KC_RSS"
  row "\`kubectl-secfix scan -A -o json\`" "$SF_MED" "$SF_MIN" "$SF_MAX" "$SF_RSS"
  echo
  echo "Peak RSS of the raw row is that of the largest single curl process."
)
echo
echo "$RESULT"
echo
if [ -n "$DOC" ]; then
  if [ ! -f "$DOC" ]; then
    printf '# Benchmarks\n\nResults of %sbenches/scan-large.sh%s, newest last.\n' '`' '`' >"$DOC"
  fi
  printf '\n%s\n' "$RESULT" >>"$DOC"
  log "appended to $DOC"
fi
