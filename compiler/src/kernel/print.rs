//! The deterministic text form of the kernel IR (for `--emit kernels`,
//! snapshots and debugging).

use std::fmt::Write;

use super::{AxisSrc, BufKind, Check, Expr, Kernel, OutputSrc, Program};
use crate::ir::types::{shape_str, Dim};

fn dims(ds: &[Dim]) -> String {
    shape_str(ds)
}

pub fn expr(e: &Expr) -> String {
    match e {
        Expr::Load { buf, view } => format!("%{buf}{}", dims(view)),
        Expr::Const { value, dtype } => format!("{value}:{dtype}"),
        Expr::Iota { axis, dtype } => format!("iota{axis}:{dtype}"),
        Expr::Size { dims: ds, dtype } => format!("size{}:{dtype}", dims(ds)),
        Expr::Unary { op, arg } => format!("{}({})", op.name(), expr(arg)),
        Expr::Binary { op, lhs, rhs } => format!("{}({}, {})", op.name(), expr(lhs), expr(rhs)),
        Expr::Select { cond, then, els } => {
            format!("select({}, {}, {})", expr(cond), expr(then), expr(els))
        }
        Expr::Cast { to, arg } => format!("cast<{to}>({})", expr(arg)),
        Expr::Remap { shape, axes, arg } => {
            let m: Vec<String> = axes
                .iter()
                .map(|a| match a {
                    AxisSrc::Zero => "0".to_string(),
                    AxisSrc::Outer {
                        axis,
                        start: 0,
                        step: 1,
                    } => format!("i{axis}"),
                    AxisSrc::Outer { axis, start, step } => format!("{start}+{step}*i{axis}"),
                })
                .collect();
            format!("at[{}]{}({})", m.join(", "), dims(shape), expr(arg))
        }
    }
}

pub fn kernel(k: &Kernel) -> String {
    match k {
        Kernel::Map { out, expr: e } => format!("map %{out} = {}", expr(e)),
        Kernel::Reduce {
            out,
            op,
            shape,
            axes,
            expr: e,
        } => {
            format!(
                "reduce_{} %{out} = over {} axes {axes:?}: {}",
                op.name(),
                dims(shape),
                expr(e)
            )
        }
        Kernel::ArgMax {
            out,
            shape,
            axis,
            expr: e,
        } => {
            format!(
                "argmax %{out} = over {} axis {axis}: {}",
                dims(shape),
                expr(e)
            )
        }
        Kernel::MatMul {
            out,
            a,
            b,
            batch,
            m,
            k,
            n,
            trans,
        } => {
            let t = |x: bool| if x { "ᵀ" } else { "" };
            format!(
                "matmul %{out} = %{a}{} @ %{b}{} batch {} m {m} k {k} n {n}",
                t(trans[0]),
                t(trans[1]),
                dims(batch)
            )
        }
        Kernel::Gather {
            out,
            table,
            idx,
            rows,
            width,
            count,
            error,
        } => format!(
            "gather %{out} = %{table}[%{idx}] rows {rows} width {} count {} error {error}",
            dims(width),
            dims(count)
        ),
        Kernel::ScatterAdd {
            out,
            idx,
            g,
            rows,
            width,
            count,
            error,
        } => format!(
            "scatter_add %{out} = %{g} at %{idx} rows {rows} width {} count {} error {error}",
            dims(width),
            dims(count)
        ),
        Kernel::Concat {
            out,
            outer,
            inner,
            parts,
        } => {
            let ps: Vec<String> = parts.iter().map(|(b, d)| format!("%{b}:{d}")).collect();
            format!(
                "concat %{out} = [{}] outer {} inner {}",
                ps.join(", "),
                dims(outer),
                dims(inner)
            )
        }
        Kernel::SliceGrad {
            out,
            src,
            outer,
            inner,
            n,
            len,
            start,
            step,
        } => format!(
            "slice_grad %{out} = %{src} at {start}+{step}*t (t < {len}) of {n} outer {} inner {}",
            dims(outer),
            dims(inner)
        ),
        Kernel::Window {
            out,
            src,
            lead,
            hw,
            ohw,
            win,
            fill,
        } => format!(
            "window %{out} = %{src} lead {} hw {} out {} ({win}) fill {fill}",
            dims(lead),
            dims(hw),
            dims(ohw)
        ),
        Kernel::WindowGrad {
            out,
            src,
            lead,
            hw,
            ohw,
            win,
        } => format!(
            "window_grad %{out} = %{src} lead {} hw {} out {} ({win})",
            dims(lead),
            dims(hw),
            dims(ohw)
        ),
        Kernel::Conv {
            kind,
            out,
            a,
            b,
            dims: d,
            win,
            groups,
        } => format!(
            "{} %{out} = %{a}, %{b} dims {} ({win}) groups {groups}",
            kind.name(),
            dims(d)
        ),
        Kernel::Cumsum {
            out,
            src,
            outer,
            n,
            inner,
            reverse,
        } => format!(
            "cumsum %{out} = %{src} outer {} n {n} inner {} reverse {reverse}",
            dims(outer),
            dims(inner)
        ),
        Kernel::Random { out, dist, seed } => format!("random %{out} = {dist:?} seed {seed}"),
        Kernel::AllReduce { dtype, parts } => format!(
            "all_reduce sum {dtype} {}",
            parts
                .iter()
                .map(|(s, o)| format!("%{o} = %{s}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kernel::Check { check, error } => match check {
            Check::SliceFits {
                n,
                start,
                step,
                len,
            } => {
                format!("check slice {len} from {start} step {step} fits {n} else error {error}")
            }
            Check::NonEmpty { lane, rest } => {
                format!(
                    "check nonempty lane {} rest {} else error {error}",
                    dims(lane),
                    dims(rest)
                )
            }
            Check::SizeFits { dims: ds, dtype } => {
                format!("check size {} fits {dtype} else error {error}", dims(ds))
            }
        },
    }
}

/// The whole program.
pub fn program(p: &Program) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "dims [{}]", p.dims.join(", "));
    for (i, b) in p.buffers.iter().enumerate() {
        let kind = match &b.kind {
            BufKind::Input(k) => format!("input {k}"),
            BufKind::Param(k) => format!("param {k}"),
            BufKind::Output(k) => format!("output {k}"),
            BufKind::Update(k) => format!("update {k}"),
            BufKind::Temp { slot } => format!("temp slot {slot}"),
        };
        let _ = writeln!(
            s,
            "buf %{i} {}: {}{} {kind}",
            b.name,
            b.dtype,
            dims(&b.shape)
        );
    }
    for (name, ty, src) in &p.outputs {
        let src = match src {
            OutputSrc::Step(k) => format!("step {k}"),
            OutputSrc::Param(k) => format!("param {k}"),
        };
        let _ = writeln!(s, "output {name}: {ty} = {src}");
    }
    for (i, k) in p.kernels.iter().enumerate() {
        let _ = writeln!(s, "k{i}: {}", kernel(k));
    }
    for (i, members) in p.slots.iter().enumerate() {
        let m: Vec<String> = members.iter().map(|b| format!("%{b}")).collect();
        let _ = writeln!(s, "slot {i}: {}", m.join(" "));
    }
    for (i, e) in p.errors.iter().enumerate() {
        let _ = writeln!(s, "error {}: {e}", i + 1);
    }
    s
}
