//! The analysis engine: one source file in, findings out (built-in rules, the secrets scan, external linters).
//! Synchronous and free of network, database and terminal, so the server's workers, the benchmarks and the tests
//! all call the same code.

mod analyze;
pub mod context;
mod fix;
pub mod highlight;
mod language;
pub mod linters;
mod other_tools;
mod rules;
mod secrets;
pub mod selection;
mod suppression;
mod taint;

pub(crate) use analyze::by_position;
pub use analyze::{
    PastDeadline, SourceFile, analyze, analyze_selected, analyze_until, assign_fingerprints,
    clip_snippet,
};
pub use context::FileKind;
pub use fix::{FixError, FixOutcome, apply_fixes, parses_cleanly, unified_diff};
pub use language::Language;
pub use linters::{LintOutcome, LintTarget, Linters, LintersConfig, merge_findings};
pub use rules::{Precision, RuleGroup, RuleInfo, RuleLoadError, RuleSet, TestPolicy};
pub use secrets::{SecretMask, mask_secrets, mask_secrets_in_place, secret_spans};
pub use selection::Selection;
pub use suppression::{expired_suppressions, suppress};
