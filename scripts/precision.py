#!/usr/bin/env python3
"""Precision harness: reviews a pinned corpus of mature real projects with the built-in rules only, counts what
each rule reports (per 10k lines of its language, and how much lands in test, example, vendored or generated
code), samples findings for triage, and joins the committed triage (`rules/precision.tsv`) into measured
precision per rule and per language. Writes `docs/precision.md` and `target/precision/` (per-project JSON reports,
`sample.tsv` and `sample.md`, the findings to read with their code).

    scripts/precision.sh                      # fetch the corpus, build the release binary, run, write the page
    scripts/precision.py --bin target/release/codeinsight [--select GROUPS] [--label after]

Triage: read `target/precision/sample.md`, then add one line per sampled finding to `rules/precision.tsv`:
project, path, line, rule, verdict (true, false, debatable) and a one-line reason. A rule's precision is the share
of its sampled findings triaged `true`; `debatable` ones count against it.
"""

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("CODEINSIGHT_CORPUS_DIR", Path.home() / ".cache/codeinsight-corpus"))
OUT = ROOT / "target/precision"
TRIAGE = ROOT / "rules/precision.tsv"
SAMPLE_PER_RULE = 12

EXTENSIONS = {
    "python": (".py",),
    "rust": (".rs",),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "go": (".go",),
}

# Path context, for the counts only (the engine's own judgement is in each finding).
CONTEXTS = [
    ("test", re.compile(r"(^|/)(tests?|testing|__tests__|spec|testdata)(/|$)|(^|/)test_[^/]*\.py$|_test\.(py|go)$|\.(spec|test)\.[jt]sx?$|(^|/)conftest\.py$")),
    ("example", re.compile(r"(^|/)(examples?|benches|benchmarks?|docs?)(/|$)")),
    ("vendored", re.compile(r"(^|/)(vendor|third_party|node_modules|dist)(/|$)")),
]


def context_of(path):
    for name, pattern in CONTEXTS:
        if pattern.search(path):
            return name
    return "code"


def language_of_rule(rule):
    head = rule.split("/", 1)[0]
    return head if head in EXTENSIONS else "any"


def count_lines(project_dir):
    lines = collections.Counter()
    for path in project_dir.rglob("*"):
        if not path.is_file():
            continue
        for language, extensions in EXTENSIONS.items():
            if path.name.endswith(extensions) and not path.name.endswith((".d.ts", ".d.cts", ".d.mts")):
                try:
                    with open(path, "rb") as handle:
                        lines[language] += sum(1 for _ in handle)
                except OSError:
                    pass
    return lines


def projects():
    found = []
    for language_dir in sorted(CORPUS.iterdir()):
        for project_dir in sorted(language_dir.iterdir()):
            if (project_dir / ".complete").exists():
                found.append((language_dir.name, project_dir.name, project_dir))
    return found


