//! The test harness of the autodiff tests: a seeded generator, graph-building
//! helpers, and the numerical checkers (central finite differences, the
//! random-direction dot-product check, Hessian-vector products).

use super::eval::{eval, Env, T};
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::{BinaryOp, Op, ReduceOp};
use crate::ir::types::{DType, Dim, Shape, TensorType};
use crate::ir::verify::{verify, Stage};

// ---- helpers -----------------------------------------------------------

/// splitmix64, for seeded random inputs and shapes.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-300);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy)]
pub(super) enum Gen {
    Normal,
    /// In [0.5, 2).
    Pos,
    /// |x| in [0.3, 2), either sign: away from the kinks at 0.
    Away,
    /// In [-1, 1): where `tan` is far from its poles.
    Unit,
    /// Integers in [lo, hi).
    Int(i64, i64),
}

pub(super) struct Spec {
    pub name: String,
    pub ty: TensorType,
    pub gen: Gen,
}

pub(super) fn lits(shape: &[usize]) -> Shape {
    shape.iter().map(|&d| Dim::Lit(d as u64)).collect()
}

pub(super) fn f64t(shape: &[usize]) -> TensorType {
    TensorType::new(DType::F64, lits(shape))
}

pub(super) fn spec(name: &str, ty: TensorType, gen: Gen) -> Spec {
    Spec {
        name: name.into(),
        ty,
        gen,
    }
}

pub(super) fn input(g: &mut Graph, name: &str, ty: TensorType) -> NodeId {
    let id = g.add(
        Op::Input {
            name: name.into(),
            ty,
        },
        &[],
        None,
    );
    g.inputs.push((name.into(), id));
    id
}

pub(super) fn grad(g: &mut Graph, y: NodeId, x: NodeId) -> NodeId {
    g.add(Op::Grad, &[y, x], None)
}

/// `sum(x)` over all axes, as a scalar.
pub(super) fn sum_all(g: &mut Graph, x: NodeId) -> NodeId {
    let r = g.ty(x).rank();
    let axes: Vec<usize> = (0..r).collect();
    let s = g.reduce(ReduceOp::Sum, x, &axes, None);
    g.reshape(s, &[], None)
}

pub(super) fn bin(g: &mut Graph, op: BinaryOp, x: NodeId, y: NodeId) -> NodeId {
    g.binary(op, x, y, None)
}

pub(super) fn random_value(rng: &mut Rng, env: &Env, ty: &TensorType, gen: Gen) -> T {
    let shape = env.shape(ty);
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| match gen {
            Gen::Normal => rng.normal(),
            Gen::Pos => 0.5 + 1.5 * rng.uniform(),
            Gen::Unit => 2.0 * rng.uniform() - 1.0,
            Gen::Away => {
                (0.3 + 1.7 * rng.uniform())
                    * if rng.next().is_multiple_of(2) {
                        1.0
                    } else {
                        -1.0
                    }
            }
            Gen::Int(lo, hi) => (lo + rng.below((hi - lo) as usize) as i64) as f64,
        })
        .collect();
    T::new(shape, data)
}

/// Runs the pass and checks the IR after it (and after simplify).
pub(super) fn differentiate(g: &Graph) -> Graph {
    verify(g, Stage::BeforeAutodiff).expect("input graph is valid");
    let out = super::run(g).expect("autodiff succeeds");
    if let Err(e) = verify(&out, Stage::AfterAutodiff) {
        panic!("invalid IR after autodiff:\n{}", e.join("\n"));
    }
    let simple = out.simplified();
    verify(&simple, Stage::AfterAutodiff).expect("valid after simplify");
    out
}

pub(super) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

pub(super) fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            close(*a, *b, tol),
            "{what}[{i}]: got {a}, want {b}\n got {got:?}\nwant {want:?}"
        );
    }
}

pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(super) type Build<'a> = &'a dyn Fn(&mut Graph, &[NodeId]) -> NodeId;

