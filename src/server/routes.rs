//! The HTTP routes of the protocol (docs/design.md) and the run API. Every route but `GET /health` requires a bearer token
//! (see `auth.rs`); the user always comes from the token. Another user's job, run, history or socket answers
//! 404 exactly like a missing one, so existence is never revealed; a request body whose `user_id` differs from
//! the token's user answers 403.

use std::fmt::Write as _;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use tower_http::trace::TraceLayer;

use super::auth::AuthUser;
use super::extract::{ApiJson, ApiQuery};
use super::state::Metrics;
use super::{ApiError, AppState, fields, websocket};
use crate::engine::Language;
use crate::protocol::{
    EnqueueRequest, EnqueueResponse, Job, JobList, JobStatus, JobType, RejectedFile, Run,
    RunContext, RunCreated, RunGate, RunJobRef, RunList, RunRequest, RunSummary, RunVerdict,
    WhoAmI, sha256_hex,
};
use crate::store::{HistoryCursor, HistoryFilter, NewJob, NewRun, RunCursor, RunFilter, RunPage};

/// Default and largest page of `GET /jobs/user/{user_id}`.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;
/// Most jobs in one page of `GET /api/v1/runs/{run_id}`, and the stored results one page stops at.
const RUN_PAGE_JOBS: u32 = 500;
const RUN_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// The router over `state`, for tests through `tower::ServiceExt::oneshot`: its `WebSocket`s are never told to
/// close by a shutdown (a running server's router closes them, see [`crate::server::start`]).
pub fn app(state: AppState) -> Router {
    let (_never_fires, receiver) = tokio::sync::watch::channel(false);
    router(state, receiver)
}

pub(crate) fn router(state: AppState, shutdown: websocket::ShutdownSignal) -> Router {
    let limits = state.inner.limits;
    // A single-file body: the file itself plus JSON escaping and the other fields.
    let enqueue_limit = limits
        .max_file_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    Router::new()
        .route(
            "/jobs/enqueue",
            post(enqueue).layer(DefaultBodyLimit::max(enqueue_limit)),
        )
        .route("/jobs/{job_id}", get(get_job))
        .route("/jobs/user/{user_id}", get(list_jobs))
        .route("/ws/{user_id}", get(websocket::upgrade))
        .route("/health", get(health))
        .route("/stats", get(stats))
        .route("/metrics", get(metrics))
        .route("/cache/stats", get(cache_stats))
        .route("/cache/clear", post(cache_clear))
        .route(
            "/api/v1/runs",
            post(create_run).layer(DefaultBodyLimit::max(limits.max_run_bytes)),
        )
        .route("/api/v1/runs", get(list_runs))
        .route("/api/v1/runs/{run_id}", get(get_run))
        .route("/api/v1/runs/{run_id}/abort", post(abort_run))
        .route(
            "/api/v1/runs/{run_id}/files",
            post(append_run).layer(DefaultBodyLimit::max(limits.max_run_bytes)),
        )
        .route("/api/v1/whoami", get(whoami))
        .route("/api/v1/rules", get(rule_docs))
        .merge(super::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::Extension(shutdown))
        // Spans name the path only: the WebSocket route may carry a token in its query string.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
                tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"detail": "Method Not Allowed"})),
    )
        .into_response()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Why one file cannot be reviewed, if it cannot.
fn refuse_file(path: &str, content: &str, limits: super::Limits) -> Option<String> {
    if path.trim().is_empty() {
        return Some("empty file path".into());
    }
    if path.len() > limits.max_path_bytes {
        return Some(format!(
            "file path too long: {} bytes (limit {})",
            path.len(),
            limits.max_path_bytes
        ));
    }
    if content.len() > limits.max_file_bytes {
        return Some(format!(
            "file too large: {} bytes (limit {} bytes)",
            content.len(),
            limits.max_file_bytes
        ));
    }
    if content.contains('\0') {
        return Some("binary content (contains NUL bytes): only UTF-8 text is reviewed".into());
    }
    None
}

