#!/usr/bin/env python3
"""Precision harness: reviews a pinned corpus of mature real projects with the built-in rules only, counts what
each rule reports (per 10k lines of its language, and how much lands in test, example, vendored or generated
code), samples findings for triage, and joins the committed triage (`rules/precision.tsv`) into measured
precision per rule and per language. Writes `docs/precision.md` and `target/precision/` (per-project JSON reports,
`sample-<label>.tsv` and `sample-<label>.md`, the sampled findings to read with their code, for the labels
`default` and `all`).

    scripts/precision.sh                      # fetch the corpus, build the release binary, run, write the page
    scripts/precision.py --bin target/release/codeinsight [--select GROUPS --label NAME] [--no-page]

Triage: read `target/precision/sample-all.md`, then add one line per sampled finding to `rules/precision.tsv`:
project, path, line, rule, verdict (true, false, debatable) and a one-line reason. A rule's precision is the share
of its sampled findings triaged `true`; `debatable` ones count against it.

Data-flow rules on web applications: the libraries of the corpus have no web handlers, so the `mode: taint` rules
never fire there. `--webapps` reviews the web applications that `scripts/precision-webapps.sh` fetches with those
rules only (every taint rule by id, opt-in ones included), triages EVERY finding (no sampling) from
`rules/precision-webapps.tsv` (same columns) and rewrites the section "Data-flow rules on web applications" at the
end of docs/precision.md; the other modes keep that section as it is.

    scripts/precision-webapps.sh && scripts/precision.py --bin target/release/codeinsight --webapps [--no-page]

Its triage aid is `target/precision/webapps.md`: every finding with its flow and the code around each step.
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
WEBAPPS = Path(f"{os.environ.get('CODEINSIGHT_CORPUS_DIR') or Path.home() / '.cache/codeinsight-corpus'}-webapps")
WEBAPPS_TRIAGE = ROOT / "rules/precision-webapps.tsv"
WEBAPPS_HEADING = "## Data-flow rules on web applications"
BEFORE_TRIAGE = ROOT / "rules/precision-before.tsv"
BEFORE_SUMMARY = ROOT / "rules/precision-before.json"
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


def review(binary, project, project_dir, select, label, data_dir=None):
    out = OUT / label / f"{project}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CODEINSIGHT_DATA_DIR=str(data_dir or OUT / label / "data"), NO_COLOR="1")
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


def read_triage(path):
    verdicts = {}
    if not path.exists():
        return verdicts
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 6:
            sys.exit(f"precision: {path}:{number}: expected 6 tab-separated fields")
        project, path, line_no, rule, verdict, reason = fields[:6]
        if verdict not in ("true", "false", "debatable"):
            sys.exit(f"precision: {path}:{number}: verdict must be true, false or debatable")
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


def rule_metadata():
    """Group and severity of each built-in rule, read from its YAML (the first form of a multi-form file)."""
    import yaml

    rules = {}
    for path in sorted((ROOT / "rules").glob("*/*.yml")):
        with open(path) as handle:
            first = next(yaml.safe_load_all(handle))
        metadata = first.get("metadata", {})
        rules[first["id"]] = {"group": metadata.get("group", "default"), "severity": metadata.get("severity", "")}
    return rules


def measure(binary, select, label, only, verdicts):
    """Reviews every corpus project with one selection; returns (summary, findings, sample)."""
    all_findings = []
    lines = collections.Counter()
    rows = []
    total_elapsed = 0.0
    print(f"== {label} (select: {select or 'default'})", flush=True)
    for language, project, project_dir in projects():
        if only and project.split("-")[0] not in only:
            continue
        report, elapsed = review(binary, project, project_dir, select, label)
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
        rows.append({"language": language, "project": project, "lines": sum(project_lines.values()),
                     "files": len(report["files"]), "left_out": len(report["skipped"]), "findings": count,
                     "seconds": round(elapsed, 2)})
        print(f"{project:24} {len(report['files']):5} files {count:6} findings {elapsed:6.1f} s", flush=True)

    by_rule = collections.defaultdict(list)
    for finding in all_findings:
        by_rule[finding["rule_id"]].append(finding)

    # The sample: up to SAMPLE_PER_RULE findings per rule, chosen by a stable hash so that reruns pick the same.
    sample = []
    for rule, findings in sorted(by_rule.items()):
        chosen = sorted(findings, key=sample_key)[:SAMPLE_PER_RULE]
        sample.extend(sorted(chosen, key=lambda f: (f["project"], f["path"], f["line"])))
    OUT.mkdir(parents=True, exist_ok=True)
    corpus_dirs = {project: project_dir for _, project, project_dir in projects()}
    with open(OUT / f"sample-{label}.tsv", "w") as tsv, open(OUT / f"sample-{label}.md", "w") as md:
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
        triaged = [verdicts[key][0] for key in ((f["project"], f["path"], f["line"], rule) for f in findings)
                   if key in verdicts]
        table.append({
            "rule": rule, "severity": findings[0]["severity"], "findings": len(findings),
            "per10k": 10_000 * len(findings) / max(denominator, 1),
            "test": contexts["test"], "example": contexts["example"], "vendored": contexts["vendored"],
            "true": triaged.count("true"), "false": triaged.count("false"), "debatable": triaged.count("debatable"),
        })
    summary = {
        "label": label,
        "select": select,
        "lines": dict(lines),
        "projects": rows,
        "rules": table,
        "seconds": total_elapsed,
        "major_plus_outside_tests": sum(1 for f in all_findings if f["severity"] in ("critical", "major")
                                        and f["context"] not in ("test", "example")),
    }
    with open(OUT / f"summary-{label}.json", "w") as handle:
        json.dump(summary, handle, indent=1)
    untriaged = sum(1 for f in sample if (f["project"], f["path"], f["line"], f["rule_id"]) not in verdicts)
    print(f"\n{len(all_findings)} findings in {sum(lines.values())} lines; "
          f"major+ outside tests: {summary['major_plus_outside_tests']} "
          f"({10_000 * summary['major_plus_outside_tests'] / max(sum(lines.values()), 1):.2f} per 10k lines); "
          f"sample of {len(sample)} ({untriaged} not triaged yet) in {OUT / f'sample-{label}.md'}")
    for row in table:
        print(f"  {row['rule']:40} {row['severity']:8} {row['findings']:6} {row['per10k']:8.2f}/10k "
              f"test {row['test']:5} precision {percent(row)}")
    return summary, all_findings, sample


def percent(row):
    sampled = row["true"] + row["false"] + row["debatable"]
    return f"{100 * row['true'] / sampled:.0f}% of {sampled}" if sampled else "-"


def stale_triage(verdicts, findings):
    """Triage lines whose finding the current rules no longer report: they would count for nothing."""
    current = {(f["project"], f["path"], f["line"], f["rule_id"]) for f in findings}
    return sorted(key for key in verdicts if key not in current)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=str(ROOT / "target/release/codeinsight"))
    parser.add_argument("--select", default=None,
                        help="one rule selection passed to `review --select` (default: both the default rules and all)")
    parser.add_argument("--label", default="current", help="name of a one-selection measurement")
    parser.add_argument("--only", nargs="*", default=[], help="projects to run (default: all)")
    parser.add_argument("--no-page", action="store_true", help="do not rewrite docs/precision.md")
    parser.add_argument("--webapps", action="store_true",
                        help="the data-flow rules on the web applications of scripts/precision-webapps.sh, and the "
                             "page's section about them")
    args = parser.parse_args()
    if args.webapps:
        webapps(args.bin, args.only, args.no_page)
        return
    verdicts = read_triage(TRIAGE)

    if args.select is not None:
        measure(args.bin, args.select, args.label, args.only, verdicts)
        return
    default, default_findings, _ = measure(args.bin, "", "default", args.only, verdicts)
    everything, all_findings, _ = measure(args.bin, "all", "all", args.only, verdicts)
    stale = stale_triage(verdicts, all_findings)
    if stale:
        print(f"\n{len(stale)} lines of {TRIAGE.name} name findings no longer reported, e.g. {stale[0]}")
    if args.no_page or args.only:
        return
    with open(BEFORE_SUMMARY) as handle:
        before = json.load(handle)
    page = render_page(before, read_triage(BEFORE_TRIAGE), default, everything, default_findings, verdicts,
                       rule_metadata(), stale)
    write_page(page + webapps_section_of(read_page()))


def read_page():
    target = ROOT / "docs/precision.md"
    return target.read_text() if target.exists() else ""


def webapps_section_of(page):
    """The page's generated section about web applications (from its heading to the end), or nothing."""
    at = page.find("\n" + WEBAPPS_HEADING + "\n")
    return page[at:] if at >= 0 else ""


