//! A tiny, naive f64 evaluator of the graph IR, for the autodiff tests only
//! (independent of the real interpreter). Every value is a `Vec<f64>` in C
//! order with a concrete shape; integers and bools are stored as f64.

use std::collections::HashMap;

use crate::ir::graph::Graph;
use crate::ir::op::{BinaryOp, Distribution, Op, ReduceOp};
use crate::ir::types::{Dim, Scalar, TensorType};

#[derive(Clone, Debug, PartialEq)]
pub struct T {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl T {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> T {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape/data mismatch"
        );
        T { shape, data }
    }
    pub fn zeros(shape: Vec<usize>) -> T {
        let n = shape.iter().product();
        T {
            shape,
            data: vec![0.0; n],
        }
    }
    pub fn scalar(v: f64) -> T {
        T {
            shape: vec![],
            data: vec![v],
        }
    }
}

#[derive(Default)]
pub struct Env {
    pub values: HashMap<String, T>,
    pub dims: HashMap<String, usize>,
}

impl Env {
    pub fn dim(&self, d: &Dim) -> usize {
        match d {
            Dim::Lit(n) => *n as usize,
            Dim::Sym(s) => *self
                .dims
                .get(&**s)
                .unwrap_or_else(|| panic!("unbound size {s}")),
            Dim::Expr(p) => p
                .eval(&|n| self.dims.get(n).map(|&v| v as i64))
                .and_then(|v| usize::try_from(v).ok())
                .unwrap_or_else(|| panic!("size {p} cannot be evaluated")),
        }
    }
    pub fn shape(&self, ty: &TensorType) -> Vec<usize> {
        ty.shape.iter().map(|d| self.dim(d)).collect()
    }
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut c = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        c[k] = i % shape[k];
        i /= shape[k];
    }
    c
}

fn ravel(c: &[usize], shape: &[usize]) -> usize {
    c.iter().zip(strides(shape)).map(|(a, s)| a * s).sum()
}

/// `out[c] = f(c)` over every coordinate of `shape`.
fn build(shape: Vec<usize>, f: impl Fn(&[usize]) -> f64) -> T {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| f(&unravel(i, &shape))).collect();
    T { shape, data }
}

