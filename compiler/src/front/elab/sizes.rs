//! Size expressions in written types (`f32[N + M]`, `f32[(H - 3) div 2 + 1]`):
//! resolving a dimension of a type to a [`Dim`], and matching a function
//! parameter's size expression against an argument's dimension (binding a
//! size parameter that appears in it once and linearly, as `2 * N`).

use weft_grammar::ast::{DimExpr, DimOp, Ident, Span};

use super::calls::Bindings;
use super::{Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::types::{Dim, Poly, Scalar};

/// A placeholder name for the size parameter being solved for, which no
/// program can spell.
const UNKNOWN: &str = "\u{0}?";

impl Elab<'_> {
    /// One dimension of a written type (not a `..S` splat): a literal, a size
    /// name (a bound size parameter, a `dim`, a `const`) or a size
    /// expression. Reports and returns None when it is not a size.
    pub(crate) fn type_dim(&mut self, d: &DimExpr, b: &Bindings) -> Option<Dim> {
        match d {
            DimExpr::Lit(n, span) => match u64::try_from(*n) {
                Ok(n) => Some(Dim::Lit(n)),
                Err(_) => {
                    self.err(Diagnostic::error(
                        "E0301",
                        "an axis length cannot be negative",
                        *span,
                    ));
                    None
                }
            },
            DimExpr::Name(id) => self.size_name(id, b),
            DimExpr::Splat(id) => {
                self.err(
                    Diagnostic::error(
                        "E0214",
                        format!("`..{}` cannot be part of a size expression", id.name),
                        id.span,
                    )
                    .label("an axis run"),
                );
                None
            }
            DimExpr::Bin(..) => {
                let p =
                    self.size_poly(d, &mut |this, id| this.size_name(id, b).map(|d| d.poly()))?;
                self.dim_of_poly(p, d)
            }
        }
    }

    /// A size name of a type: a bound size parameter, a `dim`, or a `const`.
    fn size_name(&mut self, id: &Ident, b: &Bindings) -> Option<Dim> {
        if let Some(x) = b.sizes.get(&id.name) {
            return Some(x.clone());
        }
        if self.is_dim(&id.name) {
            return Some(Dim::sym(&id.name));
        }
        if self.is_const(&id.name) {
            return match self.lookup(&id.name, id.span) {
                Val::Static(Scalar::Int(n)) if n >= 0 => Some(Dim::Lit(n as u64)),
                Val::Error => None,
                other => {
                    let t = self.type_str(&other);
                    self.err(
                        Diagnostic::error(
                            "E0214",
                            format!("const `{}` cannot be a size: it is a {t}", id.name),
                            id.span,
                        )
                        .label("not a non-negative integer")
                        .note("a const used in a type must be a non-negative integer literal"),
                    );
                    None
                }
            };
        }
        self.unknown_size(&id.name, id.span);
        None
    }

    /// The dimension of a size expression's polynomial: E0331 when it is a
    /// negative constant.
    fn dim_of_poly(&mut self, p: Poly, d: &DimExpr) -> Option<Dim> {
        match Dim::from_poly(p.clone()) {
            Some(x) => Some(x),
            None => {
                self.err(
                    Diagnostic::error(
                        "E0331",
                        format!("the size `{d}` is negative ({p})"),
                        d.span(),
                    )
                    .label("a negative length"),
                );
                None
            }
        }
    }

    /// The polynomial of a size expression, `name` resolving each size name.
    fn size_poly(
        &mut self,
        d: &DimExpr,
        name: &mut dyn FnMut(&mut Self, &Ident) -> Option<Poly>,
    ) -> Option<Poly> {
        let too_large = |this: &mut Self, span: Span| {
            this.err(
                Diagnostic::error("E0331", "this size expression overflows", span)
                    .label("its coefficients do not fit in 64 bits"),
            );
        };
        match d {
            DimExpr::Lit(n, _) => Some(Poly::constant(*n)),
            DimExpr::Name(id) => name(self, id),
            DimExpr::Splat(_) => {
                let b = Bindings::default();
                self.type_dim(d, &b);
                None
            }
            DimExpr::Bin(op, x, y, span) => {
                let px = self.size_poly(x, name);
                if *op == DimOp::Div {
                    let divisor = self.size_poly(y, name)?.as_constant();
                    let px = px?;
                    return match divisor
                        .and_then(|v| u64::try_from(v).ok())
                        .filter(|&v| v > 0)
                    {
                        Some(k) => {
                            let r = px.div(k);
                            if r.is_none() {
                                too_large(self, *span);
                            }
                            r
                        }
                        None => {
                            self.err(
                                Diagnostic::error(
                                    "E0331",
                                    format!("`div` needs a positive literal divisor, found `{y}`"),
                                    y.span(),
                                )
                                .label("not a positive integer")
                                .note("a size expression divides only by a positive literal or const: `(H - 3) div 2`"),
                            );
                            None
                        }
                    };
                }
                let (px, py) = (px?, self.size_poly(y, name)?);
                let r = match op {
                    DimOp::Add => px.add(&py),
                    DimOp::Sub => px.sub(&py),
                    DimOp::Mul => px.mul(&py),
                    DimOp::Div => None,
                };
                if r.is_none() {
                    too_large(self, *span);
                }
                r
            }
        }
    }

    /// Matches a parameter's size expression `d` against an argument's
    /// dimension `got`. Size parameters already bound are substituted; one
    /// that is not, and appears once and linearly (`2 * N`, `N + 1`), is
    /// solved for and bound. `Ok(false)` when the sizes differ (or nothing
    /// can be solved yet, with `unsolved` set to the first unbound name).
    pub(crate) fn match_size_expr(
        &mut self,
        d: &DimExpr,
        got: &Dim,
        b: &mut Bindings,
        is_size: &dyn Fn(&str) -> bool,
        unsolved: &mut Option<String>,
    ) -> Option<bool> {
        let mut free: Vec<String> = Vec::new();
        collect_free(d, b, is_size, &mut free);
        if free.len() > 1 {
            *unsolved = Some(free[0].clone());
            return Some(false);
        }
        let x = free.pop();
        let bound = b.clone();
        let p = self.size_poly(d, &mut |this, id| {
            if x.as_deref() == Some(id.name.as_str()) {
                Some(Poly::name(UNKNOWN))
            } else {
                this.size_name(id, &bound).map(|d| d.poly())
            }
        })?;
        let Some(x) = x else {
            return Some(Dim::from_poly(p).as_ref() == Some(got));
        };
        let Some((a, rest)) = p.linear_in(UNKNOWN) else {
            *unsolved = Some(x);
            return Some(false);
        };
        let sol = got
            .poly()
            .sub(&rest)
            .and_then(|t| t.exact_div(&Poly::constant(a)))
            .and_then(Dim::from_poly);
        match sol {
            Some(v) => {
                b.sizes.insert(x, v);
                Some(true)
            }
            None => Some(false),
        }
    }
}

/// The size parameters of `d` (per `is_size`) that `b` does not bind yet.
fn collect_free(d: &DimExpr, b: &Bindings, is_size: &dyn Fn(&str) -> bool, out: &mut Vec<String>) {
    match d {
        DimExpr::Name(id) if is_size(&id.name) && !b.sizes.contains_key(&id.name) => {
            if !out.contains(&id.name) {
                out.push(id.name.clone());
            }
        }
        DimExpr::Bin(_, x, y, _) => {
            collect_free(x, b, is_size, out);
            collect_free(y, b, is_size, out);
        }
        DimExpr::Lit(..) | DimExpr::Name(_) | DimExpr::Splat(_) => {}
    }
}
