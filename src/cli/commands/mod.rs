//! One function per subcommand; each returns an exit status or a failure the caller reports.

mod baseline;
mod dashboard;
mod debug;
mod doctor;
mod history;
mod review;
mod rules;
mod serve;
mod show;

pub use baseline::baseline;
pub use dashboard::dashboard;
pub use debug::debug;
pub use doctor::doctor;
pub use history::history;
pub use review::review;
pub use rules::{completions, rules};
pub use serve::{serve, token};
pub use show::show;
