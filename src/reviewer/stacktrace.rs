//! Reading an error log for a debug job: the frames of Python tracebacks, Rust panics and backtraces,
//! Node/JavaScript stack traces and Go panics, the error's type and message, and which lines of the reviewed file
//! they name, so that the review is pointed at the failing lines.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// One `file:line` a stack trace names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub file: String,
    pub line: u32,
}

/// `stack_trace_analysis`: the failing lines of this file and the error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackTraceAnalysis {
    pub error_lines: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

struct FramePattern {
    regex: Regex,
}

static FRAME_PATTERNS: LazyLock<Vec<FramePattern>> = LazyLock::new(|| {
    [
        // Python: `  File "/srv/app.py", line 12, in handler`
        r#"File "(?P<file>[^"]+)", line (?P<line>\d+)"#,
        // Rust: `panicked at src/main.rs:10:5:` (1.73+), `panicked at 'msg', src/main.rs:10:5`, and backtrace
        // frames `at ./src/main.rs:10:5`.
        r"panicked at (?:'.*?', )?(?P<file>[^\s:'][^\s:]*\.rs):(?P<line>\d+)(?::\d+)?",
        r"^\s*at (?P<file>[^\s():]+\.rs):(?P<line>\d+)(?::\d+)?\s*$",
        // Node: `    at handler (/srv/app.js:10:15)`, `    at /srv/app.js:10:15`, `at file:///srv/app.mjs:3:9`.
        r"^\s*at (?:.*? \()?(?:file://)?(?P<file>[^\s()]+\.(?:[cm]?js|jsx|[cm]?ts|tsx)):(?P<line>\d+):\d+\)?\s*$",
        // Go: `\t/home/me/app/main.go:12 +0x1d`
        r"^\s*(?P<file>[^\s:]+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$",
    ]
    .iter()
    .map(|pattern| FramePattern {
        // Constant patterns covered by the tests below.
        regex: Regex::new(&format!("(?m){pattern}"))
            .unwrap_or_else(|error| panic!("frame pattern: {error}")),
    })
    .collect()
});

/// The lines that state the error: an exception or error type with its message (Python, JavaScript), a Go
/// `panic:`, or a Rust panic (the message follows the location on the next line since Rust 1.73).
static ERROR_LINES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(?:Uncaught )?(?P<type>[A-Z][A-Za-z0-9_.]*(?:Error|Exception|Exit|Interrupt|Warning))(?:: (?P<message>.+))?$",
        r"^panic: (?P<message>.+)$",
        r"^thread '[^']*' panicked at '(?P<message>.*?)', \S+$",
        r"^thread '[^']*' panicked at \S+:\d+:\d+:\n(?P<message>.+)$",
    ]
    .iter()
    .map(|pattern| {
        // Constant patterns covered by the tests below.
        Regex::new(&format!("(?m){pattern}"))
            .unwrap_or_else(|error| panic!("error line pattern: {error}"))
    })
    .collect()
});

