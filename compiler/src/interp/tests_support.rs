//! Test support: a naive tensor ([`Naive`]: dtype, shape, f64 elements in C
//! order), proptest strategies for random tensors, index helpers written
//! without ndarray, and [`run_graph`], which runs a small graph built with
//! the `Graph` builder through the interpreter's driver.

use proptest::prelude::*;
use weft_runtime::RunError;

use super::bind::Bound;
use super::dims::DimEnv;
use super::tensor::{array, Tensor};
use super::{check_program, run_bound, RunOptions};
use crate::ir::graph::{Graph, NodeId};
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim, TensorType};

/// A tensor as plain data: the reference implementations work on this.
#[derive(Clone, Debug, PartialEq)]
pub struct Naive {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Naive {
    pub fn new(dtype: DType, shape: &[usize], data: Vec<f64>) -> Naive {
        assert_eq!(
            data.len(),
            numel(shape),
            "test bug: data does not fit the shape"
        );
        Naive {
            dtype,
            shape: shape.to_vec(),
            data,
        }
    }

    pub fn tensor(&self) -> Tensor {
        let s = &self.shape;
        let t = match self.dtype {
            DType::F32 => array(s, self.data.iter().map(|&v| v as f32).collect()).map(Tensor::F32),
            DType::F64 => array(s, self.data.clone()).map(Tensor::F64),
            DType::I32 => array(s, self.data.iter().map(|&v| v as i32).collect()).map(Tensor::I32),
            DType::I64 => array(s, self.data.iter().map(|&v| v as i64).collect()).map(Tensor::I64),
            DType::Bool => {
                array(s, self.data.iter().map(|&v| v != 0.0).collect()).map(Tensor::Bool)
            }
            d => panic!("test bug: no {d} tensors"),
        };
        t.expect("test data fits its shape")
    }

    pub fn of(t: &Tensor) -> Naive {
        Naive {
            dtype: t.dtype(),
            shape: t.shape().to_vec(),
            data: t.to_f64_vec(),
        }
    }

    pub fn ty(&self) -> TensorType {
        TensorType::new(
            self.dtype,
            self.shape.iter().map(|&d| Dim::Lit(d as u64)).collect(),
        )
    }
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// The multi-index of C-order position `flat`.
pub fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for ax in (0..shape.len()).rev() {
        idx[ax] = flat % shape[ax];
        flat /= shape[ax];
    }
    idx
}

/// The C-order position of a multi-index.
pub fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    let mut flat = 0;
    for (i, &n) in idx.iter().zip(shape) {
        flat = flat * n + i;
    }
    flat
}

/// `v` rounded to what `dtype` can hold (wrapping for integers).
pub fn round_to(dtype: DType, v: f64) -> f64 {
    match dtype {
        DType::F32 => v as f32 as f64,
        DType::I32 => (v as i128) as i32 as f64,
        DType::I64 => (v as i128) as i64 as f64,
        DType::Bool => f64::from(u8::from(v != 0.0)),
        _ => v,
    }
}

/// Asserts `got` equals `want` within `rtol`/`atol` (NaN equals NaN; infinities exactly).
pub fn assert_close(got: &Tensor, want: &Naive, rtol: f64, atol: f64) {
    assert_eq!(got.dtype(), want.dtype, "dtype");
    assert_eq!(got.shape(), want.shape.as_slice(), "shape");
    for (i, (a, b)) in got.to_f64_vec().into_iter().zip(&want.data).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == *b || (a - b).abs() <= atol + rtol * b.abs();
        assert!(
            ok,
            "element {i}: got {a}, want {b}\n got  {:?}\n want {:?}",
            got.to_f64_vec(),
            want.data
        );
    }
}

/// The default tolerance for a dtype's rounding.
pub fn tol(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 => (1e-5, 1e-37),
        DType::F64 => (1e-12, 1e-300),
        _ => (0.0, 0.0),
    }
}

/// Builds a graph whose inputs hold `args` (types with literal sizes), adds
/// the node(s) `build` makes, and runs one step; gives the output.
pub fn run_graph(
    args: &[Tensor],
    build: impl FnOnce(&mut Graph, &[NodeId]) -> NodeId,
) -> Result<Tensor, RunError> {
    let mut g = Graph::new();
    let mut ids = Vec::new();
    for (i, t) in args.iter().enumerate() {
        let name = format!("a{i}");
        let ty = Naive::of(t).ty();
        let id = g.add(
            Op::Input {
                name: name.clone(),
                ty,
            },
            &[],
            None,
        );
        g.inputs.push((name, id));
        ids.push(id);
    }
    let out = build(&mut g, &ids);
    assert!(g.bugs.is_empty(), "test bug: ill-typed graph: {:?}", g.bugs);
    g.outputs.push(("out".into(), out));
    check_program(&g)?;
    let bound = Bound {
        env: DimEnv::new(),
        inputs: ids.iter().copied().zip(args.iter().cloned()).collect(),
        params: Vec::new(),
    };
    let mut outs = run_bound(&g, bound, &[], &RunOptions::default(), &mut |_, _, _| {})?;
    Ok(outs.remove(0).1)
}

/// One op applied to `args`.
pub fn op_on(op: Op, args: &[&Naive]) -> Result<Tensor, RunError> {
    let ts: Vec<Tensor> = args.iter().map(|a| a.tensor()).collect();
    run_graph(&ts, |g, ids| g.add(op, ids, None))
}

// ---- strategies ----------------------------------------------------------

pub fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![9 => 1usize..5, 1 => Just(0usize)]
}

pub fn shape(min_rank: usize, max_rank: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(dim(), min_rank..=max_rank)
}

pub fn float_val() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => -10.0f64..10.0,
        1 => prop::sample::select(vec![
            f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e30, -1e30, 100.0, -100.0, 0.5,
        ]),
    ]
}

pub fn int_val() -> impl Strategy<Value = f64> {
    prop_oneof![
        12 => (-20i64..20).prop_map(|v| v as f64),
        1 => prop::sample::select(vec![i32::MIN as f64, i32::MAX as f64, -1.0, 0.0, 1.0]),
    ]
}

/// `n` values valid for `dtype` (exactly representable in it).
pub fn values(dtype: DType, n: usize) -> BoxedStrategy<Vec<f64>> {
    match dtype {
        DType::F32 | DType::F64 => prop::collection::vec(float_val(), n)
            .prop_map(move |v| v.into_iter().map(|x| round_to(dtype, x)).collect())
            .boxed(),
        DType::I32 | DType::I64 => prop::collection::vec(int_val(), n).boxed(),
        _ => prop::collection::vec(any::<bool>(), n)
            .prop_map(|v| v.into_iter().map(|b| f64::from(u8::from(b))).collect())
            .boxed(),
    }
}

pub fn tensor_of(dtype: DType, shape: Vec<usize>) -> BoxedStrategy<Naive> {
    let n = numel(&shape);
    values(dtype, n)
        .prop_map(move |v| Naive::new(dtype, &shape, v))
        .boxed()
}

pub fn tensor(dtype: DType, min_rank: usize, max_rank: usize) -> BoxedStrategy<Naive> {
    shape(min_rank, max_rank)
        .prop_flat_map(move |s| tensor_of(dtype, s))
        .boxed()
}

pub const NUMERIC: [DType; 4] = [DType::F32, DType::F64, DType::I32, DType::I64];
pub const ALL: [DType; 5] = [DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool];

pub fn numeric_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(NUMERIC.to_vec())
}

pub fn any_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(ALL.to_vec())
}
