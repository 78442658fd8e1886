//! The web view's pages, rendered on the server with maud: runs, one run, one file, history, login and errors.
//! Templates are Rust code checked at compile time; every interpolated value is HTML-escaped by maud, and code
//! goes through [`code`]'s escaping. Pages read without JavaScript; `web/app.js` only adds live updates and the
//! copy buttons. The renderers take the server's stored model (run summaries and jobs) and decide nothing.

mod code;
mod pages;

pub use code::{HighlightedFile, code_frame, fix_diff};
pub use pages::{
    HistoryFilterView, HistoryView, JobView, LoginView, Page, RunView, RunsView, Section,
    error_page, history_page, job_page, login_page, run_page, runs_page,
};

/// The stylesheet and the script, embedded in the binary and served by the server itself (no CDN).
pub const STYLESHEET: &str = include_str!("../../../web/app.css");
pub const SCRIPT: &str = include_str!("../../../web/app.js");

/// Changes whenever an asset does, so that asset URLs can be cached for good.
pub fn asset_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        crate::protocol::sha256_hex(format!("{STYLESHEET}\0{SCRIPT}").as_bytes())[..12].to_owned()
    })
}