/// Every frame in `log`, in the order they appear.
pub fn frames(log: &str) -> Vec<Frame> {
    let mut found: Vec<(usize, Frame)> = Vec::new();
    for pattern in FRAME_PATTERNS.iter() {
        for captures in pattern.regex.captures_iter(log) {
            let (Some(file), Some(line), Some(whole)) = (
                captures.name("file"),
                captures.name("line"),
                captures.get(0),
            ) else {
                continue;
            };
            let Ok(line) = line.as_str().parse::<u32>() else {
                continue;
            };
            if line == 0 || found.iter().any(|(at, _)| *at == whole.start()) {
                continue;
            }
            found.push((
                whole.start(),
                Frame {
                    file: file.as_str().to_owned(),
                    line,
                },
            ));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    found.into_iter().map(|(_, frame)| frame).collect()
}

/// Whether a frame's file is the reviewed `path`: the shorter path must be a suffix of the longer, compared by
/// whole components (`/srv/app/src/main.rs` names `src/main.rs`).
fn same_file(frame_file: &str, path: &str) -> bool {
    let components = |text: &str| -> Vec<String> {
        text.replace('\\', "/")
            .split('/')
            .filter(|part| !part.is_empty() && *part != ".")
            .map(str::to_owned)
            .collect()
    };
    let frame = components(frame_file);
    let reviewed = components(path);
    let shorter = frame.len().min(reviewed.len());
    shorter > 0 && frame[frame.len() - shorter..] == reviewed[reviewed.len() - shorter..]
}

/// The lines of `path` that `log` names, innermost frame first for Python (its traceback lists the innermost
/// call last) and in order otherwise, without repeats; plus the error's type and message.
pub fn analyze(log: &str, path: &str) -> StackTraceAnalysis {
    let mut lines: Vec<u32> = Vec::new();
    let all = frames(log);
    let python = log.contains("Traceback (most recent call last)");
    let ordered: Box<dyn Iterator<Item = &Frame>> = if python {
        Box::new(all.iter().rev())
    } else {
        Box::new(all.iter())
    };
    for frame in ordered {
        if same_file(&frame.file, path) && !lines.contains(&frame.line) {
            lines.push(frame.line);
        }
    }
    let mut analysis = StackTraceAnalysis {
        error_lines: lines,
        ..StackTraceAnalysis::default()
    };
    // The last error line is the one that ended the program (Python prints chained exceptions first).
    let last = ERROR_LINES
        .iter()
        .filter_map(|pattern| pattern.captures_iter(log).last())
        .max_by_key(|captures| captures.get(0).map_or(0, |whole| whole.start()));
    if let Some(captures) = last {
        analysis.error_type = Some(
            captures
                .name("type")
                .map_or("panic", |kind| kind.as_str())
                .to_owned(),
        );
        analysis.error_message = captures
            .name("message")
            .map(|message| message.as_str().trim().to_owned());
    }
    if let Some(message) = &mut analysis.error_message {
        *message = crate::engine::mask_secrets(message).into_owned();
    }
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_tracebacks_point_innermost_first() {
        let log = "Traceback (most recent call last):\n  File \"/srv/app/main.py\", line 30, in <module>\n    run()\n  File \"/srv/app/main.py\", line 12, in run\n    total = price * qty\nTypeError: unsupported operand type(s) for *: 'NoneType' and 'int'\n";
        let analysis = analyze(log, "app/main.py");
        assert_eq!(analysis.error_lines, [12, 30]);
        assert_eq!(analysis.error_type.as_deref(), Some("TypeError"));
        assert!(
            analysis
                .error_message
                .unwrap()
                .starts_with("unsupported operand")
        );
        assert!(analyze(log, "other.py").error_lines.is_empty());
    }

    #[test]
    fn rust_panics_and_backtraces() {
        let log = "thread 'main' panicked at src/main.rs:10:5:\ncalled `Option::unwrap()` on a `None` value\nstack backtrace:\n   0: app::parse\n             at ./src/parse.rs:44:9\n   1: app::main\n             at ./src/main.rs:10:5\n";
        assert_eq!(analyze(log, "src/main.rs").error_lines, [10]);
        assert_eq!(analyze(log, "src/parse.rs").error_lines, [44]);
        let analysis = analyze(log, "src/main.rs");
        assert_eq!(analysis.error_type.as_deref(), Some("panic"));
        assert_eq!(
            analysis.error_message.as_deref(),
            Some("called `Option::unwrap()` on a `None` value")
        );
        let old = "thread 'main' panicked at 'index out of bounds', src/lib.rs:7:13\n";
        assert_eq!(analyze(old, "src/lib.rs").error_lines, [7]);
    }

    #[test]
    fn node_stack_frames() {
        let log = "/srv/web/server.js:22\n  throw err;\n\nTypeError: Cannot read properties of undefined (reading 'id')\n    at getUser (/srv/web/lib/users.js:14:20)\n    at /srv/web/server.js:22:7\n    at Layer.handle (node_modules/express/lib/router/layer.js:95:5)\n";
        assert_eq!(analyze(log, "lib/users.js").error_lines, [14]);
        assert_eq!(analyze(log, "server.js").error_lines, [22]);
        assert_eq!(
            analyze(log, "server.js").error_type.as_deref(),
            Some("TypeError")
        );
    }

    #[test]
    fn go_panics() {
        let log = "panic: runtime error: index out of range [3] with length 3\n\ngoroutine 1 [running]:\nmain.lookup(...)\n\t/home/me/app/main.go:12 +0x1d\nmain.main()\n\t/home/me/app/main.go:20 +0x25\nexit status 2\n";
        let analysis = analyze(log, "main.go");
        assert_eq!(analysis.error_lines, [12, 20]);
        assert_eq!(analysis.error_type.as_deref(), Some("panic"));
        assert!(
            analysis
                .error_message
                .unwrap()
                .contains("index out of range")
        );
    }
}
