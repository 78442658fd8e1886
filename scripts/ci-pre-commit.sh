#!/usr/bin/env bash
# Proves the pre-commit hooks with the real `pre-commit` tool: `pre-commit try-repo` of this repository in a temporary
# git repository, with a staged file that has a major finding (the hook must fail) and then with a clean staged file
# (it must pass). The `codeinsight-system` hook runs the freshly built binary from PATH; set
# CODEINSIGHT_CI_PRE_COMMIT_RUST=1 to also try the `codeinsight` hook, which compiles the crate with cargo (slow).
# Usage: scripts/ci-pre-commit.sh PATH/TO/codeinsight
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
binary="$(realpath "${1:?usage: scripts/ci-pre-commit.sh PATH/TO/codeinsight}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export PATH="$(dirname "$binary"):$PATH"
export PRE_COMMIT_HOME="$work/pre-commit-home"
export CODEINSIGHT_DATA_DIR="$work/data"
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.com GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.com
unset GITHUB_ACTIONS

project="$work/project"
mkdir -p "$project"
cd "$project"
git init -q
printf '[linters]\nenabled = false\n' > codeinsight.toml
git add codeinsight.toml
git -c commit.gpgsign=false commit -q -m init

hooks=(codeinsight-system)
if [ "${CODEINSIGHT_CI_PRE_COMMIT_RUST:-0}" = "1" ]; then
  hooks+=(codeinsight)
fi
for hook in "${hooks[@]}"; do
  printf 'import subprocess\n\n\ndef run(name):\n    subprocess.run("echo " + name, shell=True)\n' > bad.py
  git add bad.py
  if pre-commit try-repo "$repo" "$hook" > "$work/bad.log" 2>&1; then
    cat "$work/bad.log"
    echo "pre-commit: hook \`$hook\` passed a staged file with a major finding" >&2
    exit 1
  fi
  grep -q "python/subprocess-shell-true" "$work/bad.log" || { cat "$work/bad.log"; echo "pre-commit: the finding is not in the hook's output" >&2; exit 1; }
  echo "pre-commit: hook \`$hook\` fails on a staged bad file (as it should)"

  git rm -q --cached bad.py
  rm bad.py
  printf 'def add(a, b):\n    return a + b\n' > good.py
  git add good.py
  if ! pre-commit try-repo "$repo" "$hook" > "$work/good.log" 2>&1; then
    cat "$work/good.log"
    echo "pre-commit: hook \`$hook\` failed on a clean staged file" >&2
    exit 1
  fi
  echo "pre-commit: hook \`$hook\` passes a staged clean file"
  git rm -q --cached good.py
  rm good.py
done
