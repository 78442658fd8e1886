//! `codeinsight.toml`, found by walking up from the working directory. It is the lowest layer of settings: flags
//! override the environment, which overrides this file. Unknown keys are errors, so a typo is never silently
//! ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::failure::Failure;

pub const CONFIG_FILE_NAME: &str = "codeinsight.toml";

/// The file's contents. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Review server URL.
    pub server: Option<String>,
    /// The token itself (prefer `token_env`).
    pub token: Option<String>,
    /// Name of an environment variable holding the token.
    pub token_env: Option<String>,
    /// The token's user id, when the server has no `whoami` route.
    pub user: Option<String>,
    pub fail_on: Option<String>,
    pub report_min: Option<String>,
    /// Globs (relative to the config file's directory) a walked file must match.
    #[serde(default)]
    pub include: Vec<String>,
    /// Globs (relative to the config file's directory) that exclude walked files.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Directory of user rules for the embedded server (default `.codeinsight/rules`).
    pub rules_dir: Option<PathBuf>,
    /// The AI reviewer's model (`serve` and the embedded server).
    pub llm: Option<super::llm::LlmFile>,
    /// External linters for the embedded server (and `codeinsight serve` started here): `[linters]`.
    #[serde(default)]
    pub linters: crate::engine::LintersConfig,
    /// Which built-in rules run: `[rules] select`, `ignore` and `[[rules.per-path]]`.
    #[serde(default)]
    pub rules: crate::protocol::RuleSelection,
}

/// A loaded configuration and where it came from.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub file: ConfigFile,
    /// The file's path; `None` when no file was found.
    pub path: Option<PathBuf>,
    /// The project root: the file's directory, or the working directory.
    pub root: PathBuf,
}

impl Config {
    /// Finds and parses `codeinsight.toml` in `start` or its ancestors.
    pub fn discover(start: &Path) -> Result<Config, Failure> {
        for directory in start.ancestors() {
            let candidate = directory.join(CONFIG_FILE_NAME);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
        }
        Ok(Config {
            file: ConfigFile::default(),
            path: None,
            root: start.to_path_buf(),
        })
    }

    pub fn load(path: &Path) -> Result<Config, Failure> {
        let text =
            std::fs::read_to_string(path).map_err(|error| Failure::unreadable(path, &error))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|error| Failure::invalid_config(path, error.message()))?;
        for (key, value) in [("fail_on", &file.fail_on), ("report_min", &file.report_min)] {
            if let Some(value) = value {
                let allowed: &[&str] = if key == "fail_on" {
                    &["critical", "major", "minor", "info", "never"]
                } else {
                    &["critical", "major", "minor", "info"]
                };
                if !allowed.contains(&value.as_str()) {
                    return Err(Failure::invalid_config(
                        path,
                        format!(
                            "`{key}` is `{value}`, expected one of {}",
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
        for pattern in file.include.iter().chain(&file.exclude) {
            if let Err(error) = globset::Glob::new(pattern) {
                return Err(Failure::invalid_config(
                    path,
                    format!("invalid glob `{pattern}`: {error}"),
                ));
            }
        }
        file.linters
            .validate()
            .map_err(|error| Failure::invalid_config(path, error.0))?;
        let root = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Ok(Config {
            file,
            path: Some(path.to_path_buf()),
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Config;

    #[test]
    fn unknown_keys_and_bad_severities_are_rejected_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codeinsight.toml");
        std::fs::write(&path, "fail_onn = \"major\"\n").unwrap();
        let error = Config::load(&path).unwrap_err();
        assert!(
            error.message.contains("codeinsight.toml"),
            "{}",
            error.message
        );
        std::fs::write(&path, "fail_on = \"huge\"\n").unwrap();
        let error = Config::load(&path).unwrap_err();
        assert!(
            error.message.contains("`fail_on` is `huge`"),
            "{}",
            error.message
        );
    }

    #[test]
    fn discovery_walks_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("codeinsight.toml"), "fail_on = \"minor\"\n").unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        let config = Config::discover(&nested).unwrap();
        assert_eq!(config.file.fail_on.as_deref(), Some("minor"));
        assert_eq!(config.root, dir.path());
    }
}
