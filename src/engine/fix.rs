//! Applying fixes: splice a set of byte-range edits into a source, resolving overlaps deterministically, check
//! that the result still parses, and show the change as a unified diff.

use ast_grep_language::LanguageExt;
use similar::TextDiff;

use super::language::Language;
use crate::protocol::{Edit, Fix};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FixError {
    #[error("edit {start}..{end} lies outside the {len}-byte source")]
    OutOfBounds {
        start: usize,
        end: usize,
        len: usize,
    },
    #[error("edit {start}..{end} does not fall on character boundaries")]
    NotCharBoundary { start: usize, end: usize },
}

/// The result of applying fixes to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixOutcome {
    pub output: String,
    /// Fixes whose edits were all applied.
    pub applied: usize,
    /// Fixes left out because one of their edits overlapped an edit already accepted.
    pub skipped_overlapping: usize,
}

/// Applies `fixes` to `source`. Each fix is all-or-nothing. Fixes are considered in order of their first edit's
/// position (ties broken by the edits themselves), and a fix that overlaps one already accepted is skipped, so the
/// same input always gives the same output.
pub fn apply_fixes(source: &str, fixes: &[&Fix]) -> Result<FixOutcome, FixError> {
    for edit in fixes.iter().flat_map(|fix| &fix.edits) {
        if edit.start > edit.end || edit.end > source.len() {
            return Err(FixError::OutOfBounds {
                start: edit.start,
                end: edit.end,
                len: source.len(),
            });
        }
        if !source.is_char_boundary(edit.start) || !source.is_char_boundary(edit.end) {
            return Err(FixError::NotCharBoundary {
                start: edit.start,
                end: edit.end,
            });
        }
    }
    let mut ordered: Vec<&Fix> = fixes.to_vec();
    ordered.sort_by(|a, b| {
        let first = |fix: &Fix| fix.edits.iter().map(|edit| edit.start).min();
        first(a).cmp(&first(b)).then_with(|| a.edits.cmp(&b.edits))
    });
    let mut accepted: Vec<&Edit> = Vec::new();
    let mut applied = 0;
    let mut skipped_overlapping = 0;
    for fix in ordered {
        let overlaps = fix.edits.iter().any(|edit| {
            accepted.iter().any(|other| ranges_conflict(edit, other))
                || fix
                    .edits
                    .iter()
                    .any(|sibling| !std::ptr::eq(sibling, edit) && ranges_conflict(edit, sibling))
        });
        if overlaps {
            skipped_overlapping += 1;
            continue;
        }
        accepted.extend(fix.edits.iter());
        applied += 1;
    }
    // Splice back to front so earlier offsets stay valid.
    accepted.sort_by(|a, b| b.start.cmp(&a.start).then(b.end.cmp(&a.end)));
    let mut output = source.to_owned();
    for edit in accepted {
        output.replace_range(edit.start..edit.end, &edit.replacement);
    }
    Ok(FixOutcome {
        output,
        applied,
        skipped_overlapping,
    })
}

/// Two edits conflict when their ranges overlap, or when both insert at the same point (their order would be
/// arbitrary).
fn ranges_conflict(a: &Edit, b: &Edit) -> bool {
    if a.start == a.end && b.start == b.end {
        return a.start == b.start;
    }
    a.start < b.end && b.start < a.end
}

/// Whether `source` parses as `language` without syntax errors.
pub fn parses_cleanly(language: Language, source: &str) -> bool {
    let root = language.grammar().ast_grep(source);
    !root
        .root()
        .dfs()
        .any(|node| node.is_error() || node.is_missing())
}

/// A unified diff of `old` → `new` with three lines of context, headed `a/PATH` and `b/PATH`.
pub fn unified_diff(path: &str, old: &str, new: &str) -> String {
    TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Applicability;

    fn fix(edits: &[(usize, usize, &str)]) -> Fix {
        Fix {
            description: "test".into(),
            applicability: Applicability::Safe,
            edits: edits
                .iter()
                .map(|&(start, end, replacement)| Edit {
                    start,
                    end,
                    replacement: replacement.into(),
                })
                .collect(),
        }
    }

    #[test]
    fn applies_back_to_front() {
        let a = fix(&[(0, 1, "A")]);
        let b = fix(&[(4, 5, "E")]);
        let outcome = apply_fixes("abcde", &[&b, &a]).unwrap();
        assert_eq!(outcome.output, "AbcdE");
        assert_eq!(outcome.applied, 2);
    }

    #[test]
    fn overlapping_fixes_resolve_deterministically() {
        let wide = fix(&[(0, 3, "X")]);
        let narrow = fix(&[(1, 2, "Y")]);
        let one = apply_fixes("abcd", &[&wide, &narrow]).unwrap();
        let two = apply_fixes("abcd", &[&narrow, &wide]).unwrap();
        assert_eq!(one, two);
        assert_eq!(one.output, "Xd");
        assert_eq!(one.skipped_overlapping, 1);
    }

    #[test]
    fn rejects_out_of_range_edits() {
        let bad = fix(&[(2, 10, "")]);
        assert!(matches!(
            apply_fixes("abc", &[&bad]),
            Err(FixError::OutOfBounds { .. })
        ));
    }

    #[test]
    fn parse_check_and_diff() {
        assert!(parses_cleanly(Language::Python, "x = 1\n"));
        assert!(!parses_cleanly(Language::Python, "def (:\n"));
        let diff = unified_diff("a.py", "x = 1\n", "x = 2\n");
        assert!(diff.contains("--- a/a.py"));
        assert!(diff.contains("-x = 1"));
        assert!(diff.contains("+x = 2"));
    }
}