def write_page(page):
    target = ROOT / "docs/precision.md"
    temporary = target.with_suffix(".md.tmp")
    temporary.write_text(page)
    temporary.replace(target)
    print(f"wrote {target.relative_to(ROOT)}")


def taint_rules():
    """The data-flow rules (`mode: taint`): id -> group, severity, from the first form of each rule file."""
    import yaml

    rules = {}
    for path in sorted((ROOT / "rules").glob("*/*.yml")):
        with open(path) as handle:
            first = next(yaml.safe_load_all(handle))
        if first.get("mode") == "taint":
            metadata = first.get("metadata", {})
            rules[first["id"]] = {"group": metadata.get("group", "default"), "severity": metadata.get("severity", "")}
    return rules


def webapp_notes():
    """App name-version -> the advisory line under it in scripts/precision-webapps.sh."""
    notes, last = {}, None
    text = (ROOT / "scripts/precision-webapps.sh").read_text()
    body = text[text.index("APPS='\n") + len("APPS='\n"):]
    for line in body[:body.index("\n'\n")].splitlines():
        if line[:1].isalpha():
            fields = line.split()
            last = f"{fields[1]}-{fields[2]}"
        elif line.strip() and last:
            notes[last] = line.strip()
    return notes


def webapps(binary, only, no_page):
    """Reviews each web application with the data-flow rules only, writes the triage aid and the page's section."""
    import shutil
    import tempfile

    rules = taint_rules()
    select = ",".join(sorted(rules))
    verdicts = read_triage(WEBAPPS_TRIAGE)
    if not WEBAPPS.is_dir():
        sys.exit(f"precision: no web applications in {WEBAPPS}: run scripts/precision-webapps.sh first")
    apps = [(language_dir.name, app_dir.name, app_dir)
            for language_dir in sorted(WEBAPPS.iterdir()) if language_dir.is_dir() and not language_dir.name.startswith(".")
            for app_dir in sorted(language_dir.iterdir()) if (app_dir / ".complete").exists()]
    if only:
        apps = [app for app in apps if app[1] in only or app[1].rsplit("-", 1)[0] in only]
    print(f"== webapps (select: {len(rules)} data-flow rules)", flush=True)
    rows, findings = [], []
    for language, project, project_dir in apps:
        data_dir = tempfile.mkdtemp(prefix="codeinsight-precision-")
        try:
            report, elapsed = review(binary, project, project_dir, select, "webapps", data_dir)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        count = 0
        for file in report["files"]:
            for finding in file["findings"]:
                finding["project"] = project
                finding["path"] = file["path"]
                finding["context"] = context_of(file["path"])
                findings.append(finding)
                count += 1
        lines = 0
        for file in report["files"]:
            try:
                with open(project_dir / file["path"], "rb") as handle:
                    lines += sum(1 for _ in handle)
            except OSError:
                pass
        rows.append({"language": language, "project": project, "lines": lines, "files": len(report["files"]),
                     "left_out": len(report["skipped"]), "findings": count})
        print(f"{project:32} {len(report['files']):5} files {lines:7} lines {count:4} findings {elapsed:6.1f} s",
              flush=True)
    findings.sort(key=lambda f: (f["rule_id"], f["project"], f["path"], f["line"]))
    key = lambda f: (f["project"], f["path"], f["line"], f["rule_id"])
    dirs = {project: project_dir for _, project, project_dir in apps}

    # The triage aid: every finding with its flow and the code around each step, and the lines to fill in.
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "webapps.tsv", "w") as tsv, open(OUT / "webapps.md", "w") as md:
        for f in findings:
            verdict, reason = verdicts.get(key(f), ("", ""))
            tsv.write("\t".join([f["project"], f["path"], str(f["line"]), f["rule_id"], verdict, reason]) + "\n")
            md.write(f"### {f['rule_id']} ({f['severity']}) {f['project']}/{f['path']}:{f['line']} "
                     f"[{f['context']}]{' — ' + verdict if verdict else ''}\n\n{f['message']}\n\n"
                     f"flow: {flow_text(f)}\n\n")
            shown = set()
            for line in [step["line"] for step in f.get("flow") or []] + [f["line"]]:
                if line in shown:
                    continue
                shown.add(line)
                md.write(f"```\n{excerpt(dirs[f['project']], f['path'], line, around=2)}\n```\n\n")
    untriaged = [f for f in findings if key(f) not in verdicts]
    stale = sorted(k for k in verdicts if k not in {key(f) for f in findings})
    counts = collections.Counter(verdicts[key(f)][0] for f in findings if key(f) in verdicts)
    print(f"\n{len(findings)} findings in {sum(r['lines'] for r in rows)} lines; {counts['true']} true, "
          f"{counts['false']} false, {counts['debatable']} debatable, {len(untriaged)} not triaged yet "
          f"(see {OUT / 'webapps.md'})")
    if stale:
        print(f"{len(stale)} lines of {WEBAPPS_TRIAGE.name} name findings no longer reported, e.g. {stale[0]}")
    if no_page or only:
        return
    page = read_page()
    at = page.find("\n" + WEBAPPS_HEADING + "\n")
    main_part = page[:at] if at >= 0 else page.rstrip("\n") + "\n"
    write_page(main_part + render_webapps(rules, rows, findings, verdicts, webapp_notes(), len(stale)))


