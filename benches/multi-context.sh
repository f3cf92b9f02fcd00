#!/usr/bin/env bash
# Benchmark for issue 13: "N contexts cost about the slowest one, not the sum".
#
# Usage: benches/multi-context.sh [PODS_A [PODS_B]]     (default 3000 and 6000 pods)
#
# It starts two independent test beds at once (tests/cluster/up.sh twice, each in its own temp
# dir; stopped and removed on exit, Ctrl-C included), seeds them over the API with different
# sizes (so one context is clearly the slowest), puts a latency proxy in front of each API
# server (benches/latency_proxy.py: SECFIX_BENCH_RTT_MS of round trip, as to a remote
# cluster), writes one kubeconfig with both as contexts `a` and `b` (through the proxies),
# then times, interleaved, RUNS rounds of (release build, `-A -o json`):
#   a     `kubectl-secfix scan --context a`
#   b     `kubectl-secfix scan --context b`
#   both  `kubectl-secfix scan --contexts a,b`
# each under /usr/bin/time (wall clock, peak RSS), after one untimed warm-up round that checks
# that `both` reports the findings of `a` plus those of `b`. It prints a table (medians, and
# `both` against the slowest single context and against the sum of both) and appends it to
# docs/benchmarks.md.
#
# What it seeds in each bed (PODS in ceil(PODS/1000) namespaces `bench-NNN`): bare Pods with
# two containers (one with a mutable tag and an env secretKeyRef, one pinned by digest),
# labels, annotations, a probe and a volume; a default-deny NetworkPolicy in every other
# namespace. Objects are created with `curl --parallel` (HTTP/2).
#
# Environment:
#   SECFIX_BENCH_RUNS      timed rounds (default 5)
#   SECFIX_BENCH_PARALLEL  concurrent create requests while seeding (default 32)
#   SECFIX_BENCH_RTT_MS    round-trip time added between the scans and each API server
#                          (default 50; 0: no proxy, the API servers are reached directly)
#   SECFIX_BENCH_DOC       file the results are appended to (default docs/benchmarks.md;
#                          empty: do not write)
#   CARGO_TARGET_DIR       where `cargo build --release` puts the binary (default target/)
#   plus what tests/cluster/up.sh reads (KUBE_APISERVER, SECFIX_CACHE, ...).
# Needs: tests/cluster/setup.sh done, curl with HTTP/2, jq, kubectl, python3, /usr/bin/time
# (Debian package `time`).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
PODS_A=${1:-3000}
PODS_B=${2:-6000}
RUNS=${SECFIX_BENCH_RUNS:-5}
PARALLEL=${SECFIX_BENCH_PARALLEL:-32}
RTT_MS=${SECFIX_BENCH_RTT_MS:-50}
DOC=${SECFIX_BENCH_DOC-$ROOT/docs/benchmarks.md}

# shellcheck source=benches/common.sh
. "$ROOT/benches/common.sh"

for n in "$PODS_A" "$PODS_B"; do
  case "$n" in '' | *[!0-9]*) die "pod counts must be whole numbers, got '$n'" ;; esac
  [ "$n" -ge 100 ] || die "pod counts must be at least 100, got $n"
done
case "$RUNS" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_RUNS must be a positive number, got '$RUNS'" ;; esac
case "$PARALLEL" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_PARALLEL must be a positive number, got '$PARALLEL'" ;; esac
case "$RTT_MS" in '' | *[!0-9]*) die "SECFIX_BENCH_RTT_MS must be a whole number of milliseconds, got '$RTT_MS'" ;; esac
need curl jq kubectl python3

# --- build -----------------------------------------------------------------------------------
build_release

# --- two test beds ---------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/secfix-bench-multi.XXXXXX")
BED_A="$WORK/a" BED_B="$WORK/b"
mkdir -p "$BED_A" "$BED_B" "$WORK/results"
up_b=
proxies=()
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$up_b" ] && kill -0 "$up_b" 2>/dev/null; then
    kill -TERM -- "-$up_b" 2>/dev/null || kill -TERM "$up_b" 2>/dev/null || true
    wait "$up_b" 2>/dev/null || true
  fi
  for pid in "${proxies[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  log "stopping the test beds"
  "$ROOT/tests/cluster/down.sh" "$BED_A" || true
  "$ROOT/tests/cluster/down.sh" "$BED_B" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(trap - INT QUIT TERM; exec setsid "$ROOT/tests/cluster/up.sh" "$BED_B") &
up_b=$!
"$ROOT/tests/cluster/up.sh" "$BED_A"
wait "$up_b" || die "the second test bed did not start"
up_b=

# bed_field BED JSONPATH : a field of BED's own kubeconfig.
bed_field() { KUBECONFIG="$1/kubeconfig" kubectl config view --raw -o jsonpath="$2"; }

