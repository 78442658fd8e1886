#!/usr/bin/env bash
# Server benchmark: builds the release binary and the benchmark, then measures sustained files/s through
# `POST /api/v1/runs`, the fan-out time of one `job_update` to 1,000 subscribed WebSockets, and the server's RSS.
# Extra arguments go to the benchmark: --files N --run-size N --submitters N --sockets N --workers N,
# --database sqlite|postgres (a throwaway cluster), --instances N (PostgreSQL), --queue-only (the queue alone).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 8192 2>/dev/null || true
cargo build --release --bin codeinsight
cargo bench --bench server -- --server-bin target/release/codeinsight "$@"
