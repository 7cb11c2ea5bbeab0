//! `einsum("ij,jk->ik", a, b, ..)` (contract section 11): a spec of one
//! letter per axis for each operand and, after `->`, for the result (without
//! `->`, the letters used once, in alphabetical order, as NumPy's). Letters
//! that meet must have equal lengths (E0330); a letter repeated within one
//! operand takes its diagonal (`"ii->i"`, the trace `"ii->"`).
//!
//! Lowered to the graph's primitives: operands are combined left to right;
//! each pair becomes a batched `MatMul` over `[batch.., M, K] @ [batch.., K,
//! N]` (batch letters in both and kept, `K` the letters summed, `M`/`N` the
//! letters of one operand), when `M`, `K` and `N` are each one length; else
//! a broadcast product and a sum. Letters of one operand that nothing else
//! needs are summed first; the result is transposed to the spec's order.

use weft_grammar::ast::Span;

use super::super::{Elab, Val};
use super::Bound;
use crate::front::diag::Diagnostic;
use crate::ir::graph::NodeId;
use crate::ir::op::{BinaryOp, Op, ReduceOp};
use crate::ir::types::{product_dim, Dim};

/// An operand (or intermediate) and the letter of each of its axes.
struct Term {
    id: NodeId,
    letters: Vec<char>,
}

impl<'m> Elab<'m> {
    fn einsum_error(&mut self, msg: String, at: Span, label: &str) {
        self.err(
            Diagnostic::error("E0330", msg, at)
                .label(label.to_string())
                .note("the spec gives one letter per axis of each operand: `einsum(\"ij,jk->ik\", a, b)`"),
        );
    }

