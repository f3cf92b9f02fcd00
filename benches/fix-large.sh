#!/usr/bin/env bash
# Benchmark for issue 26: "fix --yes of 1,000 Deployments takes at most half the sequential
# floor".
#
# Usage: benches/fix-large.sh [N...]        (N Deployments per point, default: 1000 5000)
#
# It starts its own test bed (tests/cluster/up.sh in a temp dir, kube-controller-manager
# running; stopped and removed on exit, Ctrl-C included). For each N it seeds N Deployments
# (one replica; the controllers create their ReplicaSets and Pods, and keep writing status
# while everything below runs) in ceil(N/500) namespaces `fleet-N-KKK`, each namespace with
# a Secret `db`; every Deployment has one container pinned by digest reading `DB_PASSWORD`
# from that Secret (one env-secret finding: the fix mounts the Secret as a file). Then, in
# each of SECFIX_BENCH_RUNS rounds, one after the other on the same objects (release build,
# /usr/bin/time: wall clock, peak RSS):
#   fix        `kubectl-secfix fix -A -l fleet=N --checks env-secret --yes
#               --allow-app-changes --save-patches DIR` (default --parallel, 8): N objects
#               patched (`-l` leaves out the Deployments of the other points);
#   rollback   `kubectl-secfix rollback DIR` (default --parallel): N objects restored;
#   floor      the sequential floor: the same writes fix sends, back to back on one
#              connection, nothing else: for each object, its saved forward patch as a
#              server dry run, then for real (2N PATCH requests, one curl, no parallelism).
#              It leaves the objects fixed, as `fix` does. It is what a sequential `fix`
#              cannot beat: it leaves out fix's LISTs, planning, races and journal;
#   floor-back the same for the saved inverses (what a sequential `rollback` cannot beat);
#              the objects are back as they were;
# and after the last round, once:
#   fix-1      `fix … --parallel 1`, then
#   rollback-1 `rollback DIR --parallel 1`.
# The table shows medians over the rounds (each ratio: median over median of its floor) and
# each round's own ratio: on 2 shared cores a single run moves by tens of percent, the
# floor most (the controllers' backlog from the writes before it varies).
# Each step's CPU is measured too: the client's (user + system, curl's for a floor) and what
# the API server, etcd and the controllers used while it ran (/proc/PID/stat). A note under
# the table derives from them the cores a floor keeps busy, and the ratio fix and rollback
# would reach if their own process cost nothing: the services' CPU during the run spread over
# every core, over the floor's wall. On 2 cores that bound is what separates the goal (at
# most half the floor) from the client's own work (planning, the journal).
# At the end every Deployment must be as it was seeded (pod template byte for byte), and
# every fix and rollback must report N objects and no failure. It prints a results table and
# appends it to docs/benchmarks.md.
#
# Environment:
#   SECFIX_BENCH_RUNS      rounds of fix, rollback and their floors (default 3)
#   SECFIX_BENCH_PARALLEL  concurrent create requests while seeding (default 32)
#   SECFIX_BENCH_DOC       file the results are appended to (default docs/benchmarks.md;
#                          empty: do not write)
#   SECFIX_BENCH_KEEP      1: leave the test bed running at the end (prints how to stop it)
#   CARGO_TARGET_DIR       where `cargo build --release` puts the binary (default target/)
#   plus what tests/cluster/up.sh reads (KUBE_APISERVER, SECFIX_CACHE, ...).
# Needs: tests/cluster/setup.sh done, curl with HTTP/2, jq, kubectl, python3, /usr/bin/time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(1000 5000)
PARALLEL=${SECFIX_BENCH_PARALLEL:-32}
RUNS=${SECFIX_BENCH_RUNS:-3}
DOC=${SECFIX_BENCH_DOC-$ROOT/docs/benchmarks.md}
PER_NS=500
IMAGE='nginx:1.25@sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae'

# shellcheck source=benches/common.sh
. "$ROOT/benches/common.sh"

for N in "${SIZES[@]}"; do
  case "$N" in '' | *[!0-9]*) die "N must be a whole number of Deployments, got '$N'" ;; esac
  [ "$N" -ge 10 ] || die "N must be at least 10, got $N"
done
case "$PARALLEL" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_PARALLEL must be a positive number, got '$PARALLEL'" ;; esac
case "$RUNS" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_RUNS must be a positive number, got '$RUNS'" ;; esac
need curl jq kubectl python3

build_release

WORK=$(mktemp -d "${TMPDIR:-/tmp}/secfix-fix-bench.XXXXXX")
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
mkdir -p "$WORK/results"
TICKS=$(getconf CLK_TCK)

