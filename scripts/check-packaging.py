#!/usr/bin/env python3
"""Checks that every install channel ships the same version and the same release layout.

Cargo.toml's version is the one version: the npm packages (npm/codeinsight/package.json and the platform packages
it depends on), the pre-commit hook package (pre-commit/pyproject.toml) and the wheel (maturin reads Cargo.toml)
must carry it, and a release tag must name it. The release's targets are listed once, in npm/platforms.json: the
release workflow must build exactly those, and cargo-binstall's metadata must point at the archives
scripts/release-archive.sh makes for them.

Usage: scripts/check-packaging.py [--tag vX.Y.Z]    exits 1 and lists every disagreement
"""

import argparse
import json
import pathlib
import sys
import tomllib

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def archive_name(target):
    """The asset scripts/release-archive.sh makes for `target`, and the binary's path inside it."""
    windows = "-windows-" in target
    archive = f"codeinsight-{target}" + (".zip" if windows else ".tar.gz")
    inner = f"codeinsight-{target}/codeinsight" + (".exe" if windows else "")
    return archive, inner


# The suffixes cargo-binstall tries, in order, for `{ archive-suffix }` (binstalk-types' `PkgFmt::extensions`).
ARCHIVE_SUFFIXES = {"tgz": [".tgz", ".tar.gz"], "zip": [".zip"]}


def render_binstall(template, values, pkg_fmt):
    """Every URL or path cargo-binstall would try for `template`: its `{ key }` substitution."""
    rendered = template
    for key, value in values.items():
        rendered = rendered.replace("{ " + key + " }", value)
    candidates = [rendered.replace("{ archive-suffix }", suffix) for suffix in ARCHIVE_SUFFIXES.get(pkg_fmt, [])]
    candidates = candidates if "{ archive-suffix }" in rendered else [rendered]
    for candidate in candidates:
        if "{" in candidate:
            raise ValueError(f"unknown placeholder left in `{candidate}`")
    return candidates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release tag, which must be v + Cargo.toml's version")
    args = parser.parse_args()
    problems = []

    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    package = cargo["package"]
    version = package["version"]
    if args.tag is not None and args.tag != f"v{version}":
        problems.append(f"the tag `{args.tag}` is not `v{version}`, the version in Cargo.toml")

    platforms = json.loads((ROOT / "npm/platforms.json").read_text())
    npm = json.loads((ROOT / "npm/codeinsight/package.json").read_text())
    if npm["version"] != version:
        problems.append(f"npm/codeinsight/package.json: version {npm['version']}, Cargo.toml has {version}")
    optional = npm.get("optionalDependencies", {})
    expected_packages = sorted(platform["package"] for platform in platforms.values())
    if sorted(optional) != expected_packages:
        problems.append(
            f"npm/codeinsight/package.json: optionalDependencies {sorted(optional)}, "
            f"npm/platforms.json has {expected_packages}"
        )
    for name, wanted in optional.items():
        if wanted != version:
            problems.append(f"npm/codeinsight/package.json: {name}@{wanted}, not {version}")

    hook = tomllib.loads((ROOT / "pre-commit/pyproject.toml").read_text())["project"]
    if hook["version"] != version:
        problems.append(f"pre-commit/pyproject.toml: version {hook['version']}, Cargo.toml has {version}")
    if hook["dependencies"] != [f"codeinsight=={version}"]:
        problems.append(f"pre-commit/pyproject.toml: dependencies {hook['dependencies']}, not codeinsight=={version}")

    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())
    if wheel["project"]["name"] != "codeinsight" or "version" not in wheel["project"].get("dynamic", []):
        problems.append("pyproject.toml: the project must be `codeinsight` with its version from Cargo.toml (dynamic)")
    if wheel["tool"]["maturin"].get("bindings") != "bin":
        problems.append('pyproject.toml: [tool.maturin] bindings must be "bin"')

    binstall = package.get("metadata", {}).get("binstall")
    if binstall is None:
        problems.append("Cargo.toml: no [package.metadata.binstall]")
    else:
        repository = package.get("repository", "")
        for target in platforms:
            overrides = binstall.get("overrides", {}).get(target, {})
            pkg_fmt = overrides.get("pkg-fmt", binstall.get("pkg-fmt", "tgz"))
            values = {
                "repo": repository,
                "name": package["name"],
                "version": version,
                "target": target,
                "bin": "codeinsight",
                "binary-ext": ".exe" if "-windows-" in target else "",
            }
            archive, inner = archive_name(target)
            if pkg_fmt != ("zip" if archive.endswith(".zip") else "tgz"):
                problems.append(f"cargo-binstall's pkg-fmt for {target} is {pkg_fmt}, the release asset is {archive}")
            urls = render_binstall(overrides.get("pkg-url", binstall["pkg-url"]), values, pkg_fmt)
            wanted_url = f"{repository}/releases/download/v{version}/{archive}"
            if wanted_url not in urls:
                problems.append(f"cargo-binstall's pkg-url for {target} is {urls}, the release asset is {wanted_url}")
            bin_dirs = render_binstall(overrides.get("bin-dir", binstall["bin-dir"]), values, pkg_fmt)
            if bin_dirs != [inner]:
                problems.append(f"cargo-binstall's bin-dir for {target} is {bin_dirs}, the archive holds {inner}")

    workflow = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    built = sorted(entry["target"] for entry in workflow["jobs"]["build"]["strategy"]["matrix"]["include"])
    if built != sorted(platforms):
        problems.append(f".github/workflows/release.yml builds {built}; npm/platforms.json lists {sorted(platforms)}")

    for problem in problems:
        print(f"check-packaging: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"check-packaging: version {version} everywhere; {len(platforms)} targets agree across the release "
          "workflow, npm and cargo-binstall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
