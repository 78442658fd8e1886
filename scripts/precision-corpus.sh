#!/usr/bin/env bash
# Fetches the precision corpus: a pinned set of real, mature open-source projects (Python, Rust, JavaScript/
# TypeScript, Go), taken from package registries only, for the precision harness that runs CodeInsight's built-in
# rules over code that is known to be good and counts what they flag.
#
#   scripts/precision-corpus.sh                # fetch all that is missing, then print the table
#   scripts/precision-corpus.sh python zod     # only these languages / project names
#
# Layout: ${CODEINSIGHT_CORPUS_DIR:-$HOME/.cache/codeinsight-corpus}/<language>/<name>-<version>/ holds the extracted
# source tree as published (sdist, .crate, npm tarball, or for Go the import path's tree from Debian's golang-*-dev
# package, i.e. what it installs under /usr/share/gocode/src). A tree is staged in a temp dir beside it, marked with
# `.complete` (written last) and renamed into place, so a tree that exists is whole; trees already there are skipped.
# Needs curl, tar, sha256sum, python3 -m pip, npm, apt-get and dpkg-deb (Debian 12; `apt-get update` is run once,
# as root, if a pinned .deb is not found). A project that fails is named and the others still go on; exit status 1.
set -euo pipefail

dest=${CODEINSIGHT_CORPUS_DIR:-$HOME/.cache/codeinsight-corpus}

# language    name          version   registry  spec (pypi: name; crates/npm: -; deb: package=version import/path)
PROJECTS='
python      django        5.1.15    pypi      Django
python      flask         3.1.3     pypi      Flask
python      requests      2.32.5    pypi      requests
python      rich          14.3.3    pypi      rich
rust        tokio         1.47.1    crates    -
rust        regex         1.11.1    crates    -
rust        serde         1.0.219   crates    -
rust        clap          4.5.40    crates    -
rust        clap_builder  4.5.40    crates    -
rust        anyhow        1.0.98    crates    -
javascript  express       4.21.2    npm       -
javascript  lodash        4.17.21   npm       -
javascript  axios         1.7.9     npm       -
typescript  zod           4.1.12    npm       -
go          gin           1.8.1     deb       golang-github-gin-gonic-gin-dev=1.8.1-1 github.com/gin-gonic/gin
go          cobra         1.6.1     deb       golang-github-spf13-cobra-dev=1.6.1-1 github.com/spf13/cobra
go          mux           1.8.0     deb       golang-github-gorilla-mux-dev=1.8.0-1 github.com/gorilla/mux
go          logrus        1.9.0     deb       golang-github-sirupsen-logrus-dev=1.9.0-1 github.com/sirupsen/logrus
'

tool=precision-corpus
# shellcheck source=scripts/lib/corpus.sh
source "$(dirname "$0")/lib/corpus.sh"

fetch_pypi() { fetch_sdist "$@"; } # name version spec stage

fetch_crates() { # name version spec stage
  need curl; need sha256sum
  local n=$1 path
  case ${#n} in 1) path=1/$n ;; 2) path=2/$n ;; 3) path=3/${n:0:1}/$n ;; *) path=${n:0:2}/${n:2:2}/$n ;; esac
  local entry sum
  entry=$(curl -fsSL "https://index.crates.io/$path") || fail "cannot read the crates.io index for $n"
  entry=$(grep -E "\"vers\": *\"${2//./\\.}\"" <<<"$entry") || fail "$n $2 not in the crates.io index"
  sum=$(sed -E 's/.*"cksum": *"([0-9a-f]{64})".*/\1/' <<<"$entry")
  [[ $sum =~ ^[0-9a-f]{64}$ ]] || fail "no checksum for $n $2 in the crates.io index"
  curl -fsSL -o "$4/$n.crate" "https://static.crates.io/crates/$n/$n-$2.crate" || fail "cannot download $n-$2.crate"
  echo "$sum  $4/$n.crate" | sha256sum --check --quiet || fail "$n-$2.crate checksum differs from the index"
  unpack "$4/$n.crate" "$4/src"
}

fetch_deb() { # name version spec stage
  need apt-get; need dpkg-deb
  local pkg=${3%% *} import=${3#* } dl=$4/dl
  mkdir -p "$dl"
  # Downloads only (nothing is installed); the sandbox user setting keeps apt from warning about a root-owned dir.
  get() { (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg") >/dev/null; }
  if ! get 2>/dev/null; then
    [[ $(id -u) == 0 ]] || fail "apt-get download $pkg failed (run 'apt-get update' as root?)"
    echo "  $pkg not found; running apt-get update" >&2
    { apt-get update -qq >/dev/null && get; } || fail "apt-get download $pkg failed"
  fi
  dpkg-deb -x "$4"/dl/*.deb "$4/root" || fail "cannot extract $pkg"
  local tree="$4/root/usr/share/gocode/src/$import"
  [[ -d $tree ]] || fail "$pkg has no /usr/share/gocode/src/$import"
  cp -a "$tree" "$4/src"
}

filters=("$@")
start=$SECONDS
fetch_all <<<"$PROJECTS"

echo
printf '%-11s %-13s %-9s %9s  %s\n' LANGUAGE PROJECT VERSION LINES 'FILES BY EXTENSION'
total_files=0 total_lines=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT
while read -r language name version registry spec; do
  [[ -z $language ]] && continue
  selected "$language" "$name" || continue
  dir="$dest/$language/$name-$version"
  [[ -f $dir/.complete ]] || { printf '%-11s %-13s %-9s %9s  %s\n' "$language" "$name" "$version" - MISSING; continue; }
  read -r count lines < <(source_files "$dir" "$language" "$list")
  # Declaration files (.d.ts, .d.mts, .d.cts) are counted apart from TypeScript sources.
  by_ext=$(tr '\0' '\n' < "$list" | awk -F/ '{ n = tolower($NF)
      if (match(n, /\.d\.[mc]?ts$/)) n = substr(n, RSTART + 1); else sub(/.*\./, "", n); count[n]++ }
    END { for (e in count) print count[e], e }' | sort -rn | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')
  printf '%-11s %-13s %-9s %9s  %s\n' "$language" "$name" "$version" "$lines" "$by_ext"
  total_files=$((total_files + count)) total_lines=$((total_lines + lines))
done <<<"$PROJECTS"
printf '%-35s %9s  %s files\n' TOTAL "$total_lines" "$total_files"
echo "corpus: $dest ($(du -sh "$dest" | cut -f1)), $((SECONDS - start)) s"

if ((${#failed[@]})); then
  echo "precision-corpus: could not fetch: ${failed[*]}" >&2
  exit 1
fi
