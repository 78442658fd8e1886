#!/usr/bin/env bash
# Proves every install channel with the real tools, from the debug build the tests already made (nothing is compiled
# in release here):
#   - the versions and the release layout agree (scripts/check-packaging.py);
#   - PyPI: maturin builds the wheel with the `dev` profile, reusing cargo's artifacts (the check fails if it
#     compiles any crate but `codeinsight`); it is installed into a fresh virtualenv, and `codeinsight` from there
#     prints its version and reviews demo/ (exit 1: the demo has findings);
#   - npm: the `codeinsight` package and this machine's platform package, packed with `npm pack`, installed offline
#     into an empty project with an empty cache; `npx codeinsight` reviews demo/, passes a signal on and reports a
#     missing platform package;
#   - the action's installer (scripts/install.sh) against a release laid out by scripts/release-archive.sh and served
#     by `python3 -m http.server` on 127.0.0.1: it installs, verifies and runs the binary and reuses it from its
#     cache; a tampered archive fails its checksum; without an asset for this platform, or without a release, it
#     warns and builds from source with real cargo (`cargo install --path`, given `--debug` so that it reuses the
#     tests' build); another version's fallback is the crates.io build, whose command is recorded, not run;
#   - pre-commit: `pre-commit try-repo` of the wheel-based hook (pre-commit/), installing from the wheel built above
#     (pip is given that wheel's directory and no index, since the wheel is not on PyPI yet), fails a staged bad file
#     and passes a clean one, from an empty pre-commit cache.
# Prints the sizes of what it built and how long each part took.
# Usage: scripts/ci-packaging.sh PATH/TO/codeinsight   (the debug binary; `cargo build --locked` makes it)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
binary="$(realpath "${1:?usage: scripts/ci-packaging.sh PATH/TO/codeinsight}")"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export CODEINSIGHT_DATA_DIR="$work/data"
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com
unset GITHUB_ACTIONS CODEINSIGHT_BINARY
# A machine-wide wheel directory would let pip pick wheels these checks did not build.
unset PIP_FIND_LINKS PIP_NO_INDEX
version="$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')"
host="$(rustc -vV | sed -n 's/^host: //p')"
timings=()
started=0
part() {
  finish_part
  printf '\n-- %s\n' "$*"
  started="$(date +%s.%N)"
  part_name="$*"
}
finish_part() {
  if [ "$started" != 0 ]; then
    timings+=("$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):6.1f} s')" "$started" "$(date +%s.%N)")  $part_name")
  fi
}
fail() {
  echo "ci-packaging: $*" >&2
  exit 1
}
size() { python3 -c 'import os, sys; print(f"{os.path.getsize(sys.argv[1]) / 1e6:.1f} MB")' "$1"; }

# Runs `$@ review ... demo/`, which must exit 1 (the demo's findings) with a FAIL verdict.
review_demo_fails() {
  local code=0
  "$@" review --no-linters --quiet --color never "$repo/demo" > "$work/review.log" 2>&1 || code=$?
  if [ "$code" -ne 1 ] || ! grep -q '^FAIL (exit 1)' "$work/review.log"; then
    cat "$work/review.log" >&2
    fail "\`$* review demo/\` exited $code; the demo's findings must make it exit 1"
  fi
  echo "review demo/: $(tail -n 1 "$work/review.log")"
}

part "versions and release layout"
python3 scripts/check-packaging.py

part "PyPI: the wheel (maturin, dev profile, reusing the test build)"
python3 -m maturin build --profile dev --locked --out "$work/wheels" > "$work/maturin.log" 2>&1 \
  || { cat "$work/maturin.log" >&2; fail "maturin build failed"; }
compiled="$(grep -E '^ *Compiling ' "$work/maturin.log" | grep -v ' codeinsight v' || true)"
if [ -n "$compiled" ]; then
  echo "$compiled" >&2
  fail "maturin compiled crates the test build had already compiled: the wheel must reuse target/debug (same profile, features and flags as \`cargo build --locked\`)"
