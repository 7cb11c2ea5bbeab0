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

pub use construct::MAX_DEPTH;

/// Parses one file. `file` tags every span of the result.
///
/// Error codes: E0101 invalid character, E0102 unexpected token, E0103
/// unexpected end of file, E0104 invalid number literal, E0105 expression or
/// pattern nested more than [`MAX_DEPTH`] levels deep. The errors are sorted by
/// position.
pub fn parse(file: ast::FileId, src: &str) -> (ast::Program, Vec<ast::SyntaxError>) {
    let (tokens, mut errors) = lexer::lex(file, src);
    // A token right after an invalid character usually only looks unexpected
    // because that character is gone: don't report it a second time.
    let after_bad: std::collections::HashSet<u32> = errors
        .iter()
        .filter(|e| e.code == "E0101")
        .filter_map(|e| {
            let i = tokens.partition_point(|t| t.0 < e.span.end as usize);
            tokens.get(i).map(|t| t.0 as u32)
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
    st.errors.retain(|e| {
        !(e.code == "E0102"
            && e.message.starts_with("unexpected")
            && after_bad.contains(&e.span.start))
    });
    errors.append(&mut st.errors);
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    (ast::Program { items }, errors)
}
