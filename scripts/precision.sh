#!/usr/bin/env bash
# The precision harness in one command: fetches the pinned corpus of real projects (scripts/precision-corpus.sh),
# builds the release binary, reviews every project with the default rules and with all rules, samples findings
# for triage and rewrites docs/precision.md from rules/precision.tsv (see scripts/precision.py for the triage
# workflow). Takes about a minute once the corpus and the build are there.
#
#   scripts/precision.sh                 # everything, then the page
#   scripts/precision.sh --no-page       # measure only
#   scripts/precision.sh --select all --label mine   # one selection, for a rule under work
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/precision-corpus.sh >/dev/null
cargo build --release --locked --quiet
exec python3 scripts/precision.py --bin "$PWD/target/release/codeinsight" "$@"
