# Entry points for developers and CI (.ci/run runs `make test`).

SERVER_DIR := tests/server

.PHONY: test
test: test-rust

# The reference Socket.IO server's packages, installed from the lockfile when it changed.
.PHONY: deps-node
deps-node: $(SERVER_DIR)/node_modules/.package-lock.json

$(SERVER_DIR)/node_modules/.package-lock.json: $(SERVER_DIR)/package-lock.json
	npm ci --prefix $(SERVER_DIR)
	touch $@

.PHONY: test-rust
test-rust: deps-node
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo test --workspace
