//! Engine benchmark: analyses every source file under the given directories with the built-in rules, using all
//! cores (rayon), and prints files, bytes, findings and wall time. `scripts/bench-engine.sh` runs it beside
//! `ast-grep scan` on the same files with the same rule YAMLs.
//!
//! Usage: `cargo bench --bench engine -- [--all | --without-taint] [--per-rule] DIR...` (`--all` runs every rule
//! group, not only the defaults; `--without-taint` the defaults but the taint rules; `--per-rule` then times each
//! rule alone and prints the slowest)

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports on the terminal

use std::path::{Path, PathBuf};
use std::time::Instant;

use codeinsight::engine::{Language, RuleSet, Selection, SourceFile, analyze_selected};
use codeinsight::protocol::RuleSelection;
use rayon::prelude::*;

fn main() {
    let dirs: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        eprintln!("usage: cargo bench --bench engine -- DIR...");
        std::process::exit(2);
    }
    let started = Instant::now();
    let rules = match RuleSet::builtin() {
        Ok(rules) => rules,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::exit(2);
        }
    };
    let all = std::env::args().any(|arg| arg == "--all");
    let selection = if all {
        Selection::all(&rules)
    } else if std::env::args().any(|arg| arg == "--without-taint") {
        // The default rules but the taint ones: what taint mode adds is the difference with a plain run.
        let without = RuleSelection {
            ignore: rules
                .rules()
                .iter()
                .filter(|info| info.taint)
                .map(|info| info.id.clone())
                .collect(),
            ..RuleSelection::default()
        };
        Selection::resolve(&without, &rules).unwrap_or_else(|error| {
            eprintln!("error: {error}");
            std::process::exit(2);
        })
    } else {
        Selection::default_for(&rules)
    };
    let load = started.elapsed();
    let mut paths = Vec::new();
    for dir in &dirs {
        walk(dir, &mut paths);
    }
    let files: Vec<(String, String)> = paths
        .into_iter()
        .filter_map(|path| {
            let content = std::fs::read_to_string(&path).ok()?;
            Some((path.to_string_lossy().into_owned(), content))
        })
        .collect();
    let bytes: usize = files.iter().map(|(_, content)| content.len()).sum();
    let run = |selection: &Selection| -> usize {
        files
            .par_iter()
            .map(|(path, content)| {
                let language = Language::detect(path, content);
                analyze_selected(
                    &SourceFile {
                        path,
                        content,
                        language,
                    },
                    &rules,
                    selection,
                )
                .len()
            })
            .sum()
    };
    let analysing = Instant::now();
    let findings = run(&selection);
    let analysis = analysing.elapsed();
    if std::env::args().any(|arg| arg == "--per-rule") {
        let mut timings: Vec<(f64, &str)> = rules
            .rules()
            .iter()
            .filter_map(|info| {
                let one = RuleSelection {
                    select: vec![info.id.clone()],
                    ..RuleSelection::default()
                };
                let selection = Selection::resolve(&one, &rules).ok()?;
                let started = Instant::now();
                run(&selection);
                Some((started.elapsed().as_secs_f64() * 1000.0, info.id.as_str()))
            })
            .collect();
        timings.sort_by(|a, b| b.0.total_cmp(&a.0));
        for (ms, id) in timings.iter().take(10) {
            println!("{ms:9.1} ms  {id}");
        }
    }
    println!(
        "rules={} files={} bytes={} findings={} rules_load_ms={:.1} analysis_ms={:.1} total_ms={:.1} threads={}",
        if all {
            "all"
        } else if std::env::args().any(|arg| arg == "--without-taint") {
            "default-without-taint"
        } else {
            "default"
        },
        files.len(),
        bytes,
        findings,
        load.as_secs_f64() * 1000.0,
        analysis.as_secs_f64() * 1000.0,
        started.elapsed().as_secs_f64() * 1000.0,
        rayon::current_num_threads()
    );
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        if dir.is_file() {
            out.push(dir.to_path_buf());
        }
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if Language::detect(&path.to_string_lossy(), "").is_some() {
            out.push(path);
        }
    }
}
