//! `all_sum` (language.md §13) in the graph interpreter: the runtime's one
//! collective ([`weft_runtime::dist::allreduce_parts`], the function every
//! engine calls), one call per node — the identity in a world of one.

use ndarray::ArrayD;
use weft_runtime::dist::{allreduce_parts, Elem};
use weft_runtime::RunError;

use super::internal;
use crate::interp::tensor::Tensor;

/// The element-wise sum of `a` over the processes of the run.
pub fn all_sum(a: &Tensor) -> Result<Tensor, RunError> {
    Ok(match a {
        Tensor::F32(x) => Tensor::F32(summed(x, Elem::F32)?),
        Tensor::F64(x) => Tensor::F64(summed(x, Elem::F64)?),
        Tensor::I32(x) => Tensor::I32(summed(x, Elem::I32)?),
        Tensor::I64(x) => Tensor::I64(summed(x, Elem::I64)?),
        Tensor::U8(_) | Tensor::Bool(_) => {
            return Err(internal(format!("all_sum of {}", a.dtype())))
        }
    })
}

fn summed<T: Clone>(x: &ArrayD<T>, elem: Elem) -> Result<ArrayD<T>, RunError> {
    let mut out = x.as_standard_layout().into_owned();
    let n = out.len();
    let p = out
        .as_slice_mut()
        .ok_or_else(|| internal("all_sum of a non-contiguous array".into()))?
        .as_mut_ptr()
        .cast::<u8>();
    // SAFETY: `p` addresses the `n` elements of `out`, of `elem`'s size
    // (the caller matched the dtype), reduced in place.
    unsafe { allreduce_parts(elem, &[(p, p, n)]) };
    Ok(out)
}
