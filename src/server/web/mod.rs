//! The web view: pages rendered on the server (`render::html`) for signed-in browsers, on the same server as the
//! API. `/` lists runs, `/runs/{id}` is one run, `/files/{job_id}` one file, `/history` every file with filters
//! in the URL (keyset pages). Every page sends a strict `Content-Security-Policy` (scripts and styles from this
//! server only), `nosniff`, `Referrer-Policy` and `no-store`; a user sees only their own runs and files, and
//! another user's answer exactly like a missing one.

mod session;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

pub(crate) use session::{WebState, same_origin, session_user};
use session::{WebUser, login, login_form, logout};

use super::AppState;
use super::routes::{HistoryQuery, RunsQuery, history_filter, run_filter};
use crate::engine::Language;
use crate::protocol::{JobStatus, RunVerdict, Severity};
use crate::render::html::{
    self, HistoryFilterView, HistoryView, JobView, Page, RunView, RunsView, error_page,
};
use crate::store::RunPage;

/// Files one run page reads (the rest are in history, filtered by the run).
const RUN_PAGE_FILES: u32 = 500;
/// The most stored results one run page reads.
const RUN_PAGE_BYTES: usize = 8 * 1024 * 1024;
/// Files whose text a run page reads for code frames.
const RUN_PAGE_SOURCES: usize = 40;
/// Rows of a runs or history page.
const PAGE_ROWS: &str = "50";

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(runs_index))
        .route("/runs/{run_id}", get(run_view))
        .route("/files/{job_id}", get(job_view))
        .route("/history", get(history))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/assets/app.css", get(stylesheet))
        .route("/assets/app.js", get(script))
}

/// A page with the web view's security headers.
pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages hold a user's private results: never kept by a shared cache or the back-forward cache.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page response with how long the server spent on it (`Server-Timing`, read by the benchmarks and by a
/// browser's developer tools).
fn timed(started: Instant, status: StatusCode, body: String) -> Response {
    let mut response = html_response(status, body);
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&format!("app;dur={millis:.1}")) {
        response.headers_mut().insert("server-timing", value);
    }
    response
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Asset URLs carry the assets' hash (`?v=`), so a cached copy is never stale.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

async fn stylesheet() -> Response {
    asset(html::STYLESHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    asset(html::SCRIPT, "text/javascript; charset=utf-8")
}

/// Percent-encodes `text` for a URL's query (everything but unreserved characters and `/`).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// `path?key=value&…` from the pairs that have a value.
fn url_with(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{key}={}", encode(value)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

fn page(user: &str, title: String, section: html::Section) -> Page<'_> {
    Page {
        title,
        user: Some(user),
        section,
        live_runs: Vec::new(),
        live_jobs: Vec::new(),
    }
}

/// An error page: a bad filter (400), something missing or not the user's (404), or the store failing (500).
fn error_response(user: &str, status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Bad request",
        _ => "Something went wrong",
    };
    html_response(
        status,
        error_page(
            &page(user, heading.to_owned(), html::Section::Other),
            heading,
            message,
        ),
    )
}

fn store_failed(user: &str, problem: &crate::store::StoreError) -> Response {
    tracing::error!(error = %problem, "a page could not read the store");
    error_response(
        user,
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server could not read its database. Try again in a moment.",
    )
}

#[derive(Debug, Default, Deserialize)]
struct RunsPageQuery {
    status: Option<String>,
    search: Option<String>,
    cursor: Option<String>,
}

/// `GET /`: the user's runs, newest first.
async fn runs_index(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Query(query): Query<RunsPageQuery>,
) -> Response {
    let started = Instant::now();
    let status = query.status.clone().unwrap_or_default();
    let search = query.search.clone().unwrap_or_default();
    let filter = match run_filter(RunsQuery {
        status: query.status,
        search: query.search,
        cursor: query.cursor.clone(),
        limit: Some(PAGE_ROWS.to_owned()),
    }) {
        Ok(filter) => filter,
        Err(problem) => {
            return error_response(&user.user_id, StatusCode::BAD_REQUEST, &problem.to_string());
        }
    };
    let (runs, next) = match state.inner.store.list_runs(&user.user_id, &filter).await {
        Ok(found) => found,
        Err(problem) => return store_failed(&user.user_id, &problem),
    };
    let next_url = next.map(|cursor| {
        url_with(
            "/",
            &[
                ("status", &status),
                ("search", &search),
                ("cursor", &cursor.encode()),
            ],
        )
    });
    let mut page = page(&user.user_id, "Runs".into(), html::Section::Runs);
    page.live_runs = runs
        .iter()
        .filter(|run| run.verdict == RunVerdict::Running)
        .map(|run| run.run_id.clone())
        .collect();
    let body = html::runs_page(
        &page,
        &RunsView {
            runs: &runs,
            status: &status,
            search: &search,
            next_url,
            paged: query.cursor.is_some_and(|cursor| !cursor.is_empty()),
        },
    );
    timed(started, StatusCode::OK, body)
}

