//! Diagnostics: the one place typed errors become what users read, as
//! codespan-reporting text or as JSON lines (`--message-format json`).

mod window;

use codespan_reporting::diagnostic::{Diagnostic as CsDiag, Label, Severity as CsSev};
use codespan_reporting::term::{self, termcolor::Buffer};
use weft_grammar::ast::Span;

use super::source::SourceMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub primary: Span,
    pub label: String,
    pub secondary: Vec<(Span, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: span,
            label: String::new(),
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }
    pub fn label(mut self, l: impl Into<String>) -> Diagnostic {
        self.label = l.into();
        self
    }
    pub fn with(mut self, span: Span, l: impl Into<String>) -> Diagnostic {
        self.secondary.push((span, l.into()));
        self
    }
    pub fn note(mut self, n: impl Into<String>) -> Diagnostic {
        self.notes.push(n.into());
        self
    }
    pub fn help(mut self, h: impl Into<String>) -> Diagnostic {
        self.help = Some(h.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

fn to_codespan(d: &Diagnostic) -> CsDiag<usize> {
    let sev = match d.severity {
        Severity::Error => CsSev::Error,
        Severity::Warning => CsSev::Warning,
    };
    let mut labels =
        vec![Label::primary(d.primary.file.0 as usize, d.primary.range()).with_message(&d.label)];
    for (s, m) in &d.secondary {
        labels.push(Label::secondary(s.file.0 as usize, s.range()).with_message(m));
    }
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    CsDiag::new(sev)
        .with_code(d.code)
        .with_message(&d.message)
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as text, with colour when `color` is set.
pub fn render(map: &SourceMap, diags: &[Diagnostic], color: bool) -> String {
    let mut buf = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let config = term::Config::default();
    for d in diags {
        // A long line is shown as a window around the labels (`window.rs`).
        let shown = match window::windowed(map, d) {
            Some((files, moved)) => {
                term::emit_to_write_style(&mut buf, &config, &files, &to_codespan(&moved))
            }
            None => term::emit_to_write_style(&mut buf, &config, &map.files, &to_codespan(d)),
        };
        // Rendering only fails on a span outside its file: a compiler bug; fall back to plain text.
        if shown.is_err() {
            let _ = std::io::Write::write_all(
                &mut buf,
                format!("error[{}]: {}\n", d.code, d.message).as_bytes(),
            );
        }
    }
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

/// An error about a whole source file (missing, unreadable, not UTF-8) as
/// one JSON line shaped like a diagnostic's: no code, line and column 0.
pub fn file_error_json(file: &str, message: &str) -> String {
    let v = serde_json::json!({
        "severity": "error",
        "code": null,
        "message": message,
        "file": file,
        "line": 0,
        "column": 0,
        "labels": [],
        "notes": [],
        "help": null,
    });
    format!("{v}\n")
}

/// A run-time error of `weft run --message-format json` (bad data, a failed
/// step): one JSON line with the exit status it ends with.
pub fn run_error_json(file: &str, message: &str, exit: i32) -> String {
    let v = serde_json::json!({
        "severity": "error",
        "code": null,
        "kind": "run",
        "exit": exit,
        "message": message,
        "file": file,
        "line": 0,
        "column": 0,
    });
    format!("{v}\n")
}

/// One JSON object per diagnostic, one per line.
pub fn render_json(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let (line, column) = map.line_col(d.primary);
        let (end_line, end_column) = map.line_col(Span {
            start: d.primary.end,
            ..d.primary
        });
        let labels: Vec<serde_json::Value> = d
            .secondary
            .iter()
            .map(|(s, m)| {
                let (l, c) = map.line_col(*s);
                serde_json::json!({"file": map.name(s.file), "line": l, "column": c, "message": m})
            })
            .collect();
        let v = serde_json::json!({
            "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "code": d.code,
            "message": d.message,
            "file": map.name(d.primary.file),
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "label": d.label,
            "labels": labels,
            "notes": d.notes,
            "help": d.help,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}
