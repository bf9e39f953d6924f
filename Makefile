# Entry points for developers and CI (.ci/run runs `make test`).

SERVER_DIR := tests/server

.PHONY: test
test: behaviour-reset check-packaging test-rust test-python test-hostile test-cluster test-kotlin check-android check-windows test-swift examples-rust examples-bindings test-cross-language test-cluster-bindings test-fuzz
	python3 tests/behaviour/coverage.py --check

# The behaviour table (tests/behaviour/README.md): each language's tests run its scenarios
# and write target/behaviour/<language>.json; `make test` starts without old results and
# ends by checking that every scenario passed where it applies and that tests/COVERAGE.md is
# the table those results make. `make coverage` writes that file after the languages' tests.
.PHONY: behaviour-reset coverage
behaviour-reset:
	rm -rf target/behaviour

coverage:
	python3 tests/behaviour/coverage.py

# The reference Socket.IO server's packages, installed from the lockfile when it changed.
.PHONY: deps-node
deps-node: $(SERVER_DIR)/node_modules/.package-lock.json

$(SERVER_DIR)/node_modules/.package-lock.json: $(SERVER_DIR)/package-lock.json
	npm ci --prefix $(SERVER_DIR)
	touch $@

# A Socket.IO 2.x server (tests/server-v2, its own lockfile) for the tests of servers that
# speak the older protocol (tests/integration/tests/legacy_servers.rs).
.PHONY: deps-node-v2
deps-node-v2: tests/server-v2/node_modules/.package-lock.json

tests/server-v2/node_modules/.package-lock.json: tests/server-v2/package-lock.json
	npm ci --prefix tests/server-v2
	touch $@

# A python-socketio 4.x server (tests/server-v2-python, its pinned requirements.txt) for the
# same tests (tests/integration/tests/legacy_python_server.rs): a venv outside the
# repository, (re)installed only when requirements.txt changed. FERRIO_V2_PYTHON_VENV
# overrides where it lives (the tests read the same variable).
FERRIO_V2_PYTHON_VENV ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/ferrio/server-v2-python
.PHONY: deps-python-v2
deps-python-v2:
	@venv="$(FERRIO_V2_PYTHON_VENV)"; \
	if ! cmp -s tests/server-v2-python/requirements.txt "$$venv/requirements.txt"; then \
		echo "installing tests/server-v2-python/requirements.txt into $$venv"; \
		{ test -x "$$venv/bin/python" || python3 -m venv "$$venv"; } && \
		"$$venv/bin/python" -m pip install --quiet --no-deps -r tests/server-v2-python/requirements.txt && \
		"$$venv/bin/python" -m pip check && \
		cp tests/server-v2-python/requirements.txt "$$venv/requirements.txt"; \
	fi

# The scaled-out deployment of the cluster tests (tests/cluster): redis-server and nginx
# from Debian's packages, installed when missing; the tests run them by hand on loopback
# ports, never as services.
.PHONY: deps-cluster
deps-cluster: deps-node
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || missing="$$missing nginx-light"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o DPkg::Lock::Timeout=600 update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing; \
	fi

# Ferrio against two socket.io nodes (Redis adapter) behind nginx (tests/cluster/README.md).
# The test target needs the `cluster` feature, so `cargo test --workspace` leaves it out.
.PHONY: test-cluster
test-cluster: deps-cluster
	cargo clippy -p ferrio-integration-tests --features cluster --all-targets -- -D warnings
	cargo test -p ferrio-integration-tests --features cluster --test cluster

# The proxies of the proxy tests (tests/integration/tests/proxies.rs, proxy_env.rs):
# tinyproxy and squid (HTTP), microsocks (SOCKS5) from Debian, installed when missing
# (apt-get update only when the package lists are too old to find them); the tests run
# them by hand on loopback ports, never as services.
.PHONY: deps-proxies
deps-proxies:
	@missing=""; \
	for program in tinyproxy squid microsocks; do \
		command -v $$program >/dev/null 2>&1 || test -x /usr/sbin/$$program || missing="$$missing $$program"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing || \
		{ apt-get -o DPkg::Lock::Timeout=600 update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $$missing; }; \
	fi

