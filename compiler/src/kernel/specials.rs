//! Special-value programs for the differential tests: one small program per
//! scalar op of the semantics table and dtype (unary, binary on every pair,
//! casts, reductions and argmax along rows, and binary ops with edge
//! literals), bound to [`ops::special_values`] — NaN, ±0, ±inf, subnormals,
//! the extremes of each dtype. The kernel tests compare the kernel
//! interpreter with the graph interpreter bit for bit on them, the JIT tests
//! compiled kernels with the interpreter, and weft-llvm's tests built code.

use ndarray::{ArrayD, IxDyn};

use super::testing::{lower_text, Case};
use crate::interp::{DimEnv, Tensor};
use crate::ir::types::DType;
use crate::ops::{self, BinaryOp, Kind, UnaryOp, Val};

const DTYPES: [DType; 6] = [
    DType::F32,
    DType::F64,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::Bool,
];

fn tensor(d: DType, shape: &[usize], vals: &[Val]) -> Option<Tensor> {
    let sh = IxDyn(shape);
    macro_rules! arr {
        ($var:ident, $t:ty) => {
            ArrayD::from_shape_vec(
                sh,
                vals.iter()
                    .map(|v| match v {
                        Val::$var(x) => Some(*x),
                        _ => None,
                    })
                    .collect::<Option<Vec<$t>>>()?,
            )
            .ok()?
        };
    }
    Some(match d {
        DType::F32 => Tensor::F32(arr!(F32, f32)),
        DType::F64 => Tensor::F64(arr!(F64, f64)),
        DType::I32 => Tensor::I32(arr!(I32, i32)),
        DType::I64 => Tensor::I64(arr!(I64, i64)),
        DType::U8 => Tensor::U8(arr!(U8, u8)),
        DType::Bool => Tensor::Bool(arr!(Bool, bool)),
        DType::F16 | DType::BF16 => return None,
    })
}

/// The source text of a binary op on `a` and `b`, or None when the language
/// has no syntax for it on this dtype (integer `/` is floor division only
/// inside the compiler).
fn binary_expr(op: BinaryOp, d: DType, a: &str, b: &str) -> Option<String> {
    let infix = |s: &str| Some(format!("{a} {s} {b}"));
    match op {
        BinaryOp::Add => infix("+"),
        BinaryOp::Sub => infix("-"),
        BinaryOp::Mul => infix("*"),
        BinaryOp::Div if Kind::of(d) == Kind::Int => None,
        BinaryOp::Div => infix("/"),
        BinaryOp::Pow => Some(format!("pow({a}, {b})")),
        BinaryOp::Max => Some(format!("maximum({a}, {b})")),
        BinaryOp::Min => Some(format!("minimum({a}, {b})")),
        BinaryOp::Rem => infix("%"),
        BinaryOp::FloorDiv => Some(format!("floor_div({a}, {b})")),
        BinaryOp::Atan2 if Kind::of(d) == Kind::Int => None,
        BinaryOp::Atan2 => Some(format!("atan2({a}, {b})")),
        BinaryOp::Lt => infix("<"),
        BinaryOp::Le => infix("<="),
        BinaryOp::Gt => infix(">"),
        BinaryOp::Ge => infix(">="),
        BinaryOp::Eq => infix("=="),
        BinaryOp::Ne => infix("!="),
    }
}

/// Literals at the edges of `d` (as the source writes them).
fn edge_literals(d: DType) -> &'static [&'static str] {
    match d {
        DType::F32 => &["0.0", "-0.0", "3.4e38", "1e-45", "-1e-45"],
        DType::F64 => &["-0.0", "1.7e308", "5e-324"],
        DType::I32 => &["2147483647", "-2147483648", "-1"],
        DType::I64 => &["9223372036854775807", "-9223372036854775807", "-1"],
        DType::U8 => &["0", "1", "255"],
        DType::Bool => &["true"],
        DType::F16 | DType::BF16 => &[],
    }
}

struct Builder {
    out: Vec<Case>,
}

impl Builder {
    /// A program of inputs `a` (and `b`) of type `d[shape]` bound to these
    /// values; a program that does not compile is a test failure.
    fn add(&mut self, name: String, text: String, d: DType, shape: &[usize], data: &[Vec<Val>]) {
        let g = lower_text(&name, &text).unwrap_or_else(|e| {
            panic!("special-value program {name} does not compile: {e}\n{text}")
        });
        let inputs = data
            .iter()
            .map(|v| tensor(d, shape, v).unwrap_or_else(|| panic!("{name}: input data")))
            .collect();
        self.out.push(Case {
            name,
            g,
            env: DimEnv::new(),
            inputs,
            params: Vec::new(),
            steps: 1,
        });
    }
}

/// Every special-value program (see the module documentation).
pub fn special_value_cases() -> Vec<Case> {
    let mut b = Builder { out: Vec::new() };
    for d in DTYPES {
        let vals = ops::special_values(d);
        let n = vals.len();
        let one = |expr: &str| format!("input a: {d}[{n}]\noutput y = {expr}\n");
        for op in UnaryOp::ALL {
            if op.result(d).is_ok() {
                let text = one(&format!("{}(a)", op.name()));
                b.add(
                    format!("{}_{d}", op.name()),
                    text,
                    d,
                    &[n],
                    std::slice::from_ref(&vals),
                );
            }
        }
        for to in DTYPES {
            if to != d {
                let text = one(&format!("cast(a, {to})"));
                b.add(
                    format!("cast_{d}_{to}"),
                    text,
                    d,
                    &[n],
                    std::slice::from_ref(&vals),
                );
            }
        }
        // Every pair: a[i * n + j] = vals[i], b[i * n + j] = vals[j].
        let xs: Vec<Val> = vals
            .iter()
            .flat_map(|&x| vals.iter().map(move |_| x))
            .collect();
        let ys: Vec<Val> = vals.iter().flat_map(|_| vals.iter().copied()).collect();
        for op in BinaryOp::ALL {
            // u8 arithmetic is the front end's (computed in i32, cast back).
            if op.result(d).is_err() && d != DType::U8 {
                continue;
            }
            let Some(e) = binary_expr(op, d, "a", "b") else {
                continue;
            };
            let text = format!(
                "input a: {d}[{}]\ninput b: {d}[{}]\noutput y = {e}\n",
                n * n,
                n * n
            );
            let data = [xs.clone(), ys.clone()];
            b.add(format!("{}_{d}", op.name()), text, d, &[n * n], &data);
            for (k, lit) in edge_literals(d).iter().enumerate() {
                if let Some(e) = binary_expr(op, d, "a", lit) {
                    let text = one(&e);
                    b.add(
                        format!("{}_{d}_lit{k}", op.name()),
                        text,
                        d,
                        &[n],
                        std::slice::from_ref(&vals),
                    );
                }
            }
        }
        // Reductions along rows holding every value, in rotated orders.
        let rows: Vec<Val> = (0..n)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| vals[(i + j) % n])
            .collect();
        // (The language has no reductions of bool tensors.)
        let reductions: &[&str] = match Kind::of(d) {
            _ if !ops::arithmetic(d) => &[],
            Kind::Float | Kind::Int => &["sum", "max", "min", "argmax"],
            Kind::Bool => &[],
        };
        for r in reductions {
            let text = format!("input a: {d}[{n}, {n}]\noutput y = {r}(a, axis=1)\n");
            b.add(
                format!("{r}_{d}"),
                text,
                d,
                &[n, n],
                std::slice::from_ref(&rows),
            );
        }
    }
    b.out
}