/// `path` cut to at most `limit` bytes (on a character boundary), with `…` when cut.
fn clip_path(path: &str, limit: usize) -> String {
    if path.len() <= limit {
        return path.to_owned();
    }
    let mut end = limit.min(path.len());
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &path[..end])
}

/// The language name stored with a job: the client's, normalised when known, else detected, else `unknown`.
fn resolve_language(path: &str, content: &str, requested: Option<&str>) -> String {
    match requested.map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => Language::from_name(name).map_or_else(
            || name.to_ascii_lowercase(),
            |language| language.name().to_owned(),
        ),
        None => Language::detect(path, content).map_or_else(
            || "unknown".to_owned(),
            |language| language.name().to_owned(),
        ),
    }
}

async fn enqueue(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiJson(request): ApiJson<EnqueueRequest>,
) -> Result<Json<EnqueueResponse>, ApiError> {
    let shared = &state.inner;
    fields::check("user_id", &request.user_id, fields::USER_ID)?;
    if request.user_id != auth.user_id {
        return Err(ApiError::Forbidden(
            "`user_id` does not match the token's user".into(),
        ));
    }
    fields::check("job_type", &request.job_type, fields::JOB_TYPE)?;
    fields::check_optional(
        "file_path",
        request.file_path.as_deref(),
        shared.limits.max_path_bytes,
    )?;
    fields::check_optional("language", request.language.as_deref(), fields::LANGUAGE)?;
    fields::check_optional("repo_id", request.repo_id.as_deref(), fields::REPO_ID)?;
    fields::check_optional(
        "error_log",
        request.error_log.as_deref(),
        shared.limits.max_file_bytes,
    )?;
    let job_type: JobType = request.job_type.parse().map_err(ApiError::BadRequest)?;
    let content = request
        .file_content
        .ok_or_else(|| ApiError::BadRequest("`file_content` is required".into()))?;
    let file_path = request
        .file_path
        .filter(|path| !path.trim().is_empty())
        .unwrap_or_else(|| "untitled".to_owned());
    if let Some(reason) = refuse_file(&file_path, &content, shared.limits) {
        return Err(if content.len() > shared.limits.max_file_bytes {
            ApiError::PayloadTooLarge(reason)
        } else {
            ApiError::BadRequest(reason)
        });
    }
    let language = resolve_language(&file_path, &content, request.language.as_deref());
    let job = NewJob {
        job_id: uuid::Uuid::new_v4().to_string(),
        user_id: auth.user_id,
        run_id: None,
        job_type,
        file_path,
        language,
        repo_id: request.repo_id,
        content_sha256: sha256_hex(content.as_bytes()),
        file_content: content,
        error_log: request.error_log,
        no_cache: request.no_cache,
        no_linters: request.no_linters,
        ai: request.ai,
        metadata: serde_json::Map::new(),
    };
    shared
        .store
        .insert_job(&job, now().timestamp_micros())
        .await?;
    Metrics::add(&shared.metrics.jobs_submitted, 1);
    shared.announce_work();
    Ok(Json(EnqueueResponse {
        success: true,
        job_id: job.job_id,
        status: JobStatus::Pending,
    }))
}

