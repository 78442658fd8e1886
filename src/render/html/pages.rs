//! The pages themselves. Each takes a view of what the server read and returns the whole document.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use super::asset_version;
use super::code::{HighlightedFile, code_frame, fix_diff};
use crate::engine::Language;
use crate::protocol::{
    Applicability, Finding, Job, JobResults, JobStatus, RejectedFile, RunSummary, RunVerdict,
    Severity, SeverityCounts, StageOutcome, StageReport,
};

/// Findings of a run page drawn with their code frame and fix; the rest are listed one line each.
const DETAILED_FINDINGS: usize = 40;
/// Findings of a run page listed at all; beyond, the page counts them and points to the files.
const LISTED_FINDINGS: usize = 300;
/// Files listed per group of a run page.
const FILES_PER_GROUP: usize = 200;

/// What every page shares: the title, who is signed in, which tab is current, and what the page follows live.
pub struct Page<'a> {
    pub title: String,
    /// `None` on the login page.
    pub user: Option<&'a str>,
    pub section: Section,
    /// Runs whose jobs the page's script follows over the WebSocket (those still running).
    pub live_runs: Vec<String>,
    /// Jobs the page's script follows (a job page of a running job).
    pub live_jobs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Runs,
    History,
    Other,
}

fn shell(page: &Page<'_>, content: &Markup) -> String {
    let version = asset_version();
    let live = !page.live_runs.is_empty() || !page.live_jobs.is_empty();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) " · CodeInsight" }
                link rel="stylesheet" href={ "/assets/app.css?v=" (version) };
                script src={ "/assets/app.js?v=" (version) } defer {}
            }
            body data-user=[page.user]
                data-live-runs=[live.then(|| page.live_runs.join(" "))]
                data-live-jobs=[live.then(|| page.live_jobs.join(" "))] {
                header.top {
                    a.brand href="/" { "CodeInsight" }
                    @if let Some(user) = page.user {
                        nav {
                            a href="/" aria-current=[(page.section == Section::Runs).then_some("page")] { "Runs" }
                            a href="/history" aria-current=[(page.section == Section::History).then_some("page")] { "History" }
                        }
                        span.live #live hidden title="Following updates over a WebSocket" { "Live" }
                        span.who { (user) }
                        form.logout method="post" action="/logout" {
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main #content { (content) }
            }
        }
    }
    .into_string()
}

/// An error page (404, 400) with the server's words.
pub fn error_page(page: &Page<'_>, heading: &str, message: &str) -> String {
    shell(
        page,
        &html! {
            h1 { (heading) }
            p.error { (message) }
            p { a href="/" { "Back to runs" } }
        },
    )
}

/// The login form: a token (or a one-time code from `codeinsight dashboard`) opens a session.
pub struct LoginView<'a> {
    /// Where to go once signed in (a local path).
    pub next: &'a str,
    /// A one-time code to sign in with, from the link `codeinsight dashboard` printed.
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
}

pub fn login_page(view: &LoginView<'_>) -> String {
    let page = Page {
        title: "Sign in".into(),
        user: None,
        section: Section::Other,
        live_runs: Vec::new(),
        live_jobs: Vec::new(),
    };
    shell(
        &page,
        &html! {
            section.login {
                h1 { "Sign in" }
                @if let Some(error) = view.error {
                    p.error role="alert" { (error) }
                }
                form method="post" action="/login" {
                    input type="hidden" name="next" value=(view.next);
                    @if let Some(code) = view.code {
                        input type="hidden" name="code" value=(code);
                        p { "Sign in with the one-time link " code { "codeinsight dashboard" } " printed." }
                    } @else {
                        label for="token" { "API token" }
                        input #token type="password" name="token" autocomplete="off" required autofocus;
                        p.hint { "A token from " code { "codeinsight token create" } ". It is sent once; the browser keeps only a session cookie." }
                    }
                    button type="submit" { "Sign in" }
                }
            }
        },
    )
}

// ----- Runs -----

