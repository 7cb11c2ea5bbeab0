//! The kernel-IR verifier: buffer references in range, expressions
//! well-typed and of the right rank, kernels writing temps or ABI outputs
//! only, temps placed in slots, every output and update written.

use super::{AxisSrc, BufKind, Expr, Kernel, Program};
use crate::ir::types::DType;

pub fn verify(p: &Program) -> Result<(), String> {
    let nb = p.buffers.len();
    let bad = |k: usize, m: String| Err(format!("invalid kernel IR: kernel {k}: {m}"));
    let mut written = vec![false; nb];
    for (k, kern) in p.kernels.iter().enumerate() {
        for b in kern.inputs().into_iter().chain(kern.outputs()) {
            if b >= nb {
                return bad(k, format!("buffer %{b} does not exist"));
            }
        }
        for b in kern.inputs() {
            let external = matches!(p.buffers[b].kind, BufKind::Input(_) | BufKind::Param(_));
            if !external && !written[b] {
                return bad(k, format!("reads %{b} before it is written"));
            }
        }
        for o in kern.outputs() {
            if matches!(p.buffers[o].kind, BufKind::Input(_) | BufKind::Param(_)) {
                return bad(k, format!("writes the read-only buffer %{o}"));
            }
            if kern.inputs().contains(&o) {
                return bad(k, format!("reads and writes %{o}"));
            }
            written[o] = true;
        }
        if let Kernel::AllReduce { dtype, parts } = kern {
            if !crate::ir::op::collective_dtype(*dtype) || parts.is_empty() {
                return bad(
                    k,
                    format!("an all-reduce of {dtype} over {} parts", parts.len()),
                );
            }
            for &(src, out) in parts {
                let (a, b) = (&p.buffers[src], &p.buffers[out]);
                if a.dtype != *dtype
                    || b.dtype != *dtype
                    || crate::ir::types::element_count(&a.shape)
                        != crate::ir::types::element_count(&b.shape)
                {
                    return bad(k, format!("all-reduce part %{src} -> %{out} differs"));
                }
            }
        }
        let rank_dtype = match kern {
            Kernel::Map { out, expr } => Some((
                p.buffers[*out].shape.len(),
                expr,
                Some(p.buffers[*out].dtype),
            )),
            Kernel::Reduce {
                shape, expr, out, ..
            } => Some((shape.len(), expr, Some(p.buffers[*out].dtype))),
            Kernel::ArgMax { shape, expr, .. } => Some((shape.len(), expr, None)),
            _ => None,
        };
        if let Some((rank, expr, want)) = rank_dtype {
            let got = check_expr(p, expr, rank)
                .map_err(|m| format!("invalid kernel IR: kernel {k}: {m}"))?;
            if want.is_some_and(|w| w != got) {
                return bad(
                    k,
                    format!("expression of dtype {got} written to a {:?} buffer", want),
                );
            }
        }
    }
    if p.derived.len() > p.dims.len() {
        return Err("invalid kernel IR: more derived sizes than sizes".into());
    }
    for (i, e) in p.derived.iter().enumerate() {
        if p.dims[p.base_dims() + i] != e.to_string() {
            return Err(format!(
                "invalid kernel IR: derived size {i} is not named `{e}`"
            ));
        }
    }
    for (i, b) in p.buffers.iter().enumerate() {
        if let Some(d) = b
            .shape
            .iter()
            .find(|d| d.as_lit().is_none() && p.dim_slot(d).is_none())
        {
            return Err(format!("invalid kernel IR: %{i} has the unknown size {d}"));
        }
        match b.kind {
            BufKind::Temp { slot } if slot >= p.slots.len() || !p.slots[slot].contains(&i) => {
                return Err(format!("invalid kernel IR: temp %{i} has no slot"));
            }
            BufKind::Output(_) | BufKind::Update(_) if !written[i] => {
                return Err(format!(
                    "invalid kernel IR: %{i} ({}) is never written",
                    b.name
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The expression's dtype, checking ranks and operand dtypes.
fn check_expr(p: &Program, e: &Expr, rank: usize) -> Result<DType, String> {
    Ok(match e {
        Expr::Load { buf, view } => {
            if view.len() != rank {
                return Err(format!(
                    "load of %{buf} with a rank-{} view in a rank-{rank} space",
                    view.len()
                ));
            }
            p.buffers[*buf].dtype
        }
        Expr::Const { value, dtype } => {
            crate::ops::literal_fits(*value, *dtype).map_err(|e| e.to_string())?;
            *dtype
        }
        Expr::Size { dtype, .. } => *dtype,
        Expr::Iota { axis, dtype } => {
            if *axis >= rank {
                return Err(format!("iota along axis {axis} of a rank-{rank} space"));
            }
            *dtype
        }
        // The semantics table's dtype rules.
        Expr::Unary { op, arg } => op
            .result(check_expr(p, arg, rank)?)
            .map_err(|e| e.to_string())?,
        Expr::Cast { to, arg } => {
            check_expr(p, arg, rank)?;
            *to
        }
        Expr::Binary { op, lhs, rhs } => {
            let (a, b) = (check_expr(p, lhs, rank)?, check_expr(p, rhs, rank)?);
            if a != b {
                return Err(format!("{} of {a} and {b}", op.name()));
            }
            op.result(a).map_err(|e| e.to_string())?
        }
        Expr::Select { cond, then, els } => {
            let c = check_expr(p, cond, rank)?;
            let (a, b) = (check_expr(p, then, rank)?, check_expr(p, els, rank)?);
            if c != DType::Bool || a != b {
                return Err(format!("select of {c}, {a}, {b}"));
            }
            a
        }
        Expr::Remap { shape, axes, arg } => {
            if axes.len() != shape.len() {
                return Err("remap with an axis count unlike its shape".into());
            }
            for a in axes {
                if let AxisSrc::Outer { axis, step, .. } = a {
                    if *axis >= rank || *step == 0 {
                        return Err(format!("remap from axis {axis} of a rank-{rank} space"));
                    }
                }
            }
            check_expr(p, arg, shape.len())?
        }
    })
}
