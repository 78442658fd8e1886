//! External linters (ruff, clippy, `ShellCheck`, `ESLint`, Biome, `go vet`, staticcheck, and custom ones) run on one
//! file each in a temporary directory, their output normalised into findings with our positions, severities and
//! fix edits, and one stage report per linter. Synchronous like the rest of the engine; the server decides where
//! and how many run at once.

mod biome;
mod clippy;
mod config;
mod custom;
mod discovery;
mod eslint;
mod go;
mod inputs;
mod merge;
mod positions;
mod process;
mod ruff;
mod run;
mod sandbox;
mod shellcheck;

pub use config::{
    CustomFormat, CustomLinterConfig, DEFAULT_TIMEOUT, JsonShape, LintersConfig, SandboxSetting,
    ToolConfig, Trust,
};
pub use discovery::{BUILTIN_NAMES, Linter, Linters, Origin, Tool};
pub use merge::merge_findings;
pub use run::{LintOutcome, LintTarget};
pub use sandbox::{DEFAULT_MEMORY_MB, Isolation, ResourceLimits};
