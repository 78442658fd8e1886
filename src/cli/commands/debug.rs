//! `codeinsight debug FILE --error-log LOG`: a debug job. The file and its error output go to the
//! server as one `debug` job with the AI review requested; the server reads the stack trace to point the model
//! at the failing lines. The answer is the same report as `review` (findings, suggested fixes as diffs, the
//! verdict and its exit status); without an LLM configured the job is incomplete (exit 5).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use crate::client::Subject;
use crate::protocol::EnqueueRequest;

use crate::cli::args::DebugArgs;
use crate::cli::config::Config;
use crate::cli::connection::Connection;
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::outcome::{Extras, attach_rule_docs, build_report};
use crate::cli::output::{Written, write_outputs};
use crate::cli::printer::Printer;
use crate::cli::progress::Progress;
use crate::cli::settings::{GateSettings, ServerChoice};
use crate::cli::waiting::wait_for;

pub async fn debug(args: &DebugArgs, printer: Printer, cwd: &Path) -> Result<ExitStatus, Failure> {
    let started = Instant::now();
    let deadline_base = tokio::time::Instant::now();
    let config = Config::discover(cwd)?;
    let settings = GateSettings::resolve(&args.gate, &config)?;
    let choice = ServerChoice::resolve(&args.server, &config)?;
    let llm = crate::cli::llm::resolve(&args.llm, &config).await?;
    let file_path = cwd.join(&args.file);
    let content = std::fs::read_to_string(&file_path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            Failure::missing_path(&args.file.display().to_string())
        } else {
            Failure::unreadable(&args.file, &error)
        }
    })?;
    let error_log = if args.error_log.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| {
                Failure::usage(format!("cannot read the error log from stdin: {error}"))
            })?;
        text
    } else {
        std::fs::read_to_string(cwd.join(&args.error_log))
            .map_err(|error| Failure::unreadable(&args.error_log, &error))?
    };
    let display_path = args.file.to_string_lossy().replace('\\', "/");
    let connection = Connection::open_with_llm(&choice, llm).await?;
    let request = EnqueueRequest {
        user_id: connection.user_id.clone(),
        job_type: "debug".to_owned(),
        file_path: Some(display_path.clone()),
        file_content: Some(content.clone()),
        language: None,
        repo_id: None,
        error_log: Some(error_log),
        ai: Some(true),
        no_cache: args.no_cache,
        no_linters: false,
    };
    let result = async {
        let created = connection.client.enqueue(&request).await?;
        let deadline = settings.timeout.map(|timeout| deadline_base + timeout);
        let mut progress = Progress::new(
            printer,
            1,
            &format!("debug job {}", created.job_id),
            settings.quiet,
        );
        let waited = wait_for(
            &connection,
            &Subject::Job(created.job_id.clone()),
            &mut progress,
            deadline,
            settings.timeout_seconds,
            1,
        )
        .await;
        let snapshot = match waited {
            Ok(snapshot) => {
                progress.finish();
                snapshot
            }
            Err(failure) => {
                drop(progress);
                return Err(failure);
            }
        };
        drop(progress);
        let extras = Extras {
            sources: HashMap::from([(display_path.clone(), content.clone())]),
            client_skipped: Vec::new(),
            elapsed: Some(started.elapsed()),
            fixes: None,
        };
        let (mut report, status) = build_report(&snapshot, settings.threshold, extras);
        attach_rule_docs(&connection.client, &mut report).await;
        match write_outputs(&report, &settings, printer)? {
            Written::All => Ok(status),
            Written::BrokenPipe => Ok(ExitStatus::Success),
        }
    }
    .await;
    connection.close().await;
    result
}
