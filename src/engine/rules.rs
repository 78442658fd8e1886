//! Rule sets: the built-in rules embedded at build time plus a user's `.codeinsight/rules/*.yml`, all in
//! ast-grep's YAML rule format with CodeInsight's severity, category and fix safety under `metadata`. Rule files
//! are parsed when the set is built; each language's rules are compiled once, the first time a file of that
//! language is analysed, and then shared read-only across threads. Compiling lazily keeps a one-file review from
//! paying for every language's patterns (user rules are also compiled up front, so a bad one is reported at load).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use crate::error_chain;
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use ast_grep_config::{GlobalRules, RuleConfig, SerializableRuleConfig};
use ast_grep_core::Matcher as _;
use ast_grep_language::SupportLang;

use super::language::Language;
use super::secrets;
use super::suppression;
use crate::protocol::{Applicability, Severity};

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Bumped whenever the engine's behaviour changes in a way that changes findings, so caches keyed on
/// [`RuleSet::version`] are invalidated.
const ENGINE_VERSION: &str = "engine-6";

/// What a user sees about a rule (`codeinsight rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: String,
    /// `None` for language-agnostic rules (the secrets scanner, suppression checks).
    pub language: Option<Language>,
    pub severity: Severity,
    pub category: String,
    pub message: String,
    /// Markdown: what it flags, why it matters, an example, the fix.
    pub docs: String,
    /// `Some` when the rule carries a fix, with how far it can be trusted.
    pub fix_safety: Option<Applicability>,
    /// `codeinsight` for built-in rules, `user` for rule files loaded from a directory.
    pub source: String,
    /// The file the rule came from (`rules/python/eval-input.yml`), or `built-in` for code rules.
    pub origin: String,
    /// Which group turns it on: `default` rules run unless deselected, the others only when selected.
    pub group: RuleGroup,
    /// What it does in test code (`tests/`, `test_*.py`, `*_test.go`, `#[cfg(test)]`, ...).
    pub tests: TestPolicy,
    /// The same check in other tools (`ruff/S608`, `bandit/B608`, `clippy/unwrap_used`): their findings merge
    /// into this rule's, and their suppression comments suppress it.
    pub equivalents: Vec<String>,
    /// CWE ids of what a security rule detects.
    pub cwe: Vec<u32>,
    /// Precision measured by triage on real projects (`rules/precision.tsv`); `None` when never sampled.
    pub precision: Option<Precision>,
    /// A `mode: taint` rule: it follows data from sources to sinks rather than matching one node.
    pub taint: bool,
}

impl RuleInfo {
    /// The rule's documentation as it travels in the protocol and in reports.
    pub fn doc(&self) -> crate::protocol::RuleDoc {
        crate::protocol::RuleDoc {
            id: self.id.clone(),
            severity: self.severity,
            category: self.category.clone(),
            message: self.message.clone(),
            docs: self.docs.clone(),
            cwe: self.cwe.clone(),
            precision: self
                .precision
                .map(|precision| crate::protocol::MeasuredPrecision {
                    level: precision.level().to_owned(),
                    sampled: precision.sampled,
                    true_positives: precision.true_positives,
                    false_positives: precision.false_positives,
                    debatable: precision.debatable,
                }),
        }
    }
}

/// Rule groups, as clippy's `pedantic` and `restriction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleGroup {
    /// Likely bugs and vulnerabilities, and precise checks a maintainer would thank you for: on by default.
    Default,
    /// Stricter checks with more false positives, or style: opt in with `select = ["pedantic"]`.
    Pedantic,
    /// Checks that forbid something legitimate in general (`unwrap`, `var`, `any`), for codebases that choose
    /// to: opt in per rule or with `select = ["restriction"]`.
    Restriction,
}

impl RuleGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleGroup::Default => "default",
            RuleGroup::Pedantic => "pedantic",
            RuleGroup::Restriction => "restriction",
        }
    }
}

/// What a rule does in test code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestPolicy {
    /// Reports as anywhere else.
    Apply,
    /// Reports one severity lower.
    Downgrade,
    /// Does not report.
    Skip,
}