async fn get_job(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(job_id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    match state.inner.store.get_job(&job_id).await? {
        Some(job) if job.user_id == auth.user_id => Ok(Json(job)),
        _ => Err(ApiError::NotFound("Job not found".into())),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HistoryQuery {
    pub(crate) limit: Option<String>,
    pub(crate) status: Option<String>,
    #[serde(rename = "type")]
    pub(crate) job_type: Option<String>,
    pub(crate) language: Option<String>,
    pub(crate) search: Option<String>,
    pub(crate) since: Option<String>,
    /// A date or time: jobs created before it (a date counts whole).
    pub(crate) until: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// The end of an `until` filter: a time as given, a date at the end of that day.
fn parse_until(text: &str) -> Option<DateTime<Utc>> {
    if DateTime::parse_from_rfc3339(text).is_ok() {
        return parse_since(text);
    }
    Some(parse_since(text)? + chrono::Duration::days(1))
}

fn parse_since(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// `?limit=`: [`DEFAULT_PAGE`] when absent, clamped to 1..=[`MAX_PAGE`].
fn page_limit(limit: Option<String>) -> Result<u32, ApiError> {
    match limit.filter(|value| !value.trim().is_empty()) {
        None => Ok(DEFAULT_PAGE),
        Some(text) => Ok(text
            .trim()
            .parse::<u32>()
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "invalid `limit` `{text}`: expected a positive integer"
                ))
            })?
            .clamp(1, MAX_PAGE)),
    }
}

pub(crate) fn history_filter(query: HistoryQuery) -> Result<HistoryFilter, ApiError> {
    for (field, value) in [
        ("limit", &query.limit),
        ("status", &query.status),
        ("type", &query.job_type),
        ("language", &query.language),
        ("search", &query.search),
        ("since", &query.since),
        ("until", &query.until),
        ("cursor", &query.cursor),
    ] {
        fields::check_optional(field, value.as_deref(), fields::FILTER)?;
    }
    let nonempty = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    let limit = page_limit(query.limit)?;
    let status = nonempty(query.status)
        .map(|text| text.parse::<JobStatus>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let job_type = nonempty(query.job_type)
        .map(|text| text.parse::<JobType>())
        .transpose()
        .map_err(ApiError::BadRequest)?;
    let since = nonempty(query.since)
        .map(|text| {
            parse_since(&text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid `since` `{text}`: expected an RFC 3339 time or a YYYY-MM-DD date"
                ))
            })
        })
        .transpose()?;
    let until = nonempty(query.until)
        .map(|text| {
            parse_until(&text).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "invalid `until` `{text}`: expected an RFC 3339 time or a YYYY-MM-DD date"
                ))
            })
        })
        .transpose()?;
    let cursor = nonempty(query.cursor)
        .map(|text| {
            HistoryCursor::decode(&text)
                .ok_or_else(|| ApiError::BadRequest(format!("invalid `cursor` `{text}`")))
        })
        .transpose()?;
    Ok(HistoryFilter {
        status,
        job_type,
        language: nonempty(query.language),
        search: nonempty(query.search),
        since,
        until,
        run_id: None,
        cursor,
        limit,
    })
}

async fn list_jobs(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(user_id): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<JobList>, ApiError> {
    if user_id != auth.user_id {
        return Err(ApiError::NotFound("User not found".into()));
    }
    let filter = history_filter(query)?;
    let (jobs, next) = state.inner.store.list_jobs(&user_id, &filter).await?;
    Ok(Json(JobList {
        count: jobs.len(),
        jobs,
        next_cursor: next.map(HistoryCursor::encode),
    }))
}

/// `GET /api/v1/whoami`: the token's user, so that a client can build `/jobs/user/{user_id}` and `/ws/{user_id}`.
async fn whoami(State(state): State<AppState>, auth: AuthUser) -> Json<WhoAmI> {
    Json(WhoAmI {
        user_id: auth.user_id,
        admin: auth.admin,
        limits: Some(state.inner.limits.advertised()),
    })
}

#[derive(Debug, Deserialize)]
struct RuleDocsQuery {
    /// Comma-separated rule ids; all rules when absent.
    ids: Option<String>,
}

/// `GET /api/v1/rules[?ids=a,b]`: the documentation of the rules this server runs (built-in and its rule files),
/// so that a report carries it whatever machine renders it. Unknown ids are left out.
async fn rule_docs(
    State(state): State<AppState>,
    _auth: AuthUser,
    ApiQuery(query): ApiQuery<RuleDocsQuery>,
) -> Json<Vec<crate::protocol::RuleDoc>> {
    let rules = &state.inner.rules;
    let docs = match query.ids.as_deref() {
        Some(ids) => ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter_map(|id| rules.get(id))
            .map(crate::engine::RuleInfo::doc)
            .collect(),
        None => rules
            .rules()
            .iter()
            .map(crate::engine::RuleInfo::doc)
            .collect(),
    };
    Json(docs)
}

async fn create_run(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Result<ApiJson<RunRequest>, ApiError>,
) -> Result<(StatusCode, Json<RunCreated>), ApiError> {
    let shared = &state.inner;
    let run_id = uuid::Uuid::new_v4().to_string();
    // A refused run is recorded, failed with the reason it was refused, so that the user finds it in history.
    let (gate, context) = match &request {
        Ok(ApiJson(request)) => (
            request.gate.unwrap_or_default(),
            checked_context(&request.context),
        ),
        Err(_) => (RunGate::default(), RunContext::default()),
    };
    let admitted = request.and_then(|ApiJson(request)| {
        if request.files.is_empty() {
            return Err(ApiError::BadRequest(
                "a run needs at least one file in `files`".into(),
            ));
        }
        admit(shared, &auth, &run_id, request)
    });
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(error) => {
            record_refused_run(shared, &auth, &run_id, gate, context, &error).await;
            return Err(error);
        }
    };
    let run = NewRun {
        run_id: run_id.clone(),
        user_id: auth.user_id.clone(),
        repo_id: admitted.repo_id.clone(),
        rejected: admitted.stored_rejected.clone(),
        rules: admitted.rules.clone(),
        gate,
        context,
        error: None,
    };
    shared
        .store
        .insert_run(&run, &admitted.jobs, now().timestamp_micros())
        .await?;
    Metrics::add(&shared.metrics.runs_submitted, 1);
    // Nobody can be subscribed to a run that did not exist a moment ago, so `queued` is not published here; a
    // subscriber learns where each job stands when it subscribes.
    Ok((StatusCode::CREATED, Json(admitted.answer(shared, run_id))))
}

