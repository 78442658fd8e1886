//! `codeinsight dashboard`: the web view of the local reviews. It starts the embedded server (the same one
//! `review` starts, on the same database in the data directory) on a fixed address, prints the address and a
//! one-time sign-in link, and serves until interrupted. While it runs, `review` without a configured server
//! reviews through it, so a run appears live in the browser.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use crate::cli::args::DashboardArgs;
use crate::cli::config::Config;
use crate::cli::connection::{LOCAL_USER, embedded_config};
use crate::cli::dashboard::{DashboardFile, announce, setup_fingerprint, withdraw};
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;
use crate::cli::settings::{ServerChoice, data_dir};

pub async fn dashboard(
    args: &DashboardArgs,
    printer: Printer,
    cwd: &Path,
) -> Result<ExitStatus, Failure> {
    let listen: SocketAddr = args.listen.parse().map_err(|error| {
        Failure::usage(format!("invalid `--listen {}`: {error}", args.listen))
            .with_help("give an address and port, e.g. `127.0.0.1:7878`")
    })?;
    let config = Config::discover(cwd)?;
    // The same rules and linters `review` would run here, so that reviews can go through this server.
    let (rules_dir, linters) = match ServerChoice::resolve(
        &crate::cli::args::ServerArgs {
            server: None,
            token: None,
        },
        &config,
    )? {
        ServerChoice::Embedded {
            rules_dir, linters, ..
        } => (args.rules_dir.clone().or(rules_dir), *linters),
        ServerChoice::Remote { .. } => unreachable!("no server was given"),
    };
    let data_dir = data_dir()?;
    let (server_config, token) =
        embedded_config(&data_dir, rules_dir.as_deref(), &linters, listen)?;
    let running = crate::server::start(server_config).await.map_err(|error| {
        Failure::usage(format!(
            "cannot serve the dashboard on {listen}: {}",
            crate::error_chain(&error)
        ))
        .with_help("choose another address with `--listen 127.0.0.1:PORT`")
    })?;
    let url = running.base_url();
    let code = running
        .state()
        .login_code(LOCAL_USER, 0)
        .ok_or_else(|| Failure::server("cannot generate a sign-in code"))?;
    let announced = announce(
        &data_dir,
        &DashboardFile {
            url: url.clone(),
            token,
            pid: std::process::id(),
            setup: setup_fingerprint(rules_dir.as_deref(), &linters),
        },
    );
    if let Err(error) = &announced {
        printer.status(&format!(
            "codeinsight: cannot write `{}`: {error}; reviews will not show up live here",
            data_dir.join("dashboard.json").display()
        ));
    }
    printer.status(&format!(
        "codeinsight: dashboard of {} on {url}/ (Ctrl-C stops it)",
        data_dir.display()
    ));
    printer.status("codeinsight: sign in with this link (once, within 15 minutes):");
    let _ = writeln!(printer.stdout(), "{url}/login?code={code}");
    let waited = crate::server::wait_for_signal().await;
    if announced.is_ok() {
        withdraw(&data_dir);
    }
    running.shutdown().await;
    waited.map_err(|error| Failure::server(format!("cannot wait for a signal: {error}")))?;
    Ok(ExitStatus::Success)
}
