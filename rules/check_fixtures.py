#!/usr/bin/env python3
"""Check every built-in rule under rules/<lang>/*.yml against its fixtures.

For each rule this script verifies:
  * the YAML shape: id == <lang>/<file-stem>, language matches the directory,
    a one-line message, a `note` with the four documentation sections,
    metadata.severity (critical|major|minor|info), metadata.category,
    ast-grep `severity` consistent with metadata.severity, and
    metadata.fix-safety (safe|unsafe) present if and only if the rule has a `fix`;
  * the rule has a reachable `kind` (pattern/kind at the top, or any/all of those);
  * fixtures exist: rules/<lang>/fixtures/<name>/flagged.<ext> and clean.<ext>;
  * `ast-grep scan` start lines in flagged.* equal the lines marked `ci:expect`,
    and clean.* yields no finding;
  * javascript rules give the same lines when compiled for typescript and tsx
    (the engine runs them on TS/TSX files too), typescript rules the same on tsx;
  * flagged/clean files parse without ERROR/MISSING nodes (needs the Python
    `tree_sitter` bindings and grammar wheels; skipped with a notice otherwise);
  * where a rule has a `fix`, applying it (`ast-grep scan --update-all`) to a
    copy of flagged.* leaves code that parses and on which the rule no longer fires.

Needs the `ast-grep` CLI (PyPI `ast-grep-cli==0.51.1`) and PyYAML.
Exit status is non-zero on any failure. Usage: python3 rules/check_fixtures.py [RULE_ID_SUBSTRING...]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.abspath(__file__))
AST_GREP = shutil.which("ast-grep") or shutil.which("sg")

LANGS = {
    # dir: (ast-grep language, fixture extension)
    "rust": ("rust", "rs"),
    "python": ("python", "py"),
    "javascript": ("javascript", "js"),
    "typescript": ("typescript", "ts"),
    "go": ("go", "go"),
    "java": ("java", "java"),
    "bash": ("bash", "sh"),
    "ruby": ("ruby", "rb"),
    "c": ("c", "c"),
}
OUR_SEVERITIES = {"critical": "error", "major": "error", "minor": "warning", "info": "info"}
CATEGORIES = {"security", "correctness", "performance", "maintainability"}
NOTE_SECTIONS = ["**What it flags**", "**Why it matters**", "**Example**", "**Fix**"]
MARKER = "ci:expect"

_parsers = {}


def parser_for(lang):
    """A tree_sitter.Parser for `lang`, or None when the bindings are missing."""
    if lang in _parsers:
        return _parsers[lang]
    p = None
    try:
        import tree_sitter

        mod_name, fn = {
            "rust": ("tree_sitter_rust", "language"),
            "python": ("tree_sitter_python", "language"),
            "javascript": ("tree_sitter_javascript", "language"),
            "typescript": ("tree_sitter_typescript", "language_typescript"),
            "tsx": ("tree_sitter_typescript", "language_tsx"),
            "go": ("tree_sitter_go", "language"),
            "java": ("tree_sitter_java", "language"),
            "bash": ("tree_sitter_bash", "language"),
            "ruby": ("tree_sitter_ruby", "language"),
            "c": ("tree_sitter_c", "language"),
        }[lang]
        mod = __import__(mod_name)
        p = tree_sitter.Parser(tree_sitter.Language(getattr(mod, fn)()))
    except Exception:  # bindings or grammar not installed
        p = None
    _parsers[lang] = p
    return p


def parse_errors(lang, path):
    """List of 'line N: ERROR/MISSING' strings, [] if clean, None if no parser."""
    p = parser_for(lang)
    if p is None:
        return None
    with open(path, "rb") as f:
        tree = p.parse(f.read())
    if not tree.root_node.has_error:
        return []
    out = []
    stack = [tree.root_node]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            out.append("line %d: %s" % (n.start_point[0] + 1, "ERROR" if n.is_error else "MISSING " + n.type))
        elif n.has_error:
            stack.extend(n.children)
    return sorted(out) or ["(has_error)"]


def scan(rule_path, file_path):
    r = subprocess.run(
        [AST_GREP, "scan", "--rule", rule_path, "--json=compact", file_path],
        capture_output=True,
        text=True,
    )
    if r.returncode not in (0, 1):
        raise RuntimeError("ast-grep failed on %s: %s" % (rule_path, r.stderr.strip()))
    try:
        matches = json.loads(r.stdout or "[]")
    except json.JSONDecodeError:
        raise RuntimeError("ast-grep output not JSON for %s: %s %s" % (rule_path, r.stdout[:200], r.stderr[:200]))
    return sorted({m["range"]["start"]["line"] + 1 for m in matches})


def fixless_matches(rule_path, file_path):
    """How many of the rule's matches in file_path carry no fix (a form of the rule without one)."""
    r = subprocess.run(
        [AST_GREP, "scan", "--rule", rule_path, "--json=compact", file_path],
        capture_output=True,
        text=True,
    )
    matches = json.loads(r.stdout or "[]")
    return sum(1 for m in matches if m.get("replacement") is None)