fi
wheel="$(ls "$work"/wheels/codeinsight-"$version"-*.whl)"
echo "built $(basename "$wheel") ($(size "$wheel"))"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "$wheel"
(
  export PATH="$work/venv/bin:$PATH"
  [ "$(command -v codeinsight)" = "$work/venv/bin/codeinsight" ] || fail "the wheel did not put codeinsight on the virtualenv's PATH"
  [ "$(codeinsight --version)" = "codeinsight $version" ] || fail "the wheel's codeinsight reports \`$(codeinsight --version)\`"
  review_demo_fails codeinsight
)

part "npm: pack, install offline into an empty project, npx"
# The release strips its binary; so does this copy, which keeps npm's gzip (JavaScript) from taking a minute.
mkdir -p "$work/npm/stage" "$work/npm/packed"
if command -v strip >/dev/null; then
  strip -o "$work/codeinsight" "$binary"
else
  cp "$binary" "$work/codeinsight"
fi
node npm/assemble.js main "$work/npm/stage" > /dev/null
platform_dir="$(node npm/assemble.js platform "$host" "$work/codeinsight" "$work/npm/stage")"
platform_package="$(node -p 'require(process.argv[1]).name' "$platform_dir/package.json")"
(cd "$work/npm/packed" && npm pack --silent "$work/npm/stage/codeinsight" "$platform_dir" > /dev/null)
main_tarball="$work/npm/packed/codeinsight-$version.tgz"
platform_tarball="$(ls "$work"/npm/packed/codeinsight-cli-*-"$version".tgz)"
echo "packed $(basename "$main_tarball") ($(size "$main_tarball")) and $(basename "$platform_tarball") ($(size "$platform_tarball"))"
npm_offline=(--offline --no-audit --no-fund --cache "$work/npm/cache")
mkdir -p "$work/npm/project" "$work/npm/without-platform"
for project in "$work/npm/project" "$work/npm/without-platform"; do
  printf '{ "name": "packaging-check", "version": "1.0.0", "private": true }\n' > "$project/package.json"
done
(cd "$work/npm/project" && npm install --silent "${npm_offline[@]}" "$main_tarball" "$platform_tarball")
(
  cd "$work/npm/project"
  [ "$(npx --offline --no-install codeinsight --version)" = "codeinsight $version" ] \
    || fail "\`npx codeinsight --version\` does not report $version"
  review_demo_fails npx --offline --no-install codeinsight
  # A signal sent to the launcher reaches the binary: a server stops cleanly and the launcher exits with its code.
  node node_modules/codeinsight/bin/codeinsight.js serve --listen 127.0.0.1:0 \
    --database "sqlite://$work/serve.db" > "$work/serve.log" 2>&1 &
  launcher=$!
  for _ in $(seq 1 100); do
    grep -q "listening" "$work/serve.log" 2>/dev/null && break
    sleep 0.1
  done
  child="$(pgrep -P "$launcher" || true)"
  [ -n "$child" ] || { cat "$work/serve.log" >&2; fail "the launcher started no codeinsight process"; }
  kill -TERM "$launcher"
  code=0
  wait "$launcher" || code=$?
  grep -q "received SIGTERM" "$work/serve.log" || { cat "$work/serve.log" >&2; fail "SIGTERM did not reach the binary"; }
  [ "$code" -eq 0 ] || fail "the launcher exited $code after the server stopped cleanly"
  ! kill -0 "$child" 2>/dev/null || fail "the binary outlived the launcher"
  echo "npx codeinsight: SIGTERM passed on, the server stopped, exit 0"
)
(
  cd "$work/npm/without-platform"
  npm install --silent "${npm_offline[@]}" "$main_tarball"
  code=0
  npx --offline --no-install codeinsight --version > "$work/missing.log" 2>&1 || code=$?
  if [ "$code" -ne 2 ] \
    || ! grep -q "\`$platform_package\` that holds the binary for this platform is not installed" "$work/missing.log"; then
    cat "$work/missing.log" >&2
    fail "without $platform_package, npx codeinsight exited $code without naming it"
  fi
  echo "without $platform_package: exit 2, $(head -n 1 "$work/missing.log" | cut -c1-100)..."
)

