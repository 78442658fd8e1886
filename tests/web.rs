//! The web view against the real product: a real `codeinsight serve`, reviews sent by the real binary, and a real
//! headless Chromium (Debian's, through chromedriver) signing in, watching a run finish live, filtering history,
//! reading a fix and signing out; another user reaching the first one's run by URL; hostile paths and messages
//! staying text. Screenshots of every page go to `target/screenshots/` (see tests/common/browser.rs). The HTTP
//! tests below check the session cookie, the headers and the origin checks without a browser.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::browser::{Browser, require_chromium};
use common::{BIN, ServeProcess, create_token};
use fantoccini::Locator;
use serde_json::Value;

const LIVE_WAIT: Duration = Duration::from_secs(120);

/// A Python file whose findings carry markup in their message and a fix, and a JavaScript file under a directory
/// named like a tag.
const APP_PY: &str = r#"import subprocess


def record(name, tags=["<script>alert(1)</script>"]):
    tags.append(name)
    return tags


def archive(path):
    subprocess.run(f"tar czf out.tgz {path}", shell=True)
"#;

const PAGE_JS: &str = "export function run(code) {\n  return eval(code);\n}\n";

/// Go files keep the run going for seconds: `go vet` and staticcheck run on each.
fn go_file(index: usize) -> String {
    format!(
        "package main\n\nimport (\n\t\"net/http\"\n\t\"os/exec\"\n)\n\nfunc handler{index}(w http.ResponseWriter, r *http.Request) {{\n\
         \tname := r.URL.Query().Get(\"file\")\n\tout, _ := exec.Command(\"sh\", \"-c\", \"head \"+name).Output()\n\
         \tw.Write(out)\n}}\n\nfunc main() {{\n\thttp.HandleFunc(\"/\", handler{index})\n}}\n"
    )
}

fn write_project(root: &Path) {
    std::fs::write(root.join("app.py"), APP_PY).unwrap();
    std::fs::create_dir_all(root.join("<script>")).unwrap();
    std::fs::write(root.join("<script>/page.js"), PAGE_JS).unwrap();
    for index in 0..4 {
        let dir = root.join(format!("svc{index}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.go"), go_file(index)).unwrap();
    }
    // A git checkout on a branch: `review` sends its commit and branch with the run.
    for args in [
        &["init", "--quiet", "--initial-branch", "feature/web-view"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.org",
            "commit",
            "--quiet",
            "-m",
            "start",
        ],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(root)
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }
}

async fn sign_in(browser: &Browser, server: &ServeProcess, token: &str) {
    browser.goto(&server.url("/")).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    browser
        .fill_and_submit("#token", token, "section.login button[type=submit]")
        .await;
    browser
        .wait_for_text("h1", "Runs", Duration::from_secs(10))
        .await;
}

async fn script(browser: &Browser, source: &str) -> Value {
    browser.client().execute(source, Vec::new()).await.unwrap()
}