# seed N : N Deployments and a Secret per namespace in namespaces fleet-N-KKK.
seed() {
  local n=$1 ns_count k d ns f cfg
  local dir="$WORK/seed-$n"
  mkdir -p "$dir/bodies"
  ns_count=$(((n + PER_NS - 1) / PER_NS))
  cfg="$dir/1.cfg"
  : >"$cfg"
  for ((k = 0; k < ns_count; k++)); do
    printf -v ns 'fleet-%d-%03d' "$n" "$k"
    printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"}}' "$ns" >"$dir/bodies/ns-$k.json"
    request "$cfg" POST /api/v1/namespaces application/json "$dir/bodies/ns-$k.json"
  done
  send "$cfg" "$ns_count namespaces"
  cfg="$dir/2.cfg"
  : >"$cfg"
  for ((k = 0; k < ns_count; k++)); do
    printf -v ns 'fleet-%d-%03d' "$n" "$k"
    printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"db","namespace":"%s"},"stringData":{"password":"bench"}}' "$ns" >"$dir/bodies/secret-$k.json"
    request "$cfg" POST "/api/v1/namespaces/$ns/secrets" application/json "$dir/bodies/secret-$k.json"
  done
  for ((d = 0; d < n; d++)); do
    printf -v ns 'fleet-%d-%03d' "$n" $((d / PER_NS))
    f="$dir/bodies/deploy-$d.json"
    printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web-%05d","namespace":"%s","labels":{"app":"web-%05d","team":"bench","fleet":"%d"}},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"web-%05d"}},"template":{"metadata":{"labels":{"app":"web-%05d","team":"bench"}},"spec":{"containers":[{"name":"app","image":"%s","ports":[{"name":"http","containerPort":8080}],"env":[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}},{"name":"LOG_LEVEL","value":"info"}],"resources":{"requests":{"cpu":"10m","memory":"32Mi"}},"readinessProbe":{"httpGet":{"path":"/healthz","port":8080}}}]}}}}' \
      "$d" "$ns" "$d" "$n" "$d" "$d" "$IMAGE" >"$f"
    request "$cfg" POST "/apis/apps/v1/namespaces/$ns/deployments" application/json "$f"
  done
  send "$cfg" "$n Deployments and their Secrets"
}

# templates N FILE : every fleet-N Deployment's pod template, as the server serialises it.
templates() {
  kubectl get deployments -A -o json | jq -c --arg p "fleet-$1-" \
    '.items[] | select(.metadata.namespace | startswith($p)) | [.metadata.namespace, .metadata.name, .spec.template]' |
    sort >"$2"
}

# cpu_ticks : the CPU time (user + system, clock ticks) the API server, etcd and the
# controllers have used so far, one number each.
cpu_ticks() {
  local svc
  for svc in kube-apiserver etcd kube-controller-manager; do
    awk '{ printf "%d ", $14 + $15 }' "/proc/$(cat "$WORK/pids/$svc.pid")/stat"
  done
}

# measure NAME N CMD... : runs CMD under /usr/bin/time; appends "wall rss_kb client_cpu
# apiserver_cpu etcd_cpu controllers_cpu" (seconds; one line per round) to results/N.NAME and
# keeps its stdout in results/N.NAME.out. The services' CPU is what they used while CMD ran:
# serving it, and the controllers' work of the moment (reconciling the writes before it).
measure() {
  local name=$1 n=$2 rc=0 before after
  shift 2
  before=$(cpu_ticks)
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/results/time" "$@" >"$WORK/results/$n.$name.out" 2>"$WORK/results/stderr" || rc=$?
  after=$(cpu_ticks)
  if [ $rc != 0 ]; then
    echo "bench: error: $name exited $rc:" >&2
    tail -n 5 "$WORK/results/stderr" | sed 's/^/    /' >&2
    tail -n 3 "$WORK/results/$n.$name.out" | sed 's/^/    /' >&2
    exit 1
  fi
  tail -n 1 "$WORK/results/time" |
    awk -v b="$before" -v a="$after" -v hz="$TICKS" '{
      split(b, x, " "); split(a, y, " ")
      printf "%s %s %.2f %.2f %.2f %.2f\n", $1, $2, $3 + $4, (y[1] - x[1]) / hz, (y[2] - x[2]) / hz, (y[3] - x[3]) / hz
    }' >>"$WORK/results/$n.$name"
  log "$name: $(tail -n 1 "$WORK/results/$n.$name" | awk '{ printf "%s s; CPU s: client %s, API server %s, etcd %s, controllers %s", $1, $3, $4, $5, $6 }')"
}