.PHONY: test-rust
test-rust: deps-node deps-node-v2 deps-python-v2 deps-proxies
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace

# Windows (x86_64-pc-windows-gnu), with tests/windows/run.sh (installs mingw-w64, and wine64
# for the tests, when missing). check-windows, in `make test`: ferrio-ffi compiles for Windows
# and passes clippy there (its event pipe is Unix-only); seconds when warm, 2-3 min on a
# fresh machine (the apt packages, the target, the dependencies checked). test-windows:
# that, the DLL linked, then the tests of the core, of ferrio-ffi and the integration tests
# run by wine against the reference server (wine prefix in ~/.cache/ferrio/wine); about
# 1.5 min warm, longer cold (wine64 and every test binary built for Windows), so on its own.
.PHONY: check-windows
check-windows:
	bash tests/windows/run.sh --check

.PHONY: test-windows
test-windows: deps-node
	bash tests/windows/run.sh

# The Rust examples (examples/rust-*), each run once against `ferrio serve --port 0`.
.PHONY: examples-rust
examples-rust:
	cargo build -p ferrio-cli -p rust-chat -p rust-token-refresh
	bash examples/smoke-rust.sh

# The Python package (bindings/python): built with maturin (debug profile, fast to build) into
# a venv outside the repository, linted (ruff, mypy --strict) and tested against the
# reference server. The venv is this checkout's own (venv-<hash of its path>): two checkouts
# on one machine do not reinstall each other's package, and pip's download cache
# (~/.cache/pip) stays shared, so a second checkout installs fast. FERRIO_VENV overrides
# where the venv lives.
FERRIO_CHECKOUT := $(shell printf '%s' '$(CURDIR)' | sha256sum | cut -c1-12)
FERRIO_VENV ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/ferrio/venv-$(FERRIO_CHECKOUT)
PYTHON_DIR := bindings/python

# The venv with the package as built from this tree and the dev tools (test-python,
# test-hostile): a phony target, so one `make` run installs once.
.PHONY: python-package
python-package:
	test -x "$(FERRIO_VENV)/bin/python" || python3 -m venv "$(FERRIO_VENV)"
	"$(FERRIO_VENV)/bin/python" -m pip install --quiet --upgrade pip
	"$(FERRIO_VENV)/bin/python" -m pip install --quiet -r $(PYTHON_DIR)/requirements-dev.txt
	PATH="$(FERRIO_VENV)/bin:$$PATH" MATURIN_PEP517_ARGS="--profile dev" "$(FERRIO_VENV)/bin/python" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./$(PYTHON_DIR)

.PHONY: test-python
test-python: deps-node deps-node-v2 deps-proxies python-package
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/ruff" check python tests
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/ruff" format --check python tests
	"$(FERRIO_VENV)/bin/ruff" check --config $(PYTHON_DIR)/pyproject.toml tests/server-v2-python
	"$(FERRIO_VENV)/bin/ruff" format --check --config $(PYTHON_DIR)/pyproject.toml tests/server-v2-python
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/mypy" --strict python/ferrio tests
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/python" -m pytest

# The hostile-server fixture (tests/hostile/README.md): a stdlib Python server that gets a
# client connected over polling or WebSocket and then misbehaves (floods, amplification,
# write stalls, ping floods, cookie growth, oversized and malformed input, silence); each
# case runs against the core (ferrio-hostile-probe), the CLI and the Python package, which
# must end as the case expects, without hanging, under 128 MiB of peak RSS. About 75 s
# (two runs at a time) once built; KNOWN_FAILING in run.py lists the runs skipped until
# their fix lands (`python3 tests/hostile/run.py --all` runs them).
.PHONY: test-hostile
test-hostile: python-package
	cargo build -p ferrio-cli -p ferrio-hostile-probe
	"$(FERRIO_VENV)/bin/ruff" check --config $(PYTHON_DIR)/pyproject.toml tests/hostile
	"$(FERRIO_VENV)/bin/ruff" format --check --config $(PYTHON_DIR)/pyproject.toml tests/hostile
	"$(FERRIO_VENV)/bin/mypy" --config-file $(PYTHON_DIR)/pyproject.toml --strict tests/hostile
	FERRIO_PYTHON="$(FERRIO_VENV)/bin/python" python3 tests/hostile/run.py

