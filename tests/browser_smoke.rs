//! The browser harness (tests/common/browser.rs) against the real product: a headless Chromium, driven through
//! chromedriver, reads the real `codeinsight serve`'s health page and takes a screenshot of it.

#![allow(
    clippy::unwrap_used,
    reason = "a test that cannot unwrap has failed; the panic message is the report"
)]

mod common;

use std::time::Duration;

use common::ServeProcess;
use common::browser::{Browser, require_chromium};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_chromium_reads_the_real_server() {
    require_chromium();
    let dir = tempfile::tempdir().unwrap();
    let database = format!(
        "sqlite://{}",
        dir.path().join("db/codeinsight.db").display()
    );
    let server = ServeProcess::start(&database, dir.path(), None, &[], &[]);
    let browser = Browser::start().await;

    browser.goto(&server.url("/health")).await;
    // Chromium shows a JSON response as plain text in a page of its own (under a "Pretty-print" checkbox).
    let text = browser
        .wait_for_text("body", r#""status":"healthy""#, Duration::from_secs(10))
        .await;
    assert!(text.contains(r#""service":"codeinsight""#), "{text}");

    let path = browser.screenshot("smoke-health").await;
    let png = std::fs::read(&path).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    browser.close().await;
}