pub struct RunsView<'a> {
    pub runs: &'a [RunSummary],
    /// The verdict filter, as typed.
    pub status: &'a str,
    pub search: &'a str,
    /// The next page's URL, when there is one.
    pub next_url: Option<String>,
    /// Whether this is a later page (a link back to the first is shown).
    pub paged: bool,
}

pub fn runs_page(page: &Page<'_>, view: &RunsView<'_>) -> String {
    shell(
        page,
        &html! {
            h1 { "Runs" }
            form.filters method="get" action="/" {
                label { "Status "
                    select name="status" {
                        option value="" selected[view.status.is_empty()] { "any" }
                        @for verdict in RunVerdict::ALL {
                            option value=(verdict.as_str()) selected[view.status == verdict.as_str()] { (verdict.as_str()) }
                        }
                    }
                }
                label { "Search " input type="search" name="search" value=(view.search) placeholder="run id, commit, branch, repository"; }
                button type="submit" { "Filter" }
                @if !view.status.is_empty() || !view.search.is_empty() { a href="/" { "Clear" } }
            }
            @if view.runs.is_empty() {
                p.empty { "No runs match. Runs appear here once " code { "codeinsight review" } " sends one." }
            } @else {
                table.list.runs {
                    thead { tr {
                        th { "Verdict" } th { "Run" } th { "Started" } th.num { "Files" }
                        th.num title="critical" { "C" } th.num title="major" { "M" } th.num title="minor" { "m" } th.num title="info" { "i" }
                        th.num { "Duration" } th { "User" } th { "Source" }
                    } }
                    tbody {
                        @for run in view.runs {
                            tr data-run=(run.run_id) {
                                td { (verdict_badge(run.verdict)) }
                                td { a href={ "/runs/" (run.run_id) } { code { (short_id(&run.run_id)) } } }
                                td { (timestamp(run.created_at)) }
                                td.num { (run.total) }
                                (severity_cells(&run.findings))
                                td.num { (run_duration(run)) }
                                td { (run.user_id) }
                                td { (context_cell(run)) }
                            }
                        }
                    }
                }
            }
            (pager(view.next_url.as_deref(), view.paged.then_some("/")))
        },
    )
}

// ----- One run -----

pub struct RunView<'a> {
    pub summary: &'a RunSummary,
    /// Files refused at submission or left out by the client.
    pub rejected: &'a [RejectedFile],
    /// The run's jobs (at most one page of them), without their text.
    pub jobs: &'a [Job],
    /// Set when the run has more jobs than `jobs`: the link to all of them in history.
    pub more_jobs_url: Option<String>,
    /// The stored text of jobs with findings, by job id, for code frames and diffs.
    pub sources: &'a HashMap<String, String>,
}

/// Where a file of a run stands, for grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FileGroup {
    Failing,
    Failed,
    Incomplete,
    InReview,
    BelowGate,
    Clean,
}

impl FileGroup {
    fn title(self) -> &'static str {
        match self {
            FileGroup::Failing => "Failing the gate",
            FileGroup::Failed => "Failed to review",
            FileGroup::Incomplete => "Incomplete (a required stage did not run)",
            FileGroup::InReview => "In review",
            FileGroup::BelowGate => "Findings below the gate",
            FileGroup::Clean => "Clean",
        }
    }

    fn of(job: &Job, summary: &RunSummary) -> FileGroup {
        match job.status {
            JobStatus::Pending | JobStatus::Processing => FileGroup::InReview,
            JobStatus::Failed => FileGroup::Failed,
            JobStatus::Completed => {
                let counts = job_counts(job);
                if summary.gate.fails(&counts) {
                    FileGroup::Failing
                } else if job
                    .results
                    .as_ref()
                    .is_some_and(JobResults::missing_required_stage)
                {
                    FileGroup::Incomplete
                } else if counts.total() > 0 {
                    FileGroup::BelowGate
                } else {
                    FileGroup::Clean
                }
            }
        }
    }
}

