//! AST construction helpers called from the grammar's actions, and the
//! translation of LALRPOP's errors into [`SyntaxError`]s.
//!
//! The grammar actions stay thin: they hand the pieces to a method of
//! [`ParseState`], which builds the node, tracks its nesting depth and reports
//! errors found while building (a positional argument after a keyword one,
//! an expression nested too deeply).

use lalrpop_util::{ErrorRecovery, ParseError};

use crate::ast::*;
use crate::lexer::{shorten, LexError, Tok};

/// Expressions and patterns deeper than this are replaced by an error
/// (E0105), so that no later pass (nor `Drop`) recurses without bound.
pub const MAX_DEPTH: u32 = 256;

pub(crate) type LalrError<'s> = ParseError<usize, Tok<'s>, LexError>;
pub(crate) type Recovery<'s> = ErrorRecovery<usize, Tok<'s>, LexError>;

/// An expression under construction, with its nesting depth. A depth above
/// [`MAX_DEPTH`] marks a poisoned subtree (already reported).
pub struct E {
    pub expr: Expr,
    pub depth: u32,
}

/// A pattern under construction, with its nesting depth.
pub struct P {
    pub pat: Pattern,
    pub depth: u32,
}

/// A call argument before positional and keyword arguments are split.
pub enum Arg {
    Pos(E),
    Kw(Ident, E),
}

/// An index item with its nesting depth.
pub struct Ix {
    pub item: IndexItem,
    pub depth: u32,
}

/// A size expression (a type's dimension) under construction: its span
/// (widened to its parentheses, if any) and nesting depth. A depth above
/// [`MAX_DEPTH`] marks a cut-off subtree (already reported).
pub struct D {
    pub dim: DimExpr,
    pub span: Span,
    pub depth: u32,
}

/// The state threaded through the parser's actions.
pub struct ParseState<'s> {
    pub file: FileId,
    pub src: &'s str,
    pub errors: Vec<SyntaxError>,
    /// Errors the parser recovered from, kept apart so that `parse` can drop
    /// the cascades.
    pub recoveries: Vec<Recovered>,
}

/// An error the parser recovered from, with where its offending token starts
/// and the offset from which the parser resumed (the next token at or after it).
pub struct Recovered {
    pub error: SyntaxError,
    pub token_start: usize,
    pub resume_from: usize,
}

impl<'s> ParseState<'s> {
    pub fn new(file: FileId, src: &'s str) -> Self {
        ParseState {
            file,
            src,
            errors: Vec::new(),
            recoveries: Vec::new(),
        }
    }