    pub(super) fn einsum(&mut self, span: Span, a: Vec<Bound>) -> Option<Val> {
        let (sv, ss, _) = a[0].clone()?;
        let Val::Str(spec) = sv else {
            let t = self.type_str(&sv);
            self.einsum_error(
                format!("the first argument of `einsum` is a spec string, found `{t}`"),
                ss,
                "not a string",
            );
            return None;
        };
        let mut ops = Vec::new();
        for b in &a[1..] {
            if b.is_some() {
                ops.push(self.tensor_arg(b)?);
            }
        }
        if let Some((_, t0, _)) = ops.first() {
            let d = t0.dtype;
            if let Some((_, t, s)) = ops.iter().find(|(_, t, _)| t.dtype != d) {
                self.err(
                    Diagnostic::error(
                        "E0303",
                        format!("`einsum` of `{t0}` and `{t}`: mismatched dtypes"),
                        *s,
                    )
                    .label(format!("this is `{t}`"))
                    .help(format!("convert one side, e.g. `cast(.., {d})`")),
                );
                return None;
            }
            if !d.is_numeric() || d == crate::ir::types::DType::U8 {
                self.err(
                    Diagnostic::error(
                        "E0305",
                        format!("`einsum` needs numeric tensors, found `{t0}`"),
                        ops[0].2,
                    )
                    .label(format!("this is `{t0}`"))
                    .help("convert it first: `cast(.., f32)`"),
                );
                return None;
            }
        }
        let spec: String = spec.chars().filter(|c| !c.is_whitespace()).collect();
        let (lhs, rhs) = match spec.split_once("->") {
            Some((l, r)) => (l.to_string(), Some(r.to_string())),
            None => (spec.clone(), None),
        };
        let terms: Vec<Vec<char>> = lhs.split(',').map(|t| t.chars().collect()).collect();
        if spec.contains("...") {
            self.einsum_error(
                "`...` in an einsum spec is not supported yet".into(),
                ss,
                "ellipsis",
            );
            return None;
        }
        if let Some(c) = spec
            .chars()
            .find(|c| !(c.is_ascii_alphabetic() || ",->".contains(*c)))
        {
            self.einsum_error(
                format!("`{c}` in an einsum spec: axes are letters"),
                ss,
                "not a letter",
            );
            return None;
        }
        if terms.len() != ops.len() {
            self.einsum_error(
                format!(
                    "the spec `{spec}` has {} operand(s), `einsum` was given {}",
                    terms.len(),
                    ops.len()
                ),
                ss,
                "operands and spec disagree",
            );
            return None;
        }
        // Each letter's length, checked where letters meet.
        let mut lens: Vec<(char, Dim)> = Vec::new();
        for (k, (t, (_, ty, s))) in terms.iter().zip(&ops).enumerate() {
            if t.len() != ty.rank() {
                self.err(
                    Diagnostic::error(
                        "E0330",
                        format!(
                            "operand {} of `einsum` has rank {}, its spec `{}` names {} axes",
                            k + 1,
                            ty.rank(),
                            t.iter().collect::<String>(),
                            t.len()
                        ),
                        *s,
                    )
                    .label(format!("this is `{ty}`"))
                    .with(ss, "the spec"),
                );
                return None;
            }
            for (i, c) in t.iter().enumerate() {
                match lens.iter().find(|(l, _)| l == c) {
                    Some((_, d)) if *d != ty.shape[i] => {
                        self.err(
                            Diagnostic::error(
                                "E0330",
                                format!(
                                    "`{c}` is {d} in one operand of `einsum` and {} in another",
                                    ty.shape[i]
                                ),
                                *s,
                            )
                            .label(format!("this is `{ty}`"))
                            .with(ss, format!("`{c}` in the spec"))
                            .note("an einsum letter names one length"),
                        );
                        return None;
                    }
                    Some(_) => {}
                    None => lens.push((*c, ty.shape[i].clone())),
                }
            }
        }
        let out: Vec<char> = match rhs {
            Some(r) => r.chars().collect(),
            None => {
                let mut once: Vec<char> = lens
                    .iter()
                    .map(|(c, _)| *c)
                    .filter(|c| terms.iter().flatten().filter(|x| *x == c).count() == 1)
                    .collect();
                once.sort_unstable();
                once
            }
        };
        for (i, c) in out.iter().enumerate() {
            if !lens.iter().any(|(l, _)| l == c) || out[..i].contains(c) {
                self.einsum_error(
                    format!("the result's `{c}` is not an axis of an operand, or is named twice"),
                    ss,
                    "invalid result letter",
                );
                return None;
            }
        }
        let len = |c: char| lens.iter().find(|(l, _)| *l == c).map(|(_, d)| d.clone());
        let mut acc: Option<Term> = None;
        for (k, (t, (id, _, _))) in terms.iter().zip(&ops).enumerate() {
            // Letters still needed after this operand: the result's and the later operands'.
            let later: Vec<char> = terms[k + 1..]
                .iter()
                .flatten()
                .copied()
                .chain(out.iter().copied())
                .collect();
            let cur = self.diagonals(
                Term {
                    id: *id,
                    letters: t.clone(),
                },
                span,
            );
            acc = Some(match acc {
                None => self.sum_unneeded(cur, &later, span),
                Some(prev) => {
                    let prev =
                        self.sum_unneeded(prev, &[&later[..], &cur.letters[..]].concat(), span);
                    let cur =
                        self.sum_unneeded(cur, &[&later[..], &prev.letters[..]].concat(), span);
                    self.contract(prev, cur, &later, &len, span)
                }
            });
        }
        let r = acc?;
        let perm: Vec<usize> = out
            .iter()
            .map(|c| r.letters.iter().position(|x| x == c))
            .collect::<Option<Vec<usize>>>()?;
        Some(Val::Tensor(self.g.transpose(r.id, &perm, Some(span))))
    }

    /// `t` with each letter it repeats (`ii`) reduced to the diagonal: the
    /// elements whose two positions agree, selected (not multiplied by a
    /// mask, which would spread a NaN) and the second axis summed.
    fn diagonals(&mut self, mut t: Term, span: Span) -> Term {
        let s = Some(span);
        loop {
            let pair = (0..t.letters.len()).find_map(|j| {
                t.letters[..j]
                    .iter()
                    .position(|c| *c == t.letters[j])
                    .map(|i| (i, j))
            });
            let Some((i, j)) = pair else {
                return t;
            };
            let ty = self.g.ty(t.id).clone();
            let iota = |el: &mut Self, axis: usize| {
                let it = crate::ir::types::TensorType::new(
                    crate::ir::types::DType::I64,
                    ty.shape.clone(),
                );
                el.g.add(Op::Iota { ty: it, axis }, &[], s)
            };
            let (a, b) = (iota(self, i), iota(self, j));
            let on = self.g.binary(BinaryOp::Eq, a, b, s);
            let zero = if ty.dtype.is_float() {
                crate::ir::types::Scalar::Float(-0.0)
            } else {
                crate::ir::types::Scalar::Int(0)
            };
            let z = self.g.literal(zero, ty.dtype, s);
            let z = self.g.broadcast(z, &ty.shape, s);
            let x = self.g.add(Op::Select, &[on, t.id, z], s);
            let r = self.g.reduce(ReduceOp::Sum, x, &[j], s);
            let mut shape = ty.shape.clone();
            shape.remove(j);
            t.id = self.g.reshape(r, &shape, s);
            t.letters.remove(j);
        }
    }

