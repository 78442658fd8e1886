#!/usr/bin/env bash
# Web view benchmark: 100,000 reviewed files in the database, then the server time (`Server-Timing`) and weight
# of the history page at several depths and filters, the runs page, a run and a file. Extra arguments go to the
# benchmark: --jobs N, --database URL (an existing empty database, e.g. postgres://...).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench web -- "$@"