    pub fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r)
    }

    pub fn ident(&self, l: usize, name: &str, r: usize) -> Ident {
        Ident {
            name: name.to_string(),
            span: self.span(l, r),
        }
    }

    // ---- expressions -------------------------------------------------

    pub fn leaf(&self, l: usize, kind: ExprKind, r: usize) -> E {
        E {
            expr: Expr {
                kind,
                span: self.span(l, r),
            },
            depth: 1,
        }
    }

    pub fn name(&self, id: Ident) -> E {
        let span = id.span;
        E {
            expr: Expr {
                kind: ExprKind::Name(id),
                span,
            },
            depth: 1,
        }
    }

    /// A node over children of maximum depth `inner`; cut off when too deep.
    fn node(&mut self, inner: u32, kind: impl FnOnce() -> ExprKind, span: Span) -> E {
        if inner > MAX_DEPTH {
            return E {
                expr: Expr {
                    kind: ExprKind::Error,
                    span,
                },
                depth: inner,
            };
        }
        let depth = inner + 1;
        if depth > MAX_DEPTH {
            self.errors.push(SyntaxError {
                code: "E0105",
                message: format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
                expected: vec![],
            });
            return E {
                expr: Expr {
                    kind: ExprKind::Error,
                    span,
                },
                depth,
            };
        }
        E {
            expr: Expr { kind: kind(), span },
            depth,
        }
    }

    pub fn binary(&mut self, op: BinOp, a: E, b: E) -> E {
        let span = a.expr.span.to(b.expr.span);
        let inner = a.depth.max(b.depth);
        self.node(
            inner,
            || ExprKind::Binary(op, Box::new(a.expr), Box::new(b.expr)),
            span,
        )
    }

    pub fn neg(&mut self, l: usize, e: E) -> E {
        let span = self.span(l, e.expr.span.end as usize);
        self.node(e.depth, || ExprKind::Neg(Box::new(e.expr)), span)
    }

    pub fn list(&mut self, l: usize, items: Vec<E>, r: usize) -> E {
        let span = self.span(l, r);
        let inner = items.iter().map(|e| e.depth).max().unwrap_or(0);
        self.node(
            inner,
            || ExprKind::List(items.into_iter().map(|e| e.expr).collect()),
            span,
        )
    }

    pub fn not(&mut self, l: usize, e: E) -> E {
        let span = self.span(l, e.expr.span.end as usize);
        self.node(e.depth, || ExprKind::Not(Box::new(e.expr)), span)
    }

    pub fn member(&mut self, base: E, name: Ident) -> E {
        let span = base.expr.span.to(name.span);
        self.node(
            base.depth,
            || ExprKind::Member(Box::new(base.expr), name),
            span,
        )
    }

    pub fn call(&mut self, callee: E, args: Vec<Arg>, r: usize) -> E {
        let span = self.span(callee.expr.span.start as usize, r);
        let mut inner = callee.depth;
        let mut pos = Vec::new();
        let mut kw: Vec<(Ident, Expr)> = Vec::new();
        for arg in args {
            match arg {
                Arg::Pos(e) => {
                    inner = inner.max(e.depth);
                    if let Some((k, _)) = kw.last() {
                        self.errors.push(SyntaxError {
                            code: "E0102",
                            message: format!(
                                "positional argument after keyword argument `{}`: positional arguments must come first",
                                k.name
                            ),
                            span: e.expr.span,
                            expected: vec![],
                        });
                    }
                    pos.push(e.expr);
                }
                Arg::Kw(k, e) => {
                    inner = inner.max(e.depth);
                    kw.push((k, e.expr));
                }
            }
        }
        self.node(
            inner,
            || ExprKind::Call {
                callee: Box::new(callee.expr),
                args: pos,
                kwargs: kw,
            },
            span,
        )
    }

    pub fn index(&mut self, base: E, items: Vec<Ix>, r: usize) -> E {
        let span = self.span(base.expr.span.start as usize, r);
        let inner = items.iter().map(|i| i.depth).fold(base.depth, u32::max);
        let indices = items.into_iter().map(|i| i.item).collect();
        self.node(
            inner,
            || ExprKind::Index {
                base: Box::new(base.expr),
                indices,
            },
            span,
        )
    }

    pub fn index_item(&self, e: E) -> Ix {
        Ix {
            depth: e.depth,
            item: IndexItem::Index(e.expr),
        }
    }

    pub fn slice(
        &self,
        l: usize,
        start: Option<E>,
        end: Option<E>,
        step: Option<E>,
        r: usize,
    ) -> Ix {
        let depth = [&start, &end, &step]
            .iter()
            .filter_map(|e| e.as_ref().map(|e| e.depth))
            .max()
            .unwrap_or(0);
        let span = self.span(l, r);
        Ix {
            depth,
            item: IndexItem::Slice {
                start: start.map(|e| e.expr),
                end: end.map(|e| e.expr),
                step: step.map(|e| e.expr),
                span,
            },
        }
    }

    /// `( .. )`: a tuple when `is_tuple` (a comma was written, or it is `()`),
    /// else the parenthesised expression itself, its span widened to the parens.
    pub fn parens(&mut self, l: usize, (elems, is_tuple): (Vec<E>, bool), r: usize) -> E {
        let span = self.span(l, r);
        if !is_tuple {
            if let Some(mut e) = elems.into_iter().next() {
                e.expr.span = span;
                return e;
            }
            return self.leaf(l, ExprKind::Tuple(vec![]), r);
        }
        let inner = elems.iter().map(|e| e.depth).max().unwrap_or(0);
        self.node(
            inner,
            || ExprKind::Tuple(elems.into_iter().map(|e| e.expr).collect()),
            span,
        )
    }

    /// `{a: x, b: y}`: a record value.
    pub fn record(&mut self, l: usize, fields: Vec<(Ident, E)>, r: usize) -> E {
        let span = self.span(l, r);
        let inner = fields.iter().map(|(_, e)| e.depth).max().unwrap_or(0);
        self.node(
            inner,
            || ExprKind::Record(fields.into_iter().map(|(n, e)| (n, e.expr)).collect()),
            span,
        )
    }

    // ---- size expressions --------------------------------------------

    /// A literal or a name in a type's dimension.
    pub fn dim_leaf(&self, dim: DimExpr) -> D {
        D {
            span: dim.span(),
            dim,
            depth: 1,
        }
    }

    /// `( .. )` around a size expression: no node, the span widened to the
    /// parentheses (a name keeps its own span).
    pub fn dim_parens(&self, l: usize, mut d: D, r: usize) -> D {
        let span = self.span(l, r);
        if let DimExpr::Lit(_, s) | DimExpr::Bin(.., s) = &mut d.dim {
            *s = span;
        }
        d.span = span;
        d
    }

    /// `a OP b`; cut off (E0105, once) when nested too deeply, keeping the
    /// operand that still fits.
    pub fn dim_bin(&mut self, op: DimOp, a: D, b: D) -> D {
        let span = a.span.to(b.span);
        let inner = a.depth.max(b.depth);
        if inner > MAX_DEPTH {
            let dim = if a.depth > MAX_DEPTH { a.dim } else { b.dim };
            return D {
                dim,
                span,
                depth: inner,
            };
        }
        if inner + 1 > MAX_DEPTH {
            self.errors.push(SyntaxError {
                code: "E0105",
                message: format!(
                    "size expression nested too deeply (more than {MAX_DEPTH} levels)"
                ),
                span,
                expected: vec![],
            });
            return D {
                dim: a.dim,
                span,
                depth: inner + 1,
            };
        }
        D {
            dim: DimExpr::Bin(op, Box::new(a.dim), Box::new(b.dim), span),
            span,
            depth: inner + 1,
        }
    }

    // ---- patterns ----------------------------------------------------

    pub fn pat_name(&self, id: Ident) -> P {
        P {
            pat: Pattern::Name(id),
            depth: 1,
        }
    }

    pub fn pat_parens(&mut self, l: usize, (elems, is_tuple): (Vec<P>, bool), r: usize) -> P {
        let span = self.span(l, r);
        if !is_tuple {
            if let Some(p) = elems.into_iter().next() {
                return p;
            }
            return P {
                pat: Pattern::Tuple(vec![], span),
                depth: 1,
            };
        }
        let inner = elems.iter().map(|p| p.depth).max().unwrap_or(0);
        if inner > MAX_DEPTH {
            return P {
                pat: Pattern::Tuple(vec![], span),
                depth: inner,
            };
        }
        if inner + 1 > MAX_DEPTH {
            self.errors.push(SyntaxError {
                code: "E0105",
                message: format!("pattern nested too deeply (more than {MAX_DEPTH} levels)"),
                span,
                expected: vec![],
            });
            return P {
                pat: Pattern::Tuple(vec![], span),
                depth: inner + 1,
            };
        }
        P {
            pat: Pattern::Tuple(elems.into_iter().map(|p| p.pat).collect(), span),
            depth: inner + 1,
        }
    }

    // ---- items -------------------------------------------------------

    pub fn ret_type(&self, l: usize, (types, is_tuple): (Vec<Ty>, bool), r: usize) -> RetType {
        if !is_tuple {
            if let Some(t) = types.into_iter().next() {
                return RetType::One(t);
            }
            return RetType::Tuple(vec![], self.span(l, r));
        }
        RetType::Tuple(types, self.span(l, r))
    }

    pub fn let_(&self, l: usize, pat: P, ty: Option<Ty>, value: E, r: usize) -> Let {
        Let {
            pat: pat.pat,
            ty,
            value: value.expr,
            span: self.span(l, r),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub fn fn_def(
        &self,
        l: usize,
        name: Ident,
        size_params: Option<Vec<SizeParam>>,
        params: Vec<FnParam>,
        ret: RetType,
        (body, result): (Vec<Option<Let>>, Expr),
        r: usize,
    ) -> Item {
        Item::Fn(FnDef {
            name,
            size_params: size_params.unwrap_or_default(),
            params,
            ret,
            body: body.into_iter().flatten().collect(),
            result,
            span: self.span(l, r),
        })
    }

    /// `type P` in a function's brackets; another word before the name is an error.
    pub fn type_param(&mut self, kw: Ident, name: Ident) -> SizeParam {
        if kw.name != "type" {
            self.errors.push(SyntaxError {
                code: "E0102",
                message: format!(
                    "unexpected `{}` before `{}`: a generic parameter is `N`, `..S` or `type P`",
                    kw.name, name.name
                ),
                span: kw.span,
                expected: vec!["`type`".to_string()],
            });
        }
        SizeParam {
            name,
            kind: GenericKind::Type,
        }
    }

    pub fn dims(&self, l: usize, names: Vec<Ident>, r: usize) -> Vec<Item> {
        let span = self.span(l, r);
        names
            .into_iter()
            .map(|name| Item::Dim { name, span })
            .collect()
    }

    // ---- errors ------------------------------------------------------

    /// Reports an error the parser recovered from.
    pub fn recovered(&mut self, rec: Recovery<'s>) {
        let token_start = match &rec.error {
            ParseError::UnrecognizedToken { token, .. } | ParseError::ExtraToken { token } => {
                token.0
            }
            _ => self.src.len(),
        };
        let resume_from = rec.dropped_tokens.last().map_or(token_start, |t| t.2);
        let error = self.convert(rec.error);
        self.recoveries.push(Recovered {
            error,
            token_start,
            resume_from,
        });
    }

    /// A `let` in a function body directly followed by something other than `;`.
    pub fn missing_semi(&mut self, l: usize, r: usize, rec: Recovery<'s>) {
        match rec.error {
            ParseError::UnrecognizedToken {
                token: (s, _, e), ..
            } => {
                let found = self.describe(s, e);
                self.errors.push(SyntaxError {
                    code: "E0102",
                    message: format!("expected `;` after this `let`, found {found}"),
                    span: self.span(l, r),
                    expected: vec!["`;`".to_string()],
                });
            }
            other => {
                let err = self.convert(other);
                self.errors.push(err);
            }
        }
    }

    fn describe(&self, s: usize, e: usize) -> String {
        match self.src.get(s..e) {
            Some(text) => format!("`{}`", shorten(text, 32)),
            None => "a token".to_string(),
        }
    }

    /// Translates one of LALRPOP's errors.
    pub fn convert(&self, err: LalrError<'s>) -> SyntaxError {
        match err {
            ParseError::InvalidToken { location } => SyntaxError {
                code: "E0101",
                message: "invalid token".to_string(),
                span: self.span(location, location),
                expected: vec![],
            },
            ParseError::UnrecognizedEof { location, expected } => {
                let expected = humanize_expected(&expected);
                let message = if expected.is_empty() {
                    "unexpected end of file".to_string()
                } else {
                    format!("unexpected end of file, expected {}", join_or(&expected))
                };
                SyntaxError {
                    code: "E0103",
                    message,
                    span: self.span(location, location),
                    expected,
                }
            }
            ParseError::UnrecognizedToken {
                token: (s, tok, e),
                expected,
            } => {
                let raw: Vec<&str> = expected.iter().map(|x| unquote(x)).collect();
                let mut found = self.describe(s, e);
                if tok.is_keyword() {
                    found = format!("keyword {found}");
                }
                let expected = humanize_expected(&expected);
                let is_cmp = matches!(
                    tok,
                    Tok::Lt | Tok::Le | Tok::Gt | Tok::Ge | Tok::EqEq | Tok::Ne
                );
                let is_dim_op = matches!(
                    tok,
                    Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Ident("div")
                );
                let message = if is_cmp && raw.contains(&"+") {
                    format!(
                        "comparison operators cannot be chained: unexpected {found}; use parentheses, e.g. `(a < b) == c`"
                    )
                } else if tok == Tok::Semi && raw.contains(&"}") && !raw.contains(&";") {
                    format!(
                        "unexpected `;`, expected {}: the result expression that ends a function body takes no `;`",
                        join_or(&expected)
                    )
                } else if is_dim_op && raw.len() == 2 && raw.contains(&",") && raw.contains(&"]") {
                    // After `..S` in a type's (or a function's) brackets.
                    format!(
                        "unexpected {found}, expected `,` or `]`: a splat `..S` stands for a run of axes and cannot be part of a size expression"
                    )
                } else if tok == Tok::Slash && is_dim_operator_context(&raw) {
                    format!(
                        "unexpected {found}, expected {}: sizes are divided with `div`, e.g. `N div 2`",
                        join_or(&expected)
                    )
                } else if expected.is_empty() {
                    format!("unexpected {found}")
                } else {
                    format!("unexpected {found}, expected {}", join_or(&expected))
                };
                SyntaxError {
                    code: "E0102",
                    message,
                    span: self.span(s, e),
                    expected,
                }
            }
            ParseError::ExtraToken { token: (s, _, e) } => SyntaxError {
                code: "E0102",
                message: format!("unexpected {}", self.describe(s, e)),
                span: self.span(s, e),
                expected: vec![],
            },
            ParseError::User { error } => SyntaxError {
                code: if error == LexError::InvalidChar {
                    "E0101"
                } else {
                    "E0104"
                },
                message: error.to_string(),
                span: self.span(0, 0),
                expected: vec![],
            },
        }
    }
}

/// LALRPOP names a terminal by its quoted spelling in the grammar: `"\"(\""`.
fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

const EXPR_START: &[&str] = &["ident", "int", "float", "(", "-", "true", "false", "{"];
/// Tokens that also start an expression where one is expected (`not x`, a
/// tensor literal, a string), folded with [`EXPR_START`].
const EXPR_START_MORE: &[&str] = &["not", "[", "string"];
const OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "%", "@", "**", "<", "<=", ">", ">=", "==", "!=", "and", "or",
];
/// Postfix continuations, folded into "an operator".
const POSTFIX: &[&str] = &["(", "[", "."];
const ITEM_KEYWORDS: &[&str] = &[
    "use", "dim", "const", "input", "param", "let", "fn", "output", "update", "until",
];

