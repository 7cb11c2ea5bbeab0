//! Warnings (W01xx): programs that check but probably do not do what their
//! author meant. They are reported only for programs without errors, and
//! `--deny warnings` makes them errors.
//!
//! - W0101 an input that no output, update or `until` depends on (it must
//!   still be given at run time);
//! - W0102 a top-level `let` whose name is never used (a name starting with
//!   `_` is exempt);
//! - W0103 a program without any `output`;
//! - W0104 a `//` comment right after an operand, followed by what reads as
//!   the rest of an expression (`x // 2.0 + 1.0`): weft has no `//` operator.

use std::collections::HashSet;

use weft_grammar::ast::{FileId, Item, Span};

use super::diag::Diagnostic;
use super::Module;
use crate::ir::graph::Graph;
use crate::ir::op::Op;

pub(crate) fn lints(
    main: &Module,
    text: &str,
    g: &Graph,
    used: &HashSet<String>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Without outputs and updates everything is unused: W0103 says it once.
    if !(g.outputs.is_empty() && g.updates.is_empty()) {
        unused_inputs(main, g, &mut out);
        unused_lets(main, used, &mut out);
    }
    no_output(main, &mut out);
    comment_after_operand(main.file, text, &mut out);
    out
}

/// W0101: inputs that nothing the run shows or keeps depends on.
fn unused_inputs(main: &Module, g: &Graph, out: &mut Vec<Diagnostic>) {
    let mut live = vec![false; g.len()];
    let mut stack: Vec<_> = g
        .outputs
        .iter()
        .chain(&g.updates)
        .map(|(_, id)| *id)
        .chain(g.until.iter().copied())
        .collect();
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut live[id.index()], true) {
            continue;
        }
        stack.extend(g.node(id).args.iter().copied());
    }
    for (name, id) in &g.inputs {
        if live[id.index()] || !matches!(g.node(*id).op, Op::Input { .. }) {
            continue;
        }
        let root = name.split('.').next().unwrap_or(name);
        if root.starts_with('_') {
            continue;
        }
        let span = declaration(main, root).unwrap_or_else(|| Span::new(main.file, 0, 0));
        out.push(
            Diagnostic::warning("W0101", format!("input `{name}` is never used"), span)
                .label("no output, update or `until` depends on it")
                .note("it must still be given at run time (--input)")
                .help(format!(
                    "remove it, or name it `_{root}` if the interface needs it"
                )),
        );
    }
}

/// W0102: top-level `let` names nothing refers to.
fn unused_lets(main: &Module, used: &HashSet<String>, out: &mut Vec<Diagnostic>) {
    for item in &main.program.items {
        let Item::Let(l) = item else { continue };
        let mut names = Vec::new();
        super::elab::pattern_names_of(&l.pat, &mut names);
        for n in names {
            if used.contains(&n.name) || n.name.starts_with('_') {
                continue;
            }
            out.push(
                Diagnostic::warning("W0102", format!("`{}` is never used", n.name), n.span)
                    .label("computed, then never read")
                    .help(format!(
                        "use it (`output {0}`), remove it, or name it `_{0}`",
                        n.name
                    )),
            );
        }
    }
}

/// W0103: a program that shows nothing.
fn no_output(main: &Module, out: &mut Vec<Diagnostic>) {
    let items = &main.program.items;
    if items.is_empty() || items.iter().any(|i| matches!(i, Item::Output { .. })) {
        return;
    }
    let first = items[0].span();
    out.push(
        Diagnostic::warning("W0103", "this program has no `output`", first)
            .label("a run computes, then shows nothing")
            .help("add `output NAME` for each value to print or write with --out"),
    );
}

/// W0104: `x // 2.0 + 1.0` — a comment where an expression seems to go on.
fn comment_after_operand(file: FileId, text: &str, out: &mut Vec<Diagnostic>) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some(at) = line.find("//") else { continue };
        let code = line[..at].trim_end();
        let comment = &line[at + 2..];
        // Written as an operator would be: at most one space on each side
        // (a comment aligned in a column is a comment).
        let gap_before = line[..at].len() - code.len();
        let gap_after = comment.len() - comment.trim_start().len();
        if gap_before > 1 || gap_after > 1 {
            continue;
        }
        let ends_operand = code
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ')' || c == ']');
        // Something is being assigned or output on this line (or it continues one).
        let in_expression = code.contains('=') || code.starts_with(' ') || code.starts_with('\t');
        if ends_operand && in_expression && looks_like_continuation(comment) {
            let span = Span::new(file, start + at, start + at + 2);
            out.push(
                Diagnostic::warning(
                    "W0104",
                    "`//` starts a comment: the rest of this line is not part of the expression",
                    span,
                )
                .label("a comment starts here")
                .note("weft has no `//` operator")
                .help("for floor division write `floor_div(a, b)` (NumPy's `//`); if this is a comment, put it on a line of its own"),
            );
        }
    }
}

/// A number, then the end of the line or an operator: `2`, `2.0 + 100.0`.
fn looks_like_continuation(comment: &str) -> bool {
    let c = comment.trim_start();
    let digits = c
        .char_indices()
        .take_while(|(_, ch)| ch.is_ascii_digit() || *ch == '.' || *ch == 'e' || *ch == 'E')
        .last()
        .map(|(i, ch)| i + ch.len_utf8());
    let Some(end) = digits else { return false };
    if !c.starts_with(|ch: char| ch.is_ascii_digit()) {
        return false;
    }
    let rest = c[end..].trim_start();
    rest.is_empty() || rest.starts_with(['+', '-', '*', '/', '@', ')'])
}

/// The span of the name of top-level input `name`.
fn declaration(main: &Module, name: &str) -> Option<Span> {
    main.program.items.iter().find_map(|i| match i {
        Item::Input { name: n, .. } if n.name == name => Some(n.span),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::looks_like_continuation;

    #[test]
    fn continuations() {
        assert!(looks_like_continuation(" 2.0 + 100.0\n"));
        assert!(looks_like_continuation(" 2\n"));
        assert!(looks_like_continuation("3)"));
        assert!(!looks_like_continuation(" 3 classes\n"));
        assert!(!looks_like_continuation(" the bias\n"));
        assert!(!looks_like_continuation(" f32[B, 4]\n"));
    }
}
