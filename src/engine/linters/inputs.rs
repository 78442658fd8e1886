//! What besides the file itself changes a linter's result when the linters run in the user's own project (the
//! embedded server, trusting its user's files): the configuration files they read from the file's directory and
//! above, and for Go the package's other files. Their contents are part of the result cache's key, so that editing
//! `ruff.toml` never serves the findings of the configuration before it. A confined server reads no project, so
//! nothing there but the file can change a result.

use std::path::Path;

use crate::engine::Language;
use crate::protocol::sha256_hex;

use super::discovery::{Linters, Tool};

/// The files each tool reads from the reviewed file's directory or above (ESLint's and Biome's are the ones their
/// runners look for).
fn config_names(tool: Tool) -> Vec<&'static str> {
    match tool {
        Tool::Ruff => vec![".ruff.toml", "ruff.toml", "pyproject.toml"],
        Tool::Clippy => vec!["clippy.toml", ".clippy.toml", "Cargo.toml", "Cargo.lock"],
        Tool::Shellcheck => vec![".shellcheckrc", "shellcheckrc"],
        Tool::Eslint => super::eslint::CONFIG_NAMES
            .into_iter()
            .chain(["package.json"])
            .collect(),
        Tool::Biome => super::biome::CONFIG_NAMES.to_vec(),
        Tool::GoVet | Tool::Staticcheck => vec!["go.mod", "go.sum", "staticcheck.conf"],
        Tool::Custom => Vec::new(),
    }
}

impl Linters {
    /// A hash of the project files the linters for `language` would read for a file in `directory`; `None` when
    /// the linters read no project (a confined server, a directory not on this machine) or no linter applies.
    pub fn project_inputs(&self, directory: &Path, language: Language) -> Option<String> {
        if self.confiner.isolation.confined() {
            return None;
        }
        let tools: Vec<Tool> = self
            .for_language(language)
            .map(|linter| linter.tool)
            .collect();
        if tools.is_empty() || !directory.is_dir() {
            return None;
        }
        let directory = std::fs::canonicalize(directory).ok()?;
        let mut names: Vec<&str> = tools.iter().flat_map(|&tool| config_names(tool)).collect();
        names.sort_unstable();
        names.dedup();
        let mut inputs = Vec::new();
        let mut add = |path: &Path| {
            if let Ok(bytes) = std::fs::read(path) {
                inputs.extend_from_slice(path.as_os_str().as_encoded_bytes());
                inputs.push(0);
                inputs.extend_from_slice(sha256_hex(&bytes).as_bytes());
                inputs.push(b'\n');
            }
        };
        for ancestor in directory.ancestors() {
            for name in &names {
                let candidate = ancestor.join(name);
                if candidate.is_file() {
                    add(&candidate);
                }
            }
        }
        // `go vet` and staticcheck check the whole package: its other files change what they say about this one.
        if tools
            .iter()
            .any(|tool| matches!(tool, Tool::GoVet | Tool::Staticcheck))
        {
            let mut siblings: Vec<_> = std::fs::read_dir(&directory)
                .ok()?
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.extension().is_some_and(|extension| extension == "go") && path.is_file()
                })
                .collect();
            siblings.sort();
            for sibling in &siblings {
                add(sibling);
            }
        }
        Some(sha256_hex(&inputs))
    }
}