def expected_lines(path):
    with open(path, encoding="utf-8") as f:
        return sorted(i + 1 for i, line in enumerate(f) if MARKER in line)


def has_kind(rule):
    """Mirror of ast-grep's potential-kind requirement (conservative)."""
    if not isinstance(rule, dict):
        return False
    if "pattern" in rule or "kind" in rule:
        return True
    if "all" in rule and any(has_kind(r) for r in rule["all"]):
        return True
    if "any" in rule and rule["any"] and all(has_kind(r) for r in rule["any"]):
        return True
    return False


def retargeted(rule_path, docs, lang, tmp):
    out = os.path.join(tmp, "%s-%s.yml" % (os.path.basename(rule_path)[:-4], lang))
    with open(out, "w") as f:
        yaml.safe_dump_all([dict(d, language=lang) for d in docs], f, sort_keys=False)
    return out


def check_rule(lang_dir, rule_path, tmp):
    errors = []
    name = os.path.basename(rule_path)[:-4]
    lang, ext = LANGS[lang_dir]
    with open(rule_path) as f:
        # A file may hold several forms of one rule (documents with the same id); the first carries the docs.
        docs = [d for d in yaml.safe_load_all(f) if d]
    doc = docs[0]
    for other in docs[1:]:
        if other.get("id") != doc.get("id"):
            errors.append("every document of %s must have the id %r" % (name, doc.get("id")))
    # ---- shape
    if doc.get("id") != "%s/%s" % (lang_dir, name):
        errors.append("id %r should be %s/%s" % (doc.get("id"), lang_dir, name))
    if str(doc.get("language", "")).lower() != lang:
        errors.append("language %r should be %s" % (doc.get("language"), lang))
    msg = doc.get("message")
    if not isinstance(msg, str) or not msg.strip() or "\n" in msg.strip():
        errors.append("message must be one non-empty line")
    note = doc.get("note") or ""
    for s in NOTE_SECTIONS:
        if s not in note:
            errors.append("note lacks %s" % s)
    md = doc.get("metadata") or {}
    sev = md.get("severity")
    if sev not in OUR_SEVERITIES:
        errors.append("metadata.severity %r not in %s" % (sev, list(OUR_SEVERITIES)))
    elif doc.get("severity") != OUR_SEVERITIES[sev]:
        errors.append("severity %r inconsistent with metadata.severity %s (want %s)" % (doc.get("severity"), sev, OUR_SEVERITIES[sev]))
    if md.get("category") not in CATEGORIES:
        errors.append("metadata.category %r not in %s" % (md.get("category"), sorted(CATEGORIES)))
    has_fix = any("fix" in d for d in docs)
    if has_fix and md.get("fix-safety") not in ("safe", "unsafe"):
        errors.append("rule has fix but metadata.fix-safety is %r" % md.get("fix-safety"))
    if not has_fix and "fix-safety" in md:
        errors.append("metadata.fix-safety given but rule has no fix")
    if doc.get("mode") == "taint":
        return check_taint(lang_dir, lang, ext, name, doc, errors, tmp)
    if not all(has_kind(d.get("rule")) for d in docs):
        errors.append("rule has no reachable kind/pattern at the top")
    # ---- fixtures
    fx, flagged, clean = fixture_paths(lang_dir, name, ext, errors)
    if errors:
        return errors, False
    parse_checked = True
    for p in (flagged, clean):
        pe = parse_errors(lang, p)
        if pe is None:
            parse_checked = False
        elif pe:
            errors.append("%s does not parse cleanly: %s" % (os.path.basename(p), "; ".join(pe[:3])))
    want = expected_lines(flagged)
    if not want:
        errors.append("flagged.%s has no %s line" % (ext, MARKER))
    got = scan(rule_path, flagged)
    if got != want:
        errors.append("flagged: matched lines %s, expected %s" % (got, want))
    cleans = clean_fixtures(fx, clean, ext)
    for each in cleans:
        label = os.path.basename(each)
        if expected_lines(each):
            errors.append("%s contains %s" % (label, MARKER))
        pe = parse_errors(lang, each) if each != clean else None
        if pe:
            errors.append("%s does not parse cleanly: %s" % (label, "; ".join(pe[:3])))
        got_clean = scan(rule_path, each)
        if got_clean:
            errors.append("%s: unexpected matches on lines %s" % (label, got_clean))
    # ---- the engine also runs JS rules on TS/TSX and TS rules on TSX
    others = {"javascript": [("typescript", "ts"), ("tsx", "tsx")], "typescript": [("tsx", "tsx")]}.get(lang_dir, [])
    for olang, oext in others:
        rp = retargeted(rule_path, docs, olang, tmp)
        for src, expect in ((flagged, want), (clean, [])):
            copy = os.path.join(tmp, "%s-%s.%s" % (name, os.path.basename(src).split(".")[0], oext))
            shutil.copy(src, copy)
            pe = parse_errors(olang, copy)
            if pe:  # the fixture is not valid in that dialect (e.g. `<T>x` in TSX): nothing to compare
                continue
            got_o = scan(rp, copy)
            if got_o != expect:
                errors.append("as %s, %s: matched lines %s, expected %s" % (olang, os.path.basename(src), got_o, expect))
    # ---- fix
    if has_fix:
        fixed = os.path.join(tmp, "%s-fixed.%s" % (name, ext))
        shutil.copy(flagged, fixed)
        r = subprocess.run([AST_GREP, "scan", "--rule", rule_path, "--update-all", fixed], capture_output=True, text=True)
        if r.returncode not in (0, 1):
            errors.append("applying fix failed: %s" % r.stderr.strip()[:300])
        else:
            with open(flagged) as a, open(fixed) as b:
                if a.read() == b.read():
                    errors.append("fix changed nothing")
            pe = parse_errors(lang, fixed)
            if pe:
                errors.append("fixed flagged.%s does not parse: %s" % (ext, "; ".join(pe[:3])))
            again = scan(rule_path, fixed)
            if len(again) > fixless_matches(rule_path, flagged):
                errors.append("rule still fires after fix on lines %s" % again)
    return errors, parse_checked


