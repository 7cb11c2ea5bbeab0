//! Declarations that may be records: inputs, params (record params, and
//! params initialised by `zeros_like`/`ones_like`/`full_like`), updates and
//! outputs of whole records. Each leaf is one graph input, param, update or
//! output named by its dotted path.

use std::collections::HashMap;

use weft_grammar::ast::{Expr, ExprKind, Ident, ParamField, Span};

use super::records::{leaves, VTy};
use super::{static_literal, zero_of, Elab, Val};
use crate::front::diag::Diagnostic;
use crate::ir::graph::{Init, ParamDecl};
use crate::ir::op::Op;
use crate::ir::types::{Scalar, TensorType};

impl<'m> Elab<'m> {
    /// `input NAME: TYPE`, a tensor or a record of inputs.
    pub(super) fn declare_input(&mut self, path: &str, span: Span, t: &VTy) -> Val {
        match t {
            VTy::Tensor(t) => {
                let id = self.g.add(
                    Op::Input {
                        name: path.to_string(),
                        ty: t.clone(),
                    },
                    &[],
                    Some(span),
                );
                self.g.inputs.push((path.to_string(), id));
                Val::Tensor(id)
            }
            VTy::Record(fields) => Val::Record(
                fields
                    .iter()
                    .map(|(n, ft)| {
                        (
                            n.clone(),
                            self.declare_input(&format!("{path}.{n}"), span, ft),
                        )
                    })
                    .collect(),
            ),
        }
    }

    /// One param (a leaf) with its initialiser.
    pub(super) fn declare_param(
        &mut self,
        path: &str,
        span: Span,
        t: TensorType,
        init: Init,
    ) -> Val {
        let id = self.g.add(
            Op::Param {
                name: path.to_string(),
                ty: t.clone(),
            },
            &[],
            Some(span),
        );
        self.g.params.push(ParamDecl {
            name: path.to_string(),
            ty: t,
            init,
            node: id,
        });
        Val::Tensor(id)
    }

    /// `param NAME { FIELD: TYPE = INIT .. }`.
    pub(super) fn param_record(&mut self, name: &Ident, fields: &[ParamField]) -> Val {
        // Resolve every leaf first, so that one bad leaf reports and no param is half-declared.
        let mut decls = Vec::new();
        if !self.record_leaves(&name.name, fields, &mut decls) {
            return Val::Error;
        }
        let mut made: HashMap<String, Val> = HashMap::new();
        for (path, span, t, init) in decls {
            let v = self.declare_param(&path, span, t, init);
            made.insert(path, v);
        }
        build_record(&name.name, fields, &mut made)
    }

    fn record_leaves(
        &mut self,
        prefix: &str,
        fields: &[ParamField],
        out: &mut Vec<(String, Span, TensorType, Init)>,
    ) -> bool {
        if !self.unique_fields(fields.iter().map(|f| f.name())) {
            return false;
        }
        let mut ok = true;
        for f in fields {
            match f {
                ParamField::Leaf { name, ty, init } => {
                    let t = self.resolve_type(ty);
                    let init = self.param_init(init, t.as_ref());
                    match (t, init) {
                        (Some(t), Some(init)) => {
                            out.push((format!("{prefix}.{}", name.name), name.span, t, init))
                        }
                        _ => ok = false,
                    }
                }
                ParamField::Record { name, fields } => {
                    ok &= self.record_leaves(&format!("{prefix}.{}", name.name), fields, out);
                }
            }
        }
        ok
    }

    /// `param NAME = zeros_like(r)` (or `ones_like(r)`, `full_like(r, v)`): a
    /// param of `r`'s type, tensor or record, every leaf filled with the value.
    pub(super) fn param_like(&mut self, name: &Ident, init: &Expr) -> Val {
        let bad = |this: &mut Self, msg: &str| {
            this.err(
                Diagnostic::error("E0316", format!("invalid param initialiser: {msg}"), init.span)
                    .label("not a valid initialiser")
                    .help("a param without a type is initialised by `zeros_like(r)`, `ones_like(r)` or `full_like(r, VALUE)`; otherwise write its type: `param NAME: TYPE = INIT`"),
            );
            Val::Error
        };
        let ExprKind::Call {
            callee,
            args,
            kwargs,
        } = &init.kind
        else {
            return bad(
                self,
                "expected `zeros_like(..)`, `ones_like(..)` or `full_like(..)`",
            );
        };
        let ExprKind::Name(f) = &callee.kind else {
            return bad(
                self,
                "expected `zeros_like(..)`, `ones_like(..)` or `full_like(..)`",
            );
        };
        let value = match (f.name.as_str(), args.len()) {
            ("zeros_like", 1) => Some(0.0),
            ("ones_like", 1) => Some(1.0),
            ("full_like", 2) => None,
            ("zeros_like" | "ones_like" | "full_like", _) => {
                return bad(self, &format!("wrong number of arguments to `{}`", f.name))
            }
            _ => {
                return bad(
                    self,
                    &format!("`{}` cannot initialise a param without a type", f.name),
                )
            }
        };
        if !kwargs.is_empty() {
            return bad(self, "no keyword arguments are taken");
        }
        let fill = match value {
            Some(v) => Scalar::Float(v),
            None => match static_literal(&args[1]).or_else(|| self.const_value(&args[1])) {
                Some(s) => s,
                None => return bad(self, "the fill value must be a literal or a const"),
            },
        };
        let like = self.expr(&args[0]);
        let Some(t) = self.vty(&like) else {
            if let Val::Error = like {
                return Val::Error;
            }
            let ts = self.type_str(&like);
            return bad(
                self,
                &format!("`{}` needs a tensor or a record, found `{ts}`", f.name),
            );
        };
        let mut decls = Vec::new();
        for (path, lt) in t.leaves(&name.name) {
            let s = match fill {
                Scalar::Float(x) if value.is_some() => zero_of(lt.dtype, x),
                s => s,
            };
            if !super::expr::static_fits(s, lt.dtype) {
                self.err(super::expr::literal_meets(s, lt.dtype, args[1].span));
                return Val::Error;
            }
            decls.push((path, lt, Init::Full(s)));
        }
        let mut made = Vec::new();
        for (path, lt, init) in decls {
            made.push(self.declare_param(&path, name.span, lt, init));
        }
        super::records::rebuild(&like, &mut made.into_iter())
    }

    /// The graph outputs of `output NAME` for a record value: one per leaf.
    pub(super) fn record_outputs(&mut self, name: &str, v: &Val, span: Span, item_span: Span) {
        for (path, leaf) in leaves(v, name) {
            if let Some(node) = self.output_node(&leaf, span, item_span) {
                self.g.set_label(node, &path);
                self.g.outputs.push((path, node));
            }
        }
    }
}

fn build_record(prefix: &str, fields: &[ParamField], made: &mut HashMap<String, Val>) -> Val {
    Val::Record(
        fields
            .iter()
            .map(|f| {
                let n = &f.name().name;
                let path = format!("{prefix}.{n}");
                let v = match f {
                    ParamField::Leaf { .. } => made.remove(&path).unwrap_or(Val::Error),
                    ParamField::Record { fields, .. } => build_record(&path, fields, made),
                };
                (n.clone(), v)
            })
            .collect(),
    )
}
