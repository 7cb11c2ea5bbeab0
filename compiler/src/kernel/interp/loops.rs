//! The interpreter as a [`LoopEmit`]: the dedicated kernels
//! ([`crate::kernel::lower`]) evaluated operation by operation, scalars
//! through [`Eval`].

use super::{Machine, Val};
use crate::ir::types::{DType, Dim};
use crate::kernel::lower::{LoopEmit, LoopError, LoopResult};
use crate::kernel::BufId;
use crate::ops::{Conv, Emit, EmitResult, Eval, FBin, FCmp, FUn, Host, IBin, ICmp};

pub(super) struct Run<'s, 'p>(pub &'s mut Machine<'p>);

impl Emit for Run<'_, '_> {
    type V = Val;

    fn konst(&mut self, v: Val) -> EmitResult<Val> {
        Eval.konst(v)
    }
    fn float_unary(&mut self, op: FUn, x: Val) -> EmitResult<Val> {
        Eval.float_unary(op, x)
    }
    fn float_binary(&mut self, op: FBin, a: Val, b: Val) -> EmitResult<Val> {
        Eval.float_binary(op, a, b)
    }
    fn float_fma(&mut self, a: Val, b: Val, c: Val) -> EmitResult<Val> {
        Eval.float_fma(a, b, c)
    }
    fn int_binary(&mut self, op: IBin, a: Val, b: Val) -> EmitResult<Val> {
        Eval.int_binary(op, a, b)
    }
    fn fcmp(&mut self, c: FCmp, a: Val, b: Val) -> EmitResult<Val> {
        Eval.fcmp(c, a, b)
    }
    fn icmp(&mut self, c: ICmp, a: Val, b: Val) -> EmitResult<Val> {
        Eval.icmp(c, a, b)
    }
    fn select(&mut self, c: Val, a: Val, b: Val) -> EmitResult<Val> {
        Eval.select(c, a, b)
    }
    fn convert(&mut self, x: Val, from: DType, c: Conv) -> EmitResult<Val> {
        Eval.convert(x, from, c)
    }
    fn call(&mut self, f: Host, d: DType, args: &[Val]) -> EmitResult<Val> {
        Eval.call(f, d, args)
    }
}

fn as_index(v: Val) -> LoopResult<u64> {
    match v {
        Val::I64(i) => u64::try_from(i).map_err(|_| LoopError::Emit(format!("index {i}"))),
        other => Err(LoopError::Emit(format!("index {other:?}"))),
    }
}

impl LoopEmit for Run<'_, '_> {
    fn dim(&mut self, d: &Dim) -> LoopResult<Val> {
        Ok(Val::I64(self.0.dim(d) as i64))
    }

    fn for_range(
        &mut self,
        n: Val,
        body: &mut dyn FnMut(&mut Self, Val) -> LoopResult<()>,
    ) -> LoopResult<()> {
        for i in 0..as_index(n)? {
            body(self, Val::I64(i as i64))?;
        }
        Ok(())
    }

    fn load(&mut self, buf: BufId, i: Val) -> LoopResult<Val> {
        Ok(self.0.read(buf, as_index(i)?))
    }

    fn store(&mut self, buf: BufId, i: Val, v: Val) -> LoopResult<()> {
        self.0.write(buf, as_index(i)?, v);
        Ok(())
    }

    fn fail_unless(&mut self, ok: Val, error: u32) -> LoopResult<()> {
        match ok {
            Val::Bool(true) => Ok(()),
            _ => Err(LoopError::Fail(error)),
        }
    }
}
