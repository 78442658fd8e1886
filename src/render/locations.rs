//! Positions in a submitted file as each output format counts them. Findings carry 1-based lines and character
//! columns; fixes carry byte ranges. SARIF wants character columns, reviewdog wants UTF-8 byte columns, so both are
//! derived here from the file's source text in one place.

/// A 1-based line and a 1-based column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineColumn {
    pub line: u32,
    pub column: u32,
}

/// The position of byte `offset` in `source`, with the column counted in characters (Unicode scalar values).
/// An offset past the end or inside a character is clamped to the nearest preceding character boundary.
pub fn char_position(source: &str, offset: usize) -> LineColumn {
    let offset = floor_boundary(source, offset);
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    LineColumn {
        line: before.matches('\n').count() as u32 + 1,
        column: before[line_start..].chars().count() as u32 + 1,
    }
}

/// The position of byte `offset` in `source`, with the column counted in UTF-8 bytes.
pub fn byte_position(source: &str, offset: usize) -> LineColumn {
    let offset = floor_boundary(source, offset);
    let before = &source[..offset];
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    LineColumn {
        line: before.matches('\n').count() as u32 + 1,
        column: (offset - line_start) as u32 + 1,
    }
}

/// Converts a 1-based character column on 1-based `line` to a 1-based byte column. Without the line (no source,
/// or a position past the end) the character column is returned unchanged, which is exact for ASCII.
pub fn byte_column(source: Option<&str>, line: u32, column: u32) -> u32 {
    let Some(text) =
        source.and_then(|source| source.split('\n').nth(line.saturating_sub(1) as usize))
    else {
        return column;
    };
    let chars = column.saturating_sub(1) as usize;
    let bytes: usize = text.chars().take(chars).map(char::len_utf8).sum();
    let beyond = chars.saturating_sub(text.chars().count());
    (bytes + beyond) as u32 + 1
}

fn floor_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::{LineColumn, byte_column, byte_position, char_position};

    #[test]
    fn columns_count_characters_or_bytes_as_asked() {
        let source = "a\né = 1\n";
        let offset = source.find('=').unwrap_or(0);
        assert_eq!(
            char_position(source, offset),
            LineColumn { line: 2, column: 3 }
        );
        assert_eq!(
            byte_position(source, offset),
            LineColumn { line: 2, column: 4 }
        );
        assert_eq!(byte_column(Some(source), 2, 3), 4);
        assert_eq!(byte_column(None, 2, 3), 3);
        assert_eq!(
            char_position(source, 999),
            LineColumn { line: 3, column: 1 }
        );
    }
}
