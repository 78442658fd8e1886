#!/usr/bin/env bash
# Measures what the linter stage adds to a review: a few hundred real Python files (the standard library) and
# Rust files (crates in cargo's registry), reviewed by the release binary's embedded server with ruff and clippy
# enabled and with the linter stage off (same files, --no-cache, same everything else), and compared with running
# the same linters directly on the same files: per file with the stage's own flags and parallelism (one linter
# process at a time on a 2-core machine, as the server's default `concurrency` is half the cores), and ruff once
# over all files the way a developer would. One run of each; prints wall seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
per_language=${PER_LANGUAGE:-200}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus="$work/corpus"
pick() { # pick DIR EXT
  mkdir -p "$corpus"
  { find "$1" -name "*.$2" -size -60k -type f 2>/dev/null | sort | head -n "$per_language" || true; } |
    while read -r file; do cp "$file" "$corpus/$(echo "$file" | md5sum | cut -c1-12).$2"; done
}
pick "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" py
pick "${CARGO_HOME:-$HOME/.cargo}/registry/src" rs
echo "corpus: $(ls "$corpus"/*.py | wc -l) Python + $(ls "$corpus"/*.rs | wc -l) Rust files, $(cat "$corpus"/* | wc -c) bytes"
echo "ruff: $(ruff --version); clippy: $(clippy-driver --version)"

cargo build --release --quiet
bin=$(realpath "${CARGO_TARGET_DIR:-target}/release/codeinsight")
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }

mkdir -p "$work/on" "$work/off"
printf '[linters]\nauto = false\nconcurrency = 1\n[linters.ruff]\n[linters.clippy]\n' > "$work/on/codeinsight.toml"
printf '[linters]\nenabled = false\n' > "$work/off/codeinsight.toml"
review() { # review CONFIG_DIR
  (cd "$1" && CODEINSIGHT_DATA_DIR="$1/data" "$bin" review "$corpus" --no-cache --fail-on never \
    --format json="$1/report.json" 2>"$1/stderr.log")
}
off=$(seconds review "$work/off")
on=$(seconds review "$work/on")
python3 - "$work/on/report.json" <<'PY'
import json, sys, collections
report = json.load(open(sys.argv[1]))
stages = collections.Counter((s["name"], s["outcome"]) for f in report["files"] for s in f["stages"])
findings = collections.Counter(f["rule_id"].split("/")[0] for r in report["files"] for f in r["findings"])
print("stages:", dict(stages)); print("findings by prefix:", dict(findings))
PY

direct_per_file() {
  for file in "$corpus"/*.py; do ruff check --no-cache --output-format json -- "$file" >/dev/null || true; done
  for file in "$corpus"/*.rs; do
    clippy-driver --edition 2021 --crate-type lib --error-format=json --emit=metadata -A dead_code \
      -o "$work/out.rmeta" "$file" 2>/dev/null >/dev/null || true
  done
}
direct=$(seconds direct_per_file)
ruff_batch=$(seconds ruff check --no-cache --output-format json "$corpus")

echo "review, linter stage off:            ${off} s"
echo "review, ruff + clippy stage:         ${on} s"
echo "added by the linter stage:           $(echo "$on - $off" | bc) s"
echo "same linters run directly, per file: ${direct} s"
echo "ruff alone, once over all files:     ${ruff_batch} s"