/// Stores a run the server refused, with no jobs and `error` as its reason. The refusal is answered whatever
/// happens here: a store that cannot record it only logs.
async fn record_refused_run(
    shared: &super::state::Shared,
    auth: &AuthUser,
    run_id: &str,
    gate: RunGate,
    context: RunContext,
    error: &ApiError,
) {
    if matches!(error, ApiError::Internal(_)) {
        return;
    }
    let run = NewRun {
        run_id: run_id.to_owned(),
        user_id: auth.user_id.clone(),
        repo_id: None,
        rejected: Vec::new(),
        rules: None,
        gate,
        context,
        error: Some(format!(
            "refused by the server: {}",
            clip_path(&error.to_string(), 1024)
        )),
    };
    if let Err(store_error) = shared
        .store
        .insert_run(&run, &[], now().timestamp_micros())
        .await
    {
        tracing::warn!(error = %store_error, "recording a refused run failed");
    }
}

/// Limits of a run's context fields: a commit id, a branch, a repository name, a CI link.
const CONTEXT_FIELD: usize = 256;
const CONTEXT_URL: usize = 2048;

/// The context a client sent, keeping only the fields within bounds, and `ci_url` only as an `http(s)` URL (it
/// becomes a link in the web view). Context is informational: a bad field is dropped, never a refusal.
fn checked_context(context: &RunContext) -> RunContext {
    let field = |value: &Option<String>, limit: usize| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|value| !value.is_empty() && fields::check("context", value, limit).is_ok())
            .filter(|value| !value.chars().any(char::is_control))
            .map(str::to_owned)
    };
    RunContext {
        commit: field(&context.commit, CONTEXT_FIELD),
        branch: field(&context.branch, CONTEXT_FIELD),
        repository: field(&context.repository, CONTEXT_FIELD),
        ci_url: field(&context.ci_url, CONTEXT_URL).filter(|url| {
            let lower = url.to_ascii_lowercase();
            lower.starts_with("https://") || lower.starts_with("http://")
        }),
    }
}

#[derive(Debug, Deserialize)]
struct AbortRequest {
    reason: String,
}

