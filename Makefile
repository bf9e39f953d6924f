# Entry points for developers and CI (.ci/run runs `make test`).

SERVER_DIR := tests/server

.PHONY: test
test: test-rust test-python test-cluster test-kotlin test-swift

# The reference Socket.IO server's packages, installed from the lockfile when it changed.
.PHONY: deps-node
deps-node: $(SERVER_DIR)/node_modules/.package-lock.json

$(SERVER_DIR)/node_modules/.package-lock.json: $(SERVER_DIR)/package-lock.json
	npm ci --prefix $(SERVER_DIR)
	touch $@

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
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Ferrio against two socket.io nodes (Redis adapter) behind nginx (tests/cluster/README.md).
# The test target needs the `cluster` feature, so `cargo test --workspace` leaves it out.
.PHONY: test-cluster
test-cluster: deps-cluster
	cargo clippy -p ferrio-integration-tests --features cluster --all-targets -- -D warnings
	cargo test -p ferrio-integration-tests --features cluster --test cluster

.PHONY: test-rust
test-rust: deps-node
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace

# The Rust examples (examples/rust-*), each run once against `ferrio serve --port 0`.
.PHONY: examples-rust
examples-rust:
	cargo build -p ferrio-cli -p rust-chat -p rust-token-refresh
	bash examples/smoke-rust.sh

# The Python package (bindings/python): built with maturin (debug profile, fast to build) into
# a venv outside the repository, linted (ruff, mypy --strict) and tested against the
# reference server. FERRIO_VENV overrides where the venv lives.
FERRIO_VENV ?= $${XDG_CACHE_HOME:-$$HOME/.cache}/ferrio/venv
PYTHON_DIR := bindings/python

.PHONY: test-python
test-python: deps-node
	test -x "$(FERRIO_VENV)/bin/python" || python3 -m venv "$(FERRIO_VENV)"
	"$(FERRIO_VENV)/bin/python" -m pip install --quiet --upgrade pip
	"$(FERRIO_VENV)/bin/python" -m pip install --quiet -r $(PYTHON_DIR)/requirements-dev.txt
	PATH="$(FERRIO_VENV)/bin:$$PATH" MATURIN_PEP517_ARGS="--profile dev" "$(FERRIO_VENV)/bin/python" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./$(PYTHON_DIR)
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/ruff" check python tests
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/ruff" format --check python tests
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/mypy" --strict python/ferrio tests
	cd $(PYTHON_DIR) && "$(FERRIO_VENV)/bin/python" -m pytest

# The Kotlin package (bindings/kotlin): the cdylib and its UniFFI Kotlin sources
# (generate.sh, which Maven also runs), then Maven (downloads cached in ~/.m2) packs the
# library into the jar and runs the JUnit tests against the reference server.
KOTLIN_DIR := bindings/kotlin

.PHONY: test-kotlin
test-kotlin: deps-node
	cargo build -p ferrio-ffi
	sh $(KOTLIN_DIR)/generate.sh
	mvn -B -q -f $(KOTLIN_DIR)/pom.xml test
	sh $(KOTLIN_DIR)/test-summary.sh

# The Swift package (bindings/swift): this machine has no Swift compiler, so test.sh runs
# `swift build` + `swift test` in a cached Debian trixie root (toolchain.sh, built on first
# use, ~1.5 min) against reference servers started on the host. Needs root (chroot, mount);
# fails loudly when it cannot run. FERRIO_SKIP_SWIFT=1 skips Swift explicitly.
.PHONY: test-swift
test-swift: deps-node
	bindings/swift/test.sh
