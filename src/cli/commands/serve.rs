//! `codeinsight serve`: run the review server in the foreground until interrupted, and `codeinsight token`: the
//! server-side token administration that `serve` authenticates against.

use std::io::Write;
use std::net::SocketAddr;

use crate::server::ServerConfig;

use crate::cli::args::{ServeArgs, TokenCommand};
use crate::cli::exit_status::ExitStatus;
use crate::cli::failure::Failure;
use crate::cli::printer::Printer;
use crate::cli::settings::{data_dir, sqlite_url};

pub async fn serve(args: &ServeArgs) -> Result<ExitStatus, Failure> {
    let listen: SocketAddr = args.listen.parse().map_err(|error| {
        Failure::usage(format!("invalid `--listen {}`: {error}", args.listen))
            .with_help("give an address and port, e.g. `127.0.0.1:8080` or `0.0.0.0:8080`")
    })?;
    let database = database_url(args.database.as_deref())?;
    let mut config = ServerConfig::new(listen, database);
    if let Some(workers) = args.workers {
        if workers == 0 {
            return Err(Failure::usage("`--workers` must be at least 1"));
        }
        config.workers = workers;
    }
    config.rules_dir.clone_from(&args.rules_dir);
    for (flag, value, target) in [
        (
            "--max-connections",
            args.max_connections,
            &mut config.limits.max_connections,
        ),
        (
            "--max-sockets-per-token",
            args.max_sockets_per_token,
            &mut config.limits.max_sockets_per_token,
        ),
        (
            "--max-findings-per-file",
            args.max_findings_per_file,
            &mut config.limits.max_findings_per_file,
        ),
    ] {
        if let Some(value) = value {
            if value == 0 {
                return Err(Failure::usage(format!("`{flag}` must be at least 1")));
            }
            *target = value;
        }
    }
    let cwd = std::env::current_dir()
        .map_err(|error| Failure::usage(format!("cannot read the working directory: {error}")))?;
    // `[linters]` from the `codeinsight.toml` of the directory the server starts in.
    config.linters = crate::cli::config::Config::discover(&cwd)?.file.linters;
    // The AI reviewer: `--llm-*` flags over their environment variables over `[llm]` in that file.
    config.llm =
        crate::cli::llm::resolve(&args.llm, &crate::cli::config::Config::discover(&cwd)?).await?;
    if let Some(llm) = &config.llm {
        tracing::info!(provider = %llm.provider, model = %llm.model, url = %llm.base_url,
            default = llm.enabled_by_default, "AI review enabled");
    }
    crate::server::serve(config).await.map_err(|error| {
        Failure::server(format!(
            "the server stopped: {}",
            crate::error_chain(&error)
        ))
    })?;
    Ok(ExitStatus::Success)
}

pub async fn token(command: &TokenCommand, printer: Printer) -> Result<ExitStatus, Failure> {
    let mut stdout = printer.stdout();
    let written = match command {
        TokenCommand::Create {
            user,
            admin,
            database,
        } => {
            let database = database_url(database.as_deref())?;
            let token = crate::store::create_token(&database, user, *admin)
                .await
                .map_err(|error| {
                    Failure::server(format!(
                        "cannot create a token: {}",
                        crate::error_chain(&error)
                    ))
                })?;
            printer.status(&format!(
                "created token `{}` for user `{}`{}; it is shown only once",
                token.id,
                token.user_id,
                if token.admin { " (admin)" } else { "" }
            ));
            writeln!(stdout, "{}", token.token)
        }
        TokenCommand::List { database } => {
            let database = database_url(database.as_deref())?;
            let tokens = crate::store::list_tokens(&database)
                .await
                .map_err(|error| {
                    Failure::server(format!(
                        "cannot list tokens: {}",
                        crate::error_chain(&error)
                    ))
                })?;
            (|| {
                writeln!(
                    stdout,
                    "ID                USER              ADMIN  CREATED               STATE"
                )?;
                for token in tokens {
                    writeln!(
                        stdout,
                        "{:<16}  {:<16}  {:<5}  {}   {}",
                        token.id,
                        token.user_id,
                        if token.admin { "yes" } else { "no" },
                        token.created_at.format("%Y-%m-%d %H:%M:%S"),
                        if token.revoked_at.is_some() {
                            "revoked"
                        } else {
                            "active"
                        }
                    )?;
                }
                Ok(())
            })()
        }
        TokenCommand::Revoke { id, database } => {
            let database = database_url(database.as_deref())?;
            let revoked = crate::store::revoke_token(&database, id)
                .await
                .map_err(|error| {
                    Failure::server(format!(
                        "cannot revoke the token: {}",
                        crate::error_chain(&error)
                    ))
                })?;
            if !revoked {
                return Err(Failure::usage(format!("no active token `{id}`"))
                    .with_help("list tokens with `codeinsight token list`"));
            }
            writeln!(stdout, "revoked token `{id}`")
        }
    };
    match written {
        Err(error) if error.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::usage(format!("cannot write to stdout: {error}")))
        }
        _ => Ok(ExitStatus::Success),
    }
}

/// `--database`, or the `SQLite` file in the data directory (the one the embedded server uses).
fn database_url(database: Option<&str>) -> Result<String, Failure> {
    if let Some(url) = database.filter(|url| !url.is_empty()) {
        return Ok(url.to_owned());
    }
    let dir = data_dir()?;
    std::fs::create_dir_all(&dir).map_err(|error| {
        Failure::usage(format!(
            "cannot create the data directory `{}`: {error}",
            dir.display()
        ))
    })?;
    Ok(sqlite_url(&dir))
}
