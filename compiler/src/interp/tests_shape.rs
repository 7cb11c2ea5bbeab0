//! Property tests of the shape kernels (transpose, reshape, broadcast,
//! slice, slice_grad, concat, gather, scatter_add) against naive index
//! arithmetic on plain vectors, run through small graphs and the driver.

use proptest::prelude::*;

use super::tests_support::*;
use crate::ir::op::Op;
use crate::ir::types::{DType, Dim, TensorType};

fn cfg() -> ProptestConfig {
    ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    }
}

fn lit(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Lit(d as u64)).collect()
}

fn ref_transpose(x: &Naive, perm: &[usize]) -> Naive {
    let out_shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let data = (0..x.data.len())
        .map(|o| {
            let oi = unravel(o, &out_shape);
            let mut ii = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                ii[p] = oi[i];
            }
            x.data[ravel(&ii, &x.shape)]
        })
        .collect();
    Naive::new(x.dtype, &out_shape, data)
}

fn ref_broadcast(x: &Naive, to: &[usize]) -> Naive {
    let lead = to.len() - x.shape.len();
    let data = (0..numel(to))
        .map(|o| {
            let oi = unravel(o, to);
            let ii: Vec<usize> = x
                .shape
                .iter()
                .enumerate()
                .map(|(a, &n)| if n == 1 { 0 } else { oi[lead + a] })
                .collect();
            x.data[ravel(&ii, &x.shape)]
        })
        .collect();
    Naive::new(x.dtype, to, data)
}

/// Positions `start + k * step` of an axis of length `n` (negative start from the end).
fn positions(n: usize, start: i64, step: u64, len: usize) -> Vec<usize> {
    let s = if start < 0 { start + n as i64 } else { start };
    (0..len)
        .map(|k| (s + k as i64 * step as i64) as usize)
        .collect()
}

fn ref_slice(x: &Naive, axis: usize, pos: &[usize]) -> Naive {
    let mut out_shape = x.shape.clone();
    out_shape[axis] = pos.len();
    let data = (0..numel(&out_shape))
        .map(|o| {
            let mut i = unravel(o, &out_shape);
            i[axis] = pos[i[axis]];
            x.data[ravel(&i, &x.shape)]
        })
        .collect();
    Naive::new(x.dtype, &out_shape, data)
}

fn ref_slice_grad(g: &Naive, full: &[usize], axis: usize, pos: &[usize]) -> Naive {
    let mut data = vec![0.0; numel(full)];
    for (f, &v) in g.data.iter().enumerate() {
        let mut i = unravel(f, &g.shape);
        i[axis] = pos[i[axis]];
        data[ravel(&i, full)] = v;
    }
    Naive::new(g.dtype, full, data)
}

/// A tensor, an axis, and a slice (start, step, len) that fits it.
fn slice_case() -> impl Strategy<Value = (Naive, usize, i64, u64, usize)> {
    (any_dtype(), shape(1, 3))
        .prop_flat_map(|(d, s)| {
            let r = s.len();
            (tensor_of(d, s), 0..r, 1u64..4, any::<bool>())
        })
        .prop_flat_map(|(x, axis, step, neg)| {
            let n = x.shape[axis];
            (Just(x), Just(axis), Just(step), Just(neg), 0..=n)
        })
        .prop_flat_map(|(x, axis, step, neg, s)| {
            let n = x.shape[axis];
            let max_len = if s >= n {
                0
            } else {
                (n - 1 - s) / step as usize + 1
            };
            let start = if neg && s < n {
                s as i64 - n as i64
            } else {
                s as i64
            };
            (Just(x), Just(axis), Just(start), Just(step), 0..=max_len)
        })
}