/// Checks the gradients of `loss = sum(build(xs) · u)` (u random) with respect
/// to every float input: each element by central differences, and the whole
/// by a random-direction dot-product check. Returns the differentiated graph.
pub(super) fn check_grads(
    name: &str,
    specs: &[Spec],
    dims: &[(&str, usize)],
    build: Build,
    seed: u64,
) -> Graph {
    let mut rng = Rng(seed);
    let mut env = Env::default();
    for (d, n) in dims {
        env.dims.insert(d.to_string(), *n);
    }
    let mut g = Graph::new();
    g.dims = dims.iter().map(|(d, _)| d.to_string()).collect();
    let xs: Vec<NodeId> = specs
        .iter()
        .map(|s| input(&mut g, &s.name, s.ty.clone()))
        .collect();
    for s in specs {
        let v = random_value(&mut rng, &env, &s.ty, s.gen);
        env.values.insert(s.name.clone(), v);
    }
    let f = build(&mut g, &xs);
    let fty = g.ty(f).clone();
    assert!(
        fty.dtype.is_float(),
        "{name}: the function must give floats"
    );
    let u = input(&mut g, "__u", fty.clone());
    let uv = random_value(&mut rng, &env, &fty, Gen::Normal);
    env.values.insert("__u".into(), uv);
    let fu = bin(&mut g, BinaryOp::Mul, f, u);
    let loss = sum_all(&mut g, fu);
    g.outputs.push(("loss".into(), loss));
    let fwd = g.clone();
    let floats: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].ty.dtype.is_float())
        .collect();
    for &i in &floats {
        let gr = grad(&mut g, loss, xs[i]);
        g.outputs.push((format!("g{i}"), gr));
    }
    let ad = differentiate(&g);
    let vals = eval(&ad, &env);
    let loss_at = |env: &Env| eval(&fwd, env)["loss"].data[0];
    let eps = 1e-6;
    // Element by element.
    for &i in &floats {
        let an = &vals[&format!("g{i}")];
        assert_eq!(
            an.shape, env.values[&specs[i].name].shape,
            "{name}: gradient shape"
        );
        let mut fd = Vec::new();
        for j in 0..an.data.len() {
            let mut e = Env {
                values: env.values.clone(),
                dims: env.dims.clone(),
            };
            e.values.get_mut(&specs[i].name).unwrap().data[j] += eps;
            let lp = loss_at(&e);
            e.values.get_mut(&specs[i].name).unwrap().data[j] -= 2.0 * eps;
            let lm = loss_at(&e);
            fd.push((lp - lm) / (2.0 * eps));
        }
        assert_close(
            &format!("{name}: d/d{}", specs[i].name),
            &an.data,
            &fd,
            1e-5,
        );
    }
    // ⟨vjp(u), v⟩ against ⟨u, J v⟩ by central differences along v.
    let mut e_plus = Env {
        values: env.values.clone(),
        dims: env.dims.clone(),
    };
    let mut e_minus = Env {
        values: env.values.clone(),
        dims: env.dims.clone(),
    };
    let mut lhs = 0.0;
    for &i in &floats {
        let v = random_value(&mut rng, &env, &specs[i].ty, Gen::Normal);
        lhs += dot(&vals[&format!("g{i}")].data, &v.data);
        let n = &specs[i].name;
        for (k, dv) in v.data.iter().enumerate() {
            e_plus.values.get_mut(n).unwrap().data[k] += eps * dv;
            e_minus.values.get_mut(n).unwrap().data[k] -= eps * dv;
        }
    }
    let rhs = (loss_at(&e_plus) - loss_at(&e_minus)) / (2.0 * eps);
    assert!(
        close(lhs, rhs, 1e-5),
        "{name}: dot-product check {lhs} vs {rhs}"
    );
    ad
}

/// A random shape of rank 0..=3 with axes in 1..=3.
pub(super) fn random_shape(rng: &mut Rng) -> Vec<usize> {
    let r = rng.below(4);
    (0..r).map(|_| 1 + rng.below(3)).collect()
}

/// A shape that broadcasts to `s`: a suffix of it with some axes set to 1.
pub(super) fn broadcastable(rng: &mut Rng, s: &[usize]) -> Vec<usize> {
    let k = rng.below(s.len() + 1);
    s[k..]
        .iter()
        .map(|&d| if rng.below(3) == 0 { 1 } else { d })
        .collect()
}

pub(super) fn count(g: &Graph, pred: impl Fn(&Op) -> bool) -> usize {
    g.ids().filter(|&id| pred(&g.node(id).op)).count()
}

/// `hv = grad(sum(grad(f, x) · v), x)` for `f = build(x)`: checked against
/// central differences of the gradient along `v`.
pub(super) fn check_hvp(name: &str, shape: &[usize], gen: Gen, build: Build, seed: u64) -> Graph {
    let mut g = Graph::new();
    let x = input(&mut g, "x", f64t(shape));
    let v = input(&mut g, "v", f64t(shape));
    let f = build(&mut g, &[x]);
    let f = sum_all(&mut g, f);
    let gx = grad(&mut g, f, x);
    let gv = bin(&mut g, BinaryOp::Mul, gx, v);
    let s = sum_all(&mut g, gv);
    let hv = grad(&mut g, s, x);
    g.outputs.extend([("g".into(), gx), ("hv".into(), hv)]);
    let ad = differentiate(&g);
    let mut rng = Rng(seed);
    let mut env = Env::default();
    let xv = random_value(&mut rng, &env, &f64t(shape), gen);
    let vv = random_value(&mut rng, &env, &f64t(shape), Gen::Normal);
    env.values.insert("x".into(), xv.clone());
    env.values.insert("v".into(), vv.clone());
    let got = eval(&ad, &env)["hv"].clone();
    let eps = 1e-5;
    let at = |sign: f64, env: &mut Env| {
        let xs: Vec<f64> = xv
            .data
            .iter()
            .zip(&vv.data)
            .map(|(a, b)| a + sign * eps * b)
            .collect();
        env.values.insert("x".into(), T::new(xv.shape.clone(), xs));
        eval(&ad, env)["g"].clone()
    };
    let gp = at(1.0, &mut env);
    let gm = at(-1.0, &mut env);
    let fd: Vec<f64> = gp
        .data
        .iter()
        .zip(&gm.data)
        .map(|(p, m)| (p - m) / (2.0 * eps))
        .collect();
    assert_close(&format!("{name}: hvp"), &got.data, &fd, 1e-5);
    ad
}
