//! The analysis engine: one source file in, findings out. Synchronous and free of network, database and
//! terminal, so the server's workers, the benchmarks and the tests all call the same code.

mod analyze;
mod fix;
mod language;
mod rules;
mod secrets;
mod suppression;

pub use analyze::{SourceFile, analyze};
pub use fix::{FixError, FixOutcome, apply_fixes, parses_cleanly, unified_diff};
pub use language::Language;
pub use rules::{RuleInfo, RuleLoadError, RuleSet};
pub use secrets::{mask_secrets, secret_spans};
