#!/usr/bin/env bash
# Fuzzing of Ferrio's decoders with cargo-fuzz (libFuzzer, AddressSanitizer, overflow
# checks): the targets in fuzz/fuzz_targets, see fuzz/README.md.
#
# Usage (from anywhere):
#   fuzz/run.sh smoke [RUNS]       every target, RUNS inputs each (default 50000) with its
#                                  corpus: `make test-fuzz`, part of `make test`
#   fuzz/run.sh campaign [SECONDS] every target for SECONDS each (default 600), one after
#                                  the other at nice 19: `make fuzz`; the new inputs are
#                                  minimised into fuzz/corpus/<target> (commit them)
# FUZZ_TARGETS="a b" limits either to some targets; FUZZ_JOBS=N runs N processes per
# target in a campaign (default 1); FUZZ_ARGS adds libFuzzer flags to a campaign's runs
# (e.g. "-max_len=512").
#
# Setup, idempotent and cached: the pinned nightly toolchain (rustup, minimal profile) and
# cargo-fuzz, installed into ~/.cache/ferrio/cargo-fuzz. The working corpus of campaigns
# is ~/.cache/ferrio/fuzz/corpus/<target>, their logs ~/.cache/ferrio/fuzz/logs. A crash
# stops the run; its input is in fuzz/artifacts/<target>, with libFuzzer's log.
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferrio"
toolchain=nightly-2026-05-20
cargo_fuzz_version=0.13.2
cargo_fuzz_root="$cache/cargo-fuzz"
all_targets="engineio_packet engineio_payload engineio_payload_v3 websocket_deflate handshake socketio_decoder ffi_json cli_input"
targets="${FUZZ_TARGETS:-$all_targets}"
# An input of a few KB that makes the decoder allocate this much is an amplification bug.
limits=(-malloc_limit_mb=256 -rss_limit_mb=2048 -timeout=10)

fail() {
  echo "fuzz: $*" >&2
  exit 1
}

setup() {
  command -v rustup >/dev/null 2>&1 || fail "rustup is needed (https://rustup.rs) to install the $toolchain toolchain"
  command -v c++ >/dev/null 2>&1 || {
    echo "fuzz: installing g++ (libfuzzer-sys compiles libFuzzer)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -q
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends g++
  }
  if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    # --no-self-update: installing a toolchain must not replace the machine's rustup.
    rustup toolchain install "$toolchain" --profile minimal --no-self-update
  fi
  if [ "$("$cargo_fuzz_root/bin/cargo-fuzz" --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]; then
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --root "$cargo_fuzz_root"
  fi
  export PATH="$cargo_fuzz_root/bin:$PATH"
}

# The "#N DONE ..." line of a libFuzzer log, or its last status line.
done_line() {
  grep -E '^#[0-9]+[[:space:]]+DONE' "$1" | tail -n 1 || tail -n 1 "$1"
}

# fuzz TARGET LOG ARGS...: one libFuzzer run; on failure, show the end of its log.
fuzz() {
  local target=$1 log=$2
  shift 2
  if ! cargo "+$toolchain" fuzz run --fuzz-dir "$fuzz_dir" "$target" "$@" >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    fail "$target failed: the input is in $fuzz_dir/artifacts/$target, the log in $log"
  fi
  printf '%-19s %s\n' "$target" "$(done_line "$log")"
}

smoke() {
  local runs=${1:-50000} logs="$cache/fuzz/logs"
  mkdir -p "$logs"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cargo "+$toolchain" fuzz build --fuzz-dir "$fuzz_dir"
  for target in $targets; do
    mkdir -p "$work/$target" "$fuzz_dir/corpus/$target"
    # New inputs go to the scratch directory; the corpus and seeds are only read.
    fuzz "$target" "$logs/smoke-$target.log" "$work/$target" "$fuzz_dir/corpus/$target" \
      "$fuzz_dir/seeds/$target" -- -runs="$runs" -seed=1 "${limits[@]}"
  done
}

campaign() {
  local seconds=${1:-600} jobs=${FUZZ_JOBS:-1} logs="$cache/fuzz/logs" stamp work merged run
  local extra=()
  read -r -a extra <<<"${FUZZ_ARGS:-}"
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$logs"
  # Everything below at the lowest priority: the machine stays usable.
  renice -n 19 -p $$ >/dev/null
  cargo "+$toolchain" fuzz build --fuzz-dir "$fuzz_dir"
  for target in $targets; do
    work="$cache/fuzz/corpus/$target"
    run="$logs/$target-$stamp"
    mkdir -p "$work" "$fuzz_dir/corpus/$target" "$run"
    # With FUZZ_JOBS=N, N processes share the working corpus; each writes its own
    # fuzz-K.log (in the run's directory) ending with its "#N DONE" line.
    (cd "$run" && fuzz "$target" "$run/main.log" "$work" "$fuzz_dir/corpus/$target" \
      "$fuzz_dir/seeds/$target" -- -max_total_time="$seconds" -print_final_stats=1 \
      -jobs="$jobs" -workers="$jobs" "${limits[@]}" "${extra[@]}") >/dev/null
    local results=("$run"/fuzz-*.log)
    [ -f "${results[0]}" ] || results=("$run/main.log")
    for log in "${results[@]}"; do
      printf '%s %-19s %s\n' "$stamp" "$target" "$(done_line "$log")" | tee -a "$logs/campaigns.txt"
    done
    # The committed corpus: the smallest set of inputs that reaches every edge the two
    # reach (edges only, not hit counts: a tenth of the inputs).
    merged=$(mktemp -d)
    cargo "+$toolchain" fuzz run --fuzz-dir "$fuzz_dir" "$target" "$merged" \
      "$fuzz_dir/corpus/$target" "$work" -- -merge=1 -use_counters=0 "${limits[@]}" >"$run/merge.log" 2>&1 ||
      fail "merging the corpus of $target failed: $run/merge.log"
    rm -rf "${fuzz_dir:?}/corpus/$target"
    mv "$merged" "$fuzz_dir/corpus/$target"
    chmod 755 "$fuzz_dir/corpus/$target"
  done
}

case "${1:-}" in
  smoke)
    setup
    smoke "${2:-}"
    ;;
  campaign)
    setup
    campaign "${2:-}"
    ;;
  *) fail "usage: fuzz/run.sh smoke [RUNS] | campaign [SECONDS]" ;;
esac