/// A job's findings by severity, those counted but not kept included.
fn job_counts(job: &Job) -> SeverityCounts {
    job.results
        .as_ref()
        .map(JobResults::severity_counts)
        .unwrap_or_default()
}

pub fn run_page(page: &Page<'_>, view: &RunView<'_>) -> String {
    let run = view.summary;
    let mut groups: BTreeMap<FileGroup, Vec<&Job>> = BTreeMap::new();
    for job in view.jobs {
        groups.entry(FileGroup::of(job, run)).or_default().push(job);
    }
    let tokens: u64 = view
        .jobs
        .iter()
        .map(|job| job.tokens_used.total_tokens)
        .sum();
    let cost: f64 = view.jobs.iter().map(|job| job.estimated_cost).sum();
    let cached = view.jobs.iter().filter(|job| job.cache_hit).count();
    let refused: Vec<&RejectedFile> = view.rejected.iter().filter(|file| !file.policy).collect();
    let left_out: Vec<&RejectedFile> = view.rejected.iter().filter(|file| file.policy).collect();
    shell(
        page,
        &html! {
            section.run-head {
                h1 { "Run " code { (short_id(&run.run_id)) } " " span #verdict { (verdict_badge(run.verdict)) } }
                @if let Some(error) = &run.error {
                    p.error role="alert" { (error) }
                }
                dl.facts {
                    dt { "Started" } dd { (timestamp(run.created_at)) }
                    dt { "Duration" } dd #duration { (run_duration(run)) }
                    dt { "User" } dd { (run.user_id) }
                    dt { "Gate" } dd { (gate_text(run)) }
                    dt { "Files" } dd #progress { (run.completed + run.failed) " of " (run.total) " done" @if run.failed > 0 { ", " (run.failed) " failed" } }
                    @if run.incomplete > 0 { dt { "Not reviewed" } dd { (run.incomplete) } }
                    dt { "Cached" } dd { (cached) }
                    @if tokens > 0 || cost > 0.0 {
                        dt { "AI review" } dd { (tokens) " tokens, $" (format!("{cost:.4}")) }
                    }
                    @if !run.context.is_empty() { dt { "Source" } dd { (context_cell(run)) } }
                    dt { "Run id" } dd { code { (run.run_id) } }
                }
                table.counts #counts {
                    tr { @for severity in Severity::ALL_DESCENDING {
                        th class={ "sev-" (severity.as_str()) } { (severity.as_str()) }
                    } }
                    tr { @for severity in Severity::ALL_DESCENDING {
                        td data-severity=(severity.as_str()) { (run.findings.get(severity)) }
                    } }
                }
            }
            (stage_timeline(view.jobs))
            section.files {
                h2 { "Files" }
                @for (group, jobs) in &groups {
                    details.group open[*group != FileGroup::Clean] {
                        summary { (group.title()) " " span.count { (jobs.len()) } }
                        ul.files {
                            @for job in jobs.iter().take(FILES_PER_GROUP) {
                                li #{ "job-" (job.job_id) } data-status=(job.status.as_str()) {
                                    a href={ "/files/" (job.job_id) } { (job.file_path) }
                                    " " span.meta { (job.language) }
                                    @let counts = job_counts(job);
                                    @if counts.total() > 0 { " " span.meta { (plural(counts.total(), "finding", "findings")) } }
                                    @if job.cache_hit { " " span.badge.cached { "cached" } }
                                    @if job.status == JobStatus::Failed {
                                        " " span.error { (job.error.as_deref().unwrap_or("failed")) }
                                    }
                                    (stage_problems(job))
                                }
                            }
                            @if jobs.len() > FILES_PER_GROUP {
                                li.more { "and " (jobs.len() - FILES_PER_GROUP) " more" }
                            }
                        }
                    }
                }
                @if let Some(url) = &view.more_jobs_url {
                    p.more { "This page shows the run's first " (view.jobs.len()) " files. " a href=(url) { "All of its files in history" } }
                }
                @if !refused.is_empty() {
                    details.group open {
                        summary { "Refused " span.count { (refused.len()) } }
                        ul.files { @for file in &refused { li { (file.file_path) " " span.error { (file.reason) } } } }
                    }
                }
                @if !left_out.is_empty() {
                    details.group {
                        summary { "Left out by policy " span.count { (left_out.len()) } }
                        ul.files { @for file in &left_out { li { (file.file_path) " " span.meta { (file.reason) } } } }
                    }
                }
            }
            (run_findings(view))
        },
    )
}

