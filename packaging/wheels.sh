#!/usr/bin/env bash
# Builds the Python package's wheels and sdist (`make wheels`), then checks and tests each
# wheel as a user would install it, on a PATH without cargo or rustc:
#   - manylinux2014 (glibc >= 2.17) x86_64 and aarch64, musllinux_1_2 x86_64: maturin in
#     release, cross-linked with zig (from PyPI), tagged py3-none-PLATFORM (the Python layer
#     loads the library with ctypes, so one wheel per platform serves every Python >= 3.9);
#   - each wheel checked against its policy with `auditwheel show`;
#   - manylinux x86_64: the full pytest suite (bindings/python/tests) in a fresh venv of each
#     interpreter in FERRIO_WHEEL_PYTHONS (default: python3);
#   - musllinux x86_64: the full suite in a venv of a musl-linked CPython
#     (packaging/musl-python.sh builds it once);
#   - manylinux aarch64: the full suite under qemu-user, with the arm64 python3 of a Debian
#     root (packaging/arm64-root.sh builds it once), against the reference server on the host;
#   - the sdist: a wheel built from it (debug profile, needs cargo), then imported.
# Prints a table of the artifacts with their sizes and results; fails if any check failed.
#
#   packaging/wheels.sh                       # or: make wheels
#   FERRIO_WHEEL_PYTHONS="python3.10 python3.13" packaging/wheels.sh
#
# Output: target/dist/ (only the artifacts, ready to upload); logs, venvs and the cargo
# target dir of these builds in target/wheels-build/. Tools: a venv in
# ~/.cache/ferrio/wheels-tools (packaging/wheels-requirements.txt). Needs root for the
# Debian packages it installs when missing (qemu-user-static, mmdebstrap, musl-tools).
set -euo pipefail

