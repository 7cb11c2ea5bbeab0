//! The weft grammar: lexer, parser and AST.
pub mod ast;
