//! Long source lines in diagnostics: a line longer than [`MAX_LINE`] bytes
//! that a label points into is shown as a window around the labels (`…`
//! marks what is cut), so that a 5 MB line does not become 5 MB of stderr.
//! The labels are moved into the window; a note gives the real columns.

use codespan_reporting::files::SimpleFiles;
use weft_grammar::ast::Span;

use super::Diagnostic;
use crate::front::source::SourceMap;

/// Lines up to this many bytes are shown whole.
pub const MAX_LINE: usize = 200;
/// Bytes of context kept on each side of the labels of a long line.
const CONTEXT: usize = 60;
const ELLIPSIS: &str = "…";

/// One shortened line: the byte range of the original line kept, where the
/// line starts in the original and in the new text.
struct Cut {
    keep: std::ops::Range<usize>,
    old_start: usize,
    old_end: usize,
    new_start: usize,
}

/// The files as `d` should be rendered, and `d` with its spans moved there;
/// None when no labelled line is long (render the real files).
pub(super) fn windowed(
    map: &SourceMap,
    d: &Diagnostic,
) -> Option<(SimpleFiles<String, String>, Diagnostic)> {
    let spans: Vec<Span> = std::iter::once(d.primary)
        .chain(d.secondary.iter().map(|(s, _)| *s))
        .collect();
    let mut long_lines = false;
    for s in &spans {
        let text = map.text(s.file);
        let (ls, le) = line_bounds(text, s.start as usize);
        long_lines |= le - ls > MAX_LINE;
    }
    if !long_lines {
        return None;
    }
    let mut files = SimpleFiles::new();
    let mut cuts_per_file: Vec<Vec<Cut>> = Vec::new();
    let mut fid = 0usize;
    loop {
        let id = weft_grammar::ast::FileId(fid as u32);
        let name = map.name(id);
        if map.files.get(fid).is_err() {
            break;
        }
        let text = map.text(id);
        let (new_text, cuts) = shorten(text, &spans, id);
        files.add(name, new_text);
        cuts_per_file.push(cuts);
        fid += 1;
    }
    let mv = |s: Span| -> Span {
        let cuts = &cuts_per_file[s.file.0 as usize];
        Span {
            file: s.file,
            start: map_offset(cuts, s.start as usize) as u32,
            end: map_offset(cuts, s.end as usize) as u32,
        }
    };
    let mut out = d.clone();
    out.primary = mv(d.primary);
    out.secondary = d
        .secondary
        .iter()
        .map(|(s, m)| (mv(*s), m.clone()))
        .collect();
    let (line, col) = map.line_col(d.primary);
    out.notes.push(format!(
        "line {line} is long: it is shown cut around column {col} (`{ELLIPSIS}` marks the cuts)"
    ));
    Some((files, out))
}

/// The byte range of the line holding `offset`.
fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    (start, end)
}

/// `text` with each long line that a span of `file` touches cut to a
/// window around those spans.
fn shorten(text: &str, spans: &[Span], file: weft_grammar::ast::FileId) -> (String, Vec<Cut>) {
    // The long lines touched, with the span range on each.
    let mut lines: Vec<(usize, usize, usize, usize)> = Vec::new(); // (ls, le, lo, hi)
    for s in spans.iter().filter(|s| s.file == file) {
        let (ls, le) = line_bounds(text, s.start as usize);
        if le - ls <= MAX_LINE {
            continue;
        }
        let (lo, hi) = (
            s.start as usize,
            (s.end as usize).min(le).max(s.start as usize),
        );
        match lines.iter_mut().find(|l| l.0 == ls) {
            Some(l) => {
                l.2 = l.2.min(lo);
                l.3 = l.3.max(hi);
            }
            None => lines.push((ls, le, lo, hi)),
        }
    }
    lines.sort();
    let mut out = String::with_capacity(text.len().min(1 << 16));
    let mut cuts = Vec::new();
    let mut pos = 0;
    for (ls, le, lo, hi) in lines {
        out.push_str(&text[pos..ls]);
        let mut a = lo.saturating_sub(CONTEXT).max(ls);
        let mut b = (hi + CONTEXT).min(le);
        // A very long label keeps its start.
        if b - a > MAX_LINE {
            b = (a + MAX_LINE).min(le);
        }
        while !text.is_char_boundary(a) {
            a -= 1;
        }
        while !text.is_char_boundary(b) {
            b += 1;
        }
        if a > ls {
            out.push_str(ELLIPSIS);
        }
        let keep_at = out.len();
        out.push_str(&text[a..b]);
        if b < le {
            out.push_str(ELLIPSIS);
        }
        cuts.push(Cut {
            keep: a..b,
            old_start: ls,
            old_end: le,
            new_start: keep_at,
        });
        pos = le;
    }
    out.push_str(&text[pos..]);
    (out, cuts)
}

/// Where an offset of the original text lands in the shortened one.
fn map_offset(cuts: &[Cut], o: usize) -> usize {
    // Bytes removed before `o`, line by line.
    let mut shift: isize = 0;
    for c in cuts {
        if o < c.old_start {
            break;
        }
        if o <= c.old_end {
            let inside = o.clamp(c.keep.start, c.keep.end) - c.keep.start;
            return c.new_start + inside;
        }
        let old_len = (c.old_end - c.old_start) as isize;
        let new_len = {
            let mut n = c.keep.len();
            if c.keep.start > c.old_start {
                n += ELLIPSIS.len();
            }
            if c.keep.end < c.old_end {
                n += ELLIPSIS.len();
            }
            n as isize
        };
        shift += new_len - old_len;
    }
    (o as isize + shift).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::diag::render;

    #[test]
    fn a_huge_line_is_shown_cut_around_the_label() {
        let mut map = SourceMap::new();
        let mut text = String::from("input x: f32[4]\noutput y = x");
        text.push_str(&" + x".repeat(100_000));
        text.push_str(" + zz\noutput w = x\n");
        let at = text.find("zz").unwrap_or(0);
        let file = map.add("long.weft", text);
        let d = Diagnostic::error(
            "E0201",
            "cannot find `zz` in this scope",
            Span::new(file, at, at + 2),
        )
        .label("not found");
        let out = render(&map, &[d], false);
        assert!(out.len() < 2_000, "{} bytes:\n{out}", out.len());
        assert!(out.contains("+ zz"), "{out}");
        assert!(out.contains("long.weft:2:"), "{out}");
        assert!(out.contains(ELLIPSIS), "{out}");
        assert!(out.contains("^^ not found"), "{out}");
    }

    #[test]
    fn short_lines_are_untouched() {
        let mut map = SourceMap::new();
        let file = map.add("s.weft", "output y = zz\n".into());
        let d = Diagnostic::error("E0201", "m", Span::new(file, 11, 13)).label("here");
        assert!(windowed(&map, &d).is_none());
    }
}