# All in one function, read whole before it runs: editing this file cannot upset a run.
main() {
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  py_dir="$repo/bindings/python"
  out="$repo/target/dist"
  build="$repo/target/wheels-build"
  tests="$build/wheel-tests"
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/ferrio"
  tools="$cache/wheels-tools"
  pythons="${FERRIO_WHEEL_PYTHONS:-python3}"
  started=$SECONDS

  say() { printf '\n== %s\n' "$*" >&2; }
  die() {
    echo "wheels: $*" >&2
    exit 1
  }

  # --- Tools -------------------------------------------------------------------------------
  command -v node >/dev/null 2>&1 || die "node is missing (the reference server): install Node.js 20"
  command -v rustup >/dev/null 2>&1 || die "rustup is missing: install Rust with rustup"
  make -s -C "$repo" deps-node deps-node-v2 >/dev/null
  if ! command -v llvm-strip >/dev/null 2>&1; then
    say "installing llvm (llvm-strip strips the libraries of every architecture)"
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends llvm
  fi

  requirements="$repo/packaging/wheels-requirements.txt"
  if ! cmp -s "$requirements" "$tools/.requirements.txt"; then
    say "tools venv $tools"
    [ -x "$tools/bin/python" ] || python3 -m venv "$tools"
    "$tools/bin/python" -m pip install --quiet --upgrade pip
    "$tools/bin/python" -m pip install --quiet -r "$requirements"
    cp "$requirements" "$tools/.requirements.txt"
  fi
  export PATH="$tools/bin:$PATH"

  # target triple | maturin --compatibility | platform tag in the wheel's name
  builds=(
    "x86_64-unknown-linux-gnu manylinux2014 manylinux_2_17_x86_64"
    "aarch64-unknown-linux-gnu manylinux2014 manylinux_2_17_aarch64"
    "x86_64-unknown-linux-musl musllinux_1_2 musllinux_1_2_x86_64"
  )
  installed_targets="$(rustup target list --installed)"
  for spec in "${builds[@]}"; do
    read -r triple _ _ <<<"$spec"
    grep -qxF "$triple" <<<"$installed_targets" || rustup target add "$triple"
  done

  version="$(python3 "$repo/packaging/version.py")"

  # --- Build -------------------------------------------------------------------------------
  # A cargo target dir of its own: zig's linker settings would otherwise rebuild (and
  # invalidate) the cross builds other tasks keep in target/.
  export CARGO_TARGET_DIR="$build"
  # cargo's default `strip = "debuginfo"` in release reaches zig as --strip-debug, which zig
  # takes as "strip everything": the symbol table with it, where uniffi-bindgen (library mode)
  # reads the bindings' metadata. So the library is linked unstripped (with the debug info
  # of the precompiled std), and finish_wheel.py strips it inside the wheel afterwards.
  export CARGO_PROFILE_RELEASE_STRIP=none
  rm -rf "$out" "$tests"
  mkdir -p "$out" "$tests"

  say "sdist"
  (cd "$py_dir" && maturin sdist --out "$out")
  sdist="$out/ferrio-$version.tar.gz"
  [ -f "$sdist" ] || die "no $sdist (the version must come from Cargo.toml: $version)"

  wheels=()
  for spec in "${builds[@]}"; do
    read -r triple policy tag <<<"$spec"
    say "wheel for $triple ($policy)"
    (cd "$py_dir" && maturin build --release --locked --zig --target "$triple" \
      --compatibility "$policy" --out "$out")
    wheel="$out/ferrio-$version-py3-none-*$tag.whl"
    # shellcheck disable=SC2086 # the glob must expand
    set -- $wheel
    [ -f "$1" ] || die "no wheel tagged py3-none-...$tag in $out: $(ls "$out")"
    python3 "$repo/packaging/finish_wheel.py" "$1"
    wheels+=("$1")
  done

  # --- Check against the policies ------------------------------------------------------------
  declare -A audit result
  for wheel in "${wheels[@]}"; do
    name="$(basename "$wheel")"
    tag="${name##*-}"
    tag="${tag%.whl}"
    tag="${tag##*.}"
    say "auditwheel show $name"
    auditwheel show "$wheel" >"$tests/$name.audit" 2>&1 || true
    cat "$tests/$name.audit" >&2
    if grep -qF "consistent with the following platform tag: \"$tag\"" \
      <<<"$(tr '\n' ' ' <"$tests/$name.audit" | tr -s ' ')"; then
      audit[$name]="$tag ok"
    else
      audit[$name]="NOT $tag"
    fi
  done

  # --- Install and test, without cargo ----------------------------------------------------------
  # The reference server is node; a PATH with node and the venv, and nothing of Rust.
  node_dir="$(dirname "$(command -v node)")"
  clean_path() { # clean_path VENV_BIN: prints the PATH the tests run with
    local path="$1:/usr/bin:/bin"
    case "$node_dir" in /usr/bin | /bin) ;; *) path="$1:$node_dir:/usr/bin:/bin" ;; esac
    if env -i PATH="$path" sh -c 'command -v cargo || command -v rustc' >&2; then
      die "cargo or rustc is on $path (next to node?): cannot test without a Rust toolchain"
    fi
    echo "$path"
  }

  # Test deps: pytest and pytest-asyncio as pinned in requirements-dev.txt. The host's venvs
  # install them from PyPI; for the musl CPython (no ssl) and the arm64 one (slow under qemu)
  # they are downloaded once. pip evaluates the deps' markers for the interpreter that
  # downloads: a dep missing for the target's version makes its install fail, not pass.
  test_requirements="$tests/test-requirements.txt"
  grep -E '^(pytest|pytest-asyncio)==' "$py_dir/requirements-dev.txt" >"$test_requirements"
  test_deps() { # test_deps X.Y: prints a directory of the test deps' wheels for Python X.Y
    local dir="$cache/wheels-test-deps/$1"
    if ! cmp -s "$test_requirements" "$dir/.requirements.txt"; then
      rm -rf "$dir"
      python3 -m pip download --quiet --only-binary=:all: --python-version "$1" \
        -r "$test_requirements" -d "$dir" >&2
      cp "$test_requirements" "$dir/.requirements.txt"
    fi
    echo "$dir"
  }

  # run_suite LABEL PATH PYTHON...: the full suite, in bindings/python/tests, with an
  # environment of HOME, LANG and PATH only; PYTHON... runs the venv's interpreter.
  run_suite() {
    local label="$1" path="$2" log="$tests/$1.pytest.log"
    shift 2
    say "pytest: $label (PATH=$path; $(env -i PATH="$path" sh -c 'command -v cargo || echo no cargo'))"
    local where
    where="$(cd "$py_dir" && env -i HOME="$HOME" LANG=C.UTF-8 PATH="$path" "$@" -c \
      'import ferrio, platform, sys; print(ferrio.__file__, platform.machine(), sys.version.split()[0])')"
    echo "ferrio from $where" >&2
    case "$where" in
      "$tests"/*) ;;
      *) die "$label: ferrio was not imported from the test venv: $where" ;;
    esac
    local status=0
    (cd "$py_dir" && env -i HOME="$HOME" LANG=C.UTF-8 PATH="$path" "$@" -m pytest \
      -p no:cacheprovider -q -rs) 2>&1 | tee "$log" || status=$?
    result[$label]="$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n1 | sed 's/=//g; s/^ *//; s/ *$//')"
    [ "$status" -eq 0 ] || result[$label]="FAILED: ${result[$label]:-no summary} (log: $log)"
  }

  wheel_for() { # wheel_for TAG: the built wheel with this platform tag
    local wheel
    for wheel in "${wheels[@]}"; do
      case "$wheel" in *"$1".whl) echo "$wheel" ;; esac
    done
  }

  manylinux_x86="$(wheel_for manylinux_2_17_x86_64)"
  for python in $pythons; do
    venv="$tests/venv-x86_64-$(basename "$python")"
    "$python" -m venv "$venv"
    pyver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    "$venv/bin/python" -m pip install --quiet -r "$test_requirements"
    "$venv/bin/python" -m pip install --quiet --no-index "$manylinux_x86"
    run_suite "manylinux-x86_64-py$pyver" "$(clean_path "$venv/bin")" "$venv/bin/python"
  done

  say "musl CPython (packaging/musl-python.sh)"
  musl_python="$("$repo/packaging/musl-python.sh")"
  venv="$tests/venv-musl"
  "$musl_python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --no-index --find-links "$(test_deps 3.11)" \
    -r "$test_requirements"
  "$venv/bin/python" -m pip install --quiet --no-index "$(wheel_for musllinux_1_2_x86_64)"
  run_suite "musllinux-x86_64-py3.11" "$(clean_path "$venv/bin")" "$venv/bin/python"

  say "arm64 Debian root (packaging/arm64-root.sh)"
  root="$("$repo/packaging/arm64-root.sh" python3 python3-venv)"
  qemu=("$(command -v qemu-aarch64-static)" -L "$root")
  venv="$tests/venv-aarch64"
  # No binfmt_misc: the venv's python cannot start itself again, so no ensurepip; pip runs
  # from Debian's pip wheel in the root instead.
  "${qemu[@]}" "$root/usr/bin/python3" -m venv --without-pip "$venv"
  pip_wheel="$(ls "$root"/usr/share/python-wheels/pip-*.whl)"
  "${qemu[@]}" "$venv/bin/python" "$pip_wheel/pip" install --quiet --no-index \
    --find-links "$(test_deps 3.11)" -r "$test_requirements" "$(wheel_for manylinux_2_17_aarch64)"
  run_suite "manylinux-aarch64-py3.11-qemu" "$(clean_path "$venv/bin")" "${qemu[@]}" "$venv/bin/python"

  say "a wheel built from the sdist (debug profile)"
  # What pip does on a platform without a wheel: build from the sdist, with cargo.
  venv="$tests/venv-sdist"
  python3 -m venv "$venv"
  if env -u CARGO_PROFILE_RELEASE_STRIP MATURIN_PEP517_ARGS="--profile dev" \
    "$tools/bin/python" -m pip wheel --no-deps --no-build-isolation "$sdist" \
    -w "$tests/from-sdist" >"$tests/sdist.log" 2>&1 \
    && "$venv/bin/python" -m pip install --quiet --no-index "$tests"/from-sdist/ferrio-*.whl \
    && env -i PATH="$(clean_path "$venv/bin")" "$venv/bin/python" -c \
      'import ferrio; ferrio.Client().disconnect()'; then
    result[sdist]="builds a wheel (cargo, debug), which imports"
  else
    grep -E 'Caused by|error' "$tests/sdist.log" | tail -n 5 >&2 || true
    result[sdist]="FAILED: no wheel from the sdist (log: $tests/sdist.log)"
  fi

  # --- Report ----------------------------------------------------------------------------------
  say "artifacts in $out ($((SECONDS - started)) s)"
  failed=0
  size() { # size FILE: bytes and MiB
    awk -v bytes="$(stat -c %s "$1")" 'BEGIN { printf "%9d %6.2f MiB", bytes, bytes / 1048576 }'
  }
  printf '%-72s %20s  %s\n' artifact size "auditwheel / tests" >&2
  printf '%-72s %20s  %s\n' "$(basename "$sdist")" "$(size "$sdist")" "${result[sdist]}" >&2
  case "${result[sdist]}" in FAILED*) failed=1 ;; esac
  for wheel in "${wheels[@]}"; do
    name="$(basename "$wheel")"
    printf '%-72s %20s  %s\n' "$name" "$(size "$wheel")" "auditwheel: ${audit[$name]}" >&2
    case "${audit[$name]}" in NOT*) failed=1 ;; esac
  done
  for label in "${!result[@]}"; do
    [ "$label" = sdist ] && continue
    printf '  pytest %-40s %s\n' "$label" "${result[$label]}" >&2
    case "${result[$label]}" in FAILED* | "") failed=1 ;; esac
  done
  [ "$failed" -eq 0 ] || die "some checks failed (above)"
}

main "$@"
