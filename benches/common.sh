# Shared by the benchmark scripts (sourced, not run): checks, the release build, and seeding a
# test bed over the API with curl.
#
# The sourcing script sets ROOT (the repository) and PARALLEL (create requests in flight), and
# SERVER, TOKEN and CA (the API server, a bearer token, its CA file) before calling
# `request`.

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# check_sizes : fails unless N (pods, at least 100), RUNS and PARALLEL are whole numbers.
check_sizes() {
  case "$N" in '' | *[!0-9]*) die "N must be a whole number of pods, got '$N'" ;; esac
  [ "$N" -ge 100 ] || die "N must be at least 100, got $N"
  case "$RUNS" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_RUNS must be a positive number, got '$RUNS'" ;; esac
  case "$PARALLEL" in '' | 0 | *[!0-9]*) die "SECFIX_BENCH_PARALLEL must be a positive number, got '$PARALLEL'" ;; esac
}

# need TOOL... : fails unless every TOOL is installed; also /usr/bin/time and curl with HTTP/2.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
  done
  [ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
  curl --version | grep -w HTTP2 >/dev/null || die "this curl has no HTTP/2 support"
}

# build_release : builds the release binary and sets SECFIX to its path (CARGO_TARGET_DIR is
# honoured).
build_release() {
  local target
  log "building the release binary"
  (cd "$ROOT" && cargo build --release --quiet --bin kubectl-secfix)
  target=${CARGO_TARGET_DIR:-target}
  case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
  SECFIX="$target/release/kubectl-secfix"
  [ -x "$SECFIX" ] || die "no binary at $SECFIX after cargo build --release"
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
