#!/usr/bin/env bash
# Starts the live test bed inside DIR, all on free loopback ports:
#   - etcd,
#   - kube-apiserver (built by setup.sh) with RBAC and two static-token users,
#   - kube-controller-manager (built by setup.sh from the same source): Deployments get
#     ReplicaSets and Pods (Pending: there is no kubelet or scheduler), controllers write
#     status, Jobs get their selectors, the garbage collector and namespace deletion run, and
#     the serviceaccount controllers create `default` ServiceAccounts, as on a real cluster,
#   - two docker-registry instances: one anonymous, one with htpasswd basic auth.
#
# Usage: tests/cluster/up.sh DIR
#
# Writes:
#   DIR/kubeconfig  contexts `admin` (current; group system:masters) and `viewer` (no RBAC
#                   bindings), cluster CA from the apiserver's --cert-dir, namespace `default`
#   DIR/env         `export` lines: SECFIX_TEST_KUBECONFIG, SECFIX_TEST_REGISTRY,
#                   SECFIX_TEST_AUTH_REGISTRY, SECFIX_TEST_AUTH_USER, SECFIX_TEST_AUTH_PASSWORD,
#                   SECFIX_TEST_DIR
#   DIR/pids/*.pid  one per service; each service runs in its own session and process group
#                   (setsid), so a Ctrl-C aimed at the caller does not reach it and
#                   tests/cluster/down.sh can stop it as a group
#   DIR/logs/*.log  each service's output
#
# Environment: KUBE_APISERVER, KUBE_CONTROLLER_MANAGER (paths to the binaries; default:
# setup.sh's cache),
# SECFIX_CACHE (setup.sh's cache root), SECFIX_UP_TIMEOUT (seconds per service, default 120).
#
# On failure it prints which service did not start with the tail of its log, and exits 1;
# the caller runs down.sh DIR to stop what did start.
set -euo pipefail

K8S_VERSION=1.20.2
CACHE=${SECFIX_CACHE:-$HOME/.cache/kubectl-secfix}
APISERVER=${KUBE_APISERVER:-$CACHE/kube-apiserver-$K8S_VERSION/kube-apiserver}
CONTROLLER_MANAGER=${KUBE_CONTROLLER_MANAGER:-$CACHE/kube-apiserver-$K8S_VERSION/kube-controller-manager}
TIMEOUT=${SECFIX_UP_TIMEOUT:-120}

log() { echo "up: $*" >&2; }
die() { echo "up: error: $*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)

for tool in etcd docker-registry htpasswd openssl curl setsid; do
  command -v "$tool" >/dev/null || die "'$tool' is not installed: run tests/cluster/setup.sh first"
done
[ -x "$APISERVER" ] || die "no kube-apiserver at $APISERVER: run tests/cluster/setup.sh first"
[ -x "$CONTROLLER_MANAGER" ] || die "no kube-controller-manager at $CONTROLLER_MANAGER: run tests/cluster/setup.sh first"

# The marker tells down.sh that this directory is a test bed it may remove.
touch "$DIR/.secfix-testbed"
mkdir -p "$DIR/pids" "$DIR/logs"

# --- ports -----------------------------------------------------------------------------------
# Free ports below the kernel's ephemeral range (32768+), so that no outgoing connection holds
# them. Another test bed may pick the same port between our check and the bind: start_service
# then sees "address already in use" and starts again on new ports.
taken=" "
# pick_port VAR : sets VAR to a port that nothing listens on (and that we did not pick before).
pick_port() {
  local p
  for _ in $(seq 500); do
    p=$((20000 + RANDOM % 12000))
    case "$taken" in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      taken="$taken$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free loopback port found"
}

# --- processes -------------------------------------------------------------------------------
# spawn NAME CMD... : runs CMD in its own session/process group, logs to DIR/logs/NAME.log.
spawn() {
  local name=$1
  shift
  # Without job control, the background subshell is not a group leader, so setsid does not
  # fork: $! is the service's own pid and its process group id.
  (trap - INT QUIT TERM; exec setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null) &
  echo $! >"$DIR/pids/$name.pid"
}

stop() {
  local pidfile="$DIR/pids/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# wait_ready NAME CHECK... : polls CHECK until it succeeds. Returns 1 if the service exited,
# 2 if it exited because its port was taken, 3 on timeout.
wait_ready() {
  local name=$1 pid deadline
  shift
  pid=$(cat "$DIR/pids/$name.pid")
  deadline=$((SECONDS + TIMEOUT))
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      if grep -qi "address already in use" "$DIR/logs/$name.log"; then return 2; fi
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then return 3; fi
    sleep 0.25
  done
}

fail_service() {
  local name=$1 why=$2
  {
    echo "up: error: $name did not start: $why"
    echo "up: last lines of $DIR/logs/$name.log:"
    tail -n 30 "$DIR/logs/$name.log" | sed 's/^/    /'
  } >&2
  exit 1
}

# start_service NAME LAUNCH_FN : LAUNCH_FN picks its ports, spawns the service and polls its
# readiness (by calling wait_ready); retried on a port race, at most 3 times.
start_service() {
  local name=$1 launch=$2 rc
  for attempt in 1 2 3; do
    rc=0
    "$launch" || rc=$?
    case $rc in
      0) log "$name ready"; return 0 ;;
      2) log "$name: port taken, retrying ($attempt)"; stop "$name" ;;
      1) fail_service "$name" "it exited" ;;
      3) fail_service "$name" "not ready after ${TIMEOUT}s" ;;
      *) fail_service "$name" "unexpected status $rc" ;;
    esac
  done
  fail_service "$name" "no free port after 3 attempts"
}

