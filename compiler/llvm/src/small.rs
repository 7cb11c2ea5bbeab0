//! Small float matrix products as inline loops.
//!
//! `out[b, i, :] = sum_p a[b, i, p] * b[b, p, :]`, the row of `out`
//! accumulated in place (zeroed first), the innermost loop running along
//! `n` over contiguous memory so that it vectorises; each step is an
//! explicit `llvm.fma`, in the order of the small-product rule that the
//! runtime's GEMM entry points also follow (`weft_runtime::SMALL_GEMM_WORK`),
//! so the bits do not depend on the engine. Used when `batch * m * k * n` is at most
//! [`SMALL_GEMM_WORK`], where a call into the runtime's GEMM (packing,
//! dispatch) costs more than the arithmetic.

use inkwell::values::IntValue;

use crate::gen::{Gen, OrStr, R};
use weft_compiler::ir::types::DType;
use weft_compiler::kernel::{elem_bytes, BufId};

/// The largest `batch * m * k * n` computed inline.
pub const SMALL_GEMM_WORK: u64 = weft_runtime::SMALL_GEMM_WORK;

impl<'c> Gen<'c, '_> {
    pub(crate) fn small_gemm(
        &mut self,
        out: BufId,
        (a, b): (BufId, BufId),
        d: DType,
        [nb, m, k, n]: [IntValue<'c>; 4],
        trans: [bool; 2],
    ) -> R<()> {
        let es = self.i64c(elem_bytes(d));
        self.loops(&[nb, m], &mut |g, ix| {
            let (bi, i) = (ix[0], ix[1]);
            let row = g.mul(g.add(g.mul(bi, m)?, i)?, n)?;
            let dst = g.elem_ptr(out, row)?;
            g.b.build_memset(dst, 1, g.ctx.i8_type().const_zero(), g.mul(n, es)?)
                .s()?;
            g.loops(&[k], &mut |g, px| {
                let p = px[0];
                // a[b, i, p]: at (b·m + i)·k + p, or (b·k + p)·m + i stored transposed.
                let ai = if trans[0] {
                    g.add(g.mul(g.add(g.mul(bi, k)?, p)?, m)?, i)?
                } else {
                    g.add(g.mul(g.add(g.mul(bi, m)?, i)?, k)?, p)?
                };
                let x = g.load_elem(a, ai)?.into_float_value();
                let brow = g.mul(g.add(g.mul(bi, k)?, p)?, n)?;
                g.loops(&[n], &mut |g, jx| {
                    let j = jx[0];
                    // b[b, p, j]: at (b·k + p)·n + j, or (b·n + j)·k + p stored transposed.
                    let bj = if trans[1] {
                        g.add(g.mul(g.add(g.mul(bi, n)?, j)?, k)?, p)?
                    } else {
                        g.add(brow, j)?
                    };
                    let y = g.load_elem(b, bj)?.into_float_value();
                    let o = g.add(row, j)?;
                    let c = g.load_elem(out, o)?.into_float_value();
                    let sum = g.fma(x, y, c)?;
                    g.store_elem(out, o, sum.into())
                })
            })
        })
    }
}