def flow_text(finding):
    return " → ".join(f"{step['label']} ({step['line']})" for step in finding.get("flow") or []) or "-"


def render_webapps(rules, rows, findings, verdicts, notes, stale):
    """The page's section about the data-flow rules on web applications; it starts with a blank line."""
    key = lambda f: (f["project"], f["path"], f["line"], f["rule_id"])
    out = [""]
    w = out.append
    w(WEBAPPS_HEADING + "\n")
    w("Generated by `scripts/precision.py --webapps`; do not edit by hand. The data-flow rules (`mode: taint`) follow")
    w("request data to a sink, and the libraries above have no request handlers, so they never fire there. They are")
    w("measured instead on real web applications (most pinned in a version with public injection, traversal,")
    w("SSRF, redirect or deserialization advisories; the last column below says which), fetched from the registries")
    w("by `scripts/precision-webapps.sh` and reviewed with the data-flow rules alone (`--select` with every one of")
    w("them by id, the opt-in ones included). Every finding is listed and triaged by hand in")
    w("`rules/precision-webapps.tsv` by reading the flow in the code: `true` when request data really reaches the sink")
    w("unchecked and a maintainer would accept the report, `false` when they would close it, `debatable` when they")
    w("could go either way. No sampling: precision is the share of `true` among all findings (debatable counts")
    w("against it); the bar is 90%. Missed advisories (false negatives) are not measured here.\n")
    by_rule = collections.defaultdict(list)
    for f in findings:
        by_rule[f["rule_id"]].append(f)
    total = collections.Counter()
    default = collections.Counter()
    w("| rule | group | severity | findings | triaged | true | false | debatable | precision |")
    w("|---|---|---|---|---|---|---|---|---|")
    for rule in sorted(set(rules) | set(by_rule)):
        meta = rules.get(rule, {})
        found = by_rule.get(rule, [])
        c = collections.Counter(verdicts[key(f)][0] for f in found if key(f) in verdicts)
        triaged = c["true"] + c["false"] + c["debatable"]
        total.update(c)
        total["findings"] += len(found)
        if meta.get("group") == "default":
            default.update(c)
            default["findings"] += len(found)
        precision = ratio(c["true"], triaged) if found else "never fires on the web applications"
        w(f"| `{rule}` | {meta.get('group', '')} | {meta.get('severity', '')} | {len(found)} | {triaged} | "
          f"{c['true']} | {c['false']} | {c['debatable']} | {precision} |")
    for label, counts in (("default rules", default), ("all", total)):
        triaged = counts["true"] + counts["false"] + counts["debatable"]
        w(f"| {label} | | | {counts['findings']} | {triaged} | {counts['true']} | {counts['false']} | "
          f"{counts['debatable']} | {ratio(counts['true'], triaged)} |")
    w("")
    below = []
    for rule in sorted(by_rule):
        if rules.get(rule, {}).get("group") != "default":
            continue
        c = collections.Counter(verdicts[key(f)][0] for f in by_rule[rule] if key(f) in verdicts)
        triaged = c["true"] + c["false"] + c["debatable"]
        if triaged and c["true"] / triaged < 0.9:
            below.append(f"`{rule}` {ratio(c['true'], triaged)}")
    if below:
        w("**Default data-flow rules below the bar on the web applications:** " + "; ".join(below) + ". They stay")
        w("on by default while the engine is improved on their false and debatable findings (listed below), and")
        w("`--ignore` turns any of them off.")
        w("")
    w("### Every finding, triaged\n")
    w("The flow runs from the source to the sink, with each step's line.\n")
    w("| finding | severity | flow | verdict | reason |")
    w("|---|---|---|---|---|")
    for f in findings:
        verdict, reason = verdicts.get(key(f), ("not triaged", ""))
        w(f"| `{f['rule_id']}` {f['project']}/{f['path']}:{f['line']} | {f['severity']} | "
          f"{flow_text(f).replace('|', '/')} | {verdict} | {reason.replace('|', '/')} |")
    w("")
    w("### Web applications\n")
    w("Files left out by policy (vendored, generated, minified, too large) are not reviewed, as in any directory")
    w("review; lines count the files reviewed.\n")
    w("| application | language | files reviewed | left out | lines | findings | why it is here |")
    w("|---|---|---|---|---|---|---|")
    for row in rows:
        w(f"| {row['project']} | {row['language']} | {row['files']} | {row['left_out']} | {row['lines']} | "
          f"{row['findings']} | {notes.get(row['project'], '').replace('|', '/')} |")
    w(f"\nTotal: {len(rows)} applications, {sum(r['files'] for r in rows)} files reviewed, "
      f"{sum(r['lines'] for r in rows)} lines.")
    if stale:
        w(f"\n{stale} triage lines name findings the rules no longer report; they count for nothing.")
    return "\n".join(out) + "\n"