part "the action's installer against a local release"
site="$work/site"
scripts/release-archive.sh "$host" "$work/codeinsight" "$site/good/v$version" > /dev/null
archive="codeinsight-$host.tar.gz"
(cd "$site/good/v$version" && sha256sum "$archive" > SHA256SUMS)
echo "release archive $archive ($(size "$site/good/v$version/$archive"))"
mkdir -p "$site/tampered/v$version" "$site/other-platform/v$version" "$site/no-release"
cp "$site/good/v$version/"* "$site/tampered/v$version/"
python3 - "$site/tampered/v$version/$archive" <<'PYTHON'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
data[len(data) // 2] ^= 0xFF
open(path, "wb").write(data)
PYTHON
echo "0000000000000000000000000000000000000000000000000000000000000000  codeinsight-riscv64gc-unknown-linux-gnu.tar.gz" \
  > "$site/other-platform/v$version/SHA256SUMS"
python3 -u -m http.server --bind 127.0.0.1 --directory "$site" 0 > "$work/http.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$work/http.log" | head -n 1)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/http.log" >&2; fail "the HTTP server did not start"; }
# The fallback's cargo: the real one, in the debug profile, so that `cargo install --path` reuses target/debug.
printf '#!/usr/bin/env bash\nexec cargo "$@" --debug\n' > "$work/cargo-debug"
# Another version's fallback would build it from crates.io: record the command instead of running it.
printf '#!/usr/bin/env bash\necho "$*" > "%s/cargo-call"\nexit 101\n' "$work" > "$work/cargo-record"
chmod +x "$work/cargo-debug" "$work/cargo-record"
run_installer() {
  CODEINSIGHT_DOWNLOAD_URL="http://127.0.0.1:$port/$1" CODEINSIGHT_INSTALL_DIR="$work/install-$1" \
    CODEINSIGHT_TARGET_DIR="$repo/target" CARGO="${CARGO_FOR_TEST:-$work/cargo-debug}" \
    scripts/install.sh "${@:2}" 2> "$work/install.log"
}

installed="$(run_installer good)" || { cat "$work/install.log" >&2; fail "install.sh failed against the local release"; }
[ "$installed" = "$work/install-good/$version/$host/codeinsight" ] || fail "install.sh printed \`$installed\`"
grep -q "verified $archive" "$work/install.log" || fail "install.sh did not say it verified the checksum"
review_demo_fails "$installed"
downloads="$(grep -c "GET /good/v$version/$archive" "$work/http.log")"
again="$(run_installer good)" || { cat "$work/install.log" >&2; fail "install.sh failed the second time"; }
if [ "$again" != "$installed" ] || ! grep -q "from the cache" "$work/install.log" \
  || [ "$(grep -c "GET /good/v$version/$archive" "$work/http.log")" != "$downloads" ]; then
  cat "$work/install.log" >&2
  fail "the second install did not reuse the cached binary"
fi
echo "installed, verified and ran $installed; the second run used the cache"

code=0
run_installer tampered > /dev/null || code=$?
if [ "$code" -eq 0 ] || ! grep -q "checksum mismatch for \`$archive\`" "$work/install.log"; then
  cat "$work/install.log" >&2
  fail "a tampered archive did not fail its checksum (exit $code)"
fi
[ ! -e "$work/install-tampered/$version/$host/codeinsight" ] || fail "the tampered archive's binary was installed"
echo "tampered archive: exit $code, $(grep -o "checksum mismatch for [^:]*" "$work/install.log")"