# floor_cfg N DIR WHICH CFG : a curl config with, per record of DIR (oldest first), its WHICH
# patch (forward or inverse) as a server dry run and then for real.
floor_cfg() {
  local n=$1 dir=$2 which=$3 cfg=$4 bodies="$WORK/floor-$1-$3"
  mkdir -p "$bodies"
  : >"$cfg"
  # One line per record: namespace, name, and the patch's body file (written here).
  python3 - "$dir" "$which" "$bodies" <<'PY' |
import json, pathlib, sys
src, which, out = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
for i, rec in enumerate(sorted(p for p in src.glob("[0-9]*.json"))):
    r = json.loads(rec.read_text())
    body = out / f"{i}.json"
    body.write_text(json.dumps(r[which]))
    print(r["target"]["namespace"], r["target"]["name"], body)
PY
    while read -r ns name body; do
      request "$cfg" PATCH "/apis/apps/v1/namespaces/$ns/deployments/$name?dryRun=All&fieldManager=kubectl-secfix" application/json-patch+json "$body"
      request "$cfg" PATCH "/apis/apps/v1/namespaces/$ns/deployments/$name?fieldManager=kubectl-secfix" application/json-patch+json "$body"
    done
  sed -i '$d' "$cfg" # the last `next`
  [ "$(grep -c '^url' "$cfg")" = $((2 * n)) ] || die "floor: expected $((2 * n)) requests in $cfg"
}

# floor_run CFG : the requests of CFG one after the other on one connection; fails unless all
# are 2xx.
floor_run() {
  local out="$1.out" bad
  curl --no-progress-meter -K "$1" >"$out" 2>"$1.err" || true
  bad=$(grep -cv '^2' "$out" || true)
  if [ "$bad" != 0 ] || [ -s "$1.err" ]; then
    echo "floor: $bad of $(wc -l <"$out") requests failed:" >&2
    grep -v '^2' "$out" | head -n 5 >&2
    head -n 5 "$1.err" >&2
    return 1
  fi
}
export -f floor_run

# expect N NAME TEXT : fails unless results/N.NAME.out holds TEXT.
expect() {
  grep -qF "$3" "$WORK/results/$1.$2.out" || {
    tail -n 3 "$WORK/results/$1.$2.out" >&2
    die "$2: expected '$3'"
  }
}