def by_language(rows, metadata=None, group=None):
    """(true, sampled) per language over rule rows, optionally only the rules of one group."""
    totals = collections.defaultdict(lambda: [0, 0])
    for row in rows:
        if group and metadata.get(row["rule"], {}).get("group", "default") != group:
            continue
        language = language_of_rule(row["rule"])
        language = "javascript/typescript" if language in ("javascript", "typescript") else language
        totals[language][0] += row["true"]
        totals[language][1] += row["true"] + row["false"] + row["debatable"]
    return totals


def ratio(true, sampled):
    return f"{100 * true / sampled:.0f}% ({true}/{sampled})" if sampled else "not sampled"


def triage_counts(verdicts):
    """Per rule (true, false, debatable) from a triage file, for the measurement it was made against."""
    counts = collections.defaultdict(lambda: {"true": 0, "false": 0, "debatable": 0})
    for (_, _, _, rule), (verdict, _) in verdicts.items():
        counts[rule][verdict] += 1
    return counts


def render_page(before, before_verdicts, default, everything, default_findings, verdicts, metadata, stale):
    lines_total = sum(default["lines"].values())
    out = []
    w = out.append
    w("# Measured precision of the built-in rules\n")
    w("Generated by `scripts/precision.sh` (which runs `scripts/precision.py`); do not edit by hand. Every built-in")
    w("rule is run over a pinned corpus of mature projects from the registries, findings are sampled (up to")
    w(f"{SAMPLE_PER_RULE} per rule, chosen by a stable hash) and each sampled finding is read and triaged by hand in")
    w("`rules/precision.tsv`: `true` when the project's maintainers would accept it, `false` when they would close")
    w("it, `debatable` when they could go either way. A rule's precision is its share of `true` (debatable counts")
    w("against it). `codeinsight rules` and SARIF (`properties.precision`, in CodeQL's words) show the same figures.")
    w("")
    w("The bar for a default rule is a measured precision of at least 90%; a rule that never fires on the corpus")
    w("is held to its fixtures (`rules/<language>/fixtures/<rule>/`: what it must report, and near misses it must")
    w("not). Rules below the bar are in the opt-in `pedantic` and `restriction` groups (`--select pedantic`,")
    w("`[rules] select = [\"restriction\"]`). Default rules measured below the bar, if any, are listed next; the")
    w("data-flow rules are measured on web applications instead, and those below the bar are listed in that section.")
    w("")
    below = [r for r in default["rules"]
             if r["true"] + r["false"] + r["debatable"]
             and r["true"] / (r["true"] + r["false"] + r["debatable"]) < 0.9]
    if below:
        w("**Default rules below the bar:** " + "; ".join(
            f"`{r['rule']}` {ratio(r['true'], r['true'] + r['false'] + r['debatable'])}" for r in below)
          + " (see their triaged findings below).")
        w("")
    w("## Headline\n")
    before_major = before["major_plus_outside_tests"]
    after_major = default["major_plus_outside_tests"]
    w("| | before | after (default rules) |")
    w("|---|---|---|")
    w(f"| findings | {sum(r['findings'] for r in before['rules'])} | {sum(r['findings'] for r in default['rules'])} |")
    w(f"| major and critical outside tests and examples | {before_major} ({10_000 * before_major / lines_total:.2f} "
      f"per 10k lines) | {after_major} ({10_000 * after_major / lines_total:.2f} per 10k lines) |")
    before_counts = triage_counts(before_verdicts)
    b_true = sum(c["true"] for c in before_counts.values())
    b_all = sum(sum(c.values()) for c in before_counts.values())
    b_major_true = sum(c["true"] for rule, c in before_counts.items() if rule_severity(before, rule) in ("critical", "major"))
    b_major_all = sum(sum(c.values()) for rule, c in before_counts.items() if rule_severity(before, rule) in ("critical", "major"))
    a_rows = default["rules"]
    a_true = sum(r["true"] for r in a_rows)
    a_all = sum(r["true"] + r["false"] + r["debatable"] for r in a_rows)
    a_major_true = sum(r["true"] for r in a_rows if r["severity"] in ("critical", "major"))
    a_major_all = sum(r["true"] + r["false"] + r["debatable"] for r in a_rows if r["severity"] in ("critical", "major"))
    w(f"| precision of sampled findings | {ratio(b_true, b_all)} | {ratio(a_true, a_all)} |")
    w(f"| precision of sampled major and critical findings | {ratio(b_major_true, b_major_all)} | "
      f"{ratio(a_major_true, a_major_all)} |")
    w("")
    w("Before: every rule on by default, as they stood before this measurement began (2026-12-01; triage in")
    w("`rules/precision-before.tsv`). After: the default rules as they are now.\n")

    w("## Per language\n")
    w("| language | lines | before | after (default rules) | opt-in groups |")
    w("|---|---|---|---|---|")
    before_lang = collections.defaultdict(lambda: [0, 0])
    for rule, c in before_counts.items():
        language = language_of_rule(rule)
        language = "javascript/typescript" if language in ("javascript", "typescript") else language
        before_lang[language][0] += c["true"]
        before_lang[language][1] += sum(c.values())
    after_lang = by_language(default["rules"])
    optin_rows = [r for r in everything["rules"] if metadata.get(r["rule"], {}).get("group", "default") != "default"]
    optin_lang = by_language(optin_rows)
    languages = sorted(set(before_lang) | set(after_lang) | set(optin_lang))
    for language in languages:
        if language == "javascript/typescript":
            count = default["lines"].get("javascript", 0) + default["lines"].get("typescript", 0)
        else:
            count = default["lines"].get(language, lines_total if language == "any" else 0)
        w(f"| {language} | {count} | {ratio(*before_lang[language])} | {ratio(*after_lang[language])} | "
          f"{ratio(*optin_lang[language])} |")
    w("")

    w("## Per rule\n")
    w("Findings and density count the whole corpus (the default run for default rules, `--select all` for the")
    w("others); *tests* is how many are in test, example or benchmark code by path.\n")
    w("| rule | group | severity | findings (before) | findings | per 10k lines | in tests | precision before | precision |")
    w("|---|---|---|---|---|---|---|---|---|")
    before_rows = {r["rule"]: r for r in before["rules"]}
    all_rows = {r["rule"]: r for r in everything["rules"]}
    default_rows = {r["rule"]: r for r in default["rules"]}
    for rule in sorted(set(metadata) | set(before_rows) | set(all_rows)):
        group = metadata.get(rule, {}).get("group", "default")
        row = (default_rows if group == "default" else all_rows).get(rule)
        severity = metadata.get(rule, {}).get("severity") or (row or before_rows.get(rule, {})).get("severity", "")
        before_row = before_rows.get(rule)
        before_precision = before_counts.get(rule)
        bp = ratio(before_precision["true"], sum(before_precision.values())) if before_precision else "-"
        if row:
            sampled = row["true"] + row["false"] + row["debatable"]
            w(f"| `{rule}` | {group} | {severity} | {before_row['findings'] if before_row else 0} | {row['findings']} | "
              f"{row['per10k']:.2f} | {row['test'] + row['example']} | {bp} | {ratio(row['true'], sampled)} |")
        else:
            w(f"| `{rule}` | {group} | {severity} | {before_row['findings'] if before_row else 0} | 0 | 0 | 0 | {bp} | "
              f"never fires on the corpus |")
    w("")

    w("## Every default finding, triaged\n")
    w("| finding | severity | verdict | reason |")
    w("|---|---|---|---|")
    for f in sorted(default_findings, key=lambda f: (f["rule_id"], f["project"], f["path"], f["line"])):
        verdict, reason = verdicts.get((f["project"], f["path"], f["line"], f["rule_id"]), ("not triaged", ""))
        w(f"| `{f['rule_id']}` {f['project']}/{f['path']}:{f['line']} | {f['severity']} | {verdict} | "
          f"{reason.replace('|', '/')} |")
    w("")
    w("## Corpus\n")
    w("Fetched by `scripts/precision-corpus.sh` (pinned versions from PyPI, crates.io, npm and Debian's `golang-*-dev`")
    w("sources). Files left out by policy (vendored, generated, minified) are not reviewed, as in any directory review.\n")
    w("| project | language | lines | files reviewed | left out | default findings | seconds |")
    w("|---|---|---|---|---|---|---|")
    for row in default["projects"]:
        w(f"| {row['project']} | {row['language']} | {row['lines']} | {row['files']} | {row['left_out']} | "
          f"{row['findings']} | {row['seconds']} |")
    w(f"\nTotal: {lines_total} lines.")
    if stale:
        w(f"\n{len(stale)} triage lines name findings the rules no longer report; they count for nothing.")
    return "\n".join(out) + "\n"


def rule_severity(summary, rule):
    for row in summary["rules"]:
        if row["rule"] == rule:
            return row["severity"]
    return ""


if __name__ == "__main__":
    main()
