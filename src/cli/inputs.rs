//! Turning `review`'s path arguments into the files to send: explicit files, directories walked with `.gitignore`
//! and `.codeinsight/ignore` honoured, globs, and `-` for stdin. Binary, oversized, not-UTF-8, generated,
//! minified and vendored files are not sent; they are returned as skipped with a reason. Found while walking a
//! directory or matching a glob, they are left out by policy (listed, but the review is complete without them);
//! named on the command line, they make the review incomplete. Vendored and generated code is recognised by
//! path (`vendor/`, `node_modules/`, ...), by `.gitattributes` (`linguist-vendored`, `linguist-generated`) and by
//! generators' markers; minified code by its line lengths.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::engine::{FileKind, Language};
use crate::render::SkippedFile;

use super::config::Config;
use super::failure::Failure;

/// The server refuses larger files; skipping them here says why without a round trip.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// How much of a file is looked at for NUL bytes and generated-file markers.
const SNIFF_BYTES: usize = 8 * 1024;

/// A file to review.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// The path shown and sent to the server, relative to the working directory when possible.
    pub display_path: String,
    /// Where it lives on disk; `None` for stdin.
    pub disk_path: Option<PathBuf>,
    pub content: String,
}

#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<InputFile>,
    pub skipped: Vec<SkippedFile>,
}

/// Whether a path was named by the user or found by walking: walked files without a known language are left out
/// silently, named ones are always sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Named,
    Walked,
}

enum Candidate {
    File(InputFile),
    Skipped(SkippedFile),
    Ignored,
}

pub fn collect(
    paths: &[String],
    stdin_filename: Option<&str>,
    config: &Config,
    cwd: &Path,
) -> Result<Inputs, Failure> {
    let filters = Filters::new(config)?;
    let mut files: BTreeMap<String, InputFile> = BTreeMap::new();
    let mut skipped: BTreeMap<String, SkippedFile> = BTreeMap::new();
    let mut add = |candidate: Candidate| match candidate {
        Candidate::File(file) => {
            files.insert(file.display_path.clone(), file);
        }
        Candidate::Skipped(file) => {
            skipped.insert(file.path.clone(), file);
        }
        Candidate::Ignored => {}
    };
    for argument in paths {
        if argument == "-" {
            let mut content = String::new();
            std::io::stdin()
                .read_to_string(&mut content)
                .map_err(|error| Failure::usage(format!("cannot read stdin: {error}")))?;
            let display_path = stdin_filename.unwrap_or("stdin").to_owned();
            add(Candidate::File(InputFile {
                display_path,
                disk_path: None,
                content,
            }));
            continue;
        }
        let path = Path::new(argument);
        if path.is_file() {
            add(examine(path, Origin::Named, &Attributes::default())?);
        } else if path.is_dir() {
            let attributes = Attributes::load(&[path, &config.root]);
            for file in walk(path, config)? {
                if filters.allows(&cwd.join(&file), &config.root) {
                    add(examine(&file, Origin::Walked, &attributes)?);
                }
            }
        } else if is_glob(argument) {
            let matched = expand_glob(argument, config)?;
            if matched.is_empty() {
                return Err(Failure::usage(format!(
                    "glob `{argument}` matched no files"
                )));
            }
            let attributes = Attributes::load(&[&config.root]);
            for file in matched {
                if filters.allows(&cwd.join(&file), &config.root) {
                    add(examine(&file, Origin::Walked, &attributes)?);
                }
            }
        } else {
            return Err(Failure::missing_path(argument));
        }
    }
    Ok(Inputs {
        files: files.into_values().collect(),
        skipped: skipped.into_values().collect(),
    })
}

fn display(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").unwrap_or(&text).to_owned()
}