for case in other-platform no-release; do
  installed="$(run_installer "$case")" || { cat "$work/install.log" >&2; fail "the fallback build failed ($case)"; }
  warning="release v$version has no \`$archive\` (no prebuilt binary for $host)"
  [ "$case" = no-release ] && warning="release v$version has no SHA256SUMS"
  grep -q "warning: $warning" "$work/install.log" || { cat "$work/install.log" >&2; fail "no fallback warning ($case)"; }
  grep -q "running $work/cargo-debug install --locked --path $repo" "$work/install.log" \
    || { cat "$work/install.log" >&2; fail "the fallback did not build this checkout with cargo ($case)"; }
  [ "$("$installed" --version)" = "codeinsight $version" ] || fail "the fallback's binary does not report $version"
  echo "$case: warned and built from source with cargo: $installed"
done
code=0
CARGO_FOR_TEST="$work/cargo-record" run_installer no-release 9.9.9 > /dev/null || code=$?
expected_call="install --locked codeinsight --version 9.9.9 --root $work/install-no-release/9.9.9/source --target-dir $repo/target"
if [ "$code" -eq 0 ] || ! grep -q "warning: release v9.9.9 has no SHA256SUMS" "$work/install.log" \
  || [ "$(cat "$work/cargo-call" 2>/dev/null)" != "$expected_call" ]; then
  cat "$work/install.log" >&2
  fail "another version's fallback is not \`cargo $expected_call\`"
fi
echo "9.9.9 without a release: warned, and would run \`cargo $(cat "$work/cargo-call")\`"

part "pre-commit: try-repo of the wheel-based hook from an empty cache"
pre-commit validate-manifest pre-commit/.pre-commit-hooks.yaml .pre-commit-hooks.yaml
pre-commit validate-config examples/pre-commit-config.yaml
mkdir -p "$work/pre-commit/wheels"
cp "$wheel" "$work/pre-commit/wheels/"
# The hook package's build backend; the hook itself finds codeinsight only in the directory above.
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
  -d "$work/pre-commit/wheels" setuptools==84.2.1
cp -R pre-commit "$work/pre-commit/hook-repository"
(cd "$work/pre-commit/hook-repository" && git init -q && git add -A && git -c commit.gpgsign=false commit -q -m hook)
mkdir -p "$work/pre-commit/project"
(
  cd "$work/pre-commit/project"
  export PRE_COMMIT_HOME="$work/pre-commit/home" PIP_NO_INDEX=1 PIP_FIND_LINKS="$work/pre-commit/wheels"
  # No other codeinsight on PATH: the hook can only have run the one its environment got from the wheel.
  PATH="$(python3 -c 'import os; print(os.pathsep.join(d for d in os.environ["PATH"].split(os.pathsep)
    if not os.access(os.path.join(d, "codeinsight"), os.X_OK)))')"
  ! command -v codeinsight > /dev/null || fail "a codeinsight is still on PATH: $(command -v codeinsight)"
  git init -q
  printf '[linters]\nenabled = false\n' > codeinsight.toml
  git add codeinsight.toml
  git -c commit.gpgsign=false commit -q -m init
  printf 'import subprocess\n\n\ndef run(name):\n    subprocess.run("echo " + name, shell=True)\n' > bad.py
  git add bad.py
  first="$(date +%s.%N)"
  if pre-commit try-repo "$work/pre-commit/hook-repository" codeinsight > "$work/bad.log" 2>&1; then
    cat "$work/bad.log"
    fail "the wheel-based hook passed a staged file with a major finding"
  fi
  grep -q "python/subprocess-shell-true" "$work/bad.log" || { cat "$work/bad.log"; fail "the finding is not in the hook's output"; }
  echo "hook fails a staged bad file (try-repo installs the hook into an empty store every time:" \
    "$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$first" "$(date +%s.%N)")" \
    "including the install)"
  git rm -q --cached bad.py
  rm bad.py
  printf 'def add(a, b):\n    return a + b\n' > good.py
  git add good.py
  pre-commit try-repo "$work/pre-commit/hook-repository" codeinsight > "$work/good.log" 2>&1 \
    || { cat "$work/good.log"; fail "the wheel-based hook failed a clean staged file"; }
  echo "hook passes a staged clean file"
)
finish_part
started=0

printf '\n-- timings\n'
printf '%s\n' "${timings[@]}"