# The server each context reaches: the API server itself, or a latency proxy in front of it.
# proxy BED : sets $via to the URL to use for BED.
proxy() {
  local server hostport fifo port
  server=$(bed_field "$1" '{.clusters[0].cluster.server}')
  if [ "$RTT_MS" = 0 ]; then
    via=$server
    return
  fi
  hostport=${server#https://}
  fifo="$WORK/proxy.$RANDOM"
  mkfifo "$fifo"
  python3 "$ROOT/benches/latency_proxy.py" 0 "$hostport" "$((RTT_MS / 2))" >"$fifo" &
  proxies+=($!)
  read -r _ port <"$fifo" || die "the latency proxy for $server did not start"
  rm -f "$fifo"
  via="https://127.0.0.1:$port"
}
proxy "$BED_A"
VIA_A=$via
proxy "$BED_B"
VIA_B=$via

# One kubeconfig, contexts `a` and `b` (each bed's own names are the same, so they are renamed).
KUBECONFIG_AB="$WORK/kubeconfig"
{
  echo "apiVersion: v1"
  echo "kind: Config"
  echo "current-context: a"
  echo "clusters:"
  for pair in "a:$BED_A:$VIA_A" "b:$BED_B:$VIA_B"; do
    IFS=: read -r name bed _ <<<"$pair"
    echo "- name: $name"
    echo "  cluster:"
    echo "    server: ${pair#*:*:}"
    echo "    certificate-authority: $bed/apiserver/apiserver.crt"
  done
  echo "users:"
  for pair in "a:$BED_A" "b:$BED_B"; do
    name=${pair%%:*} bed=${pair#*:}
    echo "- name: $name"
    echo "  user:"
    echo "    token: $(bed_field "$bed" '{.users[?(@.name=="admin")].user.token}')"
  done
  echo "contexts:"
  for name in a b; do
    echo "- name: $name"
    echo "  context: {cluster: $name, user: $name, namespace: default}"
  done
} >"$KUBECONFIG_AB"
chmod 600 "$KUBECONFIG_AB"
export KUBECONFIG="$KUBECONFIG_AB"

# --- seeding ---------------------------------------------------------------------------------
IMAGE_REPO=registry.example.com/bench
PROXY_IMAGE='envoyproxy/envoy:v1.29.1@sha256:0f6e4ae1bd2e4b5a8bdbf7d8c2a9e0fb7d1b1b0a3e2f0c2d8f5a7e6b4c3d2e1f'

# seed CONTEXT BED PODS : fills BED (directly, not through the latency proxy).
seed() {
  local ctx=$1 bed=$2 pods=$3 seed_dir="$WORK/seed-$1" ns_count k i ns cfg f
  SERVER=$(bed_field "$bed" '{.clusters[0].cluster.server}')
  TOKEN=$(bed_field "$bed" '{.users[?(@.name=="admin")].user.token}')
  CA="$bed/apiserver/apiserver.crt"
  mkdir -p "$seed_dir"
  ns_count=$(((pods + 999) / 1000))
  cfg="$seed_dir/ns.cfg"
  : >"$cfg"
  for ((k = 0; k < ns_count; k++)); do
    printf -v ns 'bench-%03d' "$k"
    f="$seed_dir/ns-$k.json"
    printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"}}' "$ns" >"$f"
    request "$cfg" POST /api/v1/namespaces application/json "$f"
  done
  send "$cfg" "$ctx: namespaces"
  cfg="$seed_dir/pods.cfg"
  : >"$cfg"
  for ((k = 0; k < ns_count; k += 2)); do
    printf -v ns 'bench-%03d' "$k"
    f="$seed_dir/np-$k.json"
    printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"default-deny","namespace":"%s"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}' "$ns" >"$f"
    request "$cfg" POST "/apis/networking.k8s.io/v1/namespaces/$ns/networkpolicies" application/json "$f"
  done
  for ((i = 0; i < pods; i++)); do
    printf -v ns 'bench-%03d' $((i % ns_count))
    f="$seed_dir/pod-$i.json"
    printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"solo-%d","namespace":"%s","labels":{"app":"solo-%d","tier":"backend","team":"bench"},"annotations":{"bench.secfix.dev/seeded":"true","prometheus.io/scrape":"true"}},"spec":{"containers":[{"name":"app","image":"%s/solo-%d:1.4.2","env":[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"solo-%d-db","key":"password"}}},{"name":"LOG_LEVEL","value":"info"}],"resources":{"requests":{"cpu":"100m","memory":"128Mi"}},"readinessProbe":{"httpGet":{"path":"/healthz","port":8080}},"volumeMounts":[{"name":"config","mountPath":"/etc/app","readOnly":true}]},{"name":"proxy","image":"%s"}],"volumes":[{"name":"config","configMap":{"name":"solo-%d-config"}}]}}' \
      "$i" "$ns" "$i" "$IMAGE_REPO" "$i" "$i" "$PROXY_IMAGE" "$i" >"$f"
    request "$cfg" POST "/api/v1/namespaces/$ns/pods" application/json "$f"
  done
  send "$cfg" "$ctx: NetworkPolicies and $pods Pods"
  rm -rf "$seed_dir"
}
seed_started=$SECONDS
seed a "$BED_A" "$PODS_A"
seed b "$BED_B" "$PODS_B"
log "seeded in $((SECONDS - seed_started))s"