fn examine(path: &Path, origin: Origin, attributes: &Attributes) -> Result<Candidate, Failure> {
    let display_path = display(path);
    let skip = |reason: String| {
        Ok(Candidate::Skipped(SkippedFile {
            path: display_path.clone(),
            reason,
            policy: origin == Origin::Walked,
        }))
    };
    if origin == Origin::Walked
        && let Some(reason) = attributes.reason(path)
    {
        return skip(reason.to_owned());
    }
    if origin == Origin::Walked && Language::detect(&display_path, "").is_none() {
        // No extension match: only a shebang could make this a source file.
        let head = read_head(path, 256).map_err(|error| Failure::unreadable(path, &error))?;
        let first_line = String::from_utf8_lossy(&head);
        let first_line = first_line.lines().next().unwrap_or("");
        if !first_line.starts_with("#!") || Language::detect(&display_path, first_line).is_none() {
            return Ok(Candidate::Ignored);
        }
    }
    let size = std::fs::metadata(path)
        .map_err(|error| Failure::unreadable(path, &error))?
        .len();
    if size > MAX_FILE_BYTES {
        return skip(format!(
            "too large ({:.1} MiB > 1 MiB)",
            size as f64 / (1024.0 * 1024.0)
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| Failure::unreadable(path, &error))?;
    if bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) {
        return skip("binary".to_owned());
    }
    let Ok(content) = String::from_utf8(bytes) else {
        return skip("not UTF-8 text".to_owned());
    };
    if let Some(reason) = kind_reason(&display_path, &content) {
        return skip(reason.to_owned());
    }
    Ok(Candidate::File(InputFile {
        display_path,
        disk_path: Some(path.to_path_buf()),
        content,
    }))
}

fn read_head(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// Why a file is not the project's own hand-written code, if it is not: the engine's judgement
/// ([`crate::engine::context`]), so that the client and the rules agree.
fn kind_reason(path: &str, content: &str) -> Option<&'static str> {
    match crate::engine::context::classify(path, content) {
        FileKind::Generated => Some("generated"),
        FileKind::Minified => Some("minified"),
        FileKind::Vendored => Some("vendored"),
        FileKind::Code | FileKind::Test | FileKind::Example => None,
    }
}

/// `.gitattributes` files of the walked trees: paths marked `linguist-vendored` or `linguist-generated`.
#[derive(Default)]
struct Attributes {
    vendored: Vec<ignore::gitignore::Gitignore>,
    generated: Vec<ignore::gitignore::Gitignore>,
}

impl Attributes {
    /// Reads `.gitattributes` in `root` and in the project root, if they exist.
    fn load(roots: &[&Path]) -> Attributes {
        let mut attributes = Attributes::default();
        let mut seen = Vec::new();
        for root in roots {
            let file = root.join(".gitattributes");
            let Ok(canonical) = std::fs::canonicalize(&file) else {
                continue;
            };
            if seen.contains(&canonical) {
                continue;
            }
            seen.push(canonical);
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let mut vendored = ignore::gitignore::GitignoreBuilder::new(root);
            let mut generated = ignore::gitignore::GitignoreBuilder::new(root);
            for line in text.lines() {
                let mut words = line.split_whitespace();
                let Some(pattern) = words.next().filter(|word| !word.starts_with('#')) else {
                    continue;
                };
                for attribute in words {
                    let target = match attribute {
                        "linguist-vendored" | "linguist-vendored=true" => &mut vendored,
                        "linguist-generated" | "linguist-generated=true" => &mut generated,
                        _ => continue,
                    };
                    // A pattern `ignore` cannot parse is one git would not match either.
                    let _ = target.add_line(None, pattern);
                }
            }
            attributes.vendored.extend(vendored.build().ok());
            attributes.generated.extend(generated.build().ok());
        }
        attributes
    }

    fn reason(&self, path: &Path) -> Option<&'static str> {
        let matches = |sets: &[ignore::gitignore::Gitignore]| {
            sets.iter()
                .any(|set| set.matched_path_or_any_parents(path, false).is_ignore())
        };
        if matches(&self.vendored) {
            Some("vendored (`.gitattributes`)")
        } else if matches(&self.generated) {
            Some("generated (`.gitattributes`)")
        } else {
            None
        }
    }
}

fn is_glob(argument: &str) -> bool {
    argument.contains(['*', '?', '[', '{'])
}

fn walker(root: &Path, config: &Config) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(root);
    builder.require_git(false).sort_by_file_name(Ord::cmp);
    let project_ignore = config.root.join(".codeinsight").join("ignore");
    if project_ignore.is_file() {
        // A broken ignore file is reported by `ignore` as a partial error; the walk still honours the rest.
        let _ = builder.add_ignore(project_ignore);
    }
    builder
}