def fixture_paths(lang_dir, name, ext, errors):
    """The rule's fixture directory and its flagged and clean files; a missing one is an error."""
    fx = os.path.join(ROOT, lang_dir, "fixtures", name)
    flagged = os.path.join(fx, "flagged." + ext)
    clean = os.path.join(fx, "clean." + ext)
    for p in (flagged, clean):
        if not os.path.isfile(p):
            errors.append("missing fixture %s" % os.path.relpath(p, ROOT))
    return fx, flagged, clean


def clean_fixtures(fx, clean, ext):
    """clean.<ext> and any clean-<case>.<ext> (near misses that need a file of their own)."""
    return [clean] + sorted(
        os.path.join(fx, entry) for entry in os.listdir(fx)
        if entry.startswith("clean-") and entry.endswith("." + ext))


def check_taint(lang_dir, lang, ext, name, doc, errors, tmp):
    """A `mode: taint` rule: the ast-grep CLI has no taint mode, so each source, sink and sanitizer entry is checked
    as a rule of its own (it must compile and name its node kinds), and the fixtures must parse and be marked.
    Which lines the flows reach is checked through CodeInsight's own engine by tests/engine.rs."""
    if "rule" in doc:
        errors.append("a taint rule has sources/sinks/sanitizers, not `rule`")
    for key in ("sources", "sinks", "sanitizers"):
        entries = doc.get(key)
        if entries is None and key == "sanitizers":
            continue
        if not isinstance(entries, list) or not entries:
            errors.append("`%s` must be a non-empty list" % key)
            continue
        for number, entry in enumerate(entries, 1):
            if not has_kind(entry):
                errors.append("%s entry %d names no kind or pattern" % (key, number))
                continue
            part = os.path.join(tmp, "%s-%s-%d.yml" % (name, key, number))
            with open(part, "w") as f:
                yaml.safe_dump({"id": "part", "language": lang, "rule": entry}, f, sort_keys=False)
            probe = os.path.join(tmp, "%s-probe.%s" % (name, ext))
            with open(probe, "w") as f:
                f.write("\n")
            r = subprocess.run([AST_GREP, "scan", "--rule", part, "--json=compact", probe], capture_output=True, text=True)
            if r.returncode not in (0, 1):
                errors.append("%s entry %d does not compile: %s" % (key, number, r.stderr.strip()[:200]))
    fx, flagged, clean = fixture_paths(lang_dir, name, ext, errors)
    if errors:
        return errors, False
    parse_checked = True
    cleans = clean_fixtures(fx, clean, ext)
    for p in [flagged] + cleans:
        pe = parse_errors(lang, p)
        if pe is None:
            parse_checked = False
        elif pe:
            errors.append("%s does not parse cleanly: %s" % (os.path.basename(p), "; ".join(pe[:3])))
    if not expected_lines(flagged):
        errors.append("flagged.%s has no %s line" % (ext, MARKER))
    for each in cleans:
        if expected_lines(each):
            errors.append("%s contains %s" % (os.path.basename(each), MARKER))
    return errors, parse_checked