# --- what is measured ------------------------------------------------------------------------
# measure NAME CMD... : one timed run, appends "wall_seconds max_rss_kb" to results/NAME.
# scan exits 3 when it has findings (the default --fail-on low).
measure() {
  local name=$1 rc=0
  shift
  /usr/bin/time -f '%e %M' -o "$WORK/results/time" "$@" >"$WORK/results/$name.json" 2>"$WORK/results/stderr" || rc=$?
  if [ $rc != 0 ] && [ $rc != 3 ]; then
    echo "bench: error: $name exited $rc:" >&2
    tail -n 5 "$WORK/results/stderr" | sed 's/^/    /' >&2
    exit 1
  fi
  tail -n 1 "$WORK/results/time" >>"$WORK/results/$name"
}
A_CMD=("$SECFIX" scan --context a -A -o json)
B_CMD=("$SECFIX" scan --context b -A -o json)
BOTH_CMD=("$SECFIX" scan --contexts a,b -A -o json)

# --- warm-up and sanity ----------------------------------------------------------------------
log "warm-up round"
measure warm-a "${A_CMD[@]}"
measure warm-b "${B_CMD[@]}"
measure warm-both "${BOTH_CMD[@]}"
total() { jq '.summary.total' "$WORK/results/$1.json"; }
TOTAL_A=$(total warm-a) TOTAL_B=$(total warm-b) TOTAL_BOTH=$(total warm-both)
[ "$TOTAL_BOTH" = $((TOTAL_A + TOTAL_B)) ] ||
  die "--contexts a,b found $TOTAL_BOTH findings, --context a $TOTAL_A and --context b $TOTAL_B"
for ctx in a b; do
  n=$(jq --arg c "$ctx" '[.findings[] | select(.context == $c)] | length' "$WORK/results/warm-both.json")
  want=$(total "warm-$ctx")
  [ "$n" = "$want" ] || die "--contexts a,b: $n findings carry context $ctx, expected $want"
done
log "findings: a $TOTAL_A, b $TOTAL_B, both $TOTAL_BOTH"

# --- timed rounds ----------------------------------------------------------------------------
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= RUNS; r++)); do
  log "round $r/$RUNS"
  measure a "${A_CMD[@]}"
  measure b "${B_CMD[@]}"
  measure both "${BOTH_CMD[@]}"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- results ---------------------------------------------------------------------------------
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { cut -d' ' -f"$2" "$WORK/results/$1"; }
WALL_A=$(col a 1 | median) WALL_B=$(col b 1 | median) WALL_BOTH=$(col both 1 | median)
RANGE() { echo "$(col "$1" 1 | sort -n | head -n1)–$(col "$1" 1 | sort -n | tail -n1)"; }
RSS() { col "$1" 2 | median | awk '{ printf "%.0f", $1 / 1024 }'; }
SLOWEST=$(awk -v a="$WALL_A" -v b="$WALL_B" 'BEGIN { print (a > b) ? a : b }')
SUM=$(awk -v a="$WALL_A" -v b="$WALL_B" 'BEGIN { printf "%.2f", a + b }')
VS_SLOWEST=$(awk -v x="$WALL_BOTH" -v y="$SLOWEST" 'BEGIN { printf "%.2f", x / y }')
VS_SUM=$(awk -v x="$WALL_BOTH" -v y="$SUM" 'BEGIN { printf "%.2f", x / y }')
if [ "$RTT_MS" = 0 ]; then
  RTT_LABEL="API servers reached directly"
else
  RTT_LABEL="${RTT_MS} ms round trip to each API server"
fi
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
# Local changes to the code (the results file itself does not count).
DIRTY=$(git -C "$ROOT" status --porcelain --untracked-files=no -- . ':!docs' 2>/dev/null | grep -q . && echo "+dirty" || true)

RESULT=$(
  cat <<EOF
### Two contexts, $PODS_A + $PODS_B Pods, $RTT_LABEL ($(date -u +%Y-%m-%d), secfix $COMMIT$DIRTY)

$RUNS rounds, medians; machine: $(nproc) cores, load average $LOAD_BEFORE before, $LOAD_AFTER after.

| run | wall (median) | min–max | peak RSS | findings |
|---|---|---|---|---|
| \`scan --context a\` ($PODS_A Pods) | ${WALL_A} s | $(RANGE a) s | $(RSS a) MiB | $TOTAL_A |
| \`scan --context b\` ($PODS_B Pods) | ${WALL_B} s | $(RANGE b) s | $(RSS b) MiB | $TOTAL_B |
| \`scan --contexts a,b\` | ${WALL_BOTH} s | $(RANGE both) s | $(RSS both) MiB | $TOTAL_BOTH |

Both contexts at once: **${VS_SLOWEST}x the slowest context alone** (${SLOWEST} s), ${VS_SUM}x the sum
of both alone (${SUM} s).
EOF
)
echo
echo "$RESULT"
if [ -n "$DOC" ]; then
  printf '\n%s\n' "$RESULT" >>"$DOC"
  log "appended to $DOC"
fi
