//! Which rules run on a file: a [`RuleSelection`] (from `[rules]` in codeinsight.toml or `--select`/`--ignore`)
//! resolved against a [`RuleSet`] into one on/off switch per rule, plus per-path overrides and the ignored ids of
//! other tools. Resolved once per run; a file looks up its switches by path.

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::rules::{RuleGroup, RuleInfo, RuleSet};
use crate::protocol::RuleSelection;

/// Prefixes of rule ids other engines' findings carry besides the linters' own names
/// ([`super::linters::BUILTIN_NAMES`]); `ignore` may name them although no built-in rule matches.
const OTHER_PREFIXES: [&str; 3] = ["ai", "llm", "codeinsight"];

/// A selection resolved against a rule set.
#[derive(Debug, Clone)]
pub struct Selection {
    base: Vec<bool>,
    base_ignore: Vec<String>,
    per_path: Vec<PathOverride>,
    /// The selection as configured, canonical: part of every cache key.
    fingerprint: String,
}

#[derive(Debug, Clone)]
struct PathOverride {
    globs: GlobSet,
    select: Vec<String>,
    ignore: Vec<String>,
}

/// The rules on for one file.
#[derive(Debug, Clone)]
pub struct Enabled<'a> {
    switches: std::borrow::Cow<'a, [bool]>,
    ignore: Vec<&'a str>,
}

impl Enabled<'_> {
    /// Whether the rule at `index` in the rule set runs.
    pub(crate) fn rule(&self, index: usize) -> bool {
        self.switches.get(index).copied().unwrap_or(false)
    }

    /// Whether a finding with `rule_id` (any tool's) is to be dropped.
    pub fn ignores(&self, rule_id: &str) -> bool {
        self.ignore
            .iter()
            .any(|pattern| id_matches(pattern, rule_id))
    }
}

/// Why a selection is refused.
#[derive(Debug, thiserror::Error)]
pub enum SelectionError {
    #[error("unknown rule, prefix or group `{0}` (groups: default, pedantic, restriction, all)")]
    Unknown(String),
    #[error("invalid path glob `{glob}`: {reason}")]
    Glob { glob: String, reason: String },
}

impl Selection {
    /// The `default` group.
    pub fn default_for(rules: &RuleSet) -> Selection {
        Selection::resolve(&RuleSelection::default(), rules).unwrap_or_else(|_| {
            Selection::from_switches(rules, |info| info.group == RuleGroup::Default)
        })
    }

    /// Every rule, whatever its group (what the fixture tests run).
    pub fn all(rules: &RuleSet) -> Selection {
        Selection::from_switches(rules, |_| true)
    }

    fn from_switches(rules: &RuleSet, on: impl Fn(&RuleInfo) -> bool) -> Selection {
        Selection {
            base: rules.rules().iter().map(on).collect(),
            base_ignore: Vec::new(),
            per_path: Vec::new(),
            fingerprint: String::new(),
        }
    }

    /// Resolves `config` against `rules`, refusing a selector that names nothing.
    pub fn resolve(config: &RuleSelection, rules: &RuleSet) -> Result<Selection, SelectionError> {
        let infos = rules.rules();
        let check = |patterns: &[String], for_ignore: bool| -> Result<(), SelectionError> {
            for pattern in patterns {
                let known = infos.iter().any(|info| selects(pattern, info))
                    || (for_ignore && names_a_tool(pattern));
                if !known {
                    return Err(SelectionError::Unknown(pattern.clone()));
                }
            }
            Ok(())
        };
        check(&config.select, false)?;
        check(&config.ignore, true)?;
        let mut per_path = Vec::with_capacity(config.per_path.len());
        for entry in &config.per_path {
            check(&entry.select, false)?;
            check(&entry.ignore, true)?;
            let mut builder = GlobSetBuilder::new();
            for glob in &entry.paths {
                let compiled = Glob::new(glob).map_err(|error| SelectionError::Glob {
                    glob: glob.clone(),
                    reason: error.to_string(),
                })?;
                builder.add(compiled);
            }
            per_path.push(PathOverride {
                globs: builder.build().map_err(|error| SelectionError::Glob {
                    glob: entry.paths.join(", "),
                    reason: error.to_string(),
                })?,
                select: entry.select.clone(),
                ignore: entry.ignore.clone(),
            });
        }
        let select: Vec<String> = if config.select.is_empty() {
            vec!["default".to_owned()]
        } else {
            config.select.clone()
        };
        let base = infos
            .iter()
            .map(|info| {
                select.iter().any(|pattern| selects(pattern, info))
                    && !config.ignore.iter().any(|pattern| selects(pattern, info))
            })
            .collect();
        Ok(Selection {
            base,
            base_ignore: config.ignore.clone(),
            per_path,
            fingerprint: serde_json::to_string(config).unwrap_or_default(),
        })
    }