/// A run's findings at or above its report level: grouped by severity, then file, most severe first.
fn run_findings(view: &RunView<'_>) -> Markup {
    let report_min = view.summary.gate.report_min;
    let mut findings: Vec<(&Job, &Finding)> = view
        .jobs
        .iter()
        .filter_map(|job| job.results.as_ref().map(|results| (job, results)))
        .flat_map(|(job, results)| results.findings.iter().map(move |finding| (job, finding)))
        .filter(|(_, finding)| finding.severity >= report_min)
        .collect();
    findings.sort_by(|(a_job, a), (b_job, b)| {
        (b.severity, &a_job.file_path, a.line, a.column).cmp(&(
            a.severity,
            &b_job.file_path,
            b.line,
            b.column,
        ))
    });
    let total = findings.len();
    findings.truncate(LISTED_FINDINGS);
    // The most severe findings are drawn with their code frame and fix, the rest one line each.
    let mut highlighted: HashMap<&str, HighlightedFile> = HashMap::new();
    let mut blocks = Vec::with_capacity(findings.len());
    for (index, (job, finding)) in findings.iter().enumerate() {
        if index >= DETAILED_FINDINGS {
            blocks.push(finding_line(job, finding));
            continue;
        }
        let source = view.sources.get(&job.job_id).map(String::as_str);
        let file = source.map(|source| {
            &*highlighted
                .entry(job.job_id.as_str())
                .or_insert_with(|| HighlightedFile::new(Language::from_name(&job.language), source))
        });
        blocks.push(finding_block(job, finding, file, source));
    }
    html! {
        section.findings {
            h2 { "Findings " span.count { (total) } }
            @if total == 0 {
                p.empty { "No findings at or above " (report_min.as_str()) "." }
            }
            @for severity in Severity::ALL_DESCENDING {
                @let indices: Vec<usize> = (0..findings.len()).filter(|index| findings[*index].1.severity == severity).collect();
                @if !indices.is_empty() {
                    h3 class={ "sev-" (severity.as_str()) } { (severity.as_str()) " " span.count { (indices.len()) } }
                    @for group in by_file(&findings, &indices) {
                        @let job = findings[group[0]].0;
                        details.file open {
                            summary { a href={ "/files/" (job.job_id) } { (job.file_path) } " " span.count { (group.len()) } }
                            @for index in &group { (blocks[*index]) }
                        }
                    }
                }
            }
            @if total > LISTED_FINDINGS {
                p.more { (total - LISTED_FINDINGS) " more findings are not listed here: open their files above." }
            }
        }
    }
}

/// `indices` (into `findings`) split into runs of the same file, in order.
fn by_file(findings: &[(&Job, &Finding)], indices: &[usize]) -> Vec<Vec<usize>> {
    let mut files: Vec<Vec<usize>> = Vec::new();
    for &index in indices {
        match files.last_mut() {
            Some(group) if findings[group[0]].0.job_id == findings[index].0.job_id => {
                group.push(index);
            }
            _ => files.push(vec![index]),
        }
    }
    files
}

/// Who found it: a built-in rule, a user's rule, a linter, or the AI reviewer.
fn source_label(finding: &Finding) -> String {
    if finding.rule_id.starts_with("ai/") {
        format!("AI review ({})", finding.source)
    } else {
        match finding.source.as_str() {
            "codeinsight" => "built-in rule".to_owned(),
            "user" => "project rule".to_owned(),
            linter => format!("linter {linter}"),
        }
    }
}