/// `POST /api/v1/runs/{run_id}/abort`: the client could not submit the whole run (a batch was refused, the
/// connection dropped), so the run failed to start: it is recorded failed with `reason`. Jobs already queued
/// still run; the verdict stays failed.
async fn abort_run(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(run_id): Path<String>,
    ApiJson(request): ApiJson<AbortRequest>,
) -> Result<Json<RunSummary>, ApiError> {
    fields::check("reason", &request.reason, fields::SKIP_REASON)?;
    let store = &state.inner.store;
    if !store
        .fail_run(&run_id, &auth.user_id, &request.reason)
        .await?
    {
        return Err(ApiError::NotFound("Run not found".into()));
    }
    store
        .run_summary(&run_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("Run not found".into()))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RunsQuery {
    pub(crate) status: Option<String>,
    pub(crate) search: Option<String>,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: Option<String>,
}

/// The filter of a runs page from its query string.
pub(crate) fn run_filter(query: RunsQuery) -> Result<RunFilter, ApiError> {
    for (field, value) in [
        ("status", &query.status),
        ("search", &query.search),
        ("cursor", &query.cursor),
        ("limit", &query.limit),
    ] {
        fields::check_optional(field, value.as_deref(), fields::FILTER)?;
    }
    let nonempty = |value: Option<String>| value.filter(|value| !value.trim().is_empty());
    Ok(RunFilter {
        verdict: nonempty(query.status)
            .map(|text| text.trim().parse::<RunVerdict>())
            .transpose()
            .map_err(ApiError::BadRequest)?,
        search: nonempty(query.search),
        cursor: nonempty(query.cursor)
            .map(|text| {
                RunCursor::decode(&text)
                    .ok_or_else(|| ApiError::BadRequest(format!("invalid `cursor` `{text}`")))
            })
            .transpose()?,
        limit: page_limit(query.limit)?,
    })
}

/// `GET /api/v1/runs`: the caller's runs, newest first, with their verdicts and counts (`?status=` a verdict,
/// `?search=`, `?cursor=`, `?limit=`).
async fn list_runs(
    State(state): State<AppState>,
    auth: AuthUser,
    ApiQuery(query): ApiQuery<RunsQuery>,
) -> Result<Json<RunList>, ApiError> {
    let filter = run_filter(query)?;
    let (runs, next) = state.inner.store.list_runs(&auth.user_id, &filter).await?;
    Ok(Json(RunList {
        runs,
        next_cursor: next.map(|cursor| cursor.encode()),
    }))
}

/// `POST /api/v1/runs/{run_id}/files`: more files for a run of the caller's, in the same shape as the run's
/// creation, so that a review bigger than one request stays one run (one history entry, one subscription). The
/// run's rule selection applies to them; `options.rules`, if given, must be the same.
async fn append_run(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(run_id): Path<String>,
    ApiJson(request): ApiJson<RunRequest>,
) -> Result<(StatusCode, Json<RunCreated>), ApiError> {
    let shared = &state.inner;
    // Another user's run answers exactly like a missing one.
    match shared.store.run_owner(&run_id).await? {
        Some(owner) if owner == auth.user_id => {}
        _ => return Err(ApiError::NotFound("Run not found".into())),
    }
    let stored_rules = shared.store.run_rules(&run_id).await?;
    if request.options.rules.is_some() && request.options.rules != stored_rules {
        return Err(ApiError::BadRequest(
            "`options.rules` differs from the run's own selection; a run has one".into(),
        ));
    }
    let admitted = admit(shared, &auth, &run_id, request)?;
    if !shared
        .store
        .append_to_run(
            &run_id,
            &auth.user_id,
            &admitted.stored_rejected,
            &admitted.jobs,
            now().timestamp_micros(),
        )
        .await?
    {
        return Err(ApiError::NotFound("Run not found".into()));
    }
    // A subscriber of the run learns about the new jobs from their updates and from the run's document.
    Ok((StatusCode::CREATED, Json(admitted.answer(shared, run_id))))
}

/// A request's files, checked and turned into jobs of `run_id`.
struct Admitted {
    jobs: Vec<NewJob>,
    /// The server's own refusals, answered to the client.
    rejected: Vec<RejectedFile>,
    /// Those and the files the client chose not to send, stored with the run.
    stored_rejected: Vec<RejectedFile>,
    repo_id: Option<String>,
    rules: Option<crate::protocol::RuleSelection>,
}

impl Admitted {
    /// Counts the request and wakes the claimer; the answer lists the new jobs and the server's refusals.
    fn answer(self, shared: &super::state::Shared, run_id: String) -> RunCreated {
        Metrics::add(&shared.metrics.jobs_submitted, self.jobs.len() as u64);
        Metrics::add(&shared.metrics.files_rejected, self.rejected.len() as u64);
        if !self.jobs.is_empty() {
            shared.announce_work();
        }
        RunCreated {
            run_id,
            jobs: self
                .jobs
                .into_iter()
                .map(|job| RunJobRef {
                    job_id: job.job_id,
                    file_path: job.file_path,
                })
                .collect(),
            rejected: self.rejected,
        }
    }
}

fn admit(
    shared: &super::state::Shared,
    auth: &AuthUser,
    run_id: &str,
    request: RunRequest,
) -> Result<Admitted, ApiError> {
    if request.files.is_empty() && request.skipped.is_empty() {
        return Err(ApiError::BadRequest(
            "nothing to add: `files` and `skipped` are both empty".into(),
        ));
    }
    if request.files.len() > shared.limits.max_files_per_run {
        return Err(ApiError::PayloadTooLarge(format!(
            "too many files: {} (limit {} per request; send the rest with `POST /api/v1/runs/{{run_id}}/files`)",
            request.files.len(),
            shared.limits.max_files_per_run
        )));
    }
    check_run_fields(&request, shared.limits)?;
    if let Some(rules) = &request.options.rules {
        crate::engine::Selection::resolve(rules, &shared.rules)
            .map_err(|error| ApiError::BadRequest(format!("`options.rules`: {error}")))?;
    }
    let mut jobs = Vec::with_capacity(request.files.len());
    let mut rejected = Vec::new();
    for file in request.files {
        if let Some(reason) = refuse_file(&file.path, &file.content, shared.limits) {
            rejected.push(RejectedFile {
                // A refused path is answered and stored clipped: a path over the limit must not cost its length.
                file_path: clip_path(&file.path, shared.limits.max_path_bytes),
                reason,
                policy: false,
            });
            continue;
        }
        let language = resolve_language(&file.path, &file.content, file.language.as_deref());
        jobs.push(NewJob {
            job_id: uuid::Uuid::new_v4().to_string(),
            user_id: auth.user_id.clone(),
            run_id: Some(run_id.to_owned()),
            job_type: JobType::Review,
            content_sha256: sha256_hex(file.content.as_bytes()),
            file_path: file.path,
            language,
            repo_id: request.repo_id.clone(),
            file_content: file.content,
            error_log: None,
            no_cache: request.options.no_cache,
            no_linters: request.options.no_linters,
            ai: request.options.ai,
            metadata: serde_json::Map::new(),
        });
    }
    // Files the client did not send (binary, generated, too large) are kept with the run, so that `show` reports
    // them, and gates on them, exactly as `review` did. The answer lists only the server's own refusals.
    let mut stored_rejected = rejected.clone();
    stored_rejected.extend(request.skipped);
    Ok(Admitted {
        jobs,
        rejected,
        stored_rejected,
        repo_id: request.repo_id,
        rules: request.options.rules,
    })
}

#[derive(Debug, Deserialize)]
struct RunQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

/// `GET /api/v1/runs/{run_id}`: the run's counts and one page of its jobs (`?cursor=` from the previous page's
/// `next_cursor`, `?limit=` jobs at most). A page also ends once its results reach [`RUN_PAGE_BYTES`], so that
/// reading a big run never holds all of its results in memory.
/// The bounds of a run's fields. A file's content is judged per file (too large or binary: that file is
/// refused and the run goes on); everything else refuses the request, naming the field.
fn check_run_fields(request: &RunRequest, limits: super::Limits) -> Result<(), ApiError> {
    fields::check_optional("repo_id", request.repo_id.as_deref(), fields::REPO_ID)?;
    for (index, file) in request.files.iter().enumerate() {
        if file.path.contains('\0') {
            return Err(ApiError::BadRequest(format!(
                "`files[{index}].path` contains a NUL byte"
            )));
        }
        fields::check_optional(
            &format!("files[{index}].language"),
            file.language.as_deref(),
            fields::LANGUAGE,
        )?;
    }
    if request.skipped.len() > limits.max_files_per_run {
        return Err(ApiError::PayloadTooLarge(format!(
            "too many entries in `skipped`: {} (limit {} per run)",
            request.skipped.len(),
            limits.max_files_per_run
        )));
    }
    for (index, skipped) in request.skipped.iter().enumerate() {
        fields::check(
            &format!("skipped[{index}].file_path"),
            &skipped.file_path,
            limits.max_path_bytes,
        )?;
        fields::check(
            &format!("skipped[{index}].reason"),
            &skipped.reason,
            fields::SKIP_REASON,
        )?;
    }
    Ok(())
}

async fn get_run(
    State(state): State<AppState>,
    auth: AuthUser,
    Path(run_id): Path<String>,
    ApiQuery(query): ApiQuery<RunQuery>,
) -> Result<Json<Run>, ApiError> {
    let after = match query.cursor.as_deref().filter(|cursor| !cursor.is_empty()) {
        None => 0,
        Some(cursor) => cursor
            .parse::<i64>()
            .ok()
            .filter(|after| *after >= 0)
            .ok_or_else(|| ApiError::BadRequest(format!("invalid `cursor` `{cursor}`")))?,
    };
    let limit = match query.limit.as_deref().filter(|limit| !limit.is_empty()) {
        None => RUN_PAGE_JOBS,
        Some(text) => text
            .parse::<u32>()
            .map_err(|_| {
                ApiError::BadRequest(format!(
                    "invalid `limit` `{text}`: expected a positive integer"
                ))
            })?
            .clamp(1, RUN_PAGE_JOBS),
    };
    // The owner first: another user's run answers exactly like a missing one, before any page is read.
    match state.inner.store.run_owner(&run_id).await? {
        Some(owner) if owner == auth.user_id => {}
        _ => return Err(ApiError::NotFound("Run not found".into())),
    }
    let page = RunPage {
        after,
        limit,
        byte_budget: RUN_PAGE_BYTES,
    };
    match state.inner.store.get_run(&run_id, page).await? {
        Some(run) if run.user_id == auth.user_id => Ok(Json(run)),
        _ => Err(ApiError::NotFound("Run not found".into())),
    }
}

/// Unauthenticated on purpose, for load balancers and the CLI's start-up probe; it reveals only liveness.
async fn health(State(state): State<AppState>) -> Response {
    match state.inner.store.ping().await {
        Ok(()) => Json(json!({
            "status": "healthy",
            "service": "codeinsight",
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unhealthy", "service": "codeinsight"})),
            )
                .into_response()
        }
    }
}

async fn cache_stats_value(state: &AppState) -> Result<serde_json::Value, ApiError> {
    let shared = &state.inner;
    let hits = Metrics::get(&shared.metrics.cache_hits);
    let misses = Metrics::get(&shared.metrics.cache_misses);
    let total = hits + misses;
    let rate = if total == 0 {
        0.0
    } else {
        (hits as f64 * 10_000.0 / total as f64).round() / 100.0
    };
    let entries = shared.store.cache_entry_count().await?;
    Ok(json!({
        "hits": hits,
        "misses": misses,
        "total_requests": total,
        "hit_rate_percent": rate,
        "entries": entries,
        "ttl_seconds": shared.cache_ttl.as_secs(),
    }))
}

/// Server-wide figures tell one user about every other user's activity: they are for admins.
fn require_admin(auth: &AuthUser, what: &str) -> Result<(), ApiError> {
    if auth.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "{what} covers every user's activity and needs an admin token"
        )))
    }
}