# --- etcd ------------------------------------------------------------------------------------
etcd_healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'; }
launch_etcd() {
  local peer
  pick_port ETCD_PORT
  pick_port peer
  rm -rf "$DIR/etcd"
  spawn etcd etcd --name secfix --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "secfix=http://127.0.0.1:$peer"
  wait_ready etcd etcd_healthy
}

# --- kube-apiserver --------------------------------------------------------------------------
ADMIN_TOKEN=$(openssl rand -hex 24)
VIEWER_TOKEN=$(openssl rand -hex 24)
mkdir -p "$DIR/apiserver"
# Static tokens (CSV: token,user,uid,"groups"). `viewer` has no RBAC binding: every request
# beyond discovery is forbidden (403).
cat >"$DIR/apiserver/tokens.csv" <<EOF
$ADMIN_TOKEN,secfix-admin,secfix-admin,"system:masters"
$VIEWER_TOKEN,secfix-viewer,secfix-viewer,"secfix:viewers"
EOF
openssl genrsa -out "$DIR/apiserver/sa.key" 2048 2>/dev/null

api_get() {
  curl -fsS --max-time 5 --cacert "$DIR/apiserver/apiserver.crt" \
    -H "Authorization: Bearer $ADMIN_TOKEN" "https://127.0.0.1:$API_PORT$1"
}
# Ready when /readyz is 200 (checked against the generated CA) and the bootstrap controller
# has created the `default` namespace.
api_ready() {
  [ -s "$DIR/apiserver/apiserver.crt" ] && api_get /readyz && api_get /api/v1/namespaces/default
}
launch_apiserver() {
  pick_port API_PORT
  rm -f "$DIR/apiserver/apiserver.crt" "$DIR/apiserver/apiserver.key"
  # No controllers, scheduler or kubelet run: the endpoint reconciler is off (it would try to
  # publish a loopback address for the `kubernetes` Service) and so is ServiceAccount
  # admission (no token controller creates the `default` ServiceAccount).
  spawn kube-apiserver "$APISERVER" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$API_PORT" \
    --cert-dir="$DIR/apiserver" \
    --service-account-issuer=https://kubernetes.default.svc \
    --service-account-key-file="$DIR/apiserver/sa.key" \
    --service-account-signing-key-file="$DIR/apiserver/sa.key" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --token-auth-file="$DIR/apiserver/tokens.csv" \
    --authorization-mode=RBAC \
    --disable-admission-plugins=ServiceAccount \
    --endpoint-reconciler-type=none \
    --allow-privileged=true \
    --profiling=false
  wait_ready kube-apiserver api_ready
}

