//! A shared server under attack, as an ordinary user with an ordinary token would attack it: every test runs the
//! real `codeinsight serve` and real tools (clippy, `go vet`, staticcheck, ruff, ShellCheck, bubblewrap). It plants
//! canaries (a file, an environment variable, the database itself) and checks that none of them shows up in any
//! response, in the database file or in the server's log; sweeps every output for raw secrets; floods the server
//! with findings, half-open connections and slow files; and revokes a token under a live socket.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]
#![allow(
    clippy::print_stderr,
    reason = "the measured figures (memory, latencies) are printed for the record"
)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use codeinsight::protocol::Job;
use common::{
    BIN, ServeProcess, WAIT, contains_bytes, create_token, database_bytes, require, run_pages,
    submit, wait_for_run,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const FILE_CANARY: &str = "CANARY-FILE-7f3a91e0c2";
const ENV_CANARY: &str = "CANARY-ENV-52be0c19d4";

fn database(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("db/codeinsight.db").display())
}

/// Every job document of a run (with `file_content`), as raw text.
async fn job_documents(
    http: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    run: &codeinsight::protocol::Run,
) -> Vec<String> {
    let mut texts = Vec::new();
    for job in &run.jobs {
        let text = http
            .get(server.url(&format!("/jobs/{}", job.job_id)))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        texts.push(text);
    }
    texts
}

fn job<'a>(run: &'a codeinsight::protocol::Run, suffix: &str) -> &'a Job {
    run.jobs
        .iter()
        .find(|job| job.file_path.ends_with(suffix))
        .unwrap_or_else(|| panic!("no job for `{suffix}`"))
}