fn walk(root: &Path, config: &Config) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for entry in walker(root, config).build() {
        let entry = entry
            .map_err(|error| Failure::usage(format!("walking `{}`: {error}", root.display())))?;
        if entry.file_type().is_some_and(|kind| kind.is_file()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}

fn expand_glob(pattern: &str, config: &Config) -> Result<Vec<PathBuf>, Failure> {
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    let literal: Vec<&str> = pattern
        .split('/')
        .take_while(|component| !is_glob(component))
        .collect();
    let base = if literal.is_empty() {
        PathBuf::from(".")
    } else {
        PathBuf::from(literal.join("/"))
    };
    let matcher = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|error| Failure::usage(format!("invalid glob `{pattern}`: {error}")))?
        .compile_matcher();
    if !base.is_dir() {
        return Ok(Vec::new());
    }
    Ok(walk(&base, config)?
        .into_iter()
        .filter(|path| matcher.is_match(display(path)))
        .collect())
}

/// `include` / `exclude` globs from `codeinsight.toml`, relative to its directory.
struct Filters {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl Filters {
    fn new(config: &Config) -> Result<Filters, Failure> {
        let build = |patterns: &[String]| -> Result<Option<GlobSet>, Failure> {
            if patterns.is_empty() {
                return Ok(None);
            }
            let mut builder = GlobSetBuilder::new();
            for pattern in patterns {
                let glob = Glob::new(pattern).map_err(|error| {
                    let path = config.path.clone().unwrap_or_default();
                    Failure::invalid_config(&path, format!("invalid glob `{pattern}`: {error}"))
                })?;
                builder.add(glob);
            }
            builder
                .build()
                .map(Some)
                .map_err(|error| Failure::usage(error.to_string()))
        };
        Ok(Filters {
            include: build(&config.file.include)?,
            exclude: build(&config.file.exclude)?,
        })
    }

    fn allows(&self, absolute: &Path, root: &Path) -> bool {
        let relative = absolute.strip_prefix(root).unwrap_or(absolute);
        let relative = display(relative);
        if let Some(include) = &self.include {
            if !include.is_match(&relative) {
                return false;
            }
        }
        self.exclude
            .as_ref()
            .is_none_or(|exclude| !exclude.is_match(&relative))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_leaves_out_vendored_generated_and_minified_files_by_policy() {
        let root = tempfile::tempdir().unwrap();
        let write = |relative: &str, content: &str| {
            let path = root.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        };
        write("src/app.py", "def main():\n    return 1\n");
        write("static/jquery.min.js", "!function(e){return e}(window);\n");
        write(
            "static/bundle.js",
            &format!("!function(e){{{}}}();\n", "var a=e.b+1;".repeat(700)),
        );
        write(
            "api/api.pb.go",
            "// Code generated by protoc-gen-go. DO NOT EDIT.\n// source: api.proto\n\npackage api\n",
        );
        write("vendor/github.com/x/y/y.go", "package y\n");
        write("third/lib.py", "x = 1\n");
        write("gen/schema.py", "x = 1\n");
        write(
            ".gitattributes",
            "third/** linguist-vendored\ngen/*.py linguist-generated=true\n",
        );
        let config = Config {
            root: root.path().to_path_buf(),
            ..Config::default()
        };
        let walked = root.path().display().to_string();
        let inputs = collect(&[walked], None, &config, root.path()).unwrap();
        let sent: Vec<_> = inputs
            .files
            .iter()
            .map(|file| file.display_path.clone())
            .collect();
        assert_eq!(sent.len(), 1, "{sent:?}");
        assert!(sent[0].ends_with("src/app.py"));
        let mut left_out: Vec<(String, String, bool)> = inputs
            .skipped
            .iter()
            .map(|file| {
                let name = file
                    .path
                    .rsplit_once(root.path().to_string_lossy().as_ref())
                    .map_or(file.path.clone(), |(_, rest)| {
                        rest.trim_start_matches('/').to_owned()
                    });
                (name, file.reason.clone(), file.policy)
            })
            .collect();
        left_out.sort();
        assert_eq!(
            left_out,
            [
                ("api/api.pb.go".into(), "generated".into(), true),
                (
                    "gen/schema.py".into(),
                    "generated (`.gitattributes`)".into(),
                    true
                ),
                ("static/bundle.js".into(), "minified".into(), true),
                ("static/jquery.min.js".into(), "minified".into(), true),
                (
                    "third/lib.py".into(),
                    "vendored (`.gitattributes`)".into(),
                    true
                ),
                ("vendor/github.com/x/y/y.go".into(), "vendored".into(), true),
            ]
        );
        // Named on the command line, a minified file is not left out quietly: it is not reviewed.
        let named = root.path().join("static/bundle.js").display().to_string();
        let inputs = collect(&[named], None, &config, root.path()).unwrap();
        assert_eq!(inputs.skipped.len(), 1);
        assert!(!inputs.skipped[0].policy);
    }
}
