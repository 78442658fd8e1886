//! Embeds the built-in rule files (`rules/<language>/*.yml`) into the binary, so the engine needs no files at
//! run time. Fixture directories beside the rules are not embedded.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    println!("cargo::rerun-if-changed=rules");
    let mut rule_files = Vec::new();
    if let Ok(languages) = fs::read_dir("rules") {
        for language in languages.flatten() {
            if !language.path().is_dir() {
                continue;
            }
            for entry in fs::read_dir(language.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = entry.path();
                if path
                    .extension()
                    .is_some_and(|ext| ext == "yml" || ext == "yaml")
                {
                    rule_files.push(path);
                }
            }
        }
    }
    rule_files.sort();
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let mut generated =
        String::from("pub(crate) static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n");
    for path in &rule_files {
        let relative = path.to_string_lossy().replace('\\', "/");
        let absolute = Path::new(&manifest).join(path);
        let _ = writeln!(
            generated,
            "    ({relative:?}, include_str!({:?})),",
            absolute.to_string_lossy()
        );
    }
    generated.push_str("];\n");
    let out = env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    let _ = fs::write(Path::new(&out).join("builtin_rules.rs"), generated);
}