    /// `t` with the letters that `keep` does not name summed away.
    fn sum_unneeded(&mut self, t: Term, keep: &[char], span: Span) -> Term {
        let axes: Vec<usize> = (0..t.letters.len())
            .filter(|&i| !keep.contains(&t.letters[i]))
            .collect();
        if axes.is_empty() {
            return t;
        }
        let r = self.g.reduce(ReduceOp::Sum, t.id, &axes, Some(span));
        let letters: Vec<char> = t
            .letters
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, c)| *c)
            .collect();
        let shape: Vec<Dim> = self
            .g
            .ty(r)
            .shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, d)| d.clone())
            .collect();
        Term {
            id: self.g.reshape(r, &shape, Some(span)),
            letters,
        }
    }

    /// The product of two terms, summed over their shared letters that
    /// `later` does not need.
    fn contract(
        &mut self,
        a: Term,
        b: Term,
        later: &[char],
        len: &dyn Fn(char) -> Option<Dim>,
        span: Span,
    ) -> Term {
        let s = Some(span);
        let batch: Vec<char> = a
            .letters
            .iter()
            .copied()
            .filter(|c| b.letters.contains(c) && later.contains(c))
            .collect();
        let sum: Vec<char> = a
            .letters
            .iter()
            .copied()
            .filter(|c| b.letters.contains(c) && !later.contains(c))
            .collect();
        let fa: Vec<char> = a
            .letters
            .iter()
            .copied()
            .filter(|c| !b.letters.contains(c))
            .collect();
        let fb: Vec<char> = b
            .letters
            .iter()
            .copied()
            .filter(|c| !a.letters.contains(c))
            .collect();
        let dims = |cs: &[char]| -> Vec<Dim> { cs.iter().filter_map(|&c| len(c)).collect() };
        let one = |cs: &[char]| product_dim(&dims(cs));
        let perm_of = |t: &Term, order: &[char]| -> Vec<usize> {
            order
                .iter()
                .filter_map(|c| t.letters.iter().position(|x| x == c))
                .collect()
        };
        let mut letters = batch.clone();
        letters.extend(&fa);
        letters.extend(&fb);
        let bd = dims(&batch);
        if let (Some(m), Some(k), Some(n)) = (one(&fa), one(&sum), one(&fb)) {
            // [batch.., M, K] @ [batch.., K, N]
            let pa = perm_of(&a, &[&batch[..], &fa[..], &sum[..]].concat());
            let pb = perm_of(&b, &[&batch[..], &sum[..], &fb[..]].concat());
            let xa = self.g.transpose(a.id, &pa, s);
            let xb = self.g.transpose(b.id, &pb, s);
            let xa = self
                .g
                .reshape(xa, &[&bd[..], &[m.clone(), k.clone()]].concat(), s);
            let xb = self.g.reshape(xb, &[&bd[..], &[k, n.clone()]].concat(), s);
            let y = self.g.add(Op::MatMul, &[xa, xb], s);
            let shape = [&bd[..], &dims(&fa)[..], &dims(&fb)[..]].concat();
            return Term {
                id: self.g.reshape(y, &shape, s),
                letters,
            };
        }
        // A broadcast product over [batch.., fa.., fb.., sum..], summed.
        let full_letters = [&letters[..], &sum[..]].concat();
        let full = dims(&full_letters);
        let place = |el: &mut Self, t: &Term| -> NodeId {
            let order: Vec<char> = full_letters
                .iter()
                .copied()
                .filter(|c| t.letters.contains(c))
                .collect();
            let x = el.g.transpose(t.id, &perm_of(t, &order), s);
            let shape: Vec<Dim> = full_letters
                .iter()
                .map(|&c| {
                    if t.letters.contains(&c) {
                        len(c).unwrap_or(Dim::Lit(1))
                    } else {
                        Dim::Lit(1)
                    }
                })
                .collect();
            let x = el.g.reshape(x, &shape, s);
            el.g.broadcast(x, &full, s)
        };
        let (xa, xb) = (place(self, &a), place(self, &b));
        let p = self.g.binary(BinaryOp::Mul, xa, xb, s);
        let axes: Vec<usize> = (letters.len()..full_letters.len()).collect();
        let r = self.g.reduce(ReduceOp::Sum, p, &axes, s);
        Term {
            id: self.g.reshape(r, &dims(&letters), s),
            letters,
        }
    }
}