/// A finding with its code frame, data flow and fix.
fn finding_block(
    job: &Job,
    finding: &Finding,
    file: Option<&HighlightedFile>,
    source: Option<&str>,
) -> Markup {
    html! {
        article class={ "finding sev-" (finding.severity.as_str()) } {
            (finding_header(job, finding))
            p.msg { (finding.message) }
            @if !finding.flow.is_empty() {
                ol.flow {
                    @for step in &finding.flow {
                        li { code { (step.label) } " " a href={ "/files/" (job.job_id) "#L" (step.line) } { "line " (step.line) } }
                    }
                }
            }
            @match file {
                Some(file) => (code_frame(file, finding)),
                None => pre.snippet { (finding.snippet) },
            }
            (fix_section(finding, source))
        }
    }
}

fn finding_header(job: &Job, finding: &Finding) -> Markup {
    html! {
        header {
            span class={ "sev sev-" (finding.severity.as_str()) } { (finding.severity.as_str()) }
            " "
            a.loc href={ "/files/" (job.job_id) "#L" (finding.line) } { (job.file_path) ":" (finding.line) ":" (finding.column) }
            " " code.rule { (finding.rule_id) }
            " " span.meta { (source_label(finding)) }
        }
    }
}

fn fix_section(finding: &Finding, source: Option<&str>) -> Markup {
    let Some(fix) = &finding.fix else {
        return html! {};
    };
    let kind = match fix.applicability {
        Applicability::Safe => "safe fix",
        Applicability::Unsafe => "unsafe fix",
        Applicability::Suggestion => "suggestion",
    };
    html! {
        p.fixtitle { span.badge { (kind) } " " (fix.description) }
        @if let Some(diff) = source.and_then(|source| fix_diff(source, fix)) { (diff) }
    }
}

/// One finding on one line, for findings past the detailed ones.
fn finding_line(job: &Job, finding: &Finding) -> Markup {
    html! {
        div class={ "finding compact sev-" (finding.severity.as_str()) } {
            (finding_header(job, finding))
            " " span.msg { (finding.message) }
        }
    }
}

/// Required stages that did not run, named.
fn stage_problems(job: &Job) -> Markup {
    let Some(results) = &job.results else {
        return html! {};
    };
    html! {
        @for stage in results.stages.iter().filter(|stage| stage.outcome != StageOutcome::Ok) {
            " " span class={ "badge " @if stage.required { "bad" } @else { "meta" } } title=[stage.reason.as_deref()] {
                (stage.name) " " (outcome_text(stage.outcome))
            }
        }
    }
}

fn outcome_text(outcome: StageOutcome) -> &'static str {
    match outcome {
        StageOutcome::Ok => "ok",
        StageOutcome::Skipped => "skipped",
        StageOutcome::Failed => "failed",
    }
}

/// Each stage's time over the files shown, as bars: what the run spent where.
fn stage_timeline(jobs: &[Job]) -> Markup {
    // In pipeline order: the engine's own stages, then linters and models by name.
    let mut stages: BTreeMap<(u8, &str), (Option<u64>, usize, usize)> = BTreeMap::new();
    for results in jobs.iter().filter_map(|job| job.results.as_ref()) {
        for stage in &results.stages {
            let order = match stage.name.as_str() {
                "rules" => 0,
                "secrets" => 1,
                _ => 2,
            };
            let entry = stages.entry((order, stage.name.as_str())).or_default();
            if let Some(ms) = stage.elapsed_ms {
                entry.0 = Some(entry.0.unwrap_or(0) + ms);
            }
            if stage.outcome == StageOutcome::Ok {
                entry.1 += 1;
            } else {
                entry.2 += 1;
            }
        }
    }
    if stages.is_empty() {
        return html! {};
    }
    let longest = stages
        .values()
        .filter_map(|(ms, _, _)| *ms)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        section.timeline {
            h2 { "Stages " span.count { "time summed over the files shown" } }
            table.stages {
                @for ((_, name), (ms, ok, not_ok)) in &stages {
                    tr {
                        th { (name) }
                        td.bar { @if let Some(ms) = ms { span class=(bar_class(*ms, longest)) {} } }
                        td.num { @match ms { Some(ms) => (duration_ms(*ms)), None => "not timed" } }
                        td.meta { (ok) " ok" @if *not_ok > 0 { ", " (not_ok) " not run" } }
                    }
                }
            }
        }
    }
}