/// The id of `token`'s newest run, once the server has one.
async fn newest_run(http: &reqwest::Client, server: &ServeProcess, token: &str) -> String {
    let started = Instant::now();
    loop {
        let list: Value = http
            .get(server.url("/api/v1/runs"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(run_id) = list["runs"][0]["run_id"].as_str() {
            return run_id.to_owned();
        }
        assert!(started.elapsed() < LIVE_WAIT, "no run appeared: {list}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_watches_a_run_live_filters_history_reads_a_fix_and_signs_out() {
    require_chromium();
    common::require("go");
    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}",
        dir.path().join("db/codeinsight.db").display()
    );
    let server = ServeProcess::start(&database, dir.path(), None, &[], &[]);
    let (_, alice) = create_token(&database, "alice");
    let (_, bob) = create_token(&database, "bob");
    let project = tempfile::tempdir().unwrap();
    write_project(project.path());
    let http = reqwest::Client::new();
    let browser = Browser::start().await;

    // 1. Sign in.
    browser.goto(&server.url("/")).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    browser.screenshot("web-login").await;
    sign_in(&browser, &server, &alice).await;
    assert!(
        browser.text("main").await.contains("No runs match"),
        "a new user has no runs"
    );

    // 2. A real review, sent by the real binary while the browser watches.
    let review = tokio::process::Command::new(BIN)
        .args([
            "review",
            "--server",
            &server.url(""),
            "--token",
            &alice,
            "--no-cache",
            ".",
        ])
        .current_dir(project.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let run_id = newest_run(&http, &server, &alice).await;

    // 3. The run page reaches its verdict without a reload.
    browser.goto(&server.url(&format!("/runs/{run_id}"))).await;
    let verdict_at_load = browser.text("#verdict").await;
    assert_eq!(
        verdict_at_load.trim(),
        "running",
        "the run had already finished when its page loaded, so live updates were not exercised"
    );
    script(&browser, "window.notReloaded = true; return true;").await;
    browser
        .wait_for_text("#live", "Live", Duration::from_secs(10))
        .await;
    browser.screenshot("web-run-live").await;
    browser.wait_for_text("#verdict", "failed", LIVE_WAIT).await;
    assert_eq!(
        script(&browser, "return window.notReloaded === true;").await,
        Value::Bool(true),
        "the page was reloaded instead of updated in place"
    );
    let output = review.wait_with_output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The counts arrive with the verdict: the page shows what `review` reported.
    let counts = browser.text("#counts").await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary_line = stdout
        .lines()
        .find(|line| line.starts_with("Findings:"))
        .unwrap();
    for severity in ["critical", "major"] {
        let reported: String = summary_line
            .split(',')
            .find(|part| part.contains(severity))
            .unwrap()
            .split_whitespace()
            .find(|word| word.chars().all(|c| c.is_ascii_digit()))
            .unwrap()
            .to_owned();
        let shown = script(
            &browser,
            &format!(
                "return document.querySelector('#counts td[data-severity={severity}]').textContent;"
            ),
        )
        .await;
        assert_eq!(
            shown.as_str().unwrap().trim(),
            reported,
            "{severity}: {counts}"
        );
    }
    browser.screenshot("web-run-final").await;
    browser.goto(&server.url("/")).await;
    let row = browser
        .wait_for_text("table.runs tbody", "failed", Duration::from_secs(10))
        .await;
    assert!(
        row.contains("feature/web-view"),
        "the run's branch is shown: {row}"
    );
    browser.screenshot("web-runs").await;
    browser.goto(&server.url(&format!("/runs/{run_id}"))).await;

    // Hostile text stays text: the path `<script>/page.js` and a message quoting `<script>` are shown, and no
    // element came from them (the page's only script is its own).
    let main = browser.text("main").await;
    assert!(main.contains("<script>/page.js"), "{main}");
    assert!(main.contains("<script>alert(1)</script>"), "{main}");
    assert_eq!(
        script(&browser, "return document.scripts.length;").await,
        Value::from(1)
    );
    assert_eq!(
        script(
            &browser,
            "return document.querySelectorAll('main script, main img').length;"
        )
        .await,
        Value::from(0)
    );

    // 5. Open a finding and see its fix as a diff.
    browser
        .client()
        .find(Locator::Css("a.loc[href*='/files/']"))
        .await
        .unwrap();
    let app_link = script(
        &browser,
        "return Array.from(document.querySelectorAll('a.loc')).find(a => a.textContent.startsWith('app.py:4')).getAttribute('href');",
    )
    .await;
    browser.goto(&server.url(app_link.as_str().unwrap())).await;
    browser
        .wait_for_text("h1", "app.py", Duration::from_secs(10))
        .await;
    let diff = browser.text("pre.diff").await;
    assert!(diff.contains("+def record(name, tags=None):"), "{diff}");
    assert!(diff.contains("-def record(name, tags=["), "{diff}");
    browser.screenshot("web-file").await;

    // 4. Filter the history by rule: the URL holds the filter, the server answers with the one file.
    browser.goto(&server.url("/history")).await;
    browser
        .wait_for_text("h1", "History", Duration::from_secs(10))
        .await;
    browser
        .fill_and_submit(
            "input[name=search]",
            "python/mutable-default-argument",
            "form.filters button[type=submit]",
        )
        .await;
    let client = browser.client();
    browser
        .wait_for_text("table.history tbody", "app.py", Duration::from_secs(10))
        .await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.as_str()
            .contains("search=python%2Fmutable-default-argument"),
        "{url}"
    );
    assert_eq!(
        script(
            &browser,
            "return document.querySelectorAll('table.history tbody tr').length;"
        )
        .await,
        Value::from(1)
    );
    browser.screenshot("web-history-filtered").await;
    // The same view is a link anyone signed in as alice can open.
    browser.goto(url.as_str()).await;
    browser
        .wait_for_text("table.history tbody", "app.py", Duration::from_secs(10))
        .await;

    // 6. Sign out: the session is gone on the server, so its pages lead back to the sign-in form.
    client
        .find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;
    browser.goto(&server.url(&format!("/runs/{run_id}"))).await;
    browser
        .wait_for_text("h1", "Sign in", Duration::from_secs(10))
        .await;

    // Bob reaches alice's run by its URL and gets the same answer as for a run that does not exist.
    sign_in(&browser, &server, &bob).await;
    browser.goto(&server.url(&format!("/runs/{run_id}"))).await;
    let theirs = browser.text("main").await;
    browser.screenshot("web-not-found").await;
    browser
        .goto(&server.url("/runs/00000000-0000-4000-8000-000000000000"))
        .await;
    let missing = browser.text("main").await;
    assert_eq!(theirs, missing);
    assert!(theirs.contains("Not found"), "{theirs}");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (_, bob_cookie) = login(&plain, &server, &bob, false).await;
    for path in [
        format!("/runs/{run_id}"),
        "/runs/00000000-0000-4000-8000-000000000000".to_owned(),
    ] {
        let response = plain
            .get(server.url(&path))
            .header("cookie", &bob_cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{path}");
    }
    browser.goto(&server.url("/history?search=app.py")).await;
    assert!(browser.text("main").await.contains("No files match"));
    browser.close().await;
}

/// Signs in over plain HTTP; returns the `Set-Cookie` header and the cookie to send back.
async fn login(
    http: &reqwest::Client,
    server: &ServeProcess,
    token: &str,
    https: bool,
) -> (String, String) {
    let mut request = http
        .post(server.url("/login"))
        .header("origin", server.url(""))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&next=%2Fhistory"));
    if https {
        request = request.header("x-forwarded-proto", "https");
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/history");
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    (set_cookie, cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_strict_cookies_checked_on_every_page_and_ended_by_revoking_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}",
        dir.path().join("db/codeinsight.db").display()
    );
    let server = ServeProcess::start(&database, dir.path(), None, &[], &[]);
    let (token_id, token) = create_token(&database, "alice");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Without a session a page sends the browser to the form, keeping where it was going.
    let response = http
        .get(server.url("/history?status=failed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(
        response.headers()["location"],
        "/login?next=/history%3Fstatus%3Dfailed"
    );

    let (set_cookie, cookie) = login(&http, &server, &token, false).await;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
    let (secure, _) = login(&http, &server, &token, true).await;
    assert!(secure.contains("; Secure"), "{secure}");

    let page = http
        .get(server.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let headers = page.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(
        headers["server-timing"]
            .to_str()
            .unwrap()
            .starts_with("app;dur=")
    );
    let body = page.text().await.unwrap();
    assert!(body.len() < 200 * 1024);
    // No inline script or style: everything the page runs comes from the server's own assets.
    assert!(!body.contains("<script>"), "inline script in {body}");
    assert!(!body.contains(" style="), "inline style in {body}");

    // A sign-in or sign-out from another site is refused; so is a cookie trying to change state via the API.
    let forged = http
        .post(server.url("/login"))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    let forged = http
        .post(server.url("/logout"))
        .header("origin", "http://evil.example")
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let api_write = http
        .post(server.url("/api/v1/runs"))
        .header("cookie", &cookie)
        .header("origin", server.url(""))
        .json(&serde_json::json!({"files": [{"path": "a.py", "content": "x = 1\n"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api_write.status().as_u16(),
        401,
        "a cookie cannot submit a run"
    );
    assert_eq!(
        http.get(server.url("/logout"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        405,
        "sign-out is POST only"
    );
    // A WebSocket opened with the cookie from another site's page is refused; from ours it is accepted.
    let upgrade = |origin: String| {
        http.get(server.url("/ws/alice"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
    };
    assert_eq!(
        upgrade("http://evil.example".into())
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        upgrade(server.url("")).await.unwrap().status().as_u16(),
        101
    );

    // The session still works, and ends when its token is revoked.
    let history = http
        .get(server.url("/history"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(history.status().as_u16(), 200);
    let revoked = std::process::Command::new(BIN)
        .args(["token", "revoke", &token_id, "--database", &database])
        .output()
        .unwrap();
    assert!(revoked.status.success());
    let after = http
        .get(server.url("/history"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.status().as_u16(),
        303,
        "a revoked token's session is over"
    );

    // Logout ends a session for good, whatever the browser keeps.
    let (_, other) = {
        let (_, fresh) = create_token(&database, "carol");
        login(&http, &server, &fresh, false).await
    };
    let out = http
        .post(server.url("/logout"))
        .header("origin", server.url(""))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let after = http
        .get(server.url("/"))
        .header("cookie", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status().as_u16(), 303);
}

/// A free port on 127.0.0.1 (bound, then released for the dashboard to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_serves_local_reviews_and_reviews_go_through_it_live() {
    use std::io::BufRead as _;
    let data = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join("app.py"), APP_PY).unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let mut dashboard = std::process::Command::new(BIN)
        .args(["dashboard", "--listen", &address])
        .current_dir(project.path())
        .env("CODEINSIGHT_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(dashboard.stdout.take().unwrap());
    let mut link = String::new();
    stdout.read_line(&mut link).unwrap();
    let link = link.trim().to_owned();
    let base = format!("http://{address}");
    assert!(link.starts_with(&format!("{base}/login?code=")), "{link}");

    // The dashboard announces itself to the commands of this data directory, readable by the user only.
    let announced = data.path().join("dashboard.json");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&announced).unwrap().permissions(),
    );
    assert_eq!(
        mode & 0o077,
        0,
        "dashboard.json is readable by others: {mode:o}"
    );
    let file: Value = serde_json::from_slice(&std::fs::read(&announced).unwrap()).unwrap();
    let token = file["token"].as_str().unwrap().to_owned();

    // A review without a server goes through the dashboard's server: it counts the run.
    let review = std::process::Command::new(BIN)
        .args(["review", "--no-linters", "app.py"])
        .current_dir(project.path())
        .env("CODEINSIGHT_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        review.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&review.stderr)
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metrics = http
        .get(format!("{base}/metrics"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line == "codeinsight_runs_submitted_total 1"),
        "the review did not go through the dashboard: {metrics}"
    );

    // The printed link signs in once; the run is on the runs page.
    let code = link.split("code=").nth(1).unwrap();
    let form = http.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(form.contains(&format!("value=\"{code}\"")), "{form}");
    let signed_in = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("code={code}&next=%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let runs = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&review.stderr);
    let run_id = stderr
        .split("(run ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    assert!(runs.contains(run_id), "{runs}");
    let again = http
        .post(format!("{base}/login"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("code={code}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 401, "a sign-in link works once");

    // Ctrl-C stops it and takes the announcement back.
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(dashboard.id()).unwrap()).unwrap(),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let status = dashboard.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(!announced.exists());
}
