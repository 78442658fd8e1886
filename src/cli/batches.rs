//! Splitting a review into requests the server accepts: each batch stays under the server's advertised body size
//! and file count, so that a review of any size is one run (`POST /api/v1/runs`, then
//! `POST /api/v1/runs/{run_id}/files` for the rest).

use crate::protocol::{RejectedFile, ServerLimits};

/// Room left in every request for the JSON around the files: options, field names, brackets.
const ENVELOPE_BYTES: usize = 64 * 1024;
/// The JSON around one file or skipped entry besides its strings: `{"path":"","content":""},`.
const PER_ENTRY_BYTES: usize = 64;

/// Indices into the files and the skipped entries that one request carries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    pub files: Vec<usize>,
    pub skipped: Vec<usize>,
}

/// Splits `files` (path and content), then `skipped`, into batches in order. The first batch always holds a file (a
/// run starts with one); later batches may hold only skipped entries. A file whose own JSON exceeds the budget still
/// gets a batch of its own: the server judges it (the client leaves out files over `max_file_bytes` before this).
pub fn split(files: &[(&str, &str)], skipped: &[RejectedFile], limits: ServerLimits) -> Vec<Batch> {
    let budget = limits.max_run_bytes.saturating_sub(ENVELOPE_BYTES).max(1);
    let max_entries = limits.max_files_per_run.max(1);
    let mut batches = vec![Batch::default()];
    let mut used = 0;
    let items = files
        .iter()
        .enumerate()
        .map(|(index, (path, content))| {
            (
                true,
                index,
                json_string_len(path) + json_string_len(content),
            )
        })
        .chain(skipped.iter().enumerate().map(|(index, entry)| {
            (
                false,
                index,
                json_string_len(&entry.file_path) + json_string_len(&entry.reason),
            )
        }));
    for (is_file, index, size) in items {
        let size = size + PER_ENTRY_BYTES;
        let current = batches.last_mut().expect("at least one batch");
        let count = if is_file {
            current.files.len()
        } else {
            current.skipped.len()
        };
        let empty = current.files.is_empty() && current.skipped.is_empty();
        if !empty && (used + size > budget || count >= max_entries) {
            batches.push(Batch::default());
            used = 0;
        }
        let current = batches.last_mut().expect("at least one batch");
        if is_file {
            current.files.push(index);
        } else {
            current.skipped.push(index);
        }
        used += size;
    }
    batches
}

/// The length of `text` as a JSON string body, escapes included (as `serde_json` writes it).
fn json_string_len(text: &str) -> usize {
    text.bytes()
        .map(|byte| match byte {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0x00..=0x1f => 6,
            _ => 1,
        })
        .sum::<usize>()
        + 2
}

#[cfg(test)]
mod tests {
    use super::{Batch, json_string_len, split};
    use crate::protocol::{RejectedFile, ServerLimits};

    fn limits(max_run_bytes: usize, max_files_per_run: usize) -> ServerLimits {
        ServerLimits {
            max_run_bytes,
            max_files_per_run,
            ..ServerLimits::default()
        }
    }

    #[test]
    fn json_lengths_count_escapes_as_serde_writes_them() {
        for text in [
            "plain",
            "a \"quoted\" \\ path",
            "tab\tline\nnul\0bell\u{7}",
            "ünïcödé",
        ] {
            assert_eq!(
                json_string_len(text),
                serde_json::to_string(text).unwrap().len(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn batches_stay_under_the_body_and_count_limits_and_keep_every_file_once() {
        let content = "x = 1\n".repeat(2_000); // 12 kB
        let paths: Vec<String> = (0..100)
            .map(|index| format!("src/module_{index}.py"))
            .collect();
        let files: Vec<(&str, &str)> = paths
            .iter()
            .map(|path| (path.as_str(), content.as_str()))
            .collect();
        let batches = split(&files, &[], limits(64 * 1024 + 100_000, 1_000));
        assert!(batches.len() >= 12, "{}", batches.len());
        for batch in &batches {
            let bytes: usize = batch
                .files
                .iter()
                .map(|&index| json_string_len(&paths[index]) + content.len() + 66)
                .sum();
            assert!(bytes <= 100_000 + 64 * batches.len(), "{bytes}");
        }
        let all: Vec<usize> = batches
            .iter()
            .flat_map(|batch| batch.files.clone())
            .collect();
        assert_eq!(all, (0..100).collect::<Vec<_>>());

        let by_count = split(&files, &[], limits(usize::MAX, 30));
        assert_eq!(
            by_count
                .iter()
                .map(|batch| batch.files.len())
                .collect::<Vec<_>>(),
            [30, 30, 30, 10]
        );
    }

    #[test]
    fn skipped_entries_ride_with_files_and_one_small_review_is_one_batch() {
        let files = [("a.py", "print(1)\n"), ("b.py", "print(2)\n")];
        let skipped = vec![RejectedFile {
            file_path: "static/app.min.js".into(),
            reason: "minified".into(),
            policy: true,
        }];
        assert_eq!(
            split(&files, &skipped, ServerLimits::default()),
            [Batch {
                files: vec![0, 1],
                skipped: vec![0],
            }]
        );
    }
}