/// `GET /runs/{run_id}`: one run, its files grouped by verdict and its findings by severity.
async fn run_view(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(run_id): Path<String>,
) -> Response {
    let started = Instant::now();
    let store = &state.inner.store;
    let missing = || {
        error_response(
            &user.user_id,
            StatusCode::NOT_FOUND,
            "There is no such run.",
        )
    };
    let run = match store
        .get_run(
            &run_id,
            RunPage {
                after: 0,
                limit: RUN_PAGE_FILES,
                byte_budget: RUN_PAGE_BYTES,
            },
        )
        .await
    {
        Ok(Some(run)) if run.user_id == user.user_id => run,
        Ok(_) => return missing(),
        Err(problem) => return store_failed(&user.user_id, &problem),
    };
    let Some(summary) = run.summary.clone() else {
        return missing();
    };
    // The text of the files whose findings are drawn first (most severe first), for code frames and diffs.
    let mut with_findings: Vec<(Severity, &str)> = run
        .jobs
        .iter()
        .filter_map(|job| {
            let worst = job
                .results
                .as_ref()?
                .findings
                .iter()
                .map(|finding| finding.severity)
                .max()?;
            Some((worst, job.job_id.as_str()))
        })
        .collect();
    with_findings.sort_by_key(|(worst, _)| std::cmp::Reverse(*worst));
    let wanted: Vec<&str> = with_findings
        .iter()
        .take(RUN_PAGE_SOURCES)
        .map(|(_, job_id)| *job_id)
        .collect();
    let sources: HashMap<String, String> = match store.job_contents(&wanted).await {
        Ok(sources) => sources,
        Err(problem) => return store_failed(&user.user_id, &problem),
    };
    let mut page = page(
        &user.user_id,
        format!("Run {}", run_id.get(..8).unwrap_or(&run_id)),
        html::Section::Runs,
    );
    if summary.verdict == RunVerdict::Running {
        page.live_runs.push(run_id.clone());
    }
    let body = html::run_page(
        &page,
        &RunView {
            summary: &summary,
            rejected: &run.rejected,
            jobs: &run.jobs,
            more_jobs_url: run
                .next_cursor
                .is_some()
                .then(|| url_with("/history", &[("run", &run_id)])),
            sources: &sources,
        },
    );
    timed(started, StatusCode::OK, body)
}

/// `GET /files/{job_id}`: one file, whole, with its findings under their lines.
async fn job_view(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Path(job_id): Path<String>,
) -> Response {
    let started = Instant::now();
    let store = &state.inner.store;
    let job = match store.get_job(&job_id).await {
        Ok(Some(job)) if job.user_id == user.user_id => job,
        Ok(_) => {
            return error_response(
                &user.user_id,
                StatusCode::NOT_FOUND,
                "There is no such file.",
            );
        }
        Err(problem) => return store_failed(&user.user_id, &problem),
    };
    let run = match &job.run_id {
        Some(run_id) => match store.run_summary(run_id).await {
            Ok(run) => run,
            Err(problem) => return store_failed(&user.user_id, &problem),
        },
        None => None,
    };
    let mut page = page(&user.user_id, job.file_path.clone(), html::Section::History);
    if matches!(job.status, JobStatus::Pending | JobStatus::Processing) {
        page.live_jobs.push(job.job_id.clone());
    }
    let body = html::job_page(
        &page,
        &JobView {
            job: &job,
            run: run.as_ref(),
        },
    );
    timed(started, StatusCode::OK, body)
}

#[derive(Debug, Default, Deserialize)]
struct HistoryPageQuery {
    search: Option<String>,
    status: Option<String>,
    #[serde(rename = "type")]
    job_type: Option<String>,
    language: Option<String>,
    since: Option<String>,
    until: Option<String>,
    run: Option<String>,
    cursor: Option<String>,
}

/// `GET /history`: every file the user submitted, filtered and paged on the server; the URL holds the filters.
async fn history(
    State(state): State<AppState>,
    WebUser(user): WebUser,
    Query(query): Query<HistoryPageQuery>,
) -> Response {
    let started = Instant::now();
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let (search, status, job_type, language, since, until, run) = (
        text(&query.search),
        text(&query.status),
        text(&query.job_type),
        text(&query.language),
        text(&query.since),
        text(&query.until),
        text(&query.run),
    );
    let mut filter = match history_filter(HistoryQuery {
        limit: Some(PAGE_ROWS.to_owned()),
        status: query.status,
        job_type: query.job_type,
        language: query.language,
        search: query.search,
        since: query.since,
        until: query.until,
        cursor: query.cursor.clone(),
    }) {
        Ok(filter) => filter,
        Err(problem) => {
            return error_response(&user.user_id, StatusCode::BAD_REQUEST, &problem.to_string());
        }
    };
    if !run.is_empty() {
        if let Err(problem) = super::fields::check("run", &run, super::fields::ID) {
            return error_response(&user.user_id, StatusCode::BAD_REQUEST, &problem.to_string());
        }
        filter.run_id = Some(run.clone());
    }
    let (jobs, next) = match state.inner.store.list_jobs(&user.user_id, &filter).await {
        Ok(found) => found,
        Err(problem) => return store_failed(&user.user_id, &problem),
    };
    let filters = [
        ("search", search.as_str()),
        ("status", status.as_str()),
        ("type", job_type.as_str()),
        ("language", language.as_str()),
        ("since", since.as_str()),
        ("until", until.as_str()),
        ("run", run.as_str()),
    ];
    let next_url = next.map(|cursor| {
        let cursor = cursor.encode();
        let mut pairs = filters.to_vec();
        pairs.push(("cursor", &cursor));
        url_with("/history", &pairs)
    });
    let paged = query.cursor.is_some_and(|cursor| !cursor.is_empty());
    let languages: Vec<&str> = Language::ALL
        .iter()
        .map(|language| language.name())
        .collect();
    let page = page(&user.user_id, "History".into(), html::Section::History);
    let body = html::history_page(
        &page,
        &HistoryView {
            jobs: &jobs,
            filter: HistoryFilterView {
                search: &search,
                status: &status,
                job_type: &job_type,
                language: &language,
                since: &since,
                until: &until,
                run: &run,
            },
            next_url,
            first_url: paged.then(|| url_with("/history", &filters)),
            languages: &languages,
        },
    );
    timed(started, StatusCode::OK, body)
}