impl TestPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            TestPolicy::Apply => "apply",
            TestPolicy::Downgrade => "downgrade",
            TestPolicy::Skip => "skip",
        }
    }
}

/// A rule's triaged sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Precision {
    pub sampled: u32,
    pub true_positives: u32,
    pub false_positives: u32,
    pub debatable: u32,
}

impl Precision {
    /// The share of sampled findings triaged true (debatable ones count against it).
    pub fn ratio(&self) -> f64 {
        f64::from(self.true_positives) / f64::from(self.sampled.max(1))
    }

    /// `CodeQL`'s words for it: `very-high` (at least 95%), `high` (90%), `medium` (75%), else `low`.
    pub fn level(&self) -> &'static str {
        let ratio = self.ratio();
        if ratio >= 0.95 {
            "very-high"
        } else if ratio >= 0.90 {
            "high"
        } else if ratio >= 0.75 {
            "medium"
        } else {
            "low"
        }
    }
}

/// The committed triage of sampled findings on real projects; see `scripts/precision.py`.
const PRECISION_TRIAGE: &str = include_str!("../../rules/precision.tsv");

/// Each rule's precision from [`PRECISION_TRIAGE`].
fn measured_precision() -> HashMap<String, Precision> {
    let mut measured: HashMap<String, Precision> = HashMap::new();
    for line in PRECISION_TRIAGE.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (Some(rule), Some(verdict)) = (fields.get(3), fields.get(4)) else {
            continue;
        };
        let entry = measured.entry((*rule).to_owned()).or_insert(Precision {
            sampled: 0,
            true_positives: 0,
            false_positives: 0,
            debatable: 0,
        });
        entry.sampled += 1;
        match *verdict {
            "true" => entry.true_positives += 1,
            "false" => entry.false_positives += 1,
            _ => entry.debatable += 1,
        }
    }
    measured
}

/// A rule file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RuleLoadError {
    #[error("invalid rule file `{file}`: {message}")]
    Invalid { file: String, message: String },
    #[error("reading rule directory `{dir}`")]
    Io {
        dir: String,
        #[source]
        source: std::io::Error,
    },
}

/// What is wrong with one rule of a file; [`RuleLoadError::Invalid`] names the file.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct RuleProblem(String);

impl From<String> for RuleProblem {
    fn from(message: String) -> RuleProblem {
        RuleProblem(message)
    }
}

impl From<&str> for RuleProblem {
    fn from(message: &str) -> RuleProblem {
        RuleProblem(message.to_owned())
    }
}

pub(crate) struct CompiledRule {
    pub(crate) info: usize,
    pub(crate) config: RuleConfig<SupportLang>,
    /// Set for a taint rule, whose `config` matches its sinks.
    pub(crate) taint: Option<super::taint::CompiledTaint>,
}

/// One language's compiled rules with an index from tree-sitter node kind to the rules that can match a node of
/// that kind, built once so that a scan walks the tree a single time and tries only the candidate rules at each
/// node.
#[derive(Default)]
pub(crate) struct CompiledLanguage {
    pub(crate) rules: Vec<CompiledRule>,
    by_kind: Vec<Vec<usize>>,
    /// Indexes into `rules` of the taint rules, which run over whole functions rather than at single nodes.
    pub(crate) taint_rules: Vec<usize>,
}

impl CompiledLanguage {
    fn new(rules: Vec<CompiledRule>) -> CompiledLanguage {
        let mut by_kind: Vec<Vec<usize>> = Vec::new();
        let mut taint_rules = Vec::new();
        for (index, rule) in rules.iter().enumerate() {
            if rule.taint.is_some() {
                taint_rules.push(index);
                continue;
            }
            // `compile` refuses a rule without potential kinds, so every rule lands in at least one list.
            for kind in rule.config.matcher.potential_kinds().iter().flatten() {
                if by_kind.len() <= kind {
                    by_kind.resize_with(kind + 1, Vec::new);
                }
                by_kind[kind].push(index);
            }
        }
        CompiledLanguage {
            rules,
            by_kind,
            taint_rules,
        }
    }

