//! The typed REST client: one method per route the CLI uses, each returning protocol types or a [`ClientError`].
//! It knows nothing about terminals; the CLI decides what to show.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{
    ApiErrorBody, EnqueueRequest, EnqueueResponse, Job, JobList, Run, RunCreated, RunList,
    RunRequest, RunSummary, WhoAmI,
};

use super::error::{ClientError, error_chain};

/// Filters for `GET /jobs/user/{user_id}`, passed through to the server.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub status: Option<String>,
    pub job_type: Option<String>,
    pub language: Option<String>,
    pub search: Option<String>,
    pub since: Option<String>,
    /// Jobs created before this time, or by the end of this date.
    pub until: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// Filters for `GET /api/v1/runs`, passed through to the server.
#[derive(Debug, Clone, Default)]
pub struct RunQuery {
    /// A verdict: running, passed, failed or incomplete.
    pub status: Option<String>,
    pub search: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
}

/// A client bound to one server and one bearer token.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
    token: String,
}

impl ApiClient {
    /// `base_url` is like `http://127.0.0.1:8080` (a trailing slash is ignored).
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::InvalidUrl {
                url: base_url,
                detail: "expected an address starting with http:// or https://".into(),
            });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("codeinsight/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| ClientError::InvalidUrl {
                url: base_url.clone(),
                detail: error_chain(&error),
            })?;
        Ok(ApiClient {
            http,
            base_url,
            token: token.to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// `GET /api/v1/whoami`: the user the token belongs to.
    pub async fn whoami(&self) -> Result<WhoAmI, ClientError> {
        self.get("/api/v1/whoami", "the `whoami` route", &[]).await
    }

    /// `GET /api/v1/rules?ids=...`: the server's documentation of these rules (unknown ids are left out).
    pub async fn rule_docs(
        &self,
        ids: &[&str],
    ) -> Result<Vec<crate::protocol::RuleDoc>, ClientError> {
        self.get(
            "/api/v1/rules",
            "the rules route",
            &[("ids", ids.join(","))],
        )
        .await
    }

    /// `POST /api/v1/runs`: submits every file as one run.
    pub async fn create_run(&self, request: &RunRequest) -> Result<RunCreated, ClientError> {
        self.post("/api/v1/runs", "the runs route", request).await
    }

    /// `POST /api/v1/runs/{run_id}/files`: more files for a run this client created.
    pub async fn append_run(
        &self,
        run_id: &str,
        request: &RunRequest,
    ) -> Result<RunCreated, ClientError> {
        self.post(
            &format!("/api/v1/runs/{run_id}/files"),
            "the run's files route",
            request,
        )
        .await
    }

    /// `POST /api/v1/runs/{run_id}/abort`: records that the run could not be submitted whole, with why.
    pub async fn abort_run(&self, run_id: &str, reason: &str) -> Result<RunSummary, ClientError> {
        self.post(
            &format!("/api/v1/runs/{run_id}/abort"),
            "the run's abort route",
            &serde_json::json!({ "reason": reason }),
        )
        .await
    }

    /// `GET /api/v1/runs`: one page of the caller's runs, newest first.
    pub async fn runs(&self, query: &RunQuery) -> Result<RunList, ClientError> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (key, value) in [
            ("status", &query.status),
            ("search", &query.search),
            ("cursor", &query.cursor),
        ] {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(limit) = query.limit {
            pairs.push(("limit", limit.to_string()));
        }
        self.get("/api/v1/runs", "the runs route", &pairs).await
    }

    /// `POST /jobs/enqueue`: submits one file as a job (`debug` jobs carry an error log).
    pub async fn enqueue(&self, request: &EnqueueRequest) -> Result<EnqueueResponse, ClientError> {
        self.post("/jobs/enqueue", "the enqueue route", request)
            .await
    }

    /// `GET /api/v1/runs/{run_id}`, every page of it: the run with all its jobs.
    pub async fn run(&self, run_id: &str) -> Result<Run, ClientError> {
        let what = format!("run `{run_id}`");
        let path = format!("/api/v1/runs/{run_id}");
        let mut run: Run = self.get(&path, &what, &[]).await?;
        let mut cursor = run.next_cursor.take();
        while let Some(after) = cursor {
            let mut page: Run = self.get(&path, &what, &[("cursor", after)]).await?;
            run.jobs.append(&mut page.jobs);
            // The counts of the last page read are the most recent.
            run.total = page.total;
            run.completed = page.completed;
            run.failed = page.failed;
            cursor = page.next_cursor.take();
        }
        Ok(run)
    }

    /// `GET /jobs/{job_id}` (with `file_content`).
    pub async fn job(&self, job_id: &str) -> Result<Job, ClientError> {
        self.get(&format!("/jobs/{job_id}"), &format!("job `{job_id}`"), &[])
            .await
    }

    /// `GET /jobs/user/{user_id}` with server-side filters.
    pub async fn jobs(&self, user_id: &str, query: &JobQuery) -> Result<JobList, ClientError> {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let optional = [
            ("status", &query.status),
            ("type", &query.job_type),
            ("language", &query.language),
            ("search", &query.search),
            ("since", &query.since),
            ("until", &query.until),
            ("cursor", &query.cursor),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                pairs.push((key, value.clone()));
            }
        }
        if let Some(limit) = query.limit {
            pairs.push(("limit", limit.to_string()));
        }
        self.get(
            &format!("/jobs/user/{user_id}"),
            &format!("user `{user_id}`"),
            &pairs,
        )
        .await
    }

    async fn get<T: DeserializeOwned>(
        &self,
        route: &str,
        what: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .get(format!("{}{route}", self.base_url))
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        self.decode(route, what, response).await
    }

    async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        route: &str,
        what: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let response = self
            .http
            .post(format!("{}{route}", self.base_url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|error| self.unreachable(&error))?;
        self.decode(route, what, response).await
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        route: &str,
        what: &str,
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.unreachable(&error))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|error| ClientError::Protocol {
                url: format!("{}{route}", self.base_url),
                detail: format!("unexpected response body: {error}"),
            });
        }
        let detail = serde_json::from_slice::<ApiErrorBody>(&body).map_or_else(
            |_| String::from_utf8_lossy(&body).chars().take(200).collect(),
            |body| body.detail,
        );
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ClientError::Unauthorized {
                url: self.base_url.clone(),
                detail,
            },
            StatusCode::NOT_FOUND => ClientError::NotFound {
                what: what.to_owned(),
            },
            _ => ClientError::Api {
                route: route.to_owned(),
                status: status.as_u16(),
                detail,
            },
        })
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base_url.clone(),
            cause: error_chain(error),
        }
    }
}