/// A bar's width as a class (`w0` … `w100` in steps of 5): the content security policy allows no inline styles.
fn bar_class(value: u64, longest: u64) -> String {
    let percent = value.saturating_mul(100) / longest.max(1);
    format!("w{}", (percent + 2) / 5 * 5)
}

fn job_stages(stages: &[StageReport]) -> Markup {
    let longest = stages
        .iter()
        .filter_map(|stage| stage.elapsed_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        table.stages {
            @for stage in stages {
                tr {
                    th { (stage.name) }
                    td.bar { @if let Some(ms) = stage.elapsed_ms { span class=(bar_class(ms, longest)) {} } }
                    td.num { @if let Some(ms) = stage.elapsed_ms { (duration_ms(ms)) } }
                    td class=(if stage.outcome == StageOutcome::Ok { "meta" } else if stage.required { "error" } else { "meta" }) {
                        (outcome_text(stage.outcome))
                        @if stage.required { " (required)" }
                        @if let Some(reason) = &stage.reason { ": " (reason) }
                    }
                }
            }
        }
    }
}

// ----- One file -----

pub struct JobView<'a> {
    /// The job, with its stored text.
    pub job: &'a Job,
    pub run: Option<&'a RunSummary>,
}

pub fn job_page(page: &Page<'_>, view: &JobView<'_>) -> String {
    let job = view.job;
    let source = job.file_content.as_deref().unwrap_or_default();
    let file = HighlightedFile::new(Language::from_name(&job.language), source);
    let findings: Vec<&Finding> = job
        .results
        .as_ref()
        .map(|results| results.findings.iter().collect())
        .unwrap_or_default();
    // Findings shown under their last line; a finding past the end (a whole-file one) under the last line.
    let mut under: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for finding in &findings {
        let mut last = (finding.end_line as usize).max(finding.line as usize);
        if last > finding.line as usize && finding.end_column <= 1 {
            last -= 1;
        }
        under
            .entry(last.clamp(1, file.len().max(1)))
            .or_default()
            .push(finding);
    }
    let counts = job_counts(job);
    shell(
        page,
        &html! {
            section.run-head {
                h1 { (job.file_path) " " span #status { (status_badge(job.status)) } }
                dl.facts {
                    @if let Some(run) = view.run {
                        dt { "Run" } dd { a href={ "/runs/" (run.run_id) } { code { (short_id(&run.run_id)) } } " " (verdict_badge(run.verdict)) }
                    }
                    dt { "Language" } dd { (job.language) }
                    dt { "Type" } dd { (job.job_type.as_str()) }
                    dt { "Submitted" } dd { (timestamp(job.created_at)) }
                    @if let Some(done) = job.completed_at { dt { "Finished" } dd { (timestamp(done)) } }
                    @if let Some(results) = &job.results { dt { "Review time" } dd { (format!("{:.2}", results.elapsed_time)) " s" } }
                    dt { "Cached" } dd { @if job.cache_hit { span.badge.cached { "cached" } } @else { "no" } }
                    @if job.tokens_used.total_tokens > 0 || job.estimated_cost > 0.0 {
                        dt { "AI review" } dd {
                            (job.tokens_used.prompt_tokens) " prompt + " (job.tokens_used.completion_tokens) " completion tokens, $" (format!("{:.4}", job.estimated_cost))
                            @if let Some(model) = job.results.as_ref().and_then(|results| results.model.as_deref()) { " (" (model) ")" }
                        }
                    }
                    dt { "Job id" } dd { code { (job.job_id) } }
                }
                table.counts {
                    tr { @for severity in Severity::ALL_DESCENDING { th class={ "sev-" (severity.as_str()) } { (severity.as_str()) } } }
                    tr { @for severity in Severity::ALL_DESCENDING { td { (counts.get(severity)) } } }
                }
                @if let Some(error) = &job.error { p.error role="alert" { (error) } }
                @if let Some(truncated) = job.results.as_ref().and_then(|results| results.truncated.as_ref()) {
                    p.more { "The server kept the most severe " (findings.len()) " of " (truncated.total) " findings (" (truncated.reason) ")." }
                }
            }
            @if let Some(results) = &job.results {
                @if !results.stages.is_empty() {
                    section.timeline { h2 { "Stages" } (job_stages(&results.stages)) }
                }
            }
            section.source {
                h2 { "Source" }
                @if source.is_empty() && job.status != JobStatus::Completed {
                    p.empty { "The file's text is shown once its review is done." }
                }
                table.code.whole {
                    @for number in 1..=file.len() {
                        tr #{ "L" (number) } class=[under.contains_key(&number).then_some("hit")] {
                            td.ln { a href={ "#L" (number) } { (number) } }
                            td.src { code { (maud::PreEscaped(file.line(number))) } }
                        }
                        @if let Some(here) = under.get(&number) {
                            @for finding in here {
                                tr.note { td {} td {
                                    article class={ "finding sev-" (finding.severity.as_str()) } {
                                        (finding_header(job, finding))
                                        p.msg { (finding.message) }
                                        @if !finding.flow.is_empty() {
                                            ol.flow { @for step in &finding.flow { li { code { (step.label) } " " a href={ "#L" (step.line) } { "line " (step.line) } } } }
                                        }
                                        (fix_section(finding, Some(source)))
                                    }
                                } }
                            }
                        }
                    }
                }
            }
        },
    )
}

