#!/usr/bin/env bash
# Installs the `codeinsight` binary for this machine from a GitHub release, the way the action does (action.yml
# runs this script): the release asset for this OS and CPU is downloaded, its SHA-256 checked against the release's
# `SHA256SUMS`, and the binary kept in a per-version directory that later runs reuse. Only when asked
# (`source`), or when the release has no asset for this machine, is the binary built from source with cargo, and
# that fallback is announced as a warning. Prints the installed binary's path on stdout; everything else goes to
# stderr.
#
# Usage: scripts/install.sh [VERSION]
#   VERSION   empty: the version in the Cargo.toml beside this script (the action's own version);
#             `source`: build this checkout with cargo; `0.2.0` or `v0.2.0`: that release.
# Environment:
#   CODEINSIGHT_DOWNLOAD_URL  where releases are, default https://github.com/codeinsight/codeinsight/releases/download
#                             (assets at $CODEINSIGHT_DOWNLOAD_URL/v$VERSION/<asset>)
#   CODEINSIGHT_INSTALL_DIR   where binaries are kept, default ~/.cache/codeinsight-action
#   CODEINSIGHT_TARGET        the Rust target triple to install, default: detected (glibc or musl on Linux)
#   CODEINSIGHT_TARGET_DIR    cargo's target directory for source builds, default $CODEINSIGHT_INSTALL_DIR/target
#   CARGO                     the cargo command for source builds, default `cargo`
set -euo pipefail

checkout="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
download_url="${CODEINSIGHT_DOWNLOAD_URL:-https://github.com/codeinsight/codeinsight/releases/download}"
install_dir="${CODEINSIGHT_INSTALL_DIR:-$HOME/.cache/codeinsight-action}"
target_dir="${CODEINSIGHT_TARGET_DIR:-$install_dir/target}"
cargo="${CARGO:-cargo}"

log() { printf 'codeinsight install: %s\n' "$*" >&2; }
# A warning is an annotation on GitHub Actions, so that a slow fallback build is seen on the run's page.
warn() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
    printf '::warning title=CodeInsight install::%s\n' "$*" >&2
  else
    printf 'codeinsight install: warning: %s\n' "$*" >&2
  fi
}
die() {
  if [ "${GITHUB_ACTIONS:-}" = "true" ]; then
    printf '::error title=CodeInsight install::%s\n' "$*" >&2
  else
    printf 'codeinsight install: error: %s\n' "$*" >&2
  fi
  exit 1
}

# The `version` of Cargo.toml's `[package]` table.
own_version() {
  awk '/^\[/ { in_package = ($0 == "[package]") } in_package && /^version *= *"/ { gsub(/^version *= *"|".*$/, ""); print; exit }' \
    "$checkout/Cargo.toml"
}

# The release's target triple for this machine, or nothing when no release is built for it.
detect_target() {
  local arch libc
  case "$(uname -m)" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) return 0 ;;
  esac
  case "$(uname -s)" in
    Linux)
      libc=gnu
      if (ldd --version 2>&1 || true) | grep -qi musl; then
        libc=musl
      fi
      echo "$arch-unknown-linux-$libc"
      ;;
    Darwin) echo "$arch-apple-darwin" ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT) [ "$arch" = x86_64 ] && echo "x86_64-pc-windows-msvc" ;;
  esac
  return 0
}

sha256() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    die "neither \`sha256sum\` nor \`shasum\` is installed: cannot verify the download"
  fi
}

# Downloads $1 to $2. Returns 0 when downloaded, 1 when the server answers 404; anything else is an error.
fetch() {
  local status
  status="$(curl --silent --show-error --location --retry 3 --output "$2" --write-out '%{http_code}' "$1")" \
    || die "cannot download $1 (curl exited with $?)"
  case "$status" in
    200) return 0 ;;
    404) return 1 ;;
    *) die "cannot download $1: HTTP $status" ;;
  esac
}

