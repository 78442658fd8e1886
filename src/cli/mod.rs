//! The command line: clap arguments, settings resolution (flags over environment over `codeinsight.toml`), the
//! commands, the progress display, the printer that owns stdout and stderr, and the exit status. Analysis and
//! protocol logic live below, in `client`, `server` and `engine`; rendering lives in `render`.

mod args;
mod baseline;
mod batches;
mod changed;
mod commands;
mod config;
mod connection;
mod dashboard;
mod entry;
mod exit_status;
mod failure;
mod fixes;
mod github_actions;
mod inputs;
mod llm;
mod outcome;
mod output;
mod printer;
mod progress;
mod provenance;
mod repo_paths;
mod scope;
mod settings;
mod waiting;

pub use entry::main;
pub use exit_status::ExitStatus;