// ----- History -----

/// The history filters as the user typed them (echoed back into the form).
#[derive(Debug, Default)]
pub struct HistoryFilterView<'a> {
    pub search: &'a str,
    pub status: &'a str,
    pub job_type: &'a str,
    pub language: &'a str,
    pub since: &'a str,
    pub until: &'a str,
    pub run: &'a str,
}

pub struct HistoryView<'a> {
    pub jobs: &'a [Job],
    pub filter: HistoryFilterView<'a>,
    pub next_url: Option<String>,
    /// The first page's URL with the same filters, on later pages.
    pub first_url: Option<String>,
    /// Languages to offer in the filter.
    pub languages: &'a [&'a str],
}

pub fn history_page(page: &Page<'_>, view: &HistoryView<'_>) -> String {
    let filter = &view.filter;
    shell(
        page,
        &html! {
            h1 { "History" }
            form.filters method="get" action="/history" {
                label { "Search " input type="search" name="search" value=(filter.search) placeholder="path, job id or rule"; }
                label { "Status "
                    select name="status" {
                        option value="" selected[filter.status.is_empty()] { "any" }
                        @for status in ["pending", "processing", "completed", "failed"] {
                            option value=(status) selected[filter.status == status] { (status) }
                        }
                    }
                }
                label { "Type "
                    select name="type" {
                        option value="" selected[filter.job_type.is_empty()] { "any" }
                        @for kind in ["review", "debug"] { option value=(kind) selected[filter.job_type == kind] { (kind) } }
                    }
                }
                label { "Language "
                    select name="language" {
                        option value="" selected[filter.language.is_empty()] { "any" }
                        @for language in view.languages { option value=(language) selected[filter.language == *language] { (language) } }
                    }
                }
                label { "From " input type="date" name="since" value=(filter.since); }
                label { "To " input type="date" name="until" value=(filter.until); }
                @if !filter.run.is_empty() { input type="hidden" name="run" value=(filter.run); }
                button type="submit" { "Filter" }
                a href="/history" { "Clear" }
            }
            @if !filter.run.is_empty() {
                p.meta { "Files of run " a href={ "/runs/" (filter.run) } { code { (short_id(filter.run)) } } }
            }
            @if view.jobs.is_empty() {
                p.empty { "No files match." }
            } @else {
                table.list.history {
                    thead { tr {
                        th { "Submitted" } th { "File" } th { "Language" } th { "Status" } th { "Type" }
                        th.num title="critical" { "C" } th.num title="major" { "M" } th.num title="minor" { "m" } th.num title="info" { "i" }
                        th.num { "Time" } th { "Cached" } th { "Run" }
                    } }
                    tbody {
                        @for job in view.jobs {
                            tr #{ "job-" (job.job_id) } {
                                td { (timestamp(job.created_at)) }
                                td { a href={ "/files/" (job.job_id) } { (job.file_path) } }
                                td { (job.language) }
                                td { (status_badge(job.status)) }
                                td { (job.job_type.as_str()) }
                                @if job.results.is_some() { (severity_cells(&job_counts(job))) } @else { td.num { "-" } td.num { "-" } td.num { "-" } td.num { "-" } }
                                td.num { @if let Some(results) = &job.results { (format!("{:.2}", results.elapsed_time)) " s" } @else { "-" } }
                                td { @if job.cache_hit { span.badge.cached { "cached" } } }
                                td { @if let Some(run) = &job.run_id { a href={ "/runs/" (run) } { code { (short_id(run)) } } } }
                            }
                        }
                    }
                }
            }
            (pager(view.next_url.as_deref(), view.first_url.as_deref()))
        },
    )
}

