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

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

case "$N" in '' | *[!0-9]*) die "N must be a whole number of pods, got '$N'" ;; esac
[ "$N" -ge 100 ] || die "N must be at least 100, got $N"
case "$RUNS" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_RUNS must be a positive number, got '$RUNS'" ;; esac
case "$PARALLEL" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_PARALLEL must be a positive number, got '$PARALLEL'" ;; esac
for tool in curl jq kubectl; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
curl --version | grep -w HTTP2 >/dev/null || die "this curl has no HTTP/2 support"

# --- build -----------------------------------------------------------------------------------
log "building the release binary"
(cd "$ROOT" && cargo build --release --quiet --bin kubectl-secfix)
TARGET=${CARGO_TARGET_DIR:-target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
SECFIX="$TARGET/release/kubectl-secfix"
[ -x "$SECFIX" ] || die "no binary at $SECFIX after cargo build --release"

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
NS_COUNT=$(((N + 999) / 1000))
OWNED=$((N * 3 / 4))
RS_COUNT=$(((OWNED + PODS_PER_RS - 1) / PODS_PER_RS))
BARE=$((N - OWNED))
# ns_of I : sets $ns to the namespace of the I-th object (round robin).
ns_of() { printf -v ns 'bench-%03d' $(($1 % NS_COUNT)); }
IMAGE_REPO=registry.example.com/bench
PROXY_IMAGE='envoyproxy/envoy:v1.29.1@sha256:0f6e4ae1bd2e4b5a8bdbf7d8c2a9e0fb7d1b1b0a3e2f0c2d8f5a7e6b4c3d2e1f'

# pod_spec APP TAG : the pod spec every workload uses.
pod_spec() {
  printf '{"containers":[{"name":"app","image":"%s/%s:%s","ports":[{"name":"http","containerPort":8080},{"name":"metrics","containerPort":9090}],"env":[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"%s-db","key":"password"}}},{"name":"LOG_LEVEL","value":"info"},{"name":"POD_NAME","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],"resources":{"requests":{"cpu":"100m","memory":"128Mi"},"limits":{"memory":"256Mi"}},"readinessProbe":{"httpGet":{"path":"/healthz","port":8080},"periodSeconds":10},"volumeMounts":[{"name":"config","mountPath":"/etc/app","readOnly":true}]},{"name":"proxy","image":"%s","ports":[{"containerPort":15001}],"resources":{"requests":{"cpu":"50m","memory":"64Mi"}}}],"volumes":[{"name":"config","configMap":{"name":"%s-config"}}],"terminationGracePeriodSeconds":30}' \
    "$IMAGE_REPO" "$1" "$2" "$1" "$PROXY_IMAGE" "$1"
}
# owner_ref KIND NAME UID : sets $owner to an ownerReferences member (controller).
owner_ref() {
  printf -v owner ',"ownerReferences":[{"apiVersion":"apps/v1","kind":"%s","name":"%s","uid":"%s","controller":true,"blockOwnerDeletion":true}]' "$1" "$2" "$3"
}
meta() { # meta NAME NS APP EXTRA
  printf '"metadata":{"name":"%s","namespace":"%s","labels":{"app":"%s","tier":"backend","team":"bench"},"annotations":{"bench.secfix.dev/seeded":"true","prometheus.io/scrape":"true","prometheus.io/port":"9090"}%s}' "$1" "$2" "$3" "$4"
}

# request CFG METHOD PATH CONTENT_TYPE BODY_FILE : appends one request to a curl config.
request() {
  printf 'url = "%s%s"\nrequest = "%s"\ndata-binary = "@%s"\nheader = "Content-Type: %s"\nheader = "Authorization: Bearer %s"\nuser-agent = "secfix-bench"\ncacert = "%s"\noutput = "/dev/null"\nsilent\nshow-error\nwrite-out = "%%{http_code} %%{url_effective}\\n"\nnext\n' \
    "$SERVER" "$3" "$2" "$5" "$4" "$TOKEN" "$CA" >>"$1"
}
# send CFG LABEL : runs the requests of CFG, PARALLEL at a time; fails unless all are 2xx.
send() {
  local cfg=$1 label=$2 out="$1.out" start=$SECONDS total bad
  sed -i '$d' "$cfg" # the last `next`
  curl --no-progress-meter -Z --parallel-max "$PARALLEL" -K "$cfg" >"$out" 2>"$cfg.err" || true
  total=$(wc -l <"$out")
  bad=$(grep -cv '^2' "$out" || true)
  if [ "$bad" != 0 ] || [ -s "$cfg.err" ]; then
    echo "bench: error: $label: $bad of $total requests failed:" >&2
    grep -v '^2' "$out" | sort | head -n 5 | sed 's/^/    /' >&2
    head -n 5 "$cfg.err" | sed 's/^/    /' >&2
    exit 1
  fi
  log "$label: $total requests in $((SECONDS - start))s"
}

seed_started=$SECONDS
log "seeding $N pods ($OWNED in $RS_COUNT ReplicaSets of $RS_COUNT Deployments, $BARE bare) in $NS_COUNT namespaces"

# 1. Namespaces, NetworkPolicies, Deployments.
cfg="$SEED/1.cfg"
: >"$cfg"
for ((k = 0; k < NS_COUNT; k++)); do
  ns_of "$k"
  printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"}}' "$ns" >"$SEED/bodies/ns-$k.json"
  request "$cfg" POST /api/v1/namespaces application/json "$SEED/bodies/ns-$k.json"
done
send "$cfg" namespaces
cfg="$SEED/2.cfg"
: >"$cfg"
for ((k = 0; k < NS_COUNT; k += 2)); do
  ns_of "$k"
  printf '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"default-deny","namespace":"%s"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}}' "$ns" >"$SEED/bodies/np-$k.json"
  request "$cfg" POST "/apis/networking.k8s.io/v1/namespaces/$ns/networkpolicies" application/json "$SEED/bodies/np-$k.json"
done
for ((d = 0; d < RS_COUNT; d++)); do
  ns_of "$d"
  app="app-$d" f="$SEED/bodies/deploy-$d.json"
  {
    printf '{"apiVersion":"apps/v1","kind":"Deployment",'
    meta "$app" "$ns" "$app" ""
    printf ',"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s","tier":"backend","team":"bench"}},"spec":' "$PODS_PER_RS" "$app" "$app"
    pod_spec "$app" 1.4.2
    printf '}}}'
  } >"$f"
  request "$cfg" POST "/apis/apps/v1/namespaces/$ns/deployments" application/json "$f"
done
send "$cfg" "NetworkPolicies and Deployments"

# uids NS/NAME → uid, for owner references.
uids() { # uids RESOURCE FILE
  kubectl get "$1" -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name} {.metadata.uid}{"\n"}{end}' >"$2"
}
declare -A UID_OF
load_uids() {
  local key uid
  while read -r key uid; do UID_OF[$key]=$uid; done <"$1"
}