fn stage_reason(job: &Job, name: &str) -> String {
    let stage = job
        .results
        .as_ref()
        .unwrap()
        .stages
        .iter()
        .find(|stage| stage.name == name)
        .unwrap_or_else(|| panic!("no `{name}` stage in {:?}", job.results));
    format!(
        "{:?}: {}",
        stage.outcome,
        stage.reason.as_deref().unwrap_or("")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linters_never_show_a_user_the_servers_files_environment_or_database() {
    for program in ["bwrap", "clippy-driver", "go", "ruff", "cargo"] {
        require(program);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let canary = root.join("private/canary.txt");
    std::fs::create_dir_all(canary.parent().unwrap()).unwrap();
    std::fs::write(&canary, format!("{FILE_CANARY}\n")).unwrap();
    let database = database(root);
    let database_file = root.join("db/codeinsight.db");
    let server = ServeProcess::start(
        &database,
        root,
        None,
        &["--workers", "2"],
        &[("CODEINSIGHT_TEST_CANARY", ENV_CANARY)],
    );
    let (_, token) = create_token(&database, "mallory");

    // A Cargo package and a ruff project that exist on the server's disk, submitted by path with their exact
    // content: a shared server must lint the content alone, never build or read the package.
    let package = root.join("pkg");
    std::fs::create_dir_all(package.join("src")).unwrap();
    std::fs::write(
        package.join("Cargo.toml"),
        "[package]\nname = \"pkg\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    let marker = package.join("BUILD_SCRIPT_RAN");
    std::fs::write(
        package.join("build.rs"),
        format!(
            "fn main() {{ std::fs::write({:?}, \"ran\").unwrap(); }}\n",
            marker.display().to_string()
        ),
    )
    .unwrap();
    let library = "pub fn answer() -> u32 {\n    42\n}\n";
    std::fs::write(package.join("src/lib.rs"), library).unwrap();
    let project = root.join("proj");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("ruff.toml"),
        "line-length = 20\n[lint]\nselect = [\"E501\"]\n",
    )
    .unwrap();
    let long_line = "value = 'a line that is much longer than twenty characters'\n";
    std::fs::write(project.join("long.py"), long_line).unwrap();

    let leak_rs = format!(
        "pub const FILE: &str = include_str!({canary:?});\n\
         compile_error!(include_str!({canary:?}));\n\
         compile_error!(env!(\"CODEINSIGHT_TEST_CANARY\"));\n\
         pub const DB: &[u8] = include_bytes!({database_file:?});\n\
         pub const PEEK: u8 = DB[usize::MAX];\n",
        canary = canary.display().to_string(),
        database_file = database_file.display().to_string(),
    );
    let leak_go = format!(
        "package main\n\n/*\n#include {:?}\n*/\nimport \"C\"\n\nfunc main() {{}}\n",
        canary.display().to_string()
    );
    let http = reqwest::Client::new();
    let created = submit(
        &http,
        &server,
        &token,
        &json!({"files": [
            {"path": "leak.rs", "content": leak_rs},
            {"path": "leak.go", "content": leak_go},
            {"path": package.join("src/lib.rs").display().to_string(), "content": library},
            {"path": project.join("long.py").display().to_string(), "content": long_line},
        ]}),
    )
    .await;
    let (run, pages) = wait_for_run(&http, &server, &token, &created.run_id).await;
    let documents = job_documents(&http, &server, &token, &run).await;

    // The tools ran, and what they could not read they say they could not read.
    let clippy = stage_reason(job(&run, "leak.rs"), "clippy");
    assert!(clippy.starts_with("Ok"), "{clippy}");
    assert!(clippy.contains("couldn't read"), "{clippy}");
    let vet = stage_reason(job(&run, "leak.go"), "go-vet");
    assert!(
        vet.contains("No such file") || vet.contains("no such file") || vet.contains("terminated"),
        "{vet}"
    );
    // The package was not built, its build script did not run, and nothing was written into it.
    assert!(!marker.exists(), "build.rs ran on the server");
    assert!(
        !package.join("target").exists(),
        "target/ written on the server"
    );
    assert!(
        !package.join("Cargo.lock").exists(),
        "Cargo.lock written on the server"
    );
    let lib_job = job(&run, "pkg/src/lib.rs");
    assert!(stage_reason(lib_job, "clippy").starts_with("Ok"));
    // The project's ruff.toml was not read: a long line is no finding under ruff's defaults.
    let python = job(&run, "proj/long.py");
    assert!(
        python
            .results
            .as_ref()
            .unwrap()
            .findings
            .iter()
            .all(|finding| finding.rule_id != "ruff/E501"),
        "the server read `ruff.toml` at a path the client named"
    );
    assert!(stage_reason(python, "ruff").starts_with("Ok"));

    let log = server.stop();
    let stored = database_bytes(&database);
    for canary in [FILE_CANARY, ENV_CANARY] {
        for text in pages.iter().chain(&documents) {
            assert!(!text.contains(canary), "`{canary}` in a response: {text}");
        }
        assert!(!log.contains(canary), "`{canary}` in the server log");
        assert!(
            !contains_bytes(&stored, canary),
            "`{canary}` in the database"
        );
    }
    // Nothing of the database's own bytes came back either (its header is the one string every SQLite file
    // begins with).
    for text in pages.iter().chain(&documents) {
        assert!(
            !text.contains("SQLite format 3"),
            "database bytes in a response"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_sandboxed_linter_is_killed_with_everything_it_started() {
    require("bwrap");
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    // A custom linter that starts a grandchild and sleeps: the timeout must end the whole sandbox.
    let config = "[linters]\nauto = false\ntimeout_seconds = 1\n\
                  [linters.custom.sleepy]\ncommand = [\"sh\", \"-c\", \"sleep 30 & sleep 30\"]\n\
                  languages = [\"python\"]\n";
    let server = ServeProcess::start(&database, dir.path(), Some(config), &[], &[]);
    let (_, token) = create_token(&database, "mallory");
    let http = reqwest::Client::new();
    let started = Instant::now();
    let created = submit(
        &http,
        &server,
        &token,
        &json!({"files": [{"path": "a.py", "content": "x = 1\n"}]}),
    )
    .await;
    let (run, _) = wait_for_run(&http, &server, &token, &created.run_id).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    let reason = stage_reason(&run.jobs[0], "sleepy");
    assert!(reason.contains("timed out after 1 s"), "{reason}");
    // Neither sleep outlives the run.
    std::thread::sleep(Duration::from_millis(500));
    let sleeping = Command::new("pgrep")
        .args(["-f", "sleep 30"])
        .output()
        .unwrap();
    assert!(
        sleeping.stdout.is_empty(),
        "sandboxed processes survived: {}",
        String::from_utf8_lossy(&sleeping.stdout)
    );
    server.stop();
}

/// Values each secret detector recognises (none of them is a live credential).
const SECRETS: [&str; 9] = [
    "AKIAZ7QWERTYUIOP4ASD",
    "ghp_R8kLmN2pQ4sT6vW8xY0zA1bC3dE5fG7hJ9kL",
    "xoxb-123456789012-AbCdEfGhIjKlMnOp",
    "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "glpat-AbCdEfGhIjKlMnOpQrSt",
    "https://hooks.slack.com/services/T0ABCDEFG/B0HIJKLMN/abcdEFGHijklMNOPqrst",
    "Xk9mP2vL7qR4wT8z",
    "BEGIN RSA PRIVATE KEY",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaves_unmasked_through_any_rule_linter_format_store_or_log() {
    for program in ["bwrap", "clippy-driver", "go", "ruff"] {
        require(program);
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let database = database(root);
    let server = ServeProcess::start(&database, root, None, &["--workers", "2"], &[]);
    let (_, token) = create_token(&database, "dana");
    let [
        aws,
        github,
        slack,
        stripe,
        jwt,
        gitlab,
        webhook,
        password,
        _,
    ] = SECRETS;
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    // Rules and linters that quote the code: a mutable default, a type comparison, an f-string without
    // placeholders (whose ruff fix rewrites the literal), a useless `format!` (clippy's suggestion quotes it), and
    // a printf argument of the wrong type (go vet quotes it).
    let python = format!(
        "def connect(keys=[\"{aws}\"]):\n    keys.append(\"default\")\n    return keys\n\n\n\
         def check(value):\n    return type(value) == \"{github}\"\n\n\n\
         SLACK = f\"{slack}\"\nSTRIPE_KEY = \"{stripe}\"\npassword = \"{password}\"\n\
         JWT = \"{jwt}\"\nGITLAB = \"{gitlab}\"\nWEBHOOK = \"{webhook}\"\n\
         PEM = \"-----BEGIN RSA PRIVATE KEY-----\"\n"
    );
    let rust = format!("pub fn key() -> String {{\n    format!(\"{aws}\")\n}}\n");
    let go = format!(
        "package main\n\nimport \"fmt\"\n\nfunc main() {{\n\tfmt.Printf(\"%d\\n\", \"{github}\")\n}}\n"
    );
    std::fs::write(work.join("keys.py"), &python).unwrap();
    std::fs::write(work.join("keys.rs"), &rust).unwrap();
    std::fs::write(work.join("keys.go"), &go).unwrap();
    let formats = [
        "json",
        "sarif",
        "junit",
        "checkstyle",
        "rdjson",
        "gitlab",
        "markdown",
        "github",
    ];
    let mut args = vec![
        "review".to_owned(),
        "keys.py".to_owned(),
        "keys.rs".to_owned(),
        "keys.go".to_owned(),
        "--server".to_owned(),
        server.url(""),
        "--fail-on".to_owned(),
        "never".to_owned(),
        "--color".to_owned(),
        "always".to_owned(),
        // Every rule that quotes code, whatever its group.
        "--select".to_owned(),
        "all".to_owned(),
    ];
    for format in formats {
        args.push("--format".to_owned());
        args.push(format!("{format}={format}.out"));
    }
    let review = Command::new(BIN)
        .args(&args)
        .current_dir(&work)
        .env("CODEINSIGHT_TOKEN", &token)
        .env("CODEINSIGHT_DATA_DIR", root.join("client"))
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&review.stdout).into_owned();
    assert!(
        review.status.success(),
        "{human}\n{}",
        String::from_utf8_lossy(&review.stderr)
    );
    let mut outputs = vec![
        ("human report".to_owned(), human.clone()),
        (
            "stderr".to_owned(),
            String::from_utf8_lossy(&review.stderr).into_owned(),
        ),
    ];
    for format in formats {
        outputs.push((
            format.to_owned(),
            std::fs::read_to_string(work.join(format!("{format}.out"))).unwrap(),
        ));
    }
    let json: Value = serde_json::from_str(&outputs[2].1).unwrap();
    let run_id = json["run_id"].as_str().unwrap().to_owned();
    // `--diff` prints the fixes' diffs, cut from the file.
    let diff = Command::new(BIN)
        .args([
            "review",
            "keys.py",
            "keys.rs",
            "--diff",
            "--select",
            "all",
            "--server",
            &server.url(""),
        ])
        .current_dir(&work)
        .env("CODEINSIGHT_TOKEN", &token)
        .output()
        .unwrap();
    outputs.push((
        "--diff".to_owned(),
        String::from_utf8_lossy(&diff.stdout).into_owned(),
    ));
    let http = reqwest::Client::new();
    let (run, pages) = run_pages(&http, &server, &token, &run_id).await;
    for page in pages {
        outputs.push(("GET /api/v1/runs".to_owned(), page));
    }
    for document in job_documents(&http, &server, &token, &run).await {
        outputs.push(("GET /jobs".to_owned(), document));
    }

    // The sweep is not vacuous: the quoting rules and linters fired, masked.
    let findings: Vec<_> = run
        .jobs
        .iter()
        .flat_map(|job| &job.results.as_ref().unwrap().findings)
        .collect();
    let has = |rule: &str, masked: &str| {
        findings
            .iter()
            .any(|finding| finding.rule_id == rule && finding.message.contains(masked))
    };
    assert!(
        has("python/mutable-default-argument", "AKIA****"),
        "{findings:#?}"
    );
    assert!(
        has("python/type-equality-check", "ghp_****"),
        "{findings:#?}"
    );
    assert!(has("go-vet/printf", "ghp_****"), "{findings:#?}");
    for rule in [
        "secrets/aws-access-key",
        "secrets/github-token",
        "secrets/slack-token",
        "secrets/stripe-key",
        "secrets/jwt",
        "secrets/gitlab-token",
        "secrets/slack-webhook",
        "secrets/hardcoded-credential",
        "secrets/private-key",
    ] {
        assert!(
            findings.iter().any(|finding| finding.rule_id == rule),
            "no `{rule}` finding"
        );
    }
    // Ruff's F541 fix is kept, rewritten to leave the secret where it is.
    let f541 = findings
        .iter()
        .find(|finding| finding.rule_id == "ruff/F541")
        .expect("ruff F541");
    let fix = f541.fix.as_ref().expect("the F541 fix survives masking");
    let fixed = codeinsight::engine::apply_fixes(&python, &[fix])
        .unwrap()
        .output;
    assert!(fixed.contains(&format!("SLACK = \"{slack}\"")), "{fixed}");

    let log = server.stop();
    let stored = database_bytes(&database);
    for secret in SECRETS {
        for (name, text) in &outputs {
            assert!(!text.contains(secret), "`{secret}` in the {name}: {text}");
        }
        assert!(!log.contains(secret), "`{secret}` in the server log");
        assert!(
            !contains_bytes(&stored, secret),
            "`{secret}` in the database"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_findings_is_bounded_in_the_response_the_store_and_memory() {
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some("[linters]\nenabled = false\n"),
        &[],
        &[],
    );
    let (_, token) = create_token(&database, "flooder");
    let line = "if (a == b) { eval(x); }\n";
    let content = line.repeat(1024 * 1024 / line.len());
    let http = reqwest::Client::new();
    let files: Vec<Value> = (0..5)
        .map(|index| json!({"path": format!("flood{index}.js"), "content": content}))
        .collect();
    let idle = server.rss_mib();
    let created = submit(&http, &server, &token, &json!({"files": files})).await;
    let (run, pages) = wait_for_run(&http, &server, &token, &created.run_id).await;
    let mut peak = server.rss_mib();
    for job in &run.jobs {
        let results = job.results.as_ref().unwrap();
        assert_eq!(results.findings.len(), 1000);
        let truncated = results.truncated.as_ref().expect("a truncation note");
        assert!(truncated.total > 40_000, "{truncated:?}");
        assert_eq!(truncated.total - truncated.dropped.total(), 1000);
    }
    let response_bytes: usize = pages.iter().map(String::len).sum();
    assert!(
        response_bytes < 8 * 1024 * 1024,
        "the run's pages hold {response_bytes} bytes"
    );
    // Three readers of the whole run at once.
    let readers = (0..3).map(|_| run_pages(&http, &server, &token, &created.run_id));
    futures_util::future::join_all(readers).await;
    peak = peak.max(server.rss_mib());
    let stopped = server.stop();
    let stored = std::fs::metadata(dir.path().join("db/codeinsight.db"))
        .unwrap()
        .len();
    eprintln!("RSS idle {idle:.1} MiB, peak {peak:.1} MiB; database {stored} bytes");
    assert!(peak < 400.0, "server memory reached {peak:.1} MiB");
    // Five 1 MiB files and 5,000 findings: content dominates.
    assert!(stored < 20 * 1024 * 1024, "database is {stored} bytes");
    drop(stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_never_delay_health_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some("[linters]\nenabled = false\n"),
        &[],
        &[],
    );
    let addr = server.addr;
    // 2,000 connections that start a request and never finish its headers.
    let mut loris = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        loris.push(stream);
    }
    let health = || {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        started.elapsed()
    };
    let mut slowest = Duration::ZERO;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        slowest = slowest.max(health());
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("slowest /health with 2,000 half-open connections: {slowest:?}");
    assert!(
        slowest < Duration::from_millis(100),
        "/health took {slowest:?} with 2,000 half-open connections"
    );
    // Past the header timeout (15 s) the server has closed them.
    std::thread::sleep(Duration::from_secs(16));
    let mut closed = 0;
    for stream in &mut loris {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buffer = [0_u8; 512];
        // EOF, a reset, or an error response then EOF: the server gave up on the request.
        match stream.read(&mut buffer) {
            Ok(_) => closed += 1,
            Err(error)
                if error.kind() == std::io::ErrorKind::ConnectionReset
                    || error.kind() == std::io::ErrorKind::BrokenPipe =>
            {
                closed += 1;
            }
            Err(_) => {}
        }
    }
    assert_eq!(closed, loris.len(), "half-open connections left open");
    assert!(health() < Duration::from_millis(100));
    server.stop();
}

/// A shell script nested `depth` levels deep, which keeps ShellCheck busy for a long time.
fn deeply_nested_shell(depth: usize) -> String {
    let mut script = String::from("#!/bin/sh\n");
    for _ in 0..depth {
        script.push_str("if true; then\n");
    }
    script.push_str("echo $x\n");
    for _ in 0..depth {
        script.push_str("fi\n");
    }
    script
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_slow_files_never_hold_another_users_file_past_one_timeout() {
    for program in ["shellcheck", "ruff"] {
        require(program);
    }
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let timeout = 4.0;
    let config = format!(
        "[linters]\nauto = false\nconcurrency = 1\ntimeout_seconds = {timeout}\n\
         [linters.shellcheck]\nrequired = false\n[linters.ruff]\nrequired = false\n"
    );
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some(&config),
        &["--workers", "2"],
        &[],
    );
    let (_, bob) = create_token(&database, "bob");
    let (_, alice) = create_token(&database, "alice");
    let http = reqwest::Client::new();
    let slow = deeply_nested_shell(10_000);
    let files: Vec<Value> = (0..6)
        .map(|index| json!({"path": format!("slow{index}.sh"), "content": slow}))
        .collect();
    let flood = submit(&http, &server, &bob, &json!({"files": files})).await;
    // Bob's first file holds the one linter slot.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let created = submit(
        &http,
        &server,
        &alice,
        &json!({"files": [{"path": "app.py", "content": "import os\nprint(os.sep)\n"}]}),
    )
    .await;
    let (run, _) = wait_for_run(&http, &server, &alice, &created.run_id).await;
    let waited = started.elapsed();
    eprintln!("Alice's file finished {waited:?} after submission, behind Bob's 6 slow files");
    assert!(stage_reason(&run.jobs[0], "ruff").starts_with("Ok"));
    // At most the rest of Bob's running job (one timeout), plus ruff itself.
    assert!(
        waited < Duration::from_secs_f64(timeout + 2.0),
        "Alice waited {waited:?} behind Bob's slow files (timeout {timeout} s)"
    );
    // Bob's flood was still ahead of Alice: most of his files had not been through their linter yet.
    let (bob_run, _) = run_pages(&http, &server, &bob, &flood.run_id).await;
    assert!(
        bob_run.completed + bob_run.failed <= 3,
        "Bob's files finished too soon for the test to mean anything: {}/{}",
        bob_run.completed + bob_run.failed,
        bob_run.total
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_token_closes_its_open_socket_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some("[linters]\nenabled = false\n"),
        &[],
        &[],
    );
    let (id, token) = create_token(&database, "carol");
    let url = format!("ws://{}/ws/carol?token={token}", server.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    socket
        .send(Message::text(json!({"type": "ping"}).to_string()))
        .await
        .unwrap();
    let pong = socket.next().await.unwrap().unwrap();
    assert!(pong.to_text().unwrap().contains("pong"), "{pong:?}");
    let revoked = Command::new(BIN)
        .args(["token", "revoke", &id, "--database", &database])
        .output()
        .unwrap();
    assert!(revoked.status.success());
    let started = Instant::now();
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => break frame,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break None,
            }
        }
    })
    .await
    .unwrap();
    let elapsed = started.elapsed();
    eprintln!("the socket closed {elapsed:?} after `token revoke` returned");
    assert!(
        elapsed < Duration::from_millis(1500),
        "the socket stayed open {elapsed:?} after its token was revoked"
    );
    let frame = closed.expect("a close frame with a reason");
    assert_eq!(frame.reason.as_str(), "token revoked");
    // The token is refused from now on.
    let status = reqwest::Client::new()
        .get(server.url("/api/v1/whoami"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 401);
    server.stop();
}

#[test]
fn oversized_fields_and_nul_bytes_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some("[linters]\nenabled = false\n"),
        &[],
        &[],
    );
    let (_, token) = create_token(&database, "erin");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        runtime.block_on(async {
            let response = http
                .post(server.url(path))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        })
    };
    let cases = [
        (
            json!({"files": [{"path": "a.py", "content": "x = 1\n"}], "repo_id": "r".repeat(1024 * 1024)}),
            "`repo_id` is too long",
        ),
        (
            json!({"files": [{"path": "a.py", "content": "x = 1\n", "language": "p".repeat(100_000)}]}),
            "`files[0].language` is too long",
        ),
        (
            json!({"files": [{"path": "a\u{0}.py", "content": "x = 1\n"}]}),
            "`files[0].path` contains a NUL byte",
        ),
        (
            json!({"files": [{"path": "a.py", "content": "x = 1\n"}],
                   "skipped": (0..10_001).map(|index| json!({"file_path": format!("f{index}"), "reason": "binary"})).collect::<Vec<_>>()}),
            "too many entries in `skipped`",
        ),
    ];
    for (body, expected) in cases {
        let (status, text) = post("/api/v1/runs", body);
        assert!(status == 400 || status == 413, "{status}: {text}");
        assert!(text.contains(expected), "{text}");
    }
    let (status, text) = post(
        "/jobs/enqueue",
        json!({"user_id": "erin", "job_type": "review", "file_path": "a.py", "file_content": "x = 1\n",
               "language": "py\u{0}thon"}),
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("`language` contains a NUL byte"), "{text}");
    drop(runtime);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_past_the_cap_give_way_to_real_requests() {
    let dir = tempfile::tempdir().unwrap();
    let database = database(dir.path());
    let server = ServeProcess::start(
        &database,
        dir.path(),
        Some("[linters]\nenabled = false\n"),
        &["--max-connections", "64"],
        &[],
    );
    let addr = server.addr;
    // Three times the cap in connections that never finish their headers, as one client with no token.
    let mut loris = Vec::new();
    for _ in 0..192 {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        loris.push(stream);
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
        slowest = slowest.max(started.elapsed());
        // A new half-open connection between every real request keeps the server at its cap.
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        loris.push(stream);
    }
    eprintln!("slowest /health with the connection cap held by half-open connections: {slowest:?}");
    assert!(
        slowest < Duration::from_millis(500),
        "/health took {slowest:?}"
    );
    server.stop();
}

#[test]
fn reviewed_code_cannot_send_escapes_or_workflow_commands_to_the_log() {
    require("go");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // A file name and a quoted raw string that each try to start a line of their own in a CI log.
    let name = "evil\n::error file=FAKE.py::FROM-FILENAME.py";
    std::fs::write(
        work.join(name),
        "import yaml\n\n\ndef load(handle):\n    return yaml.load(handle)  # \u{1b}[2K\u{7}\n",
    )
    .unwrap();
    std::fs::write(
        work.join("inj.go"),
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Printf(\"%d\\n\", `x\n::error file=README.md,line=1::INJECTED\n::stop-commands::tok\n\u{1b}[1A`)\n}\n",
    )
    .unwrap();
    for github in [false, true] {
        let mut command = Command::new(BIN);
        command
            .args(["review", ".", "--color", "never", "--fail-on", "never"])
            .current_dir(&work)
            .env("CODEINSIGHT_DATA_DIR", dir.path().join("data"));
        if github {
            command
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", dir.path().join("summary.md"))
                .env("GITHUB_OUTPUT", dir.path().join("outputs.txt"));
        } else {
            command.env_remove("GITHUB_ACTIONS");
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert!(
            stdout.contains("go-vet/printf"),
            "the quoting linter ran: {stdout}"
        );
        for forbidden in ['\u{1b}', '\u{7}'] {
            assert!(
                !stdout.contains(forbidden),
                "a control character reached the output: {stdout:?}"
            );
        }
        let mut paused: Option<String> = None;
        for line in stdout.lines() {
            if let Some(token) = &paused {
                if line == format!("::{token}::") {
                    paused = None;
                }
                continue;
            }
            if let Some(token) = line.strip_prefix("::stop-commands::") {
                paused = Some(token.to_owned());
                continue;
            }
            assert!(
                !line.starts_with("::error file=README.md")
                    && !line.starts_with("::error file=FAKE.py"),
                "an injected workflow command: {line:?}"
            );
            assert!(!line.starts_with("::stop-commands::tok"), "{line:?}");
        }
        if github {
            assert!(stdout.contains("::stop-commands::codeinsight-"), "{stdout}");
            let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
            assert!(!summary.contains('\u{1b}'), "{summary:?}");
        }
    }
}
