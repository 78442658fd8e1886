//! A throwaway `PostgreSQL` cluster for one test: `initdb` on a temporary directory, `pg_ctl start` on a free port
//! on 127.0.0.1 (as the unprivileged `postgres` user when the tests run as root, since `PostgreSQL` refuses to
//! run as root), and `pg_ctl stop` plus the directory's removal when it is dropped. A cluster is started even
//! where a `PostgreSQL` already runs, so tests never touch a real database.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
    /// `Some("postgres")` when commands must run as that user (the tests run as root).
    user: Option<&'static str>,
}

impl Cluster {
    /// Starts a cluster; panics with the server's log if it does not come up.
    pub fn start() -> Cluster {
        let bin = binaries();
        let dir = TempDir::new().unwrap();
        let user = is_root().then_some("postgres");
        if let Some(user) = user {
            run(Command::new("chown").args(["-R", user]).arg(dir.path()));
        }
        let port = free_port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            user,
        };
        let data = cluster.data();
        cluster.pg(&[
            "initdb",
            "-D",
            &data,
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        cluster.pg_ctl_start();
        cluster
    }

    /// The URL of database `postgres` on this cluster.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql(&format!("CREATE DATABASE {name}"));
        self.database_url(name)
    }

    /// Runs `sql` with `psql` on database `postgres`; returns its output (unaligned, tuples only).
    pub fn psql(&self, sql: &str) -> String {
        let psql = self.bin.join("psql").display().to_string();
        let port = self.port.to_string();
        let output = self.pg(&[
            &psql,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-At",
            "-c",
            sql,
        ]);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `pg_ctl restart -m fast`: every connection is dropped, and the cluster comes back on the same port.
    pub fn restart(&self) {
        let data = self.data();
        self.pg(&["pg_ctl", "-D", &data, "-m", "fast", "-w", "stop"]);
        self.pg_ctl_start();
    }

    fn pg_ctl_start(&self) {
        let data = self.data();
        let log = self.dir.path().join("log").display().to_string();
        let socket_dir = self.dir.path().display().to_string();
        let options = format!(
            "-p {} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port
        );
        let output = self.try_pg(&[
            "pg_ctl", "-D", &data, "-l", &log, "-w", "-o", &options, "start",
        ]);
        assert!(
            output.status.success(),
            "PostgreSQL did not start: {}\n{}",
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
        );
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// Runs a `PostgreSQL` program (by name, from the cluster's binaries, or a full path); panics if it fails.
    fn pg(&self, args: &[&str]) -> Output {
        let output = self.try_pg(args);
        assert!(
            output.status.success(),
            "`{}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn try_pg(&self, args: &[&str]) -> Output {
        let program = if Path::new(args[0]).is_absolute() {
            PathBuf::from(args[0])
        } else {
            self.bin.join(args[0])
        };
        let mut command = match self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        command.args(&args[1..]).current_dir(self.dir.path());
        command
            .output()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self.try_pg(&["pg_ctl", "-D", &data, "-m", "immediate", "-w", "stop"]);
    }
}

/// The directory of `initdb` and `pg_ctl`: Debian's newest `/usr/lib/postgresql/N/bin`, else the one on `PATH`.
fn binaries() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return bin;
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    found.expect("PostgreSQL is not installed: `apt-get install postgresql` (.ci/run does)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(command: &mut Command) {
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?} failed");
}
