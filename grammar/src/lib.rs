//! The weft grammar: lexer, parser and AST.
//!
//! [`parse`] turns one source file into a [`ast::Program`] and the syntax
//! errors found in it. It never panics and always returns a program: items
//! that failed to parse become [`ast::Item::Error`] placeholders.
pub mod ast;
mod construct;
pub mod lexer;

#[cfg(test)]
mod tests;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused_parens, dead_code)]
    weft
);

use std::collections::HashSet;

pub use construct::MAX_DEPTH;

/// Parses one file. `file` tags every span of the result.
///
/// Error codes: E0101 invalid character, E0102 unexpected token, E0103
/// unexpected end of file, E0104 invalid number literal, E0105 expression or
/// pattern nested more than [`MAX_DEPTH`] levels deep. The errors are sorted by
/// position.
pub fn parse(file: ast::FileId, src: &str) -> (ast::Program, Vec<ast::SyntaxError>) {
    let (tokens, mut errors) = lexer::lex(file, src);
    let starts: Vec<usize> = tokens.iter().map(|t| t.0).collect();
    // The token at (or after) a byte offset.
    let token_at = |offset: usize| starts.partition_point(|&s| s < offset);
    // A token right after an invalid character usually only looks unexpected
    // because that character is gone, and a bad number literal is already
    // reported: don't report them a second time.
    let lexed_badly: HashSet<usize> = errors
        .iter()
        .filter_map(|e| match e.code {
            "E0101" => starts.get(token_at(e.span.end as usize)).copied(),
            _ => Some(e.span.start as usize),
        })
        .collect();

    let mut st = construct::ParseState::new(file, src);
    let result = weft::ProgramParser::new().parse(&mut st, tokens.into_iter().map(Ok));
    let items = match result {
        Ok(items) => items,
        Err(e) => {
            let err = st.convert(e);
            st.errors.push(err);
            Vec::new()
        }
    };

    // Cascades: an error at the token where the parser resumed after the
    // previous one, or at the token after it, on the same line, is most likely
    // a consequence of the previous error (`let output = 1` fails at `output`,
    // resumes there, and fails again at `=`). Report only the first.
    let mut recovered = std::mem::take(&mut st.recoveries);
    recovered.sort_by_key(|r| r.token_start);
    let mut last: Option<(usize, usize)> = None; // (token_start, resume token index)
    for r in recovered {
        let here = token_at(r.token_start);
        let cascade = last.is_some_and(|(prev_start, resume)| {
            here >= resume && here - resume <= 1 && !src[prev_start..r.token_start].contains('\n')
        });
        let resume = token_at(r.resume_from);
        if last.is_none_or(|(_, prev_resume)| resume >= prev_resume) {
            last = Some((r.token_start, resume));
        }
        if !cascade && !lexed_badly.contains(&r.token_start) {
            st.errors.push(r.error);
        }
    }
    errors.append(&mut st.errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    (ast::Program { items }, errors)
}