/// The operators of a size expression in a type's dimension.
const DIM_OPERATORS: &[&str] = &["+", "-", "*", "div"];

/// After an operand of a size expression (inside a type's brackets): the
/// only place where `div` is expected but a name is not, and where `*` is
/// expected but `/` is not. Also the state after a parenthesised sum (`(N`
/// before a wrong token), which has already forgotten `*` and `div`: only
/// `)`, `+` and `-`, where an expression's parentheses would allow a `,`.
fn is_dim_operator_context(raw: &[&str]) -> bool {
    let after_operand = raw.contains(&"div")
        && raw.contains(&"*")
        && !raw.contains(&"ident")
        && !raw.contains(&"/");
    let in_parens = raw.len() == 3 && [")", "+", "-"].iter().all(|t| raw.contains(t));
    after_operand || in_parens
}

/// Turns LALRPOP's expected-terminal list into readable words, folding the
/// usual groups ("an expression", "an operator", "an item").
pub(crate) fn humanize_expected(expected: &[String]) -> Vec<String> {
    let mut rest: Vec<&str> = expected.iter().map(|s| unquote(s)).collect();
    let has_all = |rest: &[&str], group: &[&str]| group.iter().all(|g| rest.contains(g));
    let mut groups = Vec::new();
    // `div` is a name wherever a name is expected: not worth a mention.
    if rest.contains(&"ident") {
        rest.retain(|t| *t != "div");
    }
    // After a size in a type's dimension: `+ - * div`.
    if is_dim_operator_context(&rest) {
        groups.push("an operator (`+`, `-`, `*`, `div`)".to_string());
        rest.retain(|t| !DIM_OPERATORS.contains(t));
    }
    if has_all(&rest, EXPR_START) {
        groups.push("an expression".to_string());
        rest.retain(|t| !EXPR_START.contains(t) && !EXPR_START_MORE.contains(t));
    }
    if has_all(&rest, &["+", "*", "/", "@"]) {
        groups.push("an operator".to_string());
        rest.retain(|t| !OPERATORS.contains(t) && !POSTFIX.contains(t));
    }
    // `and` / `or` alone (after an expression the parser has reduced) are
    // continuations too remote to suggest.
    rest.retain(|t| !matches!(*t, "and" | "or"));
    if has_all(&rest, ITEM_KEYWORDS) {
        groups.push("an item".to_string());
        rest.retain(|t| !ITEM_KEYWORDS.contains(t));
    }
    // `,` reads better before `]` (LALRPOP lists `]` first).
    if let (Some(c), Some(b)) = (
        rest.iter().position(|t| *t == ","),
        rest.iter().position(|t| *t == "]"),
    ) {
        if b < c {
            rest.swap(b, c);
        }
    }
    let mut out: Vec<String> = rest
        .into_iter()
        .map(|t| match t {
            "ident" => "a name".to_string(),
            "int" => "an integer".to_string(),
            "float" => "a float literal".to_string(),
            other => format!("`{other}`"),
        })
        .collect();
    out.extend(groups);
    out
}

/// `a`, `a or b`, `a, b or c`.
pub(crate) fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
