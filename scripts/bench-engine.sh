#!/usr/bin/env bash
# Times the engine on a few hundred real source files per language (Python's standard library, Rust crates from
# cargo's registry, npm's JavaScript, Go's standard library when golang-go is installed) and runs `ast-grep scan`
# with the same rule YAMLs on the same files. Prints wall time and peak RSS for both.
set -euo pipefail
cd "$(dirname "$0")/.."
per_language=${PER_LANGUAGE:-300}
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT

python3 -m pip install --quiet --disable-pip-version-check ast-grep-cli==0.51.1
pick() { # pick DIR EXT DEST
  mkdir -p "$corpus/$3"
  # `head` closes the pipe early on purpose; do not let pipefail read that as an error.
  { find "$1" -name "*.$2" -size -200k -type f 2>/dev/null | sort | head -n "$per_language" || true; } |
    while read -r file; do cp "$file" "$corpus/$3/$(echo "$file" | md5sum | cut -c1-12).$2"; done
}
pick "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" py python
pick "${CARGO_HOME:-$HOME/.cargo}/registry/src" rs rust
pick /usr/lib/node_modules js javascript
[ -d /usr/lib/go/src ] && pick /usr/lib/go/src go go
for dir in "$corpus"/*; do echo "corpus: $(basename "$dir") $(ls "$dir" | wc -l) files"; done

cargo build --release --bench engine --quiet 2>/dev/null || cargo bench --bench engine --no-run --quiet
bench_bin=$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/engine-* | grep -v '\.d$' | head -n 1)

# ast-grep with the same rule files (one directory per language).
cat > "$corpus/sgconfig.yml" <<YAML
ruleDirs:
$(for d in rules/*/; do echo "  - $PWD/${d%/}"; done)
YAML

# Alternate the two tools so a change in machine load affects both alike.
for run in 1 2 3; do
  echo "--- run $run: codeinsight engine (all cores)"
  /usr/bin/time -f "peak_rss_kb=%M wall_s=%e" "$bench_bin" "$corpus"
  echo "--- run $run: ast-grep scan (same rules, same files)"
  (cd "$corpus" && /usr/bin/time -f "peak_rss_kb=%M wall_s=%e" ast-grep scan --json=compact . >"$corpus/sg.json" || true) 2>&1 | tail -n 1
  python3 -c "import json,sys; print('ast-grep findings=%d' % len(json.load(open(sys.argv[1]))))" "$corpus/sg.json"
done