# 2. ReplicaSets: the current one (owns pods) and an old one scaled to 0.
uids deployments "$SEED/deploy.uids"
load_uids "$SEED/deploy.uids"
cfg="$SEED/3.cfg"
: >"$cfg"
for ((d = 0; d < RS_COUNT; d++)); do
  ns_of "$d"
  app="app-$d"
  owner_ref Deployment "$app" "${UID_OF[$ns/$app]}"
  for rs in cur old; do
    f="$SEED/bodies/rs-$d-$rs.json"
    if [ $rs = cur ]; then tag=1.4.2 replicas=$PODS_PER_RS; else tag=1.4.1 replicas=0; fi
    {
      printf '{"apiVersion":"apps/v1","kind":"ReplicaSet",'
      meta "$app-$rs" "$ns" "$app" "$owner"
      printf ',"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"%s","rs":"%s"}},"template":{"metadata":{"labels":{"app":"%s","rs":"%s"}},"spec":' "$replicas" "$app" "$rs" "$app" "$rs"
      pod_spec "$app" "$tag"
      printf '}}}'
    } >"$f"
    request "$cfg" POST "/apis/apps/v1/namespaces/$ns/replicasets" application/json "$f"
  done
done
send "$cfg" ReplicaSets

# 3. Pods, then their status. One status body per app (every pod of an app reports the same
# digest, so pinning from pods agrees).
uids replicasets "$SEED/rs.uids"
load_uids "$SEED/rs.uids"
status_body() { # status_body APP INDEX FILE
  local img="$IMAGE_REPO/$1" digest
  printf -v digest 'sha256:%064x' "$2"
  printf '{"status":{"phase":"Running","hostIP":"10.0.0.10","podIP":"10.1.0.10","startTime":"2024-01-01T00:00:00Z","qosClass":"Burstable","conditions":[{"type":"Initialized","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"},{"type":"Ready","status":"True","lastTransitionTime":"2024-01-01T00:00:05Z"},{"type":"ContainersReady","status":"True","lastTransitionTime":"2024-01-01T00:00:05Z"},{"type":"PodScheduled","status":"True","lastTransitionTime":"2024-01-01T00:00:00Z"}],"containerStatuses":[{"name":"app","ready":true,"started":true,"restartCount":0,"image":"%s:1.4.2","imageID":"%s@%s","containerID":"containerd://%064x","state":{"running":{"startedAt":"2024-01-01T00:00:01Z"}}},{"name":"proxy","ready":true,"started":true,"restartCount":0,"image":"%s","imageID":"docker.io/envoyproxy/envoy@sha256:0f6e4ae1bd2e4b5a8bdbf7d8c2a9e0fb7d1b1b0a3e2f0c2d8f5a7e6b4c3d2e1f","containerID":"containerd://%064x","state":{"running":{"startedAt":"2024-01-01T00:00:01Z"}}}]}}' \
    "$img" "$img" "$digest" "$2" "$PROXY_IMAGE" "$((1000000 + $2))" >"$3"
}
cfg="$SEED/4.cfg" status_cfg="$SEED/5.cfg"
: >"$cfg"
: >"$status_cfg"
for ((i = 0; i < N; i++)); do
  if [ "$i" -lt "$OWNED" ]; then
    d=$((i / PODS_PER_RS))
    app="app-$d" name="app-$d-cur-$((i % PODS_PER_RS))"
    ns_of "$d"
    owner_ref ReplicaSet "$app-cur" "${UID_OF[$ns/$app-cur]}"
  else
    app="solo-$((i - OWNED))" name="solo-$((i - OWNED))" owner=""
    ns_of "$((i - OWNED))"
  fi
  f="$SEED/bodies/pod-$i.json"
  {
    printf '{"apiVersion":"v1","kind":"Pod",'
    meta "$name" "$ns" "$app" "$owner"
    printf ',"spec":'
    pod_spec "$app" 1.4.2
    printf '}'
  } >"$f"
  request "$cfg" POST "/api/v1/namespaces/$ns/pods" application/json "$f"
  sf="$SEED/bodies/status-$app.json"
  [ -f "$sf" ] || status_body "$app" "$i" "$sf"
  request "$status_cfg" PATCH "/api/v1/namespaces/$ns/pods/$name/status" application/merge-patch+json "$sf"
done
send "$cfg" Pods
send "$status_cfg" "Pod statuses"
rm -rf "$SEED"
SEED_SECONDS=$((SECONDS - seed_started))
log "seeded in ${SEED_SECONDS}s"

# --- what is measured ------------------------------------------------------------------------
# The kinds `scan -A` lists (src/inventory.rs `requests`), at the versions a 1.20 server
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
