# shellcheck shell=bash disable=SC2154  # tool, dest and filters are set by the sourcing script
# Shared by scripts/precision-corpus.sh and scripts/precision-webapps.sh: fetching pinned source trees from the
# package registries into "$dest/<language>/<name>-<version>/". A tree is staged in a temp dir beside it, marked
# with `.complete` (written last) and renamed into place, so a tree that exists is whole.
# The sourcing script sets `tool` (its name, for messages), `dest` and `filters` (its command line).

# Source extensions per language, as src/engine/language.rs detects them (npm packages count both JS and TS).
extensions() {
  case $1 in
    python) echo 'py pyi pyw' ;;
    rust) echo 'rs' ;;
    javascript | typescript) echo 'js mjs cjs jsx ts mts cts tsx' ;;
    go) echo 'go' ;;
  esac
}

fail() { echo "$tool: $item: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || fail "needs '$1' on PATH"; }

# unpack ARCHIVE DIR: extracts a tarball into DIR, dropping its single top-level folder (package/, name-version/).
unpack() {
  local x="$2.x"
  { mkdir -p "$x" && tar -xzf "$1" -C "$x" --no-same-owner; } || fail "cannot extract $(basename "$1")"
  local top=("$x"/*)
  if [[ ${#top[@]} == 1 && -d ${top[0]} ]]; then mv "${top[0]}" "$2"; rmdir "$x"; else mv "$x" "$2"; fi
}

pip_download() { # spec version stage binary-flag
  need python3
  python3 -m pip download --quiet --disable-pip-version-check --no-deps "$4" :all: -d "$3/dl" "$1==$2" \
    >/dev/null 2>"$3/pip.log" || { tail -5 "$3/pip.log" >&2; fail "pip download $1==$2 failed"; }
}

fetch_sdist() { # name version spec stage
  pip_download "$3" "$2" "$4" --no-binary
  local files=("$4"/dl/*.tar.gz)
  [[ -f ${files[0]} ]] || fail "PyPI gave no .tar.gz sdist for $3==$2"
  unpack "${files[0]}" "$4/src"
}

fetch_npm() { # name version spec stage; spec `-` is the name itself, else the package (a scoped @scope/name)
  need npm
  local package=$1
  [[ $3 == - ]] || package=$3
  mkdir -p "$4/dl"
  (cd "$4/dl" && npm pack --loglevel=error "$package@$2" >/dev/null) || fail "npm pack $package@$2 failed"
  local files=("$4"/dl/*.tgz)
  unpack "${files[0]}" "$4/src"
}

# fetch LANGUAGE NAME VERSION REGISTRY SPEC: stages the tree in a temp dir, marks it, renames it into place.
fetch() {
  local final="$dest/$1/$2-$3"
  [[ -f $final/.complete ]] && { echo "have  $1/$2-$3"; return; }
  echo "fetch $1/$2-$3 ($4)"
  mkdir -p "$dest/$1"
  stage=$(mktemp -d "$dest/$1/.staging-$2-$3.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  "fetch_$4" "$2" "$3" "$5" "$stage"
  printf 'registry=%s\nspec=%s\nfetched=%s\n' "$4" "$5" "$(date -u +%FT%TZ)" > "$stage/src/.complete"
  rm -rf "$final"  # a leftover without .complete
  mv "$stage/src" "$final" || fail "cannot move into $final"
}

selected() { # LANGUAGE NAME: whether the command line asks for this tree (no arguments: all)
  ((${#filters[@]} == 0)) && return
  local f; for f in "${filters[@]}"; do [[ $f == "$1" || $f == "$2" ]] && return; done; return 1
}

# fetch_all < LINES ("language name version registry spec" each): fetches every selected tree, each in a subshell
# so that one failure names itself and the others still go on; the ones that failed are left in `failed`.
fetch_all() {
  failed=()
  local language name version registry spec status
  while read -r language name version registry spec; do
    [[ -z $language ]] && continue
    selected "$language" "$name" || continue
    item="$language/$name-$version"
    set +e
    (set -eE; trap 'echo "$tool: $item: failed: $BASH_COMMAND" >&2' ERR; fetch "$language" "$name" "$version" "$registry" "$spec")
    status=$?
    set -e
    ((status == 0)) || failed+=("$item")
  done
}

# source_files DIR LANGUAGE LIST: writes the tree's source files (NUL-separated) to LIST and prints "COUNT LINES".
source_files() {
  local pattern=() ext
  for ext in $(extensions "$2"); do pattern+=(-o -iname "*.$ext"); done
  find "$1" -type f \( "${pattern[@]:1}" \) -print0 > "$3"
  echo "$(tr -cd '\0' < "$3" | wc -c) $(xargs -0r cat < "$3" | wc -l)"
}