    /// Indexes into `rules` of the rules worth trying on a node of `kind`.
    pub(crate) fn candidates(&self, kind: u16) -> &[usize] {
        self.by_kind
            .get(usize::from(kind))
            .map_or(&[], Vec::as_slice)
    }
}

/// A parsed rule waiting to be compiled for one target language.
struct PendingRule {
    info: usize,
    /// The rule; for a taint rule, its sinks.
    document: SerializableRuleConfig<SupportLang>,
    taint: Option<PendingTaint>,
}

/// A taint rule's sources and sanitizers, each an `any:` of the file's entries.
#[derive(Clone)]
struct PendingTaint {
    sources: SerializableRuleConfig<SupportLang>,
    /// The sources as written, to share their search between rules.
    sources_key: String,
    /// The sinks as written, for the text a function must hold to be worth following.
    sinks_key: String,
    sanitizers: Option<SerializableRuleConfig<SupportLang>>,
    propagators: Option<SerializableRuleConfig<SupportLang>>,
    handler_parameters: bool,
    tainted_start: bool,
    segments_are_safe: bool,
    raised_by_checks: Vec<String>,
}

/// Rules grouped by the language of the files they run on, compiled on first use.
pub struct RuleSet {
    /// The `default` group, resolved once.
    default_selection: OnceLock<super::selection::Selection>,
    infos: Vec<RuleInfo>,
    pending: HashMap<Language, Vec<PendingRule>>,
    compiled: HashMap<Language, OnceLock<CompiledLanguage>>,
    index_by_id: HashMap<String, usize>,
    version: String,
}

impl RuleSet {
    /// The built-in rules only.
    pub fn builtin() -> Result<RuleSet, RuleLoadError> {
        let mut builder = Builder::default();
        for (path, yaml) in BUILTIN_RULE_FILES {
            builder.add_file(path, yaml, "codeinsight")?;
        }
        Ok(builder.finish())
    }

    /// The built-in rules plus every `*.yml`/`*.yaml` file in `dir` (a missing directory adds nothing).
    pub fn with_user_rules(dir: &Path) -> Result<RuleSet, RuleLoadError> {
        let mut builder = Builder::default();
        for (path, yaml) in BUILTIN_RULE_FILES {
            builder.add_file(path, yaml, "codeinsight")?;
        }
        if dir.is_dir() {
            let io_error = |source| RuleLoadError::Io {
                dir: dir.display().to_string(),
                source,
            };
            let mut paths = fs::read_dir(dir)
                .map_err(io_error)?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension()
                        .is_some_and(|ext| ext == "yml" || ext == "yaml")
                })
                .collect::<Vec<_>>();
            paths.sort();
            for path in paths {
                let display = path.display().to_string();
                let yaml = fs::read_to_string(&path).map_err(|error| RuleLoadError::Invalid {
                    file: display.clone(),
                    message: error.to_string(),
                })?;
                builder.add_file(&display, &yaml, "user")?;
            }
        }
        Ok(builder.finish())
    }

    /// Every rule, built-in code rules included, sorted by id.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    pub fn get(&self, id: &str) -> Option<&RuleInfo> {
        self.index_by_id.get(id).map(|&index| &self.infos[index])
    }

    /// The index of rule `id` in [`RuleSet::rules`].
    pub(crate) fn index_of(&self, id: &str) -> Option<usize> {
        self.index_by_id.get(id).copied()
    }

    /// The rules that run when nothing else is selected: the `default` group.
    pub fn default_selection(&self) -> &super::selection::Selection {
        self.default_selection
            .get_or_init(|| super::selection::Selection::default_for(self))
    }

    /// A hash of the engine version and every rule's source: part of every cache key.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The compiled rules for files of `language`, compiling them on first use. A rule that fails to compile is
    /// left out; [`RuleSet::compile_all`] reports such failures (the built-in rules are checked by the tests, and
    /// user rules when they are loaded).
    pub(crate) fn compiled_for(&self, language: Language) -> Option<&CompiledLanguage> {
        let cell = self.compiled.get(&language)?;
        Some(cell.get_or_init(|| {
            let rules = self
                .pending
                .get(&language)
                .map(|pending| {
                    pending
                        .iter()
                        .filter_map(|rule| compile(rule, language, &self.infos).ok())
                        .collect()
                })
                .unwrap_or_default();
            CompiledLanguage::new(rules)
        }))
    }

    /// Compiles every rule for every language it applies to, reporting the first failure.
    pub fn compile_all(&self) -> Result<(), RuleLoadError> {
        for (&language, pending) in &self.pending {
            for rule in pending {
                compile(rule, language, &self.infos)?;
            }
        }
        Ok(())
    }

    pub(crate) fn info(&self, index: usize) -> &RuleInfo {
        &self.infos[index]
    }
}