async fn cache_stats(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&auth, "`/cache/stats`")?;
    Ok(Json(cache_stats_value(&state).await?))
}

async fn cache_clear(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !auth.admin {
        return Err(ApiError::Forbidden(
            "clearing the cache needs an admin token".into(),
        ));
    }
    let deleted = state.inner.store.cache_clear().await?;
    tracing::info!(user = %auth.user_id, entries = deleted, "cache cleared");
    Ok(Json(json!({
        "success": true,
        "deleted_count": deleted,
        "message": format!("Cleared {deleted} cached entries"),
    })))
}

async fn stats(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&auth, "`/stats`")?;
    let shared = &state.inner;
    let queue = shared.store.queue_counts().await?;
    let cache = cache_stats_value(&state).await?;
    Ok(Json(json!({
        "service": "codeinsight",
        "version": env!("CARGO_PKG_VERSION"),
        "status": "healthy",
        "uptime_seconds": shared.started_at.elapsed().as_secs(),
        "workers": shared.workers,
        "queue": queue,
        "cache": cache,
        "websocket": {"connections": shared.hub.connections(), "resyncs": shared.hub.resyncs()},
        "instances": {
            "shared_database": shared.store.shared(),
            "events_relayed_out": shared.hub.relayed().0,
            "events_relayed_in": shared.hub.relayed().1,
        },
        "rules": {"count": shared.rules.rules().len(), "version": shared.rules.version()},
    })))
}