# --- kube-controller-manager ---------------------------------------------------------------
# With an admin kubeconfig of its own. Leader election off; the node, route, service (cloud)
# and IPAM controllers off (no nodes, no cloud). Ready when the serviceaccount controller has
# created `default/default`, which needs its informers synced.
kcm_ready() {
  api_get /api/v1/namespaces/default/serviceaccounts/default
}
launch_controller_manager() {
  local port
  pick_port port
  (
    umask 077
    cat >"$DIR/apiserver/kcm.kubeconfig" <<KCM
apiVersion: v1
kind: Config
clusters:
- name: secfix-test
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: "$DIR/apiserver/apiserver.crt"}
users:
- name: admin
  user: {token: "$ADMIN_TOKEN"}
contexts:
- name: admin
  context: {cluster: secfix-test, user: admin}
current-context: admin
KCM
  )
  spawn kube-controller-manager "$CONTROLLER_MANAGER" \
    --kubeconfig="$DIR/apiserver/kcm.kubeconfig" \
    --service-account-private-key-file="$DIR/apiserver/sa.key" \
    --root-ca-file="$DIR/apiserver/apiserver.crt" \
    --use-service-account-credentials=false \
    --leader-elect=false \
    --port=0 --bind-address=127.0.0.1 --secure-port="$port" \
    --cert-dir="$DIR/apiserver/kcm" \
    --controllers='*,-nodeipam,-nodelifecycle,-route,-service,-cloud-node-lifecycle' \
    --profiling=false
  wait_ready kube-controller-manager kcm_ready
}

# --- registries ------------------------------------------------------------------------------
AUTH_USER=secfix
AUTH_PASSWORD=$(openssl rand -hex 16)
htpasswd -Bbn "$AUTH_USER" "$AUTH_PASSWORD" >"$DIR/htpasswd" 2>/dev/null

# registry_config NAME PORT [auth] : writes DIR/NAME.yml.
registry_config() {
  local name=$1 port=$2
  mkdir -p "$DIR/$name"
  {
    echo "version: 0.1"
    echo "log: {level: info, accesslog: {disabled: true}}"
    echo "storage:"
    echo "  filesystem: {rootdirectory: $DIR/$name}"
    echo "  delete: {enabled: true}"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: $(openssl rand -hex 16)"
    if [ "${3:-}" = auth ]; then
      echo "auth:"
      echo "  htpasswd: {realm: secfix-test, path: $DIR/htpasswd}"
    fi
  } >"$DIR/$name.yml"
}
registry_answers() {
  local code
  code=$(curl -sS --max-time 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v2/")
  [ "$code" = "$2" ]
}
launch_registry() {
  pick_port REGISTRY_PORT
  registry_config registry "$REGISTRY_PORT"
  spawn registry docker-registry serve "$DIR/registry.yml"
  wait_ready registry registry_answers "$REGISTRY_PORT" 200
}
launch_auth_registry() {
  pick_port AUTH_REGISTRY_PORT
  registry_config auth-registry "$AUTH_REGISTRY_PORT" auth
  spawn auth-registry docker-registry serve "$DIR/auth-registry.yml"
  wait_ready auth-registry registry_answers "$AUTH_REGISTRY_PORT" 401
}

# --- start -----------------------------------------------------------------------------------
started=$SECONDS
# One after the other: the registries take well under a second, and the order keeps failure
# messages simple.
start_service etcd launch_etcd
start_service kube-apiserver launch_apiserver
start_service kube-controller-manager launch_controller_manager
start_service registry launch_registry
start_service auth-registry launch_auth_registry
# The basic-auth registry must accept the generated credentials.
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -u "$AUTH_USER:$AUTH_PASSWORD" \
  "http://127.0.0.1:$AUTH_REGISTRY_PORT/v2/")
[ "$code" = 200 ] || fail_service auth-registry "credentials rejected (HTTP $code)"

# --- kubeconfig and env ----------------------------------------------------------------------
umask 077
cat >"$DIR/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: secfix-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $DIR/apiserver/apiserver.crt
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: viewer
  user:
    token: $VIEWER_TOKEN
contexts:
- name: admin
  context:
    cluster: secfix-test
    user: admin
    namespace: default
- name: viewer
  context:
    cluster: secfix-test
    user: viewer
    namespace: default
current-context: admin
EOF

cat >"$DIR/env" <<EOF
export SECFIX_TEST_DIR='$DIR'
export SECFIX_TEST_KUBECONFIG='$DIR/kubeconfig'
export SECFIX_TEST_REGISTRY='127.0.0.1:$REGISTRY_PORT'
export SECFIX_TEST_AUTH_REGISTRY='127.0.0.1:$AUTH_REGISTRY_PORT'
export SECFIX_TEST_AUTH_USER='$AUTH_USER'
export SECFIX_TEST_AUTH_PASSWORD='$AUTH_PASSWORD'
EOF
log "test bed up in $((SECONDS - started))s: apiserver https://127.0.0.1:$API_PORT with kube-controller-manager, registries 127.0.0.1:$REGISTRY_PORT (anonymous) and 127.0.0.1:$AUTH_REGISTRY_PORT (basic auth)"