    /// The rules on for the file at `path`.
    pub fn for_path<'a>(&'a self, rules: &RuleSet, path: &str) -> Enabled<'a> {
        let matching: Vec<&PathOverride> = self
            .per_path
            .iter()
            .filter(|entry| entry.globs.is_match(path))
            .collect();
        let mut ignore: Vec<&str> = self.base_ignore.iter().map(String::as_str).collect();
        if matching.is_empty() {
            return Enabled {
                switches: std::borrow::Cow::Borrowed(&self.base),
                ignore,
            };
        }
        let mut switches = self.base.clone();
        for (switch, info) in switches.iter_mut().zip(rules.rules()) {
            for entry in &matching {
                if entry.select.iter().any(|pattern| selects(pattern, info)) {
                    *switch = true;
                }
                if entry.ignore.iter().any(|pattern| selects(pattern, info)) {
                    *switch = false;
                }
            }
        }
        for entry in matching {
            ignore.extend(entry.ignore.iter().map(String::as_str));
        }
        Enabled {
            switches: std::borrow::Cow::Owned(switches),
            ignore,
        }
    }

    /// The configured selection, canonical; empty for the default.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the rule at `index` runs on files no per-path entry matches.
    pub fn selects_by_default(&self, index: usize) -> bool {
        self.base.get(index).copied().unwrap_or(false)
    }
}

/// Whether selector `pattern` names the rule `info`.
fn selects(pattern: &str, info: &RuleInfo) -> bool {
    match pattern {
        "all" => true,
        "default" | "pedantic" | "restriction" => info.group.as_str() == pattern,
        _ => id_matches(pattern, &info.id),
    }
}

/// A rule id against an id or a prefix (`python/`, `python/*`, `python`).
fn id_matches(pattern: &str, id: &str) -> bool {
    let prefix = pattern.trim_end_matches('*').trim_end_matches('/');
    id == pattern
        || id
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn names_a_tool(pattern: &str) -> bool {
    let head = pattern.split('/').next().unwrap_or(pattern);
    super::linters::BUILTIN_NAMES.contains(&head) || OTHER_PREFIXES.contains(&head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::PathRules;

    fn ids_on(selection: &Selection, rules: &RuleSet, path: &str) -> Vec<String> {
        let enabled = selection.for_path(rules, path);
        rules
            .rules()
            .iter()
            .enumerate()
            .filter(|(index, _)| enabled.rule(*index))
            .map(|(_, info)| info.id.clone())
            .collect()
    }

    #[test]
    fn groups_ids_prefixes_and_per_path_entries_select() {
        let rules = RuleSet::builtin().unwrap();
        let default = Selection::default_for(&rules);
        let on = ids_on(&default, &rules, "app.py");
        assert!(
            on.iter()
                .all(|id| rules.get(id).unwrap().group == RuleGroup::Default)
        );
        assert!(on.contains(&"secrets/aws-access-key".to_owned()));
        let config = RuleSelection {
            select: vec!["default".into(), "rust/unwrap-used".into()],
            ignore: vec!["secrets/".into(), "ruff/E501".into()],
            per_path: vec![PathRules {
                paths: vec!["tests/**".into()],
                select: vec![],
                ignore: vec!["rust/unwrap-used".into()],
            }],
        };
        let selection = Selection::resolve(&config, &rules).unwrap();
        let on = ids_on(&selection, &rules, "src/lib.rs");
        assert!(on.contains(&"rust/unwrap-used".to_owned()));
        assert!(!on.iter().any(|id| id.starts_with("secrets/")));
        assert!(
            !ids_on(&selection, &rules, "tests/it.rs").contains(&"rust/unwrap-used".to_owned())
        );
        assert!(selection.for_path(&rules, "a.py").ignores("ruff/E501"));
        assert!(!selection.for_path(&rules, "a.py").ignores("ruff/E502"));
        let unknown = RuleSelection {
            select: vec!["pythn/".into()],
            ..RuleSelection::default()
        };
        assert!(matches!(
            Selection::resolve(&unknown, &rules),
            Err(SelectionError::Unknown(name)) if name == "pythn/"
        ));
    }
}
