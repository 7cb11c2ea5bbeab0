//! The LLVM backend as a [`LoopEmit`]: the dedicated kernels of
//! `weft_compiler::kernel::lower` (gather, scatter-add, concat, slice-grad)
//! emitted as counted loops over the scalar emitter [`Llvm`].

use inkwell::values::BasicValueEnum;

use crate::expr::Llvm;
use crate::gen::{Gen, OrStr};
use inkwell::IntPredicate;
use weft_compiler::ir::types::{DType, Dim};
use weft_compiler::kernel::lower::{LoopEmit, LoopResult};
use weft_compiler::kernel::BufId;
use weft_compiler::ops::{Conv, Emit, EmitResult, FBin, FCmp, FUn, Host, IBin, ICmp, Val};

pub struct Loops<'g, 'c, 'p>(pub &'g mut Gen<'c, 'p>);

type V<'c> = BasicValueEnum<'c>;

impl<'c> Emit for Loops<'_, 'c, '_> {
    type V = V<'c>;

    fn konst(&mut self, v: Val) -> EmitResult<V<'c>> {
        Llvm(self.0).konst(v)
    }
    fn float_unary(&mut self, op: FUn, x: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).float_unary(op, x)
    }
    fn float_binary(&mut self, op: FBin, a: V<'c>, b: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).float_binary(op, a, b)
    }
    fn float_fma(&mut self, a: V<'c>, b: V<'c>, c: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).float_fma(a, b, c)
    }
    fn int_binary(&mut self, op: IBin, a: V<'c>, b: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).int_binary(op, a, b)
    }
    fn fcmp(&mut self, c: FCmp, a: V<'c>, b: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).fcmp(c, a, b)
    }
    fn icmp(&mut self, c: ICmp, a: V<'c>, b: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).icmp(c, a, b)
    }
    fn select(&mut self, c: V<'c>, a: V<'c>, b: V<'c>) -> EmitResult<V<'c>> {
        Llvm(self.0).select(c, a, b)
    }
    fn convert(&mut self, x: V<'c>, from: DType, c: Conv) -> EmitResult<V<'c>> {
        Llvm(self.0).convert(x, from, c)
    }
    fn call(&mut self, f: Host, d: DType, args: &[V<'c>]) -> EmitResult<V<'c>> {
        Llvm(self.0).call(f, d, args)
    }
}

impl<'c> LoopEmit for Loops<'_, 'c, '_> {
    fn dim(&mut self, d: &Dim) -> LoopResult<V<'c>> {
        Ok(self.0.dim(d).into())
    }

    fn for_range(
        &mut self,
        n: V<'c>,
        body: &mut dyn FnMut(&mut Self, V<'c>) -> LoopResult<()>,
    ) -> LoopResult<()> {
        // The loop of `Gen::loops`, open here so that the body sees `Self`.
        let g = &mut *self.0;
        let n = n.into_int_value();
        let start = g.i64c(0);
        let pre =
            g.b.get_insert_block()
                .ok_or_else(|| "no block".to_string())?;
        let (head, bodyb, exit) = (g.block("loop")?, g.block("body")?, g.block("done")?);
        g.b.build_unconditional_branch(head).s()?;
        g.b.position_at_end(head);
        let phi = g.b.build_phi(g.ctx.i64_type(), "i").s()?;
        phi.add_incoming(&[(&start, pre)]);
        let i = phi.as_basic_value().into_int_value();
        let cond = g.b.build_int_compare(IntPredicate::SLT, i, n, "").s()?;
        g.b.build_conditional_branch(cond, bodyb, exit).s()?;
        g.b.position_at_end(bodyb);
        body(self, i.into())?;
        let g = &mut *self.0;
        let next = g.b.build_int_nsw_add(i, g.i64c(1), "").s()?;
        let latch =
            g.b.get_insert_block()
                .ok_or_else(|| "no block".to_string())?;
        g.b.build_unconditional_branch(head).s()?;
        phi.add_incoming(&[(&next, latch)]);
        g.b.position_at_end(exit);
        Ok(())
    }

    fn load(&mut self, buf: BufId, i: V<'c>) -> LoopResult<V<'c>> {
        Ok(self.0.load_elem(buf, i.into_int_value())?)
    }

    fn store(&mut self, buf: BufId, i: V<'c>, v: V<'c>) -> LoopResult<()> {
        Ok(self.0.store_elem(buf, i.into_int_value(), v)?)
    }

    fn fail_unless(&mut self, ok: V<'c>, error: u32) -> LoopResult<()> {
        Ok(self.0.fail_unless(ok.into_int_value(), error)?)
    }
}