def review(binary, project, project_dir, select, label):
    out = OUT / label / f"{project}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CODEINSIGHT_DATA_DIR=str(OUT / label / "data"), NO_COLOR="1")
    command = [
        str(binary), "review", ".", "--no-linters", "--no-cache", "--fail-on", "never", "--quiet",
        "--format", f"json={out}",
    ]
    if select:
        command += ["--select", select]
    started = time.monotonic()
    result = subprocess.run(command, cwd=project_dir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    if result.returncode not in (0, 1, 5) or not out.exists():
        sys.exit(f"precision: reviewing {project} failed (exit {result.returncode}):\n{result.stderr[-2000:]}")
    with open(out) as handle:
        report = json.load(handle)
    return report, elapsed


def sample_key(finding):
    return hashlib.sha256(f"{finding['project']}|{finding['path']}|{finding['line']}|{finding['rule_id']}".encode()).hexdigest()


def read_triage():
    verdicts = {}
    if not TRIAGE.exists():
        return verdicts
    for number, line in enumerate(TRIAGE.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 6:
            sys.exit(f"precision: {TRIAGE}:{number}: expected 6 tab-separated fields")
        project, path, line_no, rule, verdict, reason = fields[:6]
        if verdict not in ("true", "false", "debatable"):
            sys.exit(f"precision: {TRIAGE}:{number}: verdict must be true, false or debatable")
        verdicts[(project, path, int(line_no), rule)] = (verdict, reason)
    return verdicts


def excerpt(project_dir, path, line, around=3):
    try:
        text = (project_dir / path).read_text(errors="replace").splitlines()
    except OSError:
        return ""
    start = max(0, line - 1 - around)
    end = min(len(text), line + around)
    return "\n".join(f"{'>' if number == line else ' '}{number:5} {text[number - 1][:160]}"
                     for number in range(start + 1, end + 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(ROOT / "target/release/codeinsight"))
    parser.add_argument("--select", default="", help="rule selection passed to `review --select`")
    parser.add_argument("--label", default="current", help="name of this measurement (before, after)")
    parser.add_argument("--only", nargs="*", default=[], help="projects to run (default: all)")
    parser.add_argument("--no-page", action="store_true", help="do not rewrite docs/precision.md")
    args = parser.parse_args()

    all_findings = []
    lines = collections.Counter()
    rows = []
    total_elapsed = 0.0
    for language, project, project_dir in projects():
        if args.only and project.split("-")[0] not in args.only:
            continue
        report, elapsed = review(args.bin, project, project_dir, args.select, args.label)
        total_elapsed += elapsed
        project_lines = count_lines(project_dir)
        lines.update(project_lines)
        count = 0
        for file in report["files"]:
            for finding in file["findings"]:
                finding["project"] = project
                finding["context"] = context_of(file["path"])
                finding["path"] = file["path"]
                all_findings.append(finding)
                count += 1
        rows.append((language, project, sum(project_lines.values()), len(report["files"]), len(report["skipped"]),
                     count, elapsed))
        print(f"{project:24} {len(report['files']):5} files {count:6} findings {elapsed:6.1f} s", flush=True)

    by_rule = collections.defaultdict(list)
    for finding in all_findings:
        by_rule[finding["rule_id"]].append(finding)
    verdicts = read_triage()

    # The sample: up to SAMPLE_PER_RULE findings per rule, chosen by a stable hash so that reruns pick the same.
    sample = []
    for rule, findings in sorted(by_rule.items()):
        chosen = sorted(findings, key=sample_key)[:SAMPLE_PER_RULE]
        sample.extend(sorted(chosen, key=lambda f: (f["project"], f["path"], f["line"])))
    OUT.mkdir(parents=True, exist_ok=True)
    corpus_dirs = {project: project_dir for _, project, project_dir in projects()}
    with open(OUT / f"sample-{args.label}.tsv", "w") as tsv, open(OUT / f"sample-{args.label}.md", "w") as md:
        for finding in sample:
            key = (finding["project"], finding["path"], finding["line"], finding["rule_id"])
            verdict, reason = verdicts.get(key, ("", ""))
            tsv.write("\t".join([finding["project"], finding["path"], str(finding["line"]), finding["rule_id"],
                                 verdict, reason]) + "\n")
            md.write(f"### {finding['rule_id']} ({finding['severity']}) {finding['project']}/{finding['path']}:"
                     f"{finding['line']} [{finding['context']}]{' — ' + verdict if verdict else ''}\n\n"
                     f"{finding['message']}\n\n```\n{excerpt(corpus_dirs[finding['project']], finding['path'], finding['line'])}\n```\n\n")

    # Per rule: counts, density, contexts, triage.
    table = []
    for rule, findings in sorted(by_rule.items()):
        language = language_of_rule(rule)
        denominator = lines[language] if language in lines else sum(lines.values())
        contexts = collections.Counter(f["context"] for f in findings)
        severity = findings[0]["severity"]
        triaged = [verdicts[key][0] for key in ((f["project"], f["path"], f["line"], rule) for f in findings)
                   if key in verdicts]
        table.append({
            "rule": rule, "severity": severity, "findings": len(findings),
            "per10k": 10_000 * len(findings) / max(denominator, 1),
            "test": contexts["test"], "example": contexts["example"], "vendored": contexts["vendored"],
            "true": triaged.count("true"), "false": triaged.count("false"), "debatable": triaged.count("debatable"),
        })
    summary = {
        "label": args.label,
        "select": args.select,
        "lines": dict(lines),
        "projects": rows,
        "rules": table,
        "seconds": total_elapsed,
        "major_plus_outside_tests": sum(1 for f in all_findings if f["severity"] in ("critical", "major")
                                        and f["context"] not in ("test", "example")),
    }
    with open(OUT / f"summary-{args.label}.json", "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"\n{len(all_findings)} findings in {sum(lines.values())} lines; "
          f"major+ outside tests: {summary['major_plus_outside_tests']} "
          f"({10_000 * summary['major_plus_outside_tests'] / max(sum(lines.values()), 1):.2f} per 10k lines); "
          f"sample of {len(sample)} in {OUT / f'sample-{args.label}.md'}")
    for row in table:
        sampled = row["true"] + row["false"] + row["debatable"]
        precision = f"{100 * row['true'] / sampled:.0f}% of {sampled}" if sampled else "-"
        print(f"  {row['rule']:40} {row['severity']:8} {row['findings']:6} {row['per10k']:8.2f}/10k "
              f"test {row['test']:5} precision {precision}")


if __name__ == "__main__":
    main()
