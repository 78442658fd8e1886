#!/usr/bin/env bash
# Packs a built binary as a release asset: `codeinsight-TARGET.tar.gz` (`.zip` for Windows) holding the directory
# `codeinsight-TARGET/` with the binary, README.md and LICENSE. This is the layout scripts/install.sh (the action)
# and cargo-binstall (`[package.metadata.binstall]` in Cargo.toml) unpack. The release workflow runs it for every
# target, and scripts/ci-packaging.sh for this machine's. Prints the archive's path.
# Usage: scripts/release-archive.sh TARGET BINARY OUT_DIR
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/release-archive.sh TARGET BINARY OUT_DIR}"
binary="${2:?usage: scripts/release-archive.sh TARGET BINARY OUT_DIR}"
out_dir="${3:?usage: scripts/release-archive.sh TARGET BINARY OUT_DIR}"
[ -f "$binary" ] || { echo "release-archive: \`$binary\` is not a file" >&2; exit 2; }

name="codeinsight-$target"
mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/$name"
case "$target" in
  *-windows-*) executable="codeinsight.exe" ;;
  *) executable="codeinsight" ;;
esac
cp "$binary" "$stage/$name/$executable"
chmod 755 "$stage/$name/$executable"
cp "$root/README.md" "$root/LICENSE" "$stage/$name/"

cd "$stage"
case "$target" in
  *-windows-*)
    archive="$out_dir/$name.zip"
    rm -f "$archive"
    if command -v zip >/dev/null; then
      zip -qr "$archive" "$name"
    else
      7z a -tzip -bd "$archive" "$name" >/dev/null
    fi
    ;;
  *)
    archive="$out_dir/$name.tar.gz"
    tar -czf "$archive" "$name"
    ;;
esac
echo "$archive"