proptest! {
    #![proptest_config(cfg())]

    #[test]
    fn transpose_matches_reference(
        (x, perm) in any_dtype().prop_flat_map(|d| tensor(d, 0, 3)).prop_flat_map(|x| {
            let r = x.shape.len();
            (Just(x), Just((0..r).collect::<Vec<_>>()).prop_shuffle())
        })
    ) {
        let got = op_on(Op::Transpose { perm: perm.clone() }, &[&x]).expect("transpose runs");
        assert_close(&got, &ref_transpose(&x, &perm), 0.0, 0.0);
    }

    #[test]
    fn reshape_keeps_c_order(x in any_dtype().prop_flat_map(|d| tensor(d, 0, 3)), flat in any::<bool>()) {
        let to: Vec<usize> = if flat { vec![x.data.len()] } else { x.shape.iter().rev().copied().collect() };
        let got = op_on(Op::Reshape { shape: lit(&to) }, &[&x]).expect("reshape runs");
        assert_close(&got, &Naive::new(x.dtype, &to, x.data.clone()), 0.0, 0.0);
        // Reshaping a transposed (non-contiguous) value reads it in logical C order.
        if x.shape.len() == 2 {
            let tx = ref_transpose(&x, &[1, 0]);
            let got = run_graph(&[x.tensor()], |g, ids| {
                let t = g.add(Op::Transpose { perm: vec![1, 0] }, &[ids[0]], None);
                g.add(Op::Reshape { shape: lit(&[x.data.len()]) }, &[t], None)
            }).expect("runs");
            assert_close(&got, &Naive::new(x.dtype, &[x.data.len()], tx.data), 0.0, 0.0);
        }
    }

    #[test]
    fn broadcast_matches_reference(
        (x, to) in (any_dtype(), shape(0, 3)).prop_flat_map(|(d, to)| {
            let r = to.len();
            (Just(d), Just(to), 0..=r, prop::collection::vec(any::<bool>(), r))
        }).prop_flat_map(|(d, to, keep, ones)| {
            let r = to.len();
            let from: Vec<usize> = (r - keep..r).map(|a| if ones[a] { 1 } else { to[a] }).collect();
            (tensor_of(d, from), Just(to))
        })
    ) {
        let got = op_on(Op::Broadcast { shape: lit(&to) }, &[&x]).expect("broadcast runs");
        assert_close(&got, &ref_broadcast(&x, &to), 0.0, 0.0);
    }

    #[test]
    fn slice_matches_reference((x, axis, start, step, len) in slice_case()) {
        let op = Op::Slice { axis, start, step, len: Dim::Lit(len as u64) };
        let got = op_on(op, &[&x]).expect("slice runs");
        let pos = positions(x.shape[axis], start, step, len);
        assert_close(&got, &ref_slice(&x, axis, &pos), 0.0, 0.0);
    }

    #[test]
    fn slice_grad_matches_reference((x, axis, start, step, len) in slice_case()) {
        let pos = positions(x.shape[axis], start, step, len);
        let g = ref_slice(&x, axis, &pos);
        let ty = TensorType::new(x.dtype, lit(&x.shape));
        let got = op_on(Op::SliceGrad { ty, axis, start, step }, &[&g]).expect("slice_grad runs");
        assert_close(&got, &ref_slice_grad(&g, &x.shape, axis, &pos), 0.0, 0.0);
    }

    #[test]
    fn concat_matches_reference(
        (parts, axis) in (any_dtype(), shape(1, 3), 1usize..4).prop_flat_map(|(d, s, k)| {
            let r = s.len();
            (Just(d), Just(s), Just(k), 0..r, prop::collection::vec(dim(), k))
        }).prop_flat_map(|(d, s, _k, axis, lens)| {
            let parts: Vec<_> = lens.into_iter().map(|l| { let mut s = s.clone(); s[axis] = l; tensor_of(d, s) }).collect();
            (parts, Just(axis))
        })
    ) {
        let refs: Vec<&Naive> = parts.iter().collect();
        let got = op_on(Op::Concat { axis }, &refs).expect("concat runs");
        let mut out_shape = parts[0].shape.clone();
        out_shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
        let data = (0..numel(&out_shape)).map(|o| {
            let mut i = unravel(o, &out_shape);
            let mut part = 0;
            while i[axis] >= parts[part].shape[axis] {
                i[axis] -= parts[part].shape[axis];
                part += 1;
            }
            parts[part].data[ravel(&i, &parts[part].shape)]
        }).collect();
        assert_close(&got, &Naive::new(parts[0].dtype, &out_shape, data), 0.0, 0.0);
    }

    #[test]
    fn gather_and_scatter_add_match_reference(
        (table, idx) in (any_dtype(), 1usize..5, shape(0, 2), shape(0, 2), prop::sample::select(vec![DType::I32, DType::I64]))
            .prop_flat_map(|(d, n, rest, ishape, idt)| {
                let mut ts = vec![n];
                ts.extend(rest);
                let count = numel(&ishape);
                let idx = prop::collection::vec(-(n as i64)..n as i64, count)
                    .prop_map(move |v| Naive::new(idt, &ishape, v.into_iter().map(|i| i as f64).collect()));
                (tensor_of(d, ts), idx)
            })
    ) {
        let n = table.shape[0];
        let width: usize = table.shape[1..].iter().product();
        let rows: Vec<usize> = idx.data.iter().map(|&i| if i < 0.0 { (i + n as f64) as usize } else { i as usize }).collect();
        let mut out_shape = idx.shape.clone();
        out_shape.extend_from_slice(&table.shape[1..]);
        let data = rows.iter().flat_map(|&r| table.data[r * width..(r + 1) * width].to_vec()).collect();
        let want = Naive::new(table.dtype, &out_shape, data);
        let got = op_on(Op::Gather, &[&table, &idx]).expect("gather runs");
        assert_close(&got, &want, 0.0, 0.0);

        if table.dtype != DType::Bool {
            // Scatter the gathered rows back: duplicates accumulate, in index
            // order, in the dtype.
            let mut acc = vec![0.0; table.data.len()];
            for (k, &r) in rows.iter().enumerate() {
                for j in 0..width {
                    let s = &mut acc[r * width + j];
                    *s = round_to(table.dtype, *s + want.data[k * width + j]);
                }
            }
            let ty = table.ty();
            let got = op_on(Op::ScatterAdd { ty }, &[&idx, &want]).expect("scatter_add runs");
            let (r, a) = tol(table.dtype);
            assert_close(&got, &Naive::new(table.dtype, &table.shape, acc), r, a);
        }
    }
}

