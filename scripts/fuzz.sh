#!/usr/bin/env bash
# Runs every coverage-guided fuzz target (fuzz/fuzz_targets/) for a given time each.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]     (default: 60 seconds, every target)
#
# The targets are libFuzzer binaries (libfuzzer-sys), built on *stable* Rust with the same
# flags cargo-fuzz passes (sanitizer coverage: inline 8-bit counters, PC table, compare
# tracing; `--cfg fuzzing`; debug assertions and overflow checks on). No nightly, no
# AddressSanitizer: the code is safe Rust, so what is hunted is panics, failed invariants,
# hangs (-timeout) and memory blow-ups (-rss_limit_mb).
#
# Corpora: the committed seeds (fuzz/seeds/TARGET, plus the repository's example and fixture
# manifests for `manifest`) are read; what the fuzzer finds is kept in
# $SECFIX_FUZZ_CORPUS/TARGET (default ~/.cache/kubectl-secfix/fuzz-corpus), so later runs
# start from it. A crash is saved in $SECFIX_FUZZ_ARTIFACTS (default fuzz/artifacts/) and
# fails the run; reproduce it with `BINARY ARTIFACT` (the path is printed).
#
# Environment:
#   SECFIX_FUZZ_TARGET_DIR  cargo target dir (default ~/.cache/kubectl-secfix/fuzz-target)
#   SECFIX_FUZZ_CORPUS      working corpora (default ~/.cache/kubectl-secfix/fuzz-corpus)
#   SECFIX_FUZZ_ARTIFACTS   crash artefacts (default fuzz/artifacts)
#   SECFIX_FUZZ_RSS_MB      memory limit per target (default 2048)
#   SECFIX_FUZZ_REPORT      also append the results table to this file
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

seconds=${1:-60}
shift || true
all=(image_ref json_patch manifest redaction boundary)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=()
    for t in "${all[@]}"; do
        [[ -f fuzz/fuzz_targets/$t.rs ]] && targets+=("$t")
    done
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "fuzz.sh: SECONDS must be a positive integer, not '$seconds'" >&2
    exit 2
fi

cache=${SECFIX_CACHE:-$HOME/.cache/kubectl-secfix}
export CARGO_TARGET_DIR=${SECFIX_FUZZ_TARGET_DIR:-$cache/fuzz-target}
corpus_root=${SECFIX_FUZZ_CORPUS:-$cache/fuzz-corpus}
artifacts=${SECFIX_FUZZ_ARTIFACTS:-$root/fuzz/artifacts}
rss=${SECFIX_FUZZ_RSS_MB:-2048}

# The flags cargo-fuzz uses for libFuzzer, minus the nightly-only sanitizer ones.
export RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing -Cdebug-assertions -Coverflow-checks"

echo "fuzz.sh: building ${targets[*]} (release, instrumented) in $CARGO_TARGET_DIR" >&2
bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (which would fail
# to link without the libFuzzer runtime), as cargo-fuzz does.
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --locked --target "$host" --manifest-path fuzz/Cargo.toml "${bins[@]}" >&2

mkdir -p "$artifacts"
results=()
failed=0
for t in "${targets[@]}"; do
    bin=$CARGO_TARGET_DIR/$host/release/$t
    work=$corpus_root/$t
    mkdir -p "$work"
    seeds=("$root/fuzz/seeds/$t")
    if [[ $t == manifest || $t == redaction ]]; then
        seeds+=("$root/examples")
        [[ -d $root/tests/fixtures/manifests ]] && seeds+=("$root/tests/fixtures/manifests")
    fi
    log=$(mktemp)
    echo "fuzz.sh: $t for ${seconds}s" >&2
    set +e
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb="$rss" -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-" "$work" "${seeds[@]}" \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    units=$(find "$work" -type f | wc -l)
    if ((rc != 0)); then
        failed=1
        status="CRASH (exit $rc)"
        echo "fuzz.sh: $t failed; the end of its log:" >&2
        tail -40 "$log" >&2
        grep -E 'Test unit written to' "$log" >&2 || true
    else
        status=ok
    fi
    results+=("| $t | ${seconds} s | ${execs:-?} | ${cov:-?} | ${ft:-?} | $units | $status |")
    rm -f "$log"
done

table=$(
    echo "| target | time | executions | coverage (edges) | features | corpus | result |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${results[@]}"
)
echo "$table"
if [[ -n ${SECFIX_FUZZ_REPORT:-} ]]; then
    {
        echo
        echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${seconds} s per target:"
        echo
        echo "$table"
    } >>"$SECFIX_FUZZ_REPORT"
fi
exit $failed
