# Seeds the bench cluster: sourced by benches/scan-large.sh and benches/scan-dump.sh after
# they have started a test bed. Reads N, PARALLEL, SERVER, TOKEN, CA, WORK and benches/common.sh (log, die, request, send); sets
# NS_COUNT, OWNED, RS_COUNT, BARE, SEED_SECONDS (see scan-large.sh for what it seeds).
# shellcheck shell=bash
SEED="$WORK/seed"
mkdir -p "$SEED/bodies"

# The benches seed owners and pods themselves (ReplicaSets with their pods, bare pods): the
# test bed's kube-controller-manager would create pods of its own and delete the seeded ones,
# so it is stopped first (its own process group; tests/cluster/down.sh stops the rest).
if [ -f "$WORK/pids/kube-controller-manager.pid" ]; then
  kill -- "-$(cat "$WORK/pids/kube-controller-manager.pid")" 2>/dev/null || true
fi

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