def main(argv):
    if not AST_GREP:
        print("ast-grep CLI not found (python3 -m pip install ast-grep-cli==0.51.1)", file=sys.stderr)
        return 2
    filters = argv[1:]
    ok = failed = 0
    no_parse_check = 0
    ids = set()
    with tempfile.TemporaryDirectory() as tmp:
        for lang_dir in sorted(os.listdir(ROOT)):
            d = os.path.join(ROOT, lang_dir)
            if not os.path.isdir(d) or lang_dir not in LANGS:
                continue
            for fn in sorted(os.listdir(d)):
                if not fn.endswith(".yml"):
                    continue
                rid = "%s/%s" % (lang_dir, fn[:-4])
                if filters and not any(f in rid for f in filters):
                    continue
                if rid in ids:
                    print("FAIL %s: duplicate id" % rid)
                    failed += 1
                    continue
                ids.add(rid)
                try:
                    errors, parse_checked = check_rule(lang_dir, os.path.join(d, fn), tmp)
                except Exception as e:  # noqa: BLE001 - report and go on
                    errors, parse_checked = ["%s: %s" % (type(e).__name__, e)], True
                if not parse_checked:
                    no_parse_check += 1
                if errors:
                    failed += 1
                    print("FAIL %s" % rid)
                    for e in errors:
                        print("    " + e)
                else:
                    ok += 1
            # fixtures without a rule
            fxd = os.path.join(d, "fixtures")
            if os.path.isdir(fxd) and not filters:
                for name in sorted(os.listdir(fxd)):
                    if not os.path.isfile(os.path.join(d, name + ".yml")):
                        print("FAIL %s/fixtures/%s: fixture directory without a rule" % (lang_dir, name))
                        failed += 1
    if no_parse_check:
        print("note: parse checks skipped for %d rules (pip install tree-sitter and the tree-sitter-<lang> grammars)" % no_parse_check)
    print("checked %d rules: %d ok, %d failed" % (ok + failed, ok, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
