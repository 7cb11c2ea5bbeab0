//! The source map: every file the front end reads (the program, sibling
//! modules, the embedded standard library), by [`FileId`].

use codespan_reporting::files::{Files, SimpleFiles};
use weft_grammar::ast::{FileId, Span};

/// Standard-library modules, embedded in the compiler.
pub const STDLIB: &[(&str, &str)] = &[
    ("nn", include_str!("../../../stdlib/nn.weft")),
    ("optim", include_str!("../../../stdlib/optim.weft")),
];

#[derive(Default)]
pub struct SourceMap {
    pub files: SimpleFiles<String, String>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: &str, text: String) -> FileId {
        FileId(self.files.add(name.to_string(), text) as u32)
    }

    pub fn name(&self, file: FileId) -> String {
        self.files
            .get(file.0 as usize)
            .map(|f| f.name().clone())
            .unwrap_or_default()
    }

    pub fn text(&self, file: FileId) -> &str {
        self.files
            .get(file.0 as usize)
            .map(|f| f.source().as_str())
            .unwrap_or("")
    }

    /// 1-based line and column of a span's start.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let id = span.file.0 as usize;
        let start = span.start as usize;
        match (self.files.line_index(id, start), self.files.get(id)) {
            (Ok(line), Ok(f)) => {
                let line_start = self
                    .files
                    .line_range(id, line)
                    .map(|r| r.start)
                    .unwrap_or(0);
                let col = f
                    .source()
                    .get(line_start..start)
                    .map(|s| s.chars().count())
                    .unwrap_or(0);
                (line + 1, col + 1)
            }
            _ => (1, 1),
        }
    }
}