ROWS=""
NOTES=""
for N in "${SIZES[@]}"; do
  log "N=$N: seeding"
  seed_started=$SECONDS
  seed "$N"
  SEED_SECONDS=$((SECONDS - seed_started))
  templates "$N" "$WORK/results/$N.before"
  [ "$(wc -l <"$WORK/results/$N.before")" = "$N" ] || die "seeded $(wc -l <"$WORK/results/$N.before") Deployments, expected $N"
  # -l: only this point's Deployments (those of an earlier point are back as seeded).
  FIX=(fix -A -l "fleet=$N" --checks env-secret --yes --allow-app-changes)
  B="$WORK/patches-$N-b"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
  for ((run = 1; run <= RUNS; run++)); do
    log "N=$N: round $run of $RUNS"
    A="$WORK/patches-$N-a$run"
    measure fix "$N" "$SECFIX" "${FIX[@]}" --save-patches "$A"
    expect "$N" fix "$N applied, 0 validated, 0 skipped, 0 failed"
    measure rollback "$N" "$SECFIX" rollback "$A"
    expect "$N" rollback "$N rolled back, 0 failed"
    floor_cfg "$N" "$A" forward "$WORK/results/$N.floor.cfg"
    floor_cfg "$N" "$A" inverse "$WORK/results/$N.floor-back.cfg"
    measure floor "$N" bash -c 'floor_run "$1"' floor_run "$WORK/results/$N.floor.cfg"
    measure floor-back "$N" bash -c 'floor_run "$1"' floor_run "$WORK/results/$N.floor-back.cfg"
  done
  measure fix-1 "$N" "$SECFIX" "${FIX[@]}" --save-patches "$B" --parallel 1
  expect "$N" fix-1 "$N applied, 0 validated, 0 skipped, 0 failed"
  measure rollback-1 "$N" "$SECFIX" rollback "$B" --parallel 1
  expect "$N" rollback-1 "$N rolled back, 0 failed"
  LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
  templates "$N" "$WORK/results/$N.after"
  cmp -s "$WORK/results/$N.before" "$WORK/results/$N.after" || die "N=$N: the Deployments are not as seeded after the last rollback"
  PODS=$(kubectl get pods -A --no-headers 2>/dev/null | grep -c "^fleet-$N-" || true)
  RSS_COUNT=$(kubectl get replicasets -A --no-headers 2>/dev/null | grep -c "^fleet-$N-" || true)
  median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  wall() { cut -d' ' -f1 "$WORK/results/$N.$1" | median; }
  rss() { awk '{ print $2 / 1024 }' "$WORK/results/$N.$1" | median | awk '{ printf "%.0f", $1 }'; }
  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
  # each round's ratio: its wall over the floor measured in the same round
  rounds() {
    if [ "$(wc -l <"$WORK/results/$N.$1")" = 1 ]; then echo "–"; return; fi
    paste -d' ' <(cut -d' ' -f1 "$WORK/results/$N.$1") <(cut -d' ' -f1 "$WORK/results/$N.$2") |
      awk '{ printf "%s%.2fx", (NR > 1 ? ", " : ""), $1 / $2 }'
  }
  client() { awk '{ print $3 }' "$WORK/results/$N.$1" | median; }
  server() { awk '{ print $4 + $5 + $6 }' "$WORK/results/$N.$1" | median; }
  row() { # row LABEL NAME FLOOR
    printf '| %s | %s | %s s | %s MiB | %s s / %s s | %sx | %s |\n' "$N" "$1" "$(wall "$2")" "$(rss "$2")" "$(client "$2")" "$(server "$2")" "$(ratio "$(wall "$2")" "$(wall "$3")")" "$(rounds "$2" "$3")"
  }
  # What the services alone cost: the cores a sequential floor keeps busy, and the ratio a
  # run would reach if its own process cost nothing (its services' CPU spread over every
  # core, over the floor's wall).
  busy() { awk -v c="$(server "$1")" -v w="$(wall "$1")" 'BEGIN { printf "%.2f", c / w }'; }
  bound() { awk -v c="$(server "$1")" -v w="$(wall "$2")" -v n="$(nproc)" 'BEGIN { printf "%.2f", c / n / w }'; }
  # the same, round by round
  bounds() {
    paste -d' ' "$WORK/results/$N.$1" <(cut -d' ' -f1 "$WORK/results/$N.$2") |
      awk -v n="$(nproc)" '{ printf "%s%.2fx", (NR > 1 ? ", " : ""), ($4 + $5 + $6) / n / $7 }'
  }
  ROWS+="$(
    row '`fix -A --yes` (--parallel 8)' fix floor
    row 'sequential floor: 2N PATCH, one connection' floor floor
    row '`fix -A --yes --parallel 1`' fix-1 floor
    row '`rollback` (--parallel 8)' rollback floor-back
    row 'sequential floor of rollback: 2N PATCH' floor-back floor-back
    row '`rollback --parallel 1`' rollback-1 floor-back
  )"$'\n'
  NOTES+="- N=$N: seeded in ${SEED_SECONDS}s; at the end the controllers had made $RSS_COUNT ReplicaSets and $PODS Pods of them; load average $LOAD_BEFORE before, $LOAD_AFTER after."$'\n'
  NOTES+="- N=$N: the floors kept the API server, etcd and the controllers busy on $(busy floor) and $(busy floor-back) of $(nproc) cores; their CPU during fix and rollback alone, spread over all $(nproc) cores, is $(bound fix floor)x and $(bound rollback floor-back)x of the floor (what a client costing no CPU would reach; by round: fix $(bounds fix floor), rollback $(bounds rollback floor-back))."$'\n'
done

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
if [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  DIRTY=" (with local changes)"
fi
RESULT=$(
  echo "### $(date -u +%F) — fix and rollback of ${SIZES[*]} Deployments, secfix $COMMIT$DIRTY"
  echo
  echo "- Machine: $(nproc) cores ($CPU), $MEM, shared with other jobs; test bed kube-apiserver 1.20.2 + etcd + kube-controller-manager on loopback (tests/cluster/up.sh)."
  printf '%s' "$NOTES"
  echo "- $RUNS round(s) of fix, rollback, floor, floor of rollback on the same objects, then once fix --parallel 1 and rollback --parallel 1; wall and peak RSS are medians over the rounds; every Deployment's pod template is byte for byte as seeded at the end."
  echo
  echo "| N | command | wall (median) | peak RSS | CPU: client / API server + etcd + controllers (medians) | vs its floor (medians) | each round vs its floor |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s' "$ROWS"
)
echo
echo "$RESULT"
echo
if [ -n "$DOC" ]; then
  printf '\n%s\n' "$RESULT" >>"$DOC"
  log "appended to $DOC"
fi
