#!/usr/bin/env node
// Assembles the npm packages in a staging directory, ready for `npm pack` or `npm publish`:
//
//   node npm/assemble.js platform TARGET BINARY OUT_DIR   the package holding BINARY, built for the Rust TARGET
//                                                         (one of npm/platforms.json), in OUT_DIR/cli-<platform>
//   node npm/assemble.js main OUT_DIR                     the `codeinsight` package (npm/codeinsight) with the
//                                                         LICENSE, in OUT_DIR/codeinsight
//
// Every package carries Cargo.toml's version; `main` refuses a package.json whose version, or whose optional
// dependencies, disagree with Cargo.toml and npm/platforms.json. Prints the staged directory. Used by the release
// workflow and by scripts/ci-packaging.sh. Plain Node, no dependencies.
"use strict";

const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const platforms = JSON.parse(fs.readFileSync(path.join(__dirname, "platforms.json"), "utf8"));

function die(message) {
  process.stderr.write(`npm/assemble.js: ${message}\n`);
  process.exit(2);
}

// The `version` of Cargo.toml's `[package]` table: the one version every channel ships.
function cargoVersion() {
  const manifest = fs.readFileSync(path.join(root, "Cargo.toml"), "utf8");
  const table = manifest.split(/^\[/m).find((section) => section.startsWith("package]"));
  const match = table && table.match(/^version\s*=\s*"([^"]+)"/m);
  if (!match) {
    die("no `version` in the `[package]` table of Cargo.toml");
  }
  return match[1];
}

function writeJson(file, value) {
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function assemblePlatform(target, binary, outDir) {
  const platform = platforms[target];
  if (!platform) {
    die(`unknown target \`${target}\`; npm/platforms.json has ${Object.keys(platforms).join(", ")}`);
  }
  if (!fs.statSync(binary, { throwIfNoEntry: false })?.isFile()) {
    die(`\`${binary}\` is not a file`);
  }
  const version = cargoVersion();
  const dir = path.join(outDir, platform.package.replace("@codeinsight/", ""));
  const binaryName = platform.os === "win32" ? "codeinsight.exe" : "codeinsight";
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.copyFileSync(binary, path.join(dir, "bin", binaryName));
  fs.chmodSync(path.join(dir, "bin", binaryName), 0o755);
  fs.copyFileSync(path.join(root, "LICENSE"), path.join(dir, "LICENSE"));
  const libc = platform.libc ? ` (${platform.libc})` : "";
  fs.writeFileSync(
    path.join(dir, "README.md"),
    `# ${platform.package}\n\nThe \`codeinsight\` binary for ${platform.os} ${platform.cpu}${libc}, built for ` +
      `\`${target}\`. Install \`codeinsight\` instead: it depends on this package and runs the binary.\n`,
  );
  const manifest = {
    name: platform.package,
    version,
    description: `The codeinsight binary for ${platform.os} ${platform.cpu}${libc}`,
    homepage: "https://github.com/codeinsight/codeinsight#readme",
    repository: { type: "git", url: "git+https://github.com/codeinsight/codeinsight.git", directory: "npm" },
    license: "MIT",
    os: [platform.os],
    cpu: [platform.cpu],
    ...(platform.libc ? { libc: [platform.libc] } : {}),
    files: [`bin/${binaryName}`],
    preferUnplugged: true,
  };
  writeJson(path.join(dir, "package.json"), manifest);
  return dir;
}

function assembleMain(outDir) {
  const version = cargoVersion();
  const source = path.join(__dirname, "codeinsight");
  const manifest = JSON.parse(fs.readFileSync(path.join(source, "package.json"), "utf8"));
  const problems = [];
  if (manifest.version !== version) {
    problems.push(`its version is ${manifest.version}, Cargo.toml's is ${version}`);
  }
  const expected = Object.values(platforms).map((platform) => platform.package).sort();
  const listed = Object.keys(manifest.optionalDependencies || {}).sort();
  if (JSON.stringify(expected) !== JSON.stringify(listed)) {
    problems.push(`its optionalDependencies are ${listed.join(", ")}; npm/platforms.json has ${expected.join(", ")}`);
  }
  for (const [name, wanted] of Object.entries(manifest.optionalDependencies || {})) {
    if (wanted !== version) {
      problems.push(`it depends on ${name}@${wanted}, not ${version}`);
    }
  }
  if (problems.length > 0) {
    die(`npm/codeinsight/package.json disagrees: ${problems.join("; ")}`);
  }
  const dir = path.join(outDir, "codeinsight");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(source, dir, { recursive: true });
  fs.copyFileSync(path.join(root, "LICENSE"), path.join(dir, "LICENSE"));
  fs.chmodSync(path.join(dir, "bin", "codeinsight.js"), 0o755);
  return dir;
}

const [command, ...args] = process.argv.slice(2);
if (command === "platform" && args.length === 3) {
  process.stdout.write(`${assemblePlatform(args[0], path.resolve(args[1]), path.resolve(args[2]))}\n`);
} else if (command === "main" && args.length === 1) {
  process.stdout.write(`${assembleMain(path.resolve(args[0]))}\n`);
} else {
  die("usage: node npm/assemble.js platform TARGET BINARY OUT_DIR | main OUT_DIR");
}