# Builds with cargo: this checkout (`--path`), or a published version from crates.io. Prints the binary's path.
build_from_source() {
  local root="$install_dir/source"
  local what=(--path "$checkout")
  if [ -n "${1:-}" ]; then
    root="$install_dir/$1/source"
    what=(codeinsight --version "$1")
  fi
  command -v "$cargo" >/dev/null \
    || die "building from source needs cargo (https://rustup.rs); \`$cargo\` is not on PATH"
  log "running $cargo install --locked ${what[*]} --root $root --target-dir $target_dir"
  "$cargo" install --locked "${what[@]}" --root "$root" --target-dir "$target_dir" >&2
  local binary="$root/bin/codeinsight"
  [ -x "$binary" ] || binary="$binary.exe"
  [ -x "$binary" ] || die "cargo install finished but \`$root/bin/codeinsight\` is missing"
  echo "$binary"
}

version="${1:-}"
version="${version#v}"
if [ "$version" = "source" ]; then
  log "building this checkout of codeinsight from source, as asked"
  build_from_source
  exit 0
fi
own=""
if [ -z "$version" ]; then
  version="$(own_version)"
  [ -n "$version" ] || die "no version in $checkout/Cargo.toml"
  own=1
fi
# A fallback build of the action's own version builds its checkout; of another version, that crate from crates.io.
fallback_version="$version"
[ -z "$own" ] || fallback_version=""

target="${CODEINSIGHT_TARGET:-$(detect_target)}"
if [ -z "$target" ]; then
  warn "no prebuilt codeinsight for $(uname -s) $(uname -m); building codeinsight $version from source with cargo, which takes several minutes"
  build_from_source "$fallback_version"
  exit 0
fi
case "$target" in
  *-windows-*) archive="codeinsight-$target.zip" executable="codeinsight.exe" ;;
  *) archive="codeinsight-$target.tar.gz" executable="codeinsight" ;;
esac

dir="$install_dir/$version/$target"
binary="$dir/$executable"
if [ -x "$binary" ] && [ "$("$binary" --version 2>/dev/null)" = "codeinsight $version" ]; then
  log "using codeinsight $version for $target from the cache ($binary)"
  echo "$binary"
  exit 0
fi

mkdir -p "$install_dir"
work="$(mktemp -d "$install_dir/download.XXXXXX")"
trap 'rm -rf "$work"' EXIT
release="$download_url/v$version"
if ! fetch "$release/SHA256SUMS" "$work/SHA256SUMS"; then
  warn "release v$version has no SHA256SUMS at $release (no such release); building codeinsight $version from source with cargo, which takes several minutes"
  build_from_source "$fallback_version"
  exit 0
fi
expected="$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1; exit }' "$work/SHA256SUMS")"
if [ -z "$expected" ]; then
  warn "release v$version has no \`$archive\` (no prebuilt binary for $target); building codeinsight $version from source with cargo, which takes several minutes"
  build_from_source "$fallback_version"
  exit 0
fi
log "downloading $release/$archive"
fetch "$release/$archive" "$work/$archive" || die "$release/$archive is listed in SHA256SUMS but the server answers 404"
actual="$(sha256 "$work/$archive")"
if [ "$actual" != "$expected" ]; then
  die "checksum mismatch for \`$archive\`: SHA256SUMS says $expected, the download has $actual; the file is corrupt or was tampered with, and is not installed"
fi
log "verified $archive (sha256 $actual)"

mkdir -p "$work/unpacked"
case "$archive" in
  *.zip)
    if command -v unzip >/dev/null; then
      unzip -q "$work/$archive" -d "$work/unpacked"
    else
      7z x -bd -y -o"$work/unpacked" "$work/$archive" >/dev/null
    fi
    ;;
  *) tar -xzf "$work/$archive" -C "$work/unpacked" ;;
esac
unpacked="$work/unpacked/codeinsight-$target/$executable"
[ -f "$unpacked" ] || die "\`$archive\` does not hold codeinsight-$target/$executable"
chmod +x "$unpacked"
reported="$("$unpacked" --version 2>&1 || true)"
[ "$reported" = "codeinsight $version" ] \
  || die "the binary in \`$archive\` reports \`$reported\`, not \`codeinsight $version\`"
mkdir -p "$dir"
mv -f "$unpacked" "$binary"
log "installed codeinsight $version for $target at $binary"
echo "$binary"
