#!/usr/bin/env python3
"""Fix harness: applies every safe fix the built-in rules offer (`review --select all --fix`) to a copy of each
project of the precision corpus, then checks that what changed still builds as well as it did before:

* every changed file parses: Python with `compile()`, Go with `gofmt -e`, JavaScript with `node --check`, and every
  language with tree-sitter (a file may not gain ERROR or MISSING nodes);
* every Rust crate with a changed file passes `cargo check` after its fixes if it passed before them (with the
  crate's features and cfgs from CARGO_CHECK below, so that the fixed files are compiled).

Prints one line per project and a total; exits 1 if any fix broke a file or a build.

    scripts/precision-fixes.py [--bin target/release/codeinsight] [--only tokio gin]
"""

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "rules"))
from precision import CORPUS, EXTENSIONS, projects  # noqa: E402
from check_fixtures import parser_for  # noqa: E402

# How to compile a crate so that its optional modules are checked too.
CARGO_CHECK = {
    "tokio": (["--features", "full"], "--cfg tokio_unstable --cfg tokio_taskdump"),
}


def tree_sitter_errors(language, path):
    parser = parser_for("tsx" if path.suffix == ".tsx" else language)
    if parser is None:
        return None
    tree = parser.parse(path.read_bytes())
    count = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        stack.extend(node.children)
    return count


def compiler_check(language, path):
    """None when the file compiles (or no compiler applies), else the compiler's complaint."""
    if language == "python":
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as error:
            return f"{error.msg} (line {error.lineno})"
        return None
    if language == "go":
        command = ["gofmt", "-e", "-l", str(path)]
    elif language == "javascript" and path.suffix in (".js", ".cjs", ".mjs"):
        command = ["node", "--check", str(path)]
    else:
        return None
    if shutil.which(command[0]) is None:
        return None
    result = subprocess.run(command, capture_output=True, text=True)
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()[:300]


def language_of(path):
    for language, extensions in EXTENSIONS.items():
        if path.name.endswith(extensions):
            return language
    return None


def cargo_check(crate_dir, name):
    if shutil.which("cargo") is None:
        return None
    features, cfgs = CARGO_CHECK.get(name, ([], ""))
    env = dict(os.environ, RUSTFLAGS=cfgs, CARGO_TARGET_DIR=str(Path(tempfile.gettempdir()) / "codeinsight-fixes-target" / name))
    result = subprocess.run(["cargo", "check", "--lib", "--quiet", *features], cwd=crate_dir, env=env,
                            capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr.strip()[-1500:]


def changed_files(original, fixed):
    changed = []
    for path in fixed.rglob("*"):
        if path.is_file() and language_of(path):
            before = original / path.relative_to(fixed)
            if before.exists() and not filecmp.cmp(before, path, shallow=False):
                changed.append(path.relative_to(fixed))
    return sorted(changed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(ROOT / "target/release/codeinsight"))
    parser.add_argument("--only", nargs="*", default=[])
    args = parser.parse_args()

    total_fixes = total_files = broken = 0
    with tempfile.TemporaryDirectory(prefix="codeinsight-fixes-") as scratch:
        for language, project, project_dir in projects():
            if args.only and project.split("-")[0] not in args.only:
                continue
            copy = Path(scratch) / project
            shutil.copytree(project_dir, copy, symlinks=True)
            report_path = Path(scratch) / f"{project}.json"
            env = dict(os.environ, CODEINSIGHT_DATA_DIR=str(Path(scratch) / "data"), NO_COLOR="1")
            result = subprocess.run(
                [args.bin, "review", ".", "--select", "all", "--fix", "--no-linters", "--no-cache", "--quiet",
                 "--fail-on", "never", "--format", f"json={report_path}"],
                cwd=copy, env=env, capture_output=True, text=True)
            if result.returncode not in (0, 1, 5):
                sys.exit(f"precision-fixes: reviewing {project} failed (exit {result.returncode}): {result.stderr[-1500:]}")
            report = json.loads(report_path.read_text())
            fixes = (report.get("fixes") or {}).get("applied", 0)
            changed = changed_files(project_dir, copy)
            problems = []
            for relative in changed:
                file_language = language_of(relative)
                before = tree_sitter_errors(file_language, project_dir / relative)
                after = tree_sitter_errors(file_language, copy / relative)
                if before is not None and after > before:
                    problems.append(f"{relative}: {after - before} new parse errors (tree-sitter)")
                if compiler_check(file_language, project_dir / relative) is None:
                    complaint = compiler_check(file_language, copy / relative)
                    if complaint:
                        problems.append(f"{relative}: {complaint}")
            build = "-"
            if language == "rust" and changed:
                name = project.rsplit("-", 1)[0]
                if cargo_check(project_dir, name) is not None:
                    build = "cargo check fails before the fixes too; not judged"
                else:
                    failure = cargo_check(copy, name)
                    build = "cargo check ok" if failure is None else "cargo check FAILED"
                    if failure:
                        problems.append(f"cargo check: {failure}")
            total_fixes += fixes
            total_files += len(changed)
            broken += len(problems)
            print(f"{project:24} {fixes:4} safe fixes {len(changed):4} files changed  {build}", flush=True)
            for problem in problems:
                print(f"    BROKEN {problem}")
    print(f"\n{total_fixes} safe fixes in {total_files} files; {broken} broke a file or a build")
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
