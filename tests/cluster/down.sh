#!/usr/bin/env bash
# Stops the test bed that tests/cluster/up.sh started in DIR and removes DIR.
#
# Usage: tests/cluster/down.sh DIR
#
# Safe to run more than once and on a half-started DIR. It stops the process group of every
# pid recorded in DIR/pids (checking first that it still runs with DIR on its command line),
# then any etcd/kube-apiserver/docker-registry whose command line names DIR (a service spawned
# just before its pid was written), with SIGTERM, then SIGKILL after 15 s.
# It only removes a directory that up.sh marked (DIR/.secfix-testbed) or an empty one.
set -uo pipefail

die() { echo "down: error: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 DIR"
[ -e "$1" ] || exit 0
DIR=$(cd "$1" && pwd -P) || die "cannot enter $1"

if [ ! -e "$DIR/.secfix-testbed" ]; then
  # A caller's fresh temp dir, interrupted before up.sh marked it.
  rmdir "$DIR" 2>/dev/null || die "$DIR is not a test bed made by up.sh; not removing it"
  exit 0
fi

# names_dir PID : true if PID still runs with DIR on its command line (not a reused pid).
names_dir() {
  local cmdline
  cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  case "$cmdline" in *"$DIR/"*) return 0 ;; esac
  return 1
}
# service PID : true if PID runs etcd, kube-apiserver or docker-registry with DIR on its
# command line.
service() {
  local exe
  exe=$(tr '\0' '\n' 2>/dev/null <"/proc/$1/cmdline" | head -n1) || return 1
  case "${exe##*/}" in
    etcd | kube-apiserver | kube-controller-manager | docker-registry) names_dir "$1" ;;
    *) return 1 ;;
  esac
}

victims=()
for pidfile in "$DIR"/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  case "$pid" in '' | *[!0-9]*) continue ;; esac
  names_dir "$pid" && victims+=("$pid")
done
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  case " ${victims[*]} " in *" $pid "*) continue ;; esac
  service "$pid" && victims+=("$pid")
done

for pid in "${victims[@]}"; do
  # Each service leads its own process group (up.sh starts it with setsid).
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
done
for _ in $(seq 150); do
  alive=0
  for pid in "${victims[@]}"; do
    if names_dir "$pid"; then alive=1; fi
  done
  [ $alive = 0 ] && break
  sleep 0.1
done
for pid in "${victims[@]}"; do
  if names_dir "$pid"; then
    echo "down: $pid did not stop on SIGTERM; killing it" >&2
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  fi
done
sleep 0.2
rm -rf "$DIR"
