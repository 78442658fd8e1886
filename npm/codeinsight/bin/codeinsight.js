#!/usr/bin/env node
// The `codeinsight` command of the npm package: finds the binary that npm installed for this machine (one of the
// `@codeinsight/cli-*` packages this package lists as optional dependencies; npm installs only the one whose `os`,
// `cpu` and `libc` match) and runs it with this process's arguments, stdin, stdout and stderr. Signals sent to this
// process are passed on to the binary, and its exit code, or the signal that ended it, becomes this process's.
// Plain Node without dependencies, so that it runs wherever `npx codeinsight` does.
"use strict";

const childProcess = require("child_process");
const fs = require("fs");
const path = require("path");

// Exit code when the binary cannot be found or started: 2 is CodeInsight's "usage or configuration error", so a CI
// script that reads 1 as "findings" never mistakes a broken installation for a review.
const SETUP_FAILED = 2;
const BINARY_NAME = process.platform === "win32" ? "codeinsight.exe" : "codeinsight";

function fail(message, help) {
  process.stderr.write(`codeinsight: ${message}\nhelp: ${help}\n`);
  process.exit(SETUP_FAILED);
}

// musl or glibc: the dynamic loader's script names its C library. Reading one file is cheaper than spawning
// `ldd --version` or building a diagnostic report on every run.
function isMusl() {
  try {
    return fs.readFileSync("/usr/bin/ldd", "latin1").includes("musl");
  } catch (_) {
    return fs.existsSync(`/lib/ld-musl-${process.arch === "x64" ? "x86_64" : "aarch64"}.so.1`);
  }
}

// The platform packages that can run here, best first. A glibc Linux also runs the musl build (it is static).
function candidatePlatforms() {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== "linux") {
    return [base];
  }
  return isMusl() ? [`${base}-musl`] : [base, `${base}-musl`];
}

function findBinary() {
  const override = process.env.CODEINSIGHT_BINARY;
  if (override) {
    return override;
  }
  const manifest = require("../package.json");
  const shipped = Object.keys(manifest.optionalDependencies || {});
  const wanted = candidatePlatforms()
    .map((platform) => `@codeinsight/cli-${platform}`)
    .filter((name) => shipped.includes(name));
  if (wanted.length === 0) {
    const platforms = shipped.map((name) => name.replace("@codeinsight/cli-", "")).join(", ");
    fail(
      `no prebuilt binary for this platform (${candidatePlatforms()[0]}); the npm package has them for ${platforms}`,
      "install with `cargo install codeinsight` (builds from source), or set `CODEINSIGHT_BINARY` to a codeinsight binary",
    );
  }
  for (const name of wanted) {
    let manifestPath;
    try {
      manifestPath = require.resolve(`${name}/package.json`);
    } catch (_) {
      continue;
    }
    return path.join(path.dirname(manifestPath), "bin", BINARY_NAME);
  }
  fail(
    `the package \`${wanted[0]}\` that holds the binary for this platform is not installed; npm installs it as an ` +
      "optional dependency and leaves it out when optional dependencies are omitted (`--omit=optional`, " +
      "`--no-optional`) or when `node_modules` was installed on another platform",
    `reinstall with optional dependencies (\`npm install codeinsight\`), or add \`${wanted[0]}@${manifest.version}\``,
  );
}

function run(binary) {
  const child = childProcess.spawn(binary, process.argv.slice(2), { stdio: "inherit" });
  // On Windows the console delivers Ctrl-C to the binary itself, and `kill` would end it without a chance to clean
  // up: this process only has to stay alive until the binary exits. Elsewhere a signal sent to this process alone
  // (a CI runner's timeout, `kill`) is passed on.
  const forwarded = process.platform === "win32" ? ["SIGINT", "SIGBREAK"] : ["SIGINT", "SIGTERM", "SIGHUP"];
  const handlers = forwarded.map((signal) => {
    const handler = () => {
      if (process.platform !== "win32" && child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
    };
    process.on(signal, handler);
    return [signal, handler];
  });
  child.on("error", (error) => {
    fail(`cannot run \`${binary}\`: ${error.message}`, "reinstall the `codeinsight` npm package");
  });
  child.on("exit", (code, signal) => {
    for (const [name, handler] of handlers) process.removeListener(name, handler);
    if (signal) {
      // End this process by the same signal, so that whoever started it sees what happened to the binary.
      process.kill(process.pid, signal);
      const number = require("os").constants.signals[signal];
      process.exit(number ? 128 + number : 1);
    }
    process.exit(code === null ? 1 : code);
  });
}

// Some package managers unpack files without their mode bits: give the binary its executable bit back.
function ensureExecutable(binary) {
  if (process.platform === "win32") {
    return;
  }
  try {
    fs.accessSync(binary, fs.constants.X_OK);
  } catch (_) {
    try {
      fs.chmodSync(binary, 0o755);
    } catch (_) {
      // Spawning will fail and say why.
    }
  }
}

const binary = findBinary();
if (!fs.existsSync(binary)) {
  fail(`the binary \`${binary}\` is missing from its package`, "reinstall the `codeinsight` npm package");
}
ensureExecutable(binary);
run(binary);