# The Kotlin package (bindings/kotlin): the cdylib and its UniFFI Kotlin sources
# (generate.sh, which Maven also runs), then Maven (downloads cached in ~/.m2) puts the
# library in the classes (natives.sh) and runs the JUnit tests against the reference server.
# `mvn install` (examples-bindings) also cross-compiles the linux-aarch64 library for the jar.
KOTLIN_DIR := bindings/kotlin

.PHONY: test-kotlin
test-kotlin: deps-node deps-node-v2 deps-proxies
	cargo build -p ferrio-ffi
	bash $(KOTLIN_DIR)/generate.sh
	mvn -B -q -f $(KOTLIN_DIR)/pom.xml test
	sh $(KOTLIN_DIR)/test-summary.sh

# What can be proven about Android without the NDK (bindings/kotlin/android/check.sh):
# `cargo check -p ferrio-ffi` for aarch64-linux-android and armv7-linux-androideabi (Debian's
# clang and cross libc headers, installed when missing); build-aar.sh's stop, saying what to
# install, without an NDK; its assembly of the AAR and POM from stand-in libraries, and its
# refusal of 4 KB-aligned 64-bit ones. About 45 s per target the first time, then ~25 s.
.PHONY: check-android
check-android:
	bindings/kotlin/android/check.sh

# The Swift package (bindings/swift): this machine has no Swift compiler, so test.sh runs
# `swift build` + `swift test` in a cached Debian trixie root (toolchain.sh, built on first
# use, ~1.5 min) against reference servers started on the host. Needs root (chroot, mount);
# fails loudly when it cannot run. FERRIO_SKIP_SWIFT=1 skips Swift explicitly.
# check-release.sh: the package as a release publishes it loads in SwiftPM (Linux: pkg-config;
# Apple: the XCFramework by URL and checksum), with no unsafe flags (~10 s).
.PHONY: test-swift
test-swift: deps-node deps-node-v2 deps-proxies
	bindings/swift/test.sh
	bindings/swift/check-release.sh

# The chat examples of the bindings (examples/python, examples/kotlin, examples/swift), each
# run once against `ferrio serve --port 0` (examples/smoke-bindings.sh). After
# test-python (its venv has the package); the Kotlin example is a Maven module that depends
# on the Kotlin package by its coordinates, installed in ~/.m2 here (the jar with its
# linux-x86-64 and linux-aarch64 libraries, the sources and javadoc jars: check-jar.py
# checks them), and run again on an arm64 JVM under qemu-user with the jar's linux-aarch64
# library (test-jar-arm64.sh; its arm64 Debian root is built once, cached); Swift runs in
# test-swift's toolchain root.
.PHONY: examples-bindings
examples-bindings: test-python
	cargo build -p ferrio-cli
	"$(FERRIO_VENV)/bin/ruff" check --config $(PYTHON_DIR)/pyproject.toml examples/python tests/cross-language
	"$(FERRIO_VENV)/bin/ruff" format --check --config $(PYTHON_DIR)/pyproject.toml examples/python tests/cross-language
	"$(FERRIO_VENV)/bin/mypy" --config-file $(PYTHON_DIR)/pyproject.toml --strict examples/python tests/cross-language
	mvn -B -q -f $(KOTLIN_DIR)/pom.xml -DskipTests install
	python3 $(KOTLIN_DIR)/check-jar.py
	mvn -B -q -f examples/kotlin/pom.xml compile
	FERRIO_PYTHON="$(FERRIO_VENV)/bin/python" bash examples/smoke-bindings.sh
	bash $(KOTLIN_DIR)/test-jar-arm64.sh

# A Python client and a Kotlin client exchange messages in one room of the reference server
# (tests/cross-language). After test-python (its venv has the package).
.PHONY: test-cross-language
test-cross-language: test-python
	FERRIO_PYTHON="$(FERRIO_VENV)/bin/python" bash tests/cross-language/run.sh

# One cluster test per binding (test_cluster.py, ClusterTest.kt, ClusterTests.swift): each
# against its own cluster from `ferrio-cluster` (tests/integration/src/bin/cluster.rs), which
# passes the addresses in FERRIO_CLUSTER_* (the tests skip themselves without them). After
# test-python (its venv has the package); Maven and test.sh build the others.
FERRIO_CLUSTER := $(CURDIR)/target/debug/ferrio-cluster

