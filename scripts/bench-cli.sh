#!/usr/bin/env bash
# Times `codeinsight review` end to end in embedded mode (server start, submission, WebSocket, rendering, shutdown)
# on one small file and on a tree of about 1,000 real files, beside `ast-grep scan` (same rule YAMLs) and
# `ruff check` on the same inputs, and the engine alone (benches/engine.rs) on the same tree. Wall times come from
# hyperfine when installed (`apt-get install hyperfine`), peak RSS from `/usr/bin/time -v`.
#
#   scripts/bench-cli.sh            # builds the release binary and the engine bench, then measures
#   RUNS=20 scripts/bench-cli.sh    # more hyperfine runs
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m pip install --quiet --disable-pip-version-check ast-grep-cli==0.51.1 ruff >/dev/null 2>&1 || true
cargo build --release --bin codeinsight --quiet
cargo build --release --bench engine --quiet 2>/dev/null || true
target_dir=${CARGO_TARGET_DIR:-target}
[[ $target_dir = /* ]] || target_dir="$PWD/$target_dir"
bin="$target_dir/release/codeinsight"
engine_bench=$(ls -t "$target_dir"/release/deps/engine-* 2>/dev/null | grep -v '\.d$' | head -n 1 || true)

# --- inputs --------------------------------------------------------------------------------------------------------
small="$work/small"
mkdir -p "$small"
cp demo/python/inventory.py "$small/"

tree="$work/tree"
mkdir -p "$tree"
copy_some() { # copy_some DIR EXT COUNT DEST
  mkdir -p "$tree/$4"
  find "$1" -name "*.$2" -size -100k -type f 2>/dev/null | sort | head -n "$3" |
    while read -r file; do cp "$file" "$tree/$4/$(echo "$file" | md5sum | cut -c1-12).$2"; done || true
}
# This repository's sources and rule fixtures first, then real files from the toolchains on the machine.
mkdir -p "$tree/repo"
cp -r src rules demo "$tree/repo/"
have=$(find "$tree" -type f | wc -l)
need=$(( (1000 - have) / 3 ))
copy_some "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" py "$need" python
copy_some "${CARGO_HOME:-$HOME/.cargo}/registry/src" rs "$need" rust
copy_some /usr/lib/node_modules js "$need" javascript
copy_some /usr/local/lib/node_modules js "$need" javascript
echo "tree: $(find "$tree" -type f | wc -l) files, $(du -sh "$tree" | cut -f1); python $(find "$tree" -name '*.py' | wc -l), rust $(find "$tree" -name '*.rs' | wc -l), js $(find "$tree" -name '*.js' | wc -l)"

cat > "$work/sgconfig.yml" <<YAML
ruleDirs:
$(for d in rules/*/; do echo "  - $PWD/${d%/}"; done)
YAML

data="$work/data"
export CODEINSIGHT_DATA_DIR="$data"
# Built-in rules only, so that the figures compare the CLI + server path with the engine alone; external linters
# (ruff, clippy, ... when on PATH) run one process per file and are measured by their own benchmarks.
printf '[linters]\nenabled = false\n' >"$work/codeinsight.toml"
cd "$work"

measure() { # measure NAME COMMAND...
  local name=$1
  shift
  echo
  echo "=== $name"
  if command -v hyperfine >/dev/null; then
    hyperfine --style basic --warmup 2 --runs "$runs" --ignore-failure -N "$*" 2>&1 | grep -E "Time|Range" || true
  else
    for _ in 1 2 3; do /usr/bin/time -f "wall_s=%e" "$@" >/dev/null 2>&1 || true; done
  fi
  /usr/bin/time -v "$@" >/dev/null 2>"$work/time.txt" || true
  grep -E "Maximum resident set size|Elapsed \(wall" "$work/time.txt" | sed 's/^\s*/  /'
}

# pyenv puts bash shims on PATH that cost tens of milliseconds per call; time the real executables.
ast_grep=$(pyenv which ast-grep 2>/dev/null || command -v ast-grep)
ruff=$(pyenv which ruff 2>/dev/null || command -v ruff)
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "codeinsight $("$bin" --version | cut -d' ' -f2), ast-grep $("$ast_grep" --version | cut -d' ' -f2), ruff $("$ruff" --version | cut -d' ' -f2), $(nproc) cores"

# --- one small file ------------------------------------------------------------------------------------------------
measure "codeinsight review, 1 file, embedded (cache warm after the first run)" \
  "$bin" review "$small/inventory.py" --quiet --color never
measure "codeinsight review, 1 file, embedded, --no-cache" \
  "$bin" review "$small/inventory.py" --quiet --color never --no-cache
measure "ast-grep scan, 1 file" \
  "$ast_grep" scan --config "$work/sgconfig.yml" "$small/inventory.py"
measure "ruff check, 1 file" \
  "$ruff" check --no-cache --quiet "$small/inventory.py"

# --- about 1,000 files ---------------------------------------------------------------------------------------------
measure "codeinsight review, tree, embedded, --no-cache" \
  "$bin" review "$tree" --quiet --color never --no-cache
measure "codeinsight review, tree, embedded (cache warm)" \
  "$bin" review "$tree" --quiet --color never
if [ -n "$engine_bench" ]; then
  measure "engine alone (benches/engine.rs), tree" "$engine_bench" "$tree"
fi
measure "ast-grep scan, tree (same rules)" \
  "$ast_grep" scan --config "$work/sgconfig.yml" "$tree"
measure "ruff check, tree (its Python files)" \
  "$ruff" check --no-cache --quiet --exit-zero "$tree"
