# The two commands of the quick start, plus the checks CI runs.
.PHONY: run test check

# Runs the service on 0.0.0.0:8080 (creates the database and applies migrations itself).
run:
	./scripts/ensure-postgres
	cargo run --release -- serve

# Runs every test against the local PostgreSQL (one database per test) and a real SMTP sink.
test:
	./scripts/ensure-postgres
	./scripts/ensure-test-tools
	cargo test

check:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