fn b2f(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Evaluates every node; returns the values of the outputs, by name.
pub fn eval(g: &Graph, env: &Env) -> HashMap<String, T> {
    let mut vals: Vec<T> = Vec::with_capacity(g.len());
    for id in g.ids() {
        let n = g.node(id);
        let a: Vec<&T> = n.args.iter().map(|x| &vals[x.index()]).collect();
        let is_int = n.ty.dtype.is_int();
        let v = match &n.op {
            Op::Input { name, .. } | Op::Param { name, .. } => env
                .values
                .get(name)
                .unwrap_or_else(|| panic!("no value for {name}"))
                .clone(),
            Op::Literal { value, .. } => T::scalar(match value {
                Scalar::Float(v) => *v,
                Scalar::Int(v) => *v as f64,
                Scalar::Bool(v) => b2f(*v),
            }),
            Op::SizeOf { dims, .. } => T::scalar(dims.iter().map(|d| env.dim(d) as f64).product()),
            Op::Iota { ty, axis } => build(env.shape(ty), |c| c[*axis] as f64),
            Op::Random { ty, dist, seed } => {
                let shape = env.shape(ty);
                let mut r = super::harness::Rng(*seed);
                let n: usize = shape.iter().product();
                let data = (0..n)
                    .map(|_| match dist {
                        Distribution::Normal { mean, std } => mean + std * r.normal(),
                        Distribution::Uniform { lo, hi } => lo + (hi - lo) * r.uniform(),
                    })
                    .collect();
                T::new(shape, data)
            }
            // The semantics table's, in f64 (integers as floats: floor division).
            Op::Unary(u) => T::new(
                a[0].shape.clone(),
                a[0].data.iter().map(|&x| u.eval_float(x)).collect(),
            ),
            Op::Binary(op) => {
                let int_args = g.ty(n.args[0]).dtype.is_int();
                let f = |x: f64, y: f64| match op.eval_compare(x, y) {
                    Some(c) => b2f(c),
                    None if int_args && *op == BinaryOp::Div => (x / y).floor(),
                    None => op.eval_float(x, y).unwrap_or(f64::NAN),
                };
                let d = a[0]
                    .data
                    .iter()
                    .zip(&a[1].data)
                    .map(|(&x, &y)| f(x, y))
                    .collect();
                T::new(a[0].shape.clone(), d)
            }
            Op::Select => {
                let d = (0..a[0].data.len())
                    .map(|i| {
                        if a[0].data[i] != 0.0 {
                            a[1].data[i]
                        } else {
                            a[2].data[i]
                        }
                    })
                    .collect();
                T::new(a[0].shape.clone(), d)
            }
            Op::Cast { to } => {
                let f = |x: f64| {
                    if to.is_int() {
                        x.trunc()
                    } else if to.is_float() {
                        x
                    } else {
                        b2f(x != 0.0)
                    }
                };
                T::new(
                    a[0].shape.clone(),
                    a[0].data.iter().map(|&x| f(x)).collect(),
                )
            }
            Op::Broadcast { shape } => {
                let shape: Vec<usize> = shape.iter().map(|d| env.dim(d)).collect();
                let src = a[0];
                let lead = shape.len() - src.shape.len();
                build(shape, |c| {
                    let sc: Vec<usize> = src
                        .shape
                        .iter()
                        .enumerate()
                        .map(|(k, &s)| if s == 1 { 0 } else { c[lead + k] })
                        .collect();
                    src.data[ravel(&sc, &src.shape)]
                })
            }
            Op::Reshape { shape } => T::new(
                shape.iter().map(|d| env.dim(d)).collect(),
                a[0].data.clone(),
            ),
            // A world of one process: the identity.
            Op::StopGradient | Op::AllSum => a[0].clone(),
            Op::Transpose { perm } => {
                let src = a[0];
                let shape: Vec<usize> = perm.iter().map(|&p| src.shape[p]).collect();
                build(shape, |c| {
                    let mut sc = vec![0; c.len()];
                    for (i, &p) in perm.iter().enumerate() {
                        sc[p] = c[i];
                    }
                    src.data[ravel(&sc, &src.shape)]
                })
            }
            Op::Slice {
                axis,
                start,
                step,
                len,
            } => {
                let src = a[0];
                let size = src.shape[*axis] as i64;
                let s0 = if *start < 0 { start + size } else { *start } as usize;
                let mut shape = src.shape.clone();
                shape[*axis] = env.dim(len);
                build(shape, |c| {
                    let mut sc = c.to_vec();
                    sc[*axis] = s0 + c[*axis] * *step as usize;
                    src.data[ravel(&sc, &src.shape)]
                })
            }
            Op::SliceGrad {
                ty,
                axis,
                start,
                step,
            } => {
                let src = a[0];
                let mut r = T::zeros(env.shape(ty));
                let size = r.shape[*axis] as i64;
                let s0 = if *start < 0 { start + size } else { *start } as usize;
                for i in 0..src.data.len() {
                    let mut c = unravel(i, &src.shape);
                    c[*axis] = s0 + c[*axis] * *step as usize;
                    let j = ravel(&c, &r.shape);
                    r.data[j] += src.data[i];
                }
                r
            }
            Op::Concat { axis } => {
                let mut shape = a[0].shape.clone();
                shape[*axis] = a.iter().map(|t| t.shape[*axis]).sum();
                build(shape, |c| {
                    let mut k = c[*axis];
                    for t in &a {
                        if k < t.shape[*axis] {
                            let mut sc = c.to_vec();
                            sc[*axis] = k;
                            return t.data[ravel(&sc, &t.shape)];
                        }
                        k -= t.shape[*axis];
                    }
                    unreachable!()
                })
            }
            Op::Gather => {
                let (table, idx) = (a[0], a[1]);
                let mut shape = idx.shape.clone();
                shape.extend(&table.shape[1..]);
                let r = idx.shape.len();
                build(shape, |c| {
                    let row = idx.data[ravel(&c[..r], &idx.shape)] as usize;
                    let mut sc = vec![row];
                    sc.extend(&c[r..]);
                    table.data[ravel(&sc, &table.shape)]
                })
            }
            Op::ScatterAdd { ty } => {
                let (idx, src) = (a[0], a[1]);
                let mut out = T::zeros(env.shape(ty));
                let r = idx.shape.len();
                for i in 0..src.data.len() {
                    let c = unravel(i, &src.shape);
                    let row = idx.data[ravel(&c[..r], &idx.shape)] as usize;
                    let mut dc = vec![row];
                    dc.extend(&c[r..]);
                    let j = ravel(&dc, &out.shape);
                    out.data[j] += src.data[i];
                }
                out
            }
            Op::Window { win, fill } => {
                let x = a[0];
                let r = x.shape.len() - 2;
                let (h, w) = (x.shape[r], x.shape[r + 1]);
                let oh = win.out_len(0, h as u64).expect("a window fits") as usize;
                let ow = win.out_len(1, w as u64).expect("a window fits") as usize;
                let mut shape = x.shape[..r].to_vec();
                shape.extend([win.kernel[0] as usize, win.kernel[1] as usize, oh, ow]);
                let fill = match fill {
                    Scalar::Float(v) => *v,
                    Scalar::Int(v) => *v as f64,
                    Scalar::Bool(v) => f64::from(u8::from(*v)),
                };
                build(shape, |c| {
                    let ih = win.source(0, c[r + 2] as i64, c[r] as i64);
                    let iw = win.source(1, c[r + 3] as i64, c[r + 1] as i64);
                    if ih < 0 || iw < 0 || ih >= h as i64 || iw >= w as i64 {
                        return fill;
                    }
                    let mut sc = c[..r].to_vec();
                    sc.extend([ih as usize, iw as usize]);
                    x.data[ravel(&sc, &x.shape)]
                })
            }
            Op::WindowGrad { win, ty } => {
                let src = a[0];
                let mut out = T::zeros(env.shape(ty));
                let r = out.shape.len() - 2;
                let (h, w) = (out.shape[r] as i64, out.shape[r + 1] as i64);
                for i in 0..src.data.len() {
                    let c = unravel(i, &src.shape);
                    let ih = win.source(0, c[r + 2] as i64, c[r] as i64);
                    let iw = win.source(1, c[r + 3] as i64, c[r + 1] as i64);
                    if ih >= 0 && iw >= 0 && ih < h && iw < w {
                        let mut dc = c[..r].to_vec();
                        dc.extend([ih as usize, iw as usize]);
                        let j = ravel(&dc, &out.shape);
                        out.data[j] += src.data[i];
                    }
                }
                out
            }
            Op::Conv2d { win, groups } => {
                let (x, w) = (a[0], a[1]);
                let ys = conv_out(win, &x.shape, &w.shape);
                let mut y = T::zeros(ys.clone());
                conv_terms(
                    win,
                    *groups as usize,
                    &x.shape,
                    &w.shape,
                    &ys,
                    |xi, wi, yi| y.data[yi] += x.data[xi] * w.data[wi],
                );
                y
            }
            Op::Conv2dGradInput { win, groups, ty } => {
                let (dy, w) = (a[0], a[1]);
                let mut dx = T::zeros(env.shape(ty));
                let xs = dx.shape.clone();
                conv_terms(
                    win,
                    *groups as usize,
                    &xs,
                    &w.shape,
                    &dy.shape,
                    |xi, wi, yi| dx.data[xi] += dy.data[yi] * w.data[wi],
                );
                dx
            }
            Op::Conv2dGradWeight { win, groups, ty } => {
                let (x, dy) = (a[0], a[1]);
                let mut dw = T::zeros(env.shape(ty));
                let ws = dw.shape.clone();
                conv_terms(
                    win,
                    *groups as usize,
                    &x.shape,
                    &ws,
                    &dy.shape,
                    |xi, wi, yi| dw.data[wi] += x.data[xi] * dy.data[yi],
                );
                dw
            }
            Op::Cumsum { axis, reverse } => {
                let src = a[0];
                let mut out = src.clone();
                let n = src.shape[*axis];
                for i in 0..src.data.len() {
                    let c = unravel(i, &src.shape);
                    let mut s = 0.0;
                    for k in 0..n {
                        let inside = if *reverse {
                            k >= c[*axis]
                        } else {
                            k <= c[*axis]
                        };
                        if inside {
                            let mut cc = c.clone();
                            cc[*axis] = k;
                            s += src.data[ravel(&cc, &src.shape)];
                        }
                    }
                    out.data[i] = s;
                }
                out
            }
            Op::Reduce { op, axes } => {
                let src = a[0];
                let mut shape = src.shape.clone();
                for &x in axes {
                    shape[x] = 1;
                }
                let init = match op {
                    ReduceOp::Sum => 0.0,
                    ReduceOp::Max => f64::NEG_INFINITY,
                    ReduceOp::Min => f64::INFINITY,
                    ReduceOp::Prod => 1.0,
                };
                let mut out = T::new(shape.clone(), vec![init; shape.iter().product()]);
                for i in 0..src.data.len() {
                    let mut c = unravel(i, &src.shape);
                    for &x in axes {
                        c[x] = 0;
                    }
                    let j = ravel(&c, &shape);
                    let v = src.data[i];
                    out.data[j] = match op {
                        ReduceOp::Sum => out.data[j] + v,
                        ReduceOp::Max => out.data[j].max(v),
                        ReduceOp::Min => out.data[j].min(v),
                        ReduceOp::Prod => out.data[j] * v,
                    };
                }
                out
            }
            Op::ArgMax { axis } => {
                let src = a[0];
                let mut shape = src.shape.clone();
                shape.remove(*axis);
                build(shape, |c| {
                    let mut best = (f64::NEG_INFINITY, 0usize);
                    for k in 0..src.shape[*axis] {
                        let mut sc = c.to_vec();
                        sc.insert(*axis, k);
                        let v = src.data[ravel(&sc, &src.shape)];
                        if v > best.0 || k == 0 {
                            best = (v, k);
                        }
                    }
                    best.1 as f64
                })
            }
            Op::MatMul => {
                let (x, y) = (a[0], a[1]);
                let r = x.shape.len();
                let k = x.shape[r - 1];
                let mut shape = x.shape[..r - 1].to_vec();
                shape.push(y.shape[r - 1]);
                build(shape, |c| {
                    (0..k)
                        .map(|kk| {
                            let mut xc = c.to_vec();
                            xc[r - 1] = kk;
                            let mut yc = c.to_vec();
                            yc[r - 2] = kk;
                            x.data[ravel(&xc, &x.shape)] * y.data[ravel(&yc, &y.shape)]
                        })
                        .sum()
                })
            }
            Op::Grad => panic!("grad node left for the evaluator"),
        };
        let v = if is_int {
            T::new(v.shape.clone(), v.data.iter().map(|x| x.trunc()).collect())
        } else {
            v
        };
        vals.push(v);
    }
    g.outputs
        .iter()
        .map(|(n, id)| (n.clone(), vals[id.index()].clone()))
        .collect()
}

/// The output shape of a convolution of `x` by `w`.
fn conv_out(win: &crate::ir::window::Window, xs: &[usize], ws: &[usize]) -> Vec<usize> {
    let oh = win.out_len(0, xs[2] as u64).expect("a window fits") as usize;
    let ow = win.out_len(1, xs[3] as u64).expect("a window fits") as usize;
    vec![xs[0], ws[0], oh, ow]
}

/// Every term `(x index, w index, y index)` of a convolution, from the definition.
fn conv_terms(
    win: &crate::ir::window::Window,
    groups: usize,
    xs: &[usize],
    ws: &[usize],
    ys: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let og = ws[0] / groups;
    for yi in 0..ys.iter().product::<usize>() {
        let c = unravel(yi, ys);
        let g = c[1] / og;
        for ci in 0..ws[1] {
            for a in 0..ws[2] {
                for b in 0..ws[3] {
                    let r = win.source(0, c[2] as i64, a as i64);
                    let t = win.source(1, c[3] as i64, b as i64);
                    if r < 0 || t < 0 || r >= xs[2] as i64 || t >= xs[3] as i64 {
                        continue;
                    }
                    let xi = ravel(&[c[0], g * ws[1] + ci, r as usize, t as usize], xs);
                    let wi = ravel(&[c[1], ci, a, b], ws);
                    f(xi, wi, yi);
                }
            }
        }
    }
}