#[test]
fn slice_out_of_range_is_a_data_error() {
    let x = Naive::new(DType::F32, &[4, 2], vec![0.0; 8]);
    for (start, step, len) in [(3, 1, 2), (-5, 1, 1), (0, 2, 3), (5, 1, 0)] {
        let op = Op::Slice {
            axis: 0,
            start,
            step,
            len: Dim::Lit(len),
        };
        let e = op_on(op, &[&x]).expect_err("out of range");
        assert_eq!(e.exit_code, 3, "{}", e.message);
        assert!(e.message.contains("slice"), "{}", e.message);
        assert!(e.message.contains("length 4"), "{}", e.message);
    }
    // A slice ending exactly at the end, and an empty one at the end, are fine.
    let op = Op::Slice {
        axis: 0,
        start: -2,
        step: 1,
        len: Dim::Lit(2),
    };
    assert!(op_on(op, &[&x]).is_ok());
    let op = Op::Slice {
        axis: 0,
        start: 4,
        step: 1,
        len: Dim::Lit(0),
    };
    assert!(op_on(op, &[&x]).is_ok());
}

#[test]
fn gather_index_out_of_range_is_a_data_error() {
    let table = Naive::new(DType::F64, &[3, 2], vec![0.0; 6]);
    for bad in [3.0, -4.0, 1e9] {
        let idx = Naive::new(DType::I64, &[2], vec![0.0, bad]);
        let e = op_on(Op::Gather, &[&table, &idx]).expect_err("out of range");
        assert_eq!(e.exit_code, 3);
        assert!(
            e.message.contains(&format!("index {}", bad as i64)),
            "{}",
            e.message
        );
        assert!(e.message.contains("3 rows"), "{}", e.message);
        assert!(e.message.contains("gather"), "{}", e.message);
    }
    let idx = Naive::new(DType::I32, &[1], vec![5.0]);
    let g = Naive::new(DType::F64, &[1, 2], vec![1.0, 2.0]);
    let e = op_on(Op::ScatterAdd { ty: table.ty() }, &[&idx, &g]).expect_err("out of range");
    assert_eq!(e.exit_code, 3);
    assert!(e.message.contains("index 5"), "{}", e.message);
}