// ----- Pieces -----

fn pager(next: Option<&str>, first: Option<&str>) -> Markup {
    html! {
        @if next.is_some() || first.is_some() {
            nav.pager {
                @if let Some(first) = first { a href=(first) { "← Newest" } }
                @if let Some(next) = next { a rel="next" href=(next) { "Older →" } }
            }
        }
    }
}

fn verdict_badge(verdict: RunVerdict) -> Markup {
    html! { span class={ "verdict v-" (verdict.as_str()) } data-verdict=(verdict.as_str()) { (verdict.as_str()) } }
}

fn status_badge(status: JobStatus) -> Markup {
    html! { span class={ "status s-" (status.as_str()) } { (status.as_str()) } }
}

fn severity_cells(counts: &SeverityCounts) -> Markup {
    html! {
        @for severity in Severity::ALL_DESCENDING {
            @let count = counts.get(severity);
            td class={ "num" @if count > 0 { " sev-" (severity.as_str()) } } { (count) }
        }
    }
}

fn context_cell(run: &RunSummary) -> Markup {
    let context = &run.context;
    html! {
        @if let Some(repository) = &context.repository { span.meta { (repository) } " " }
        @if let Some(branch) = &context.branch { span.branch { (branch) } " " }
        @if let Some(commit) = &context.commit { code title=(commit) { (short_id(commit)) } " " }
        // Only http(s) links are stored (the server checks), so the link cannot run script.
        @if let Some(url) = &context.ci_url { a href=(url) rel="noopener noreferrer" { "CI" } }
    }
}

fn gate_text(run: &RunSummary) -> String {
    match run.gate.fail_on {
        Some(severity) => format!(
            "fails on {severity} and above; lists {} and above",
            run.gate.report_min
        ),
        None => format!(
            "never fails on findings; lists {} and above",
            run.gate.report_min
        ),
    }
}

fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn timestamp(time: DateTime<Utc>) -> Markup {
    html! { time datetime=(time.to_rfc3339()) { (time.format("%Y-%m-%d %H:%M:%S UTC")) } }
}

fn run_duration(run: &RunSummary) -> String {
    match run.finished_at {
        Some(finished) => {
            let micros = (finished - run.created_at)
                .num_microseconds()
                .unwrap_or(0)
                .max(0);
            duration_ms(u64::try_from(micros / 1000).unwrap_or(0))
        }
        None if run.verdict == RunVerdict::Running => "running".to_owned(),
        None => "-".to_owned(),
    }
}

fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    crate::render::plural(count, one, many)
}