#[derive(Default)]
struct Builder {
    infos: Vec<RuleInfo>,
    pending: HashMap<Language, Vec<PendingRule>>,
    sources: BTreeMap<String, String>,
    seen_ids: HashSet<String>,
}

impl Builder {
    fn add_file(&mut self, file: &str, yaml: &str, source: &str) -> Result<(), RuleLoadError> {
        let invalid = |message: String| RuleLoadError::Invalid {
            file: file.to_owned(),
            message,
        };
        let raw: Vec<serde_json::Value> =
            ast_grep_config::from_multiple(yaml).map_err(|error| invalid(error.to_string()))?;
        if raw.is_empty() {
            return Err(invalid("the file holds no rule".into()));
        }
        for value in raw {
            let (document, taint) = if value.get("mode").and_then(serde_json::Value::as_str)
                == Some("taint")
            {
                taint_documents(value).map_err(|problem| invalid(problem.0))?
            } else {
                (
                    serde_json::from_value(value).map_err(|error| invalid(error.to_string()))?,
                    None,
                )
            };
            self.add_rule(file, &document, source, taint.as_ref())
                .map_err(|problem| invalid(problem.0))?;
        }
        self.sources.insert(file.to_owned(), yaml.to_owned());
        Ok(())
    }

    fn add_rule(
        &mut self,
        file: &str,
        document: &SerializableRuleConfig<SupportLang>,
        source: &str,
        taint: Option<&PendingTaint>,
    ) -> Result<(), RuleProblem> {
        let id = document.id.trim().to_owned();
        if id.is_empty() {
            return Err(RuleProblem::from("rule has no `id`"));
        }
        if !self.seen_ids.insert(id.clone()) {
            // A later document of the same file with the same id is another form of that rule (matched and
            // fixed differently, e.g. `dbg!(x);` as a statement and `dbg!(x)` as a value); anywhere else a
            // repeated id is a mistake.
            let same_file = self
                .infos
                .iter()
                .position(|info| info.id == id && info.origin == file);
            let Some(info_index) = same_file else {
                return Err(RuleProblem::from(format!(
                    "rule id `{id}` is defined twice"
                )));
            };
            if taint.is_some() {
                return Err(RuleProblem::from(format!(
                    "rule `{id}`: a taint rule has one document"
                )));
            }
            return self.add_variant(info_index, document, source);
        }
        let language = Language::from_grammar(document.language).ok_or_else(|| {
            format!(
                "rule `{id}`: language `{}` is not supported by CodeInsight",
                document.language
            )
        })?;
        let metadata = document
            .metadata
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(|error| format!("rule `{id}`: unreadable `metadata`: {error}"))?
            .unwrap_or(serde_json::Value::Null);
        let severity = match metadata.get("severity").and_then(|value| value.as_str()) {
            Some(text) => text
                .parse::<Severity>()
                .map_err(|error| format!("rule `{id}`: metadata.severity: {error}"))?,
            None => match document.severity {
                ast_grep_config::Severity::Error => Severity::Major,
                ast_grep_config::Severity::Warning => Severity::Minor,
                _ => Severity::Info,
            },
        };
        if matches!(document.severity, ast_grep_config::Severity::Off) {
            return Ok(());
        }
        let category = metadata
            .get("category")
            .and_then(|value| value.as_str())
            .unwrap_or("correctness")
            .to_owned();
        let fix_safety = if document.fix.is_some() {
            Some(
                match metadata.get("fix-safety").and_then(|value| value.as_str()) {
                    Some("safe") => Applicability::Safe,
                    Some("unsafe") | None => Applicability::Unsafe,
                    Some(other) => {
                        return Err(RuleProblem::from(format!(
                            "rule `{id}`: metadata.fix-safety must be `safe` or `unsafe`, not `{other}`"
                        )));
                    }
                },
            )
        } else {
            None
        };
        let group = match metadata.get("group").and_then(|value| value.as_str()) {
            None | Some("default") => RuleGroup::Default,
            Some("pedantic") => RuleGroup::Pedantic,
            Some("restriction") => RuleGroup::Restriction,
            Some(other) => {
                return Err(RuleProblem::from(format!(
                    "rule `{id}`: metadata.group must be `default`, `pedantic` or `restriction`, not `{other}`"
                )));
            }
        };
        let tests = match metadata.get("tests").and_then(|value| value.as_str()) {
            None | Some("apply") => TestPolicy::Apply,
            Some("downgrade") => TestPolicy::Downgrade,
            Some("skip") => TestPolicy::Skip,
            Some(other) => {
                return Err(RuleProblem::from(format!(
                    "rule `{id}`: metadata.tests must be `apply`, `downgrade` or `skip`, not `{other}`"
                )));
            }
        };
        let strings = |key: &str| -> Vec<String> {
            metadata
                .get(key)
                .and_then(|value| value.as_array())
                .map(|values| {
                    values
                        .iter()
                        .filter_map(|value| value.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let cwe = strings("cwe")
            .iter()
            .map(|text| {
                text.trim_start_matches("CWE-").parse::<u32>().map_err(|_| {
                    format!("rule `{id}`: metadata.cwe entries look like `CWE-89`, not `{text}`")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let info_index = self.infos.len();
        self.infos.push(RuleInfo {
            id: id.clone(),
            language: Some(language),
            severity,
            category,
            message: document.message.clone(),
            docs: document.note.clone().unwrap_or_default(),
            fix_safety,
            source: source.to_owned(),
            origin: file.to_owned(),
            group,
            tests,
            equivalents: strings("equivalents"),
            cwe,
            precision: None,
            taint: taint.is_some(),
        });
        for &target in std::iter::once(&language).chain(language.rule_also_applies_to()) {
            let mut variant = document.clone();
            variant.language = target.grammar();
            let rule = PendingRule {
                info: info_index,
                document: variant,
                taint: taint.cloned().map(|mut taint| {
                    taint.sources.language = target.grammar();
                    if let Some(sanitizers) = &mut taint.sanitizers {
                        sanitizers.language = target.grammar();
                    }
                    if let Some(propagators) = &mut taint.propagators {
                        propagators.language = target.grammar();
                    }
                    taint
                }),
            };
            if source == "user" {
                compile(&rule, target, &self.infos).map_err(|error| match error {
                    RuleLoadError::Invalid { message, .. } => RuleProblem(message),
                    RuleLoadError::Io { .. } => RuleProblem(error.to_string()),
                })?;
            }
            self.pending.entry(target).or_default().push(rule);
        }
        Ok(())
    }

    /// Another document (form) of the rule at `info_index`, compiled for the same languages.
    fn add_variant(
        &mut self,
        info_index: usize,
        document: &SerializableRuleConfig<SupportLang>,
        source: &str,
    ) -> Result<(), RuleProblem> {
        let language = self.infos[info_index]
            .language
            .ok_or_else(|| "a language-agnostic rule has no forms".to_owned())?;
        if Language::from_grammar(document.language) != Some(language) {
            return Err(RuleProblem::from(format!(
                "rule `{}`: every form must be for `{}`",
                self.infos[info_index].id,
                language.name()
            )));
        }
        if document.fix.is_some() && self.infos[info_index].fix_safety.is_none() {
            self.infos[info_index].fix_safety = Some(Applicability::Unsafe);
        }
        for &target in std::iter::once(&language).chain(language.rule_also_applies_to()) {
            let mut variant = document.clone();
            variant.language = target.grammar();
            let rule = PendingRule {
                info: info_index,
                document: variant,
                taint: None,
            };
            if source == "user" {
                compile(&rule, target, &self.infos)
                    .map_err(|error| RuleProblem(error.to_string()))?;
            }
            self.pending.entry(target).or_default().push(rule);
        }
        Ok(())
    }

    fn finish(mut self) -> RuleSet {
        for info in secrets::rule_infos()
            .into_iter()
            .chain(suppression::rule_infos())
        {
            self.infos.push(info);
        }
        // Sort infos by id and remap the compiled rules' indices.
        let mut order: Vec<usize> = (0..self.infos.len()).collect();
        order.sort_by(|&a, &b| self.infos[a].id.cmp(&self.infos[b].id));
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let measured = measured_precision();
        let mut infos = Vec::with_capacity(order.len());
        for &old in &order {
            let mut info = self.infos[old].clone();
            if info.source == "codeinsight" {
                info.precision = measured.get(&info.id).copied();
            }
            infos.push(info);
        }
        for rules in self.pending.values_mut() {
            for rule in rules.iter_mut() {
                rule.info = new_index[rule.info];
            }
        }
        let index_by_id = infos
            .iter()
            .enumerate()
            .map(|(index, info)| (info.id.clone(), index))
            .collect();
        let mut hashed = String::from(ENGINE_VERSION);
        for (file, yaml) in &self.sources {
            hashed.push('\0');
            hashed.push_str(file);
            hashed.push('\0');
            hashed.push_str(yaml);
        }
        let compiled = self
            .pending
            .keys()
            .map(|&language| (language, OnceLock::new()))
            .collect();
        RuleSet {
            default_selection: OnceLock::new(),
            infos,
            pending: self.pending,
            compiled,
            index_by_id,
            version: crate::protocol::sha256_hex(hashed.as_bytes())[..16].to_owned(),
        }
    }
}

/// Compiles one parsed rule for `target`.
fn compile(
    rule: &PendingRule,
    target: Language,
    infos: &[RuleInfo],
) -> Result<CompiledRule, RuleLoadError> {
    let info = &infos[rule.info];
    let invalid = |message: String| RuleLoadError::Invalid {
        file: info.origin.clone(),
        message,
    };
    let config =
        RuleConfig::try_from(rule.document.clone(), &GlobalRules::default()).map_err(|error| {
            let mut message = format!("rule `{}`", info.id);
            if Some(target) != info.language {
                let _ = write!(message, " (compiled for {target})");
            }
            let _ = write!(message, ": {}", error_chain(&error));
            invalid(message)
        })?;
    if config.matcher.potential_kinds().is_none() {
        return Err(invalid(format!(
            "rule `{}`: the rule must name the node kinds it matches (add a `kind` or a `pattern`)",
            info.id
        )));
    }
    let taint = match &rule.taint {
        None => None,
        Some(taint) => {
            let part = |document: &SerializableRuleConfig<SupportLang>, what: &str| {
                RuleConfig::try_from(document.clone(), &GlobalRules::default()).map_err(|error| {
                    invalid(format!(
                        "rule `{}`: its {what}: {}",
                        info.id,
                        error_chain(&error)
                    ))
                })
            };
            Some(super::taint::CompiledTaint {
                sources: super::taint::Matcher::new(part(&taint.sources, "sources")?),
                sources_key: taint.sources_key.clone(),
                source_finder: serde_json::from_str(&taint.sources_key)
                    .ok()
                    .and_then(|sources| super::taint::source_texts(&sources))
                    .and_then(|texts| aho_corasick::AhoCorasick::new(texts).ok()),
                sink_texts: serde_json::from_str(&taint.sinks_key)
                    .ok()
                    .and_then(|sinks| super::taint::source_texts(&sinks)),
                sanitizers: taint
                    .sanitizers
                    .as_ref()
                    .map(|sanitizers| part(sanitizers, "sanitizers"))
                    .transpose()?
                    .map(super::taint::Matcher::new),
                propagators: taint
                    .propagators
                    .as_ref()
                    .map(|propagators| part(propagators, "propagators"))
                    .transpose()?
                    .map(super::taint::Matcher::new),
                handler_parameters: taint.handler_parameters,
                tainted_start: taint.tainted_start,
                segments_are_safe: taint.segments_are_safe,
                raised_by_checks: taint.raised_by_checks.clone(),
                sink_kinds: super::taint::Kinds::of(&config),
            })
        }
    };
    Ok(CompiledRule {
        info: rule.info,
        config,
        taint,
    })
}

/// A `mode: taint` document as the rule (its sinks, with the file's id, message, severity, note and metadata) and
/// its sources and sanitizers, each an `any:` of the file's list.
fn taint_documents(
    mut value: serde_json::Value,
) -> Result<(SerializableRuleConfig<SupportLang>, Option<PendingTaint>), RuleProblem> {
    let id = value
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let Some(object) = value.as_object_mut() else {
        return Err(RuleProblem::from("a rule is a mapping"));
    };
    object.remove("mode");
    if object.contains_key("rule") {
        return Err(RuleProblem::from(format!(
            "rule `{id}`: a taint rule has `sources`, `sinks`, `sanitizers` and `propagators`, not `rule`"
        )));
    }
    let mut flag = |key: &str| -> Result<bool, RuleProblem> {
        match object.remove(key) {
            None => Ok(false),
            Some(serde_json::Value::Bool(value)) => Ok(value),
            Some(_) => Err(RuleProblem::from(format!(
                "rule `{id}`: `{key}` is true or false"
            ))),
        }
    };
    let handler_parameters = flag("handler-parameters")?;
    let tainted_start = flag("tainted-start")?;
    let segments_are_safe = flag("segments-are-safe")?;
    let raised_by_checks = match object.remove("raised-by-checks") {
        None => Vec::new(),
        Some(serde_json::Value::Array(names)) => names
            .iter()
            .map(|name| name.as_str().map(str::to_owned))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| {
                RuleProblem::from(format!(
                    "rule `{id}`: `raised-by-checks` is a list of exception names"
                ))
            })?,
        Some(_) => {
            return Err(RuleProblem::from(format!(
                "rule `{id}`: `raised-by-checks` is a list of exception names"
            )));
        }
    };
    let mut list = |key: &str, required: bool| -> Result<Option<serde_json::Value>, RuleProblem> {
        match object.remove(key) {
            Some(serde_json::Value::Array(entries)) if !entries.is_empty() => {
                Ok(Some(serde_json::json!({ "any": entries })))
            }
            None if !required => Ok(None),
            _ => Err(RuleProblem::from(format!(
                "rule `{id}`: `{key}` must be a non-empty list of ast-grep rules"
            ))),
        }
    };
    let sources = list("sources", true)?;
    let sinks = list("sinks", true)?;
    let sanitizers = list("sanitizers", false)?;
    let propagators = list("propagators", false)?;
    let header = serde_json::Value::Object(object.clone());
    let document_with =
        |rule: serde_json::Value| -> Result<SerializableRuleConfig<SupportLang>, RuleProblem> {
            let mut document = header.clone();
            document["rule"] = rule;
            serde_json::from_value(document)
                .map_err(|error| RuleProblem::from(format!("rule `{id}`: {error}")))
        };
    let sinks = sinks.unwrap_or_default();
    let sinks_key = sinks.to_string();
    let sinks = document_with(sinks)?;
    let sources = sources.unwrap_or_default();
    let taint = PendingTaint {
        sources_key: sources.to_string(),
        sinks_key,
        sources: document_with(sources)?,
        sanitizers: sanitizers.map(&document_with).transpose()?,
        propagators: propagators.map(&document_with).transpose()?,
        handler_parameters,
        tainted_start,
        segments_are_safe,
        raised_by_checks,
    };
    Ok((sinks, Some(taint)))
}
