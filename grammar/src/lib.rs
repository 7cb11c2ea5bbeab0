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
/// unexpected end of file, E0104 invalid number literal, E0105 expression,
/// size expression or pattern nested more than [`MAX_DEPTH`] levels deep. The
/// errors are sorted by position.
pub fn parse(file: ast::FileId, src: &str) -> (ast::Program, Vec<ast::SyntaxError>) {
    let (mut tokens, mut errors) = lexer::lex(file, src);
    // Nesting beyond the limit is refused up front: the parser's stack (and
    // the cost of its error recovery) grows with it.
    let cut = nesting_cut(&tokens);
    if let Some(i) = cut {
        let (s, _, e) = tokens[i];
        errors.push(ast::SyntaxError {
            code: "E0105",
            message: format!(
                "nested too deeply (more than {MAX_DEPTH} levels of brackets or prefix operators); the rest of the file is not parsed"
            ),
            span: ast::Span::new(file, s, e),
            expected: vec![],
        });
        tokens.truncate(i);
    }
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
            if cut.is_none() || err.code != "E0103" {
                st.errors.push(err);
            }
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
        // After a cut, the end of the token stream is not the end of the file.
        let at_cut = cut.is_some() && r.error.code == "E0103";
        if !cascade && !at_cut && !lexed_badly.contains(&r.token_start) {
            st.errors.push(r.error);
        }
    }
    if cut.is_some() {
        // One "nested too deeply" is enough.
        st.errors.retain(|e| e.code != "E0105");
    }
    errors.append(&mut st.errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    (ast::Program { items }, errors)
}

/// The index of the first token at which brackets and pending prefix or
/// right-associative operators (`-x`, `a ** b ** ..`) nest deeper than
/// [`MAX_DEPTH`], if any. This over-approximates the parser's stack depth
/// closely enough to bound it.
fn nesting_cut(tokens: &[lexer::Spanned<'_>]) -> Option<usize> {
    use lexer::Tok;
    // Pending prefix/`**` operators per open bracket (the first: top level).
    let mut levels: Vec<usize> = vec![0];
    let mut pending = 0usize;
    let mut prev_operand = false;
    for (i, (_, tok, _)) in tokens.iter().enumerate() {
        match tok {
            Tok::LParen | Tok::LBracket | Tok::LBrace => levels.push(0),
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                if levels.len() > 1 {
                    pending -= levels.pop().unwrap_or(0);
                }
            }
            Tok::Minus | Tok::Not if !prev_operand => {
                pending += 1;
                *levels.last_mut().unwrap_or(&mut 0) += 1;
            }
            Tok::StarStar => {
                pending += 1;
                *levels.last_mut().unwrap_or(&mut 0) += 1;
            }
            Tok::Ident(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::True
            | Tok::False
            | Tok::Dot => {}
            _ => {
                // Any other operator or separator ends the pending chain.
                if let Some(last) = levels.last_mut() {
                    pending -= *last;
                    *last = 0;
                }
            }
        }
        if levels.len() - 1 + pending > MAX_DEPTH as usize {
            return Some(i);
        }
        prev_operand = matches!(
            tok,
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Float(_)
                | Tok::Str(_)
                | Tok::True
                | Tok::False
                | Tok::RParen
                | Tok::RBracket
        );
    }
    None
}