async fn metrics(State(state): State<AppState>, auth: AuthUser) -> Result<Response, ApiError> {
    require_admin(&auth, "`/metrics`")?;
    let shared = &state.inner;
    let queue = shared.store.queue_counts().await?;
    let counters = &shared.metrics;
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, String)]| {
        let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(text, "{name}{labels} {value}");
        }
    };
    metric(
        "codeinsight_jobs",
        "gauge",
        "Jobs in the database by status.",
        &[
            ("{status=\"pending\"}", queue.pending.to_string()),
            ("{status=\"processing\"}", queue.processing.to_string()),
            ("{status=\"completed\"}", queue.completed.to_string()),
            ("{status=\"failed\"}", queue.failed.to_string()),
        ],
    );
    metric(
        "codeinsight_jobs_submitted_total",
        "counter",
        "Jobs accepted since start.",
        &[("", Metrics::get(&counters.jobs_submitted).to_string())],
    );
    metric(
        "codeinsight_runs_submitted_total",
        "counter",
        "Runs accepted since start.",
        &[("", Metrics::get(&counters.runs_submitted).to_string())],
    );
    metric(
        "codeinsight_files_rejected_total",
        "counter",
        "Files refused at submission since start.",
        &[("", Metrics::get(&counters.files_rejected).to_string())],
    );
    metric(
        "codeinsight_jobs_finished_total",
        "counter",
        "Jobs finished by this instance since start.",
        &[
            (
                "{status=\"completed\"}",
                Metrics::get(&counters.jobs_completed).to_string(),
            ),
            (
                "{status=\"failed\"}",
                Metrics::get(&counters.jobs_failed).to_string(),
            ),
        ],
    );
    metric(
        "codeinsight_cache_requests_total",
        "counter",
        "Result cache lookups since start.",
        &[
            (
                "{result=\"hit\"}",
                Metrics::get(&counters.cache_hits).to_string(),
            ),
            (
                "{result=\"miss\"}",
                Metrics::get(&counters.cache_misses).to_string(),
            ),
        ],
    );
    metric(
        "codeinsight_analysis_seconds_total",
        "counter",
        "Time spent analysing files since start.",
        &[(
            "",
            format!(
                "{:.6}",
                Metrics::get(&counters.analysis_micros) as f64 / 1e6
            ),
        )],
    );
    metric(
        "codeinsight_websocket_connections",
        "gauge",
        "Open WebSocket connections.",
        &[("", shared.hub.connections().to_string())],
    );
    metric(
        "codeinsight_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        &[("", shared.started_at.elapsed().as_secs().to_string())],
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
