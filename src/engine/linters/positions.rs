//! Converting the many ways linters count positions into byte offsets of the submitted content, and back into
//! the 1-based line and character column every finding carries. Ruff, shellcheck (`json1`) and Biome count
//! characters, rustc and clippy give byte offsets, Go counts bytes within a line, and `ESLint` and SARIF count UTF-16
//! code units, so each parser says which unit it has and this module does the arithmetic once.

/// Line starts of one source, for position conversions in every unit.
pub(crate) struct SourceIndex<'a> {
    content: &'a str,
    line_starts: Vec<usize>,
}

/// What a column number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnUnit {
    Characters,
    Bytes,
    Utf16,
}

impl<'a> SourceIndex<'a> {
    pub(crate) fn new(content: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(content.match_indices('\n').map(|(at, _)| at + 1));
        SourceIndex {
            content,
            line_starts,
        }
    }

    pub(crate) fn content(&self) -> &'a str {
        self.content
    }

    /// The text of 1-based `line` without its line ending; empty past the end.
    fn line_text(&self, line: u32) -> (usize, &'a str) {
        let Some(&start) = self.line_starts.get((line.max(1) - 1) as usize) else {
            return (self.content.len(), "");
        };
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(self.content.len(), |&next| next - 1);
        let text = &self.content[start..end.max(start)];
        (start, text.strip_suffix('\r').unwrap_or(text))
    }

    /// Byte offset of 1-based `line` and 1-based `column` counted in `unit`. A column past the end of its line
    /// lands on the line's end (tools point one past the last character for "end of line"); a line past the end
    /// of the file lands on the end of the file.
    pub(crate) fn offset(&self, line: u32, column: u32, unit: ColumnUnit) -> usize {
        if line as usize > self.line_starts.len() {
            return self.content.len();
        }
        let (start, text) = self.line_text(line);
        let wanted = column.saturating_sub(1) as usize;
        let within = match unit {
            ColumnUnit::Bytes => {
                let mut at = wanted.min(text.len());
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                at
            }
            ColumnUnit::Characters => text
                .char_indices()
                .nth(wanted)
                .map_or(text.len(), |(at, _)| at),
            ColumnUnit::Utf16 => utf16_to_byte(text, wanted),
        };
        start + within
    }

    /// Byte offset of a whole-file offset counted in UTF-16 code units (`ESLint`'s `fix.range`).
    pub(crate) fn utf16_offset(&self, units: usize) -> usize {
        utf16_to_byte(self.content, units)
    }

    /// 1-based line and character column of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.content.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .content
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        (line as u32 + 1, column as u32 + 1)
    }

    /// The byte range of the whole of 1-based `line`, without its line ending.
    pub(crate) fn line_range(&self, line: u32) -> std::ops::Range<usize> {
        let (start, text) = self.line_text(line);
        start..start + text.len()
    }
}

/// Byte offset within `text` after `units` UTF-16 code units (clamped to the end of `text`).
fn utf16_to_byte(text: &str, units: usize) -> usize {
    let mut counted = 0;
    for (at, character) in text.char_indices() {
        if counted >= units {
            return at;
        }
        counted += character.len_utf16();
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_in_every_unit_land_on_the_same_byte() {
        // `x` follows `é` (2 bytes, 1 char, 1 unit) and `😀` (4 bytes, 1 char, 2 units).
        let index = SourceIndex::new("a\né😀x\n");
        assert_eq!(index.offset(2, 3, ColumnUnit::Characters), 8);
        assert_eq!(index.offset(2, 7, ColumnUnit::Bytes), 8);
        assert_eq!(index.offset(2, 4, ColumnUnit::Utf16), 8);
        assert_eq!(index.utf16_offset(5), 8);
        assert_eq!(index.position(8), (2, 3));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let index = SourceIndex::new("ab\r\ncd");
        assert_eq!(index.offset(1, 99, ColumnUnit::Characters), 2);
        assert_eq!(index.offset(9, 1, ColumnUnit::Characters), 6);
        assert_eq!(index.offset(2, 2, ColumnUnit::Bytes), 5);
        assert_eq!(index.line_range(1), 0..2);
    }
}
