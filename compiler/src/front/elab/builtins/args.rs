//! Argument helpers shared by the builtins: tensors, dtypes, sizes, shapes, axes.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::Bound;
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::types::{DType, Dim, Scalar, TensorType};

impl<'m> Elab<'m> {
    /// A tensor argument (weak scalars become default-dtype literals).
    pub(super) fn tensor_arg(&mut self, b: &Bound) -> Option<(NodeId, TensorType, Span)> {
        let (v, s, _) = b.clone()?;
        let id = self.tensor_of(&v, s, None)?;
        Some((id, self.g.ty(id).clone(), s))
    }

    pub(super) fn dtype_kw(&mut self, b: &Bound, dflt: DType) -> Option<DType> {
        match b {
            None => Some(dflt),
            Some((Val::DType(d), _, _)) => Some(*d),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error("E0318", format!("`dtype` must be a dtype, found `{t}`"), *s)
                        .label("not a dtype"),
                );
                None
            }
        }
    }

    pub(super) fn float_static(&mut self, b: &Bound) -> Option<f64> {
        match b {
            Some((Val::Static(Scalar::Float(f)), _, _)) => Some(*f),
            Some((Val::Static(Scalar::Int(i)), _, _)) => Some(*i as f64),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("expected a number known at compile time, found `{t}`"),
                        *s,
                    )
                    .label("not a literal"),
                );
                None
            }
            None => None,
        }
    }

    /// A size argument: a non-negative integer literal or a size name.
    pub(super) fn size_arg(&mut self, v: &Val, s: Span) -> Option<Dim> {
        match v {
            Val::Size(d) => Some(d.clone()),
            Val::Static(Scalar::Int(i)) if *i >= 0 => Some(Dim::Lit(*i as u64)),
            Val::Error => None,
            other => {
                let t = self.type_str(other);
                self.err(
                    Diagnostic::error("E0314", format!("expected a size (a non-negative integer literal or a size name), found `{t}`"), s)
                        .label("not a size"),
                );
                None
            }
        }
    }

    /// A shape: a tuple of sizes, or one size. With `allow_infer`, one `-1`
    /// may appear (returned as `Dim::Lit(u64::MAX)`).
    pub(super) fn shape_arg(&mut self, v: &Val, s: Span, allow_infer: bool) -> Option<Vec<Dim>> {
        let items: Vec<Val> = match v {
            Val::Tuple(vs) => vs.clone(),
            Val::Error => return None,
            other => vec![other.clone()],
        };
        let mut out = Vec::new();
        let mut inferred = false;
        for it in &items {
            match it {
                Val::Static(Scalar::Int(-1)) if allow_infer => {
                    if inferred {
                        self.err(
                            Diagnostic::error("E0309", "only one `-1` is allowed in a shape", s)
                                .label("several -1"),
                        );
                        return None;
                    }
                    inferred = true;
                    out.push(Dim::Lit(u64::MAX));
                }
                _ => out.push(self.size_arg(it, s)?),
            }
        }
        Some(out)
    }

    pub(super) fn norm_axis(
        &mut self,
        ax: i64,
        rank: usize,
        sa: Span,
        t: &TensorType,
        sx: Span,
    ) -> Option<usize> {
        let r = rank as i64;
        if ax < -r || ax >= r {
            self.err(
                Diagnostic::error("E0307", format!("axis {ax} is out of range for `{t}`"), sa)
                    .label("no such axis")
                    .with(sx, format!("this is `{t}`"))
                    .note(if r == 0 {
                        "there is no axis here".to_string()
                    } else {
                        format!("valid axes are {} to {}", -r, r - 1)
                    }),
            );
            return None;
        }
        Some(if ax < 0 {
            (ax + r) as usize
        } else {
            ax as usize
        })
    }

    /// The `axis=` argument of a reduction: None (all), an integer, or a tuple.
    pub(super) fn axes_arg(&mut self, b: &Bound, t: &TensorType, sx: Span) -> Option<Vec<usize>> {
        let Some((v, s, _)) = b else {
            return Some((0..t.rank()).collect());
        };
        let items = match v {
            Val::Tuple(vs) => vs.clone(),
            other => vec![other.clone()],
        };
        let mut axes = Vec::new();
        for it in &items {
            let a = self.static_int(it, *s, "the axis")?;
            let a = self.norm_axis(a, t.rank(), *s, t, sx)?;
            if axes.contains(&a) {
                self.err(
                    Diagnostic::error("E0307", format!("axis {a} is given twice"), *s)
                        .label("repeated axis"),
                );
                return None;
            }
            axes.push(a);
        }
        axes.sort_unstable();
        Some(axes)
    }

    pub(super) fn bool_kw(&mut self, b: &Bound) -> Option<bool> {
        match b {
            None => Some(false),
            Some((Val::Static(Scalar::Bool(k)), _, _)) => Some(*k),
            Some((v, s, _)) => {
                let t = self.type_str(v);
                self.err(
                    Diagnostic::error(
                        "E0314",
                        format!("`keepdims` must be `true` or `false`, found `{t}`"),
                        *s,
                    )
                    .label("not a bool literal"),
                );
                None
            }
        }
    }
}