.PHONY: test-cluster-bindings
test-cluster-bindings: deps-cluster test-python
	cargo build -p ferrio-integration-tests --features cluster --bin ferrio-cluster
	cd $(PYTHON_DIR) && "$(FERRIO_CLUSTER)" -- "$(FERRIO_VENV)/bin/python" -m pytest -q tests/test_cluster.py
	"$(FERRIO_CLUSTER)" -- mvn -B -q -f $(KOTLIN_DIR)/pom.xml test -Dtest=ClusterTest -Dsurefire.failIfNoSpecifiedTests=false
	"$(FERRIO_CLUSTER)" -- bindings/swift/test.sh --filter ClusterTests

# The Python package's wheels and sdist in target/dist (packaging/wheels.sh): manylinux2014
# x86_64 and aarch64 and musllinux_1_2 x86_64 wheels (py3-none: one per platform for every
# Python >= 3.9), cross-linked with zig; each checked with auditwheel and installed in a
# fresh venv without cargo on the PATH, where the full pytest suite runs (x86_64 natively,
# musl in a musl-built CPython, aarch64 under qemu-user in an arm64 Debian root). Not part of
# `test`: about 14 minutes on 2 cores from a warm cargo registry (the first run also builds
# the musl CPython, ~7 minutes, and the arm64 root, ~15 s, both cached outside the repo).
.PHONY: wheels
wheels: deps-node deps-node-v2
	bash packaging/wheels.sh

# Benchmarks (benches/README.md): Ferrio (Rust, Python, Kotlin, Swift) against socket.io-client,
# python-socketio, rust_socketio and a raw tokio-tungstenite floor, each its own process
# against benches/server.mjs on loopback. Builds every client in release (Rust clients in
# target/bench, the Python package into a venv outside the repository, the JS client from
# its lockfile, the Kotlin client with the Kotlin package in one Maven reactor, against the
# release cdylib; the Swift client in test-swift's toolchain root, benches/swift/build.sh,
# needs root), then writes benches/results.json and BENCHMARKS.md. Not part of `test`:
# about 13 minutes on 2 cores. BENCH_ARGS goes to benches/run.py (e.g. `--quick --runs 1`).
FERRIO_BENCH_VENV ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/ferrio/bench-venv
BENCH_ARGS ?=

.PHONY: bench
bench: deps-node
	npm ci --prefix benches/js --no-audit --no-fund
	test -x "$(FERRIO_BENCH_VENV)/bin/python" || python3 -m venv "$(FERRIO_BENCH_VENV)"
	"$(FERRIO_BENCH_VENV)/bin/python" -m pip install --quiet -r benches/requirements.txt
	PATH="$(FERRIO_BENCH_VENV)/bin:$$PATH" "$(FERRIO_BENCH_VENV)/bin/python" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./$(PYTHON_DIR)
	CARGO_TARGET_DIR="$(CURDIR)/target/bench" cargo build --release --locked --manifest-path benches/rust/Cargo.toml
	CARGO_TARGET_DIR="$(CURDIR)/target/bench" cargo build --release --locked --manifest-path benches/rust-socketio/Cargo.toml
	mvn -B -q -f benches/kotlin/pom.xml -Dferrio.profile=release -Dferrio.hostOnly=true -DskipTests package
	mvn -B -q -f benches/java/pom.xml package
	benches/swift/build.sh
	FERRIO_BENCH_VENV="$(FERRIO_BENCH_VENV)" python3 benches/run.py $(BENCH_ARGS)
	python3 benches/report.py

