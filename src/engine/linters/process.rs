//! Running one linter process: an argument vector (never a shell), a working directory, extra environment, a
//! timeout that kills the whole process group, and captured output with a size cap. Kept apart from the linters
//! so that every tool gets the same guarantees: a hung or chatty linter cannot hang or exhaust the server.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Most bytes kept of each of stdout and stderr; the rest is read and dropped so the child never blocks.
const OUTPUT_CAP: usize = 64 * 1024 * 1024;
/// How long to wait for output pipes to close after the process ended (a detached grandchild may hold them).
const PIPE_GRACE: Duration = Duration::from_secs(2);

/// One invocation.
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
    pub(crate) cwd: PathBuf,
    pub(crate) env: Vec<(String, String)>,
    /// Written to the child's stdin, which is otherwise empty.
    pub(crate) stdin: Option<Vec<u8>>,
    pub(crate) timeout: Duration,
    /// For code the server does not trust: a cleared environment, resource limits and, where available, a
    /// sandbox (see `sandbox.rs`). `None` runs the program as this process's user, with its environment.
    pub(crate) confinement: Option<super::sandbox::Confinement>,
}

/// What a finished process left behind.
#[derive(Debug, Clone)]
pub(crate) struct ProcessOutput {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
    pub(crate) elapsed: Duration,
}

impl ProcessOutput {
    /// The exit code, or `None` when a signal ended the process.
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The last few lines of stderr (or stdout), for a failure reason.
    pub(crate) fn tail(&self) -> String {
        let text = if self.stderr.iter().any(|byte| !byte.is_ascii_whitespace()) {
            String::from_utf8_lossy(&self.stderr)
        } else {
            String::from_utf8_lossy(&self.stdout)
        };
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .collect();
        let tail = lines[lines.len().saturating_sub(3)..].join(" / ");
        let mut end = tail.len().min(400);
        while !tail.is_char_boundary(end) {
            end -= 1;
        }
        tail[..end].to_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ProcessError {
    #[error("`{program}` was not found")]
    NotFound { program: String },
    #[error("cannot start `{program}`")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("timed out after {seconds} s")]
    Timeout { seconds: f64 },
    #[error("waiting for `{program}` failed")]
    Wait {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

/// Runs `invocation` to completion or to its timeout, whichever comes first.
pub(crate) fn run(invocation: &Invocation) -> Result<ProcessOutput, ProcessError> {
    let program = invocation.program.display().to_string();
    let mut command = if let Some(confinement) = &invocation.confinement {
        confinement.command(
            &invocation.program,
            &invocation.args,
            &invocation.cwd,
            invocation.timeout,
        )
    } else {
        let mut command = Command::new(&invocation.program);
        command.args(&invocation.args).current_dir(&invocation.cwd);
        command
    };
    command
        .env("NO_COLOR", "1")
        .env("CLICOLOR", "0")
        .envs(invocation.env.iter().map(|(key, value)| (key, value)))
        .stdin(if invocation.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    {
        // Its own process group, so a timeout kills what it started too (`sh -c 'sleep 30'`).
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            ProcessError::NotFound {
                program: program.clone(),
            }
        } else {
            ProcessError::Spawn {
                program: program.clone(),
                source,
            }
        }
    })?;
    let pid = child.id();
    if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), invocation.stdin.clone()) {
        // A linter that exits before reading all of its input closes the pipe; that is its business.
        thread::spawn(move || {
            let _ = stdin.write_all(&bytes);
        });
    }
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(child.wait());
    });
    let status = match receiver.recv_timeout(invocation.timeout) {
        Ok(Ok(status)) => status,
        Ok(Err(source)) => return Err(ProcessError::Wait { program, source }),
        Err(_) => {
            kill_group(pid);
            let _ = receiver.recv_timeout(PIPE_GRACE);
            return Err(ProcessError::Timeout {
                seconds: invocation.timeout.as_secs_f64(),
            });
        }
    };
    let elapsed = started.elapsed();
    let deadline = Instant::now() + PIPE_GRACE;
    let stdout = stdout
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    let stderr = stderr
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_default();
    Ok(ProcessOutput {
        status,
        stdout,
        stderr,
        elapsed,
    })
}

/// Reads a pipe to its end on a thread, keeping at most [`OUTPUT_CAP`] bytes.
fn collect(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut buffer = [0_u8; 16 * 1024];
            loop {
                match pipe.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        let room = OUTPUT_CAP.saturating_sub(kept.len());
                        kept.extend_from_slice(&buffer[..read.min(room)]);
                    }
                }
            }
        }
        let _ = sender.send(kept);
    });
    receiver
}

#[cfg(unix)]
fn kill_group(pid: u32) {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(error) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL) {
        tracing::warn!(%error, "killing a timed-out linter's process group failed");
    }
}

#[cfg(not(unix))]
fn kill_group(_pid: u32) {}

/// Finds `program` on `PATH` the way a shell would: a name with a slash is taken as a path.
pub(crate) fn find_program(program: &str) -> Option<PathBuf> {
    let path = Path::new(program);
    if program.contains(std::path::MAIN_SEPARATOR) {
        return is_executable(path).then(|| path.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|directory| directory.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.is_file() && metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        metadata.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(program: &str, args: &[&str], timeout: Duration) -> Invocation {
        Invocation {
            program: PathBuf::from(program),
            args: args.iter().map(OsString::from).collect(),
            cwd: std::env::temp_dir(),
            env: Vec::new(),
            stdin: None,
            timeout,
            confinement: None,
        }
    }

    #[test]
    fn arguments_are_not_interpreted_by_a_shell() {
        let output = run(&invocation(
            "echo",
            &["$HOME; rm -rf /", "`id`"],
            Duration::from_secs(10),
        ))
        .unwrap();
        assert_eq!(output.stdout, b"$HOME; rm -rf / `id`\n");
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let started = Instant::now();
        let error = run(&invocation(
            "sh",
            &["-c", "sleep 30; echo late"],
            Duration::from_millis(300),
        ))
        .unwrap_err();
        assert!(matches!(error, ProcessError::Timeout { .. }), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
