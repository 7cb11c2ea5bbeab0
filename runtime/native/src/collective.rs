//! `weft_rt_allreduce_v1` (docs/abi.md): the collective of `all_sum` and
//! `all_mean` (language.md §13), which every engine calls — the kernel
//! interpreter and the graph interpreter of `weft run`, and the code LLVM
//! generates for executables. It is [`weft_runtime::dist::allreduce_parts`]:
//! one `MPI_Allreduce` over one packed buffer for all the parts of a call,
//! or copies in a world of one.

use std::ffi::c_void;

use weft_runtime::dist::{self, Elem};

/// Element-wise sums over the processes of a job: part `i` reads `lens[i]`
/// elements at `src[i]` and writes their sum at `dst[i]`. `dtype`: 0 `f32`,
/// 1 `f64`, 2 `i32`, 3 `i64`. Identity copies outside a job.
///
/// # Safety
/// `src`, `dst` and `lens` hold `n` entries; each `src[i]` is readable and
/// each `dst[i]` writable for `lens[i]` elements; no `dst[i]` overlaps
/// another part's buffers.
#[no_mangle]
pub unsafe extern "C" fn weft_rt_allreduce_v1(
    dtype: i64,
    n: i64,
    src: *const *const c_void,
    dst: *const *mut c_void,
    lens: *const i64,
) {
    let Some(elem) = Elem::from_code(dtype) else {
        return;
    };
    let n = usize::try_from(n).unwrap_or(0);
    let parts: Vec<(*const u8, *mut u8, usize)> = (0..n)
        .map(|i| {
            (
                (*src.add(i)).cast::<u8>(),
                (*dst.add(i)).cast::<u8>(),
                usize::try_from(*lens.add(i)).unwrap_or(0),
            )
        })
        .collect();
    dist::allreduce_parts(elem, &parts);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_part_in_a_world_of_one() {
        let a = [1.0f64, 2.0];
        let b = [3.0f64];
        let (mut x, mut y) = ([0f64; 2], [0f64; 1]);
        let src = [a.as_ptr().cast::<c_void>(), b.as_ptr().cast()];
        let dst = [x.as_mut_ptr().cast::<c_void>(), y.as_mut_ptr().cast()];
        let lens = [2i64, 1];
        // SAFETY: two parts of the lengths given.
        unsafe { weft_rt_allreduce_v1(1, 2, src.as_ptr(), dst.as_ptr(), lens.as_ptr()) };
        assert_eq!((x, y), (a, b));
    }
}
