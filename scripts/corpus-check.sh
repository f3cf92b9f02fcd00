#!/usr/bin/env bash
# Compares kubectl-secfix's manifest reader with the real kubectl's on every .yaml, .yml and
# .json file under the given directories (tests/corpus.rs does the work: for each file kubectl
# reads, we must read the same objects; the files kubectl refuses are listed).
#
# Usage: scripts/corpus-check.sh DIR...
# Needs kubectl (tests/cluster/setup.sh installs it). No cluster is contacted.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
[ $# -ge 1 ] || { echo "usage: $0 DIR..." >&2; exit 2; }
dirs=()
for d in "$@"; do
  [ -d "$d" ] || { echo "corpus-check: $d is not a directory" >&2; exit 2; }
  dirs+=("$(cd "$d" && pwd -P)")
done
corpus=$(IFS=:; echo "${dirs[*]}")
cd "$ROOT"
SECFIX_CORPUS="$corpus" exec cargo test --test corpus -- --nocapture
