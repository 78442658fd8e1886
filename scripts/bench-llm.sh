#!/usr/bin/env bash
# Measures the local model the AI-review tests use and what the AI stage adds to a review: llama-server's start
# time, request latency and tokens per second (from its own `timings`), and the wall time of
# `codeinsight review --ai` against `--no-ai` on the same file. Uses the debug binary (`cargo build` first).
# Usage: scripts/bench-llm.sh [RUNS]   (default 3). Prints the machine's load average: numbers on a busy machine
# are much slower than on an idle one.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
paths=$(bash scripts/setup-llm.sh | tail -n 2)
server=$(echo "$paths" | sed -n 1p)
model=$(echo "$paths" | sed -n 2p)
binary=${CODEINSIGHT_BIN:-$PWD/target/debug/codeinsight}
[ -x "$binary" ] || { echo "build first: cargo build (or set CODEINSIGHT_BIN)" >&2; exit 2; }
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
started=$(date +%s.%N)
"$server" -m "$model" --host 127.0.0.1 --port "$port" -c 2048 -t 2 --parallel 1 --no-webui --jinja \
  >"$work/llama.log" 2>&1 &
llama=$!
trap 'kill $llama 2>/dev/null; rm -rf "$work"' EXIT
until curl -sf "http://127.0.0.1:$port/health" >/dev/null; do sleep 0.1; done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "llama-server healthy after $(python3 -c "print(f'{$(date +%s.%N) - $started:.2f}')") s"

cat >"$work/shop.py" <<'PY'
import os


def average_price(items):
    total = sum(item.price for item in items)
    return total / len(items)


def load(path):
    handle = open(path)
    return handle.read()
PY
schema='{"type":"object","properties":{"findings":{"type":"array","maxItems":1,"items":{"type":"object","properties":{"line_start":{"type":"integer"},"line_end":{"type":"integer"},"severity":{"type":"string","enum":["critical","major","minor","info"]},"title":{"type":"string","maxLength":100}},"required":["line_start","line_end","severity","title"],"additionalProperties":false}}},"required":["findings"],"additionalProperties":false}'
body=$(python3 - "$work/shop.py" "$schema" <<'PY'
import json, sys
code = "".join(f"{n}\t{line}" for n, line in enumerate(open(sys.argv[1]), 1))
print(json.dumps({"model": "smollm2", "temperature": 0, "max_tokens": 256, "cache_prompt": False,
    "messages": [{"role": "system", "content": "You review code. Answer JSON findings."},
                 {"role": "user", "content": "Path: shop.py\nLanguage: python\n" + code}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "review", "schema": json.loads(sys.argv[2])}}}))
PY
)
for run in $(seq 1 "$runs"); do
  curl -s -o "$work/answer.json" -w '%{time_total}\n' -H 'content-type: application/json' -d "$body" \
    "http://127.0.0.1:$port/v1/chat/completions" >"$work/time"
  python3 - "$work/answer.json" "$(cat "$work/time")" "$run" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1])); timings = answer["timings"]; usage = answer["usage"]
print(f"request {sys.argv[3]}: {float(sys.argv[2]):.2f} s, {usage['prompt_tokens']} prompt tokens at "
      f"{timings['prompt_per_second']:.0f}/s, {usage['completion_tokens']} completion tokens at "
      f"{timings['predicted_per_second']:.1f}/s, finish_reason {answer['choices'][0]['finish_reason']}")
PY
done

cat >"$work/codeinsight.toml" <<'TOML'
[llm]
context_tokens = 2048
max_output_tokens = 512
max_findings = 1
TOML
export CODEINSIGHT_DATA_DIR="$work/data" CODEINSIGHT_LLM_URL="http://127.0.0.1:$port/v1" \
  CODEINSIGHT_LLM_MODEL=smollm2-135m-instruct NO_COLOR=1
time_review() {
  local start end
  start=$(date +%s.%N)
  (cd "$work" && "$binary" review shop.py --no-cache --fail-on never "$@" >"$work/review.out" 2>&1) || true
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.2f}')"
}
for run in $(seq 1 "$runs"); do
  plain=$(time_review --no-ai)
  ai=$(time_review --ai)
  echo "review $run: --no-ai ${plain} s, --ai ${ai} s (AI stage adds $(python3 -c "print(f'{$ai - $plain:.2f}')") s)"
done
tail -n 3 "$work/review.out"