# Fuzzing of the decoders (fuzz/README.md): cargo-fuzz targets (libFuzzer, AddressSanitizer)
# for the Engine.IO packet and payload decoders (v4 and v3), the permessage-deflate reader,
# the handshake, the Socket.IO decoder, the FFI's JSON codec and the CLI's input lines (the
# core's entry points for the fuzzers, its `fuzzing` feature, linted here too, as the fuzz
# crate builds it); fuzz/run.sh installs the pinned nightly
# (rustup) and cargo-fuzz (into ~/.cache/ferrio/cargo-fuzz) when missing. test-fuzz, in
# `make test`: every target replays its corpus and seeds, then runs until FUZZ_RUNS inputs
# (fixed seed); under a minute warm, about 8 minutes on a fresh machine (the toolchain,
# cargo-fuzz and the instrumented build; measured on this 2-core machine under load). fuzz:
# the campaign, FUZZ_TIME seconds per target at nice 19 (FUZZ_JOBS processes each, FUZZ_ARGS
# more libFuzzer flags), its new inputs minimised into fuzz/corpus (commit them).
FUZZ_RUNS ?= 100000
FUZZ_TIME ?= 600
FUZZ_JOBS ?= 1

.PHONY: test-fuzz
test-fuzz:
	cargo fmt --manifest-path fuzz/Cargo.toml -- --check
	cargo clippy --manifest-path fuzz/Cargo.toml --target-dir target --all-targets -- -D warnings
	cargo clippy -p ferrio --features fuzzing --lib -- -D warnings
	bash fuzz/run.sh smoke $(FUZZ_RUNS)

.PHONY: fuzz
fuzz:
	FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_ARGS="$(FUZZ_ARGS)" bash fuzz/run.sh campaign $(FUZZ_TIME)

# The soak (tests/soak/README.md): 1000 clients of the Rust core (WebSocket, polling,
# upgrade) against the reference server for 30 minutes, exchanging events and acks while
# faults cut them (transport closes, server disconnects, client churn, server restarts,
# freezes, crashes); the process samples its RSS, threads, descriptors and tokio tasks each
# minute and fails unless they stay flat and every client still answers at the end.
# Writes SOAK_OUT (tests/soak/results: SOAK.md, soak.svg, soak.csv), the server's log to
# target/soak/server.log. Not part of `test`: 30 minutes, plus about 4 minutes for the
# first release build (its own target dir, no LTO). SOAK_MINUTES, SOAK_CLIENTS,
# SOAK_SAMPLE_SECS, SOAK_CHAOS_SECS, SOAK_GLOBAL_SECS, SOAK_OP_SECS override the run, e.g.
# `make soak SOAK_MINUTES=3 SOAK_CLIENTS=200 SOAK_OUT=target/soak`.
SOAK_OUT ?= tests/soak/results

.PHONY: soak
soak: deps-node
	CARGO_TARGET_DIR="$(CURDIR)/target/soak-build" CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=3 cargo build --release --locked -p ferrio-soak
	mkdir -p target/soak
	hard=$$(ulimit -Hn); if [ "$$hard" = unlimited ]; then hard=1048576; fi; ulimit -n "$$hard" 2>/dev/null || true; \
	SOAK_OUT="$(SOAK_OUT)" target/soak-build/release/ferrio-soak 2> target/soak/server.log || { \
		echo "make soak: failed; the server's log and any panic of the driver are in target/soak/server.log, its end:"; \
		tail -n 20 target/soak/server.log; exit 1; }

# Packaging and release checks, fast (~30 s on first use, then seconds): one version in
# every package (packaging/version.py), the release workflow (.github/workflows/release.yml,
# which runs only on a hosted CI) validated with actionlint, every shell script of the
# repository through shellcheck (from Debian, installed when missing), and the Maven
# Central bundle script tested with a throwaway gpg key. actionlint comes from the Go module
# proxy into FERRIO_GO_BIN.
FERRIO_GO_BIN ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/ferrio/go-bin
ACTIONLINT_VERSION := v1.7.12

.PHONY: check-packaging
check-packaging:
	python3 packaging/version.py check
	@command -v shellcheck >/dev/null 2>&1 || { \
		echo "installing shellcheck"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get -o DPkg::Lock::Timeout=600 update -q && \
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends shellcheck; }
	test -x "$(FERRIO_GO_BIN)/actionlint" || GOBIN="$(FERRIO_GO_BIN)" GOFLAGS=-buildvcs=false go install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)
	"$(FERRIO_GO_BIN)/actionlint" -shellcheck=shellcheck .github/workflows/*.yml
	git ls-files -z '*.sh' | xargs -0 shellcheck -S warning
	bash packaging/tests/central-bundle.sh
