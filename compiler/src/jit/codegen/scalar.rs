//! Scalar expressions: constants, unary and binary ops, casts, evaluated one element at a time.

use cranelift_codegen::ir::types::{F32, F64, I32, I8};
use cranelift_codegen::ir::{InstBuilder, Value};

use super::{clif_type, trusted, Gen, R};
use crate::ir::types::DType;
use crate::kernel::{elem_bytes, Expr};
use crate::ops::Val;

impl Gen<'_, '_> {
    // ---- scalar expressions -------------------------------------------------

    /// A u64 count or index converted like the interpreter's `from_u64`.
    pub(super) fn index_value(&mut self, n: Value, d: DType) -> R<Value> {
        Ok(match d {
            DType::F32 => self.b.ins().fcvt_from_uint(F32, n),
            DType::F64 => self.b.ins().fcvt_from_uint(F64, n),
            DType::I32 => self.b.ins().ireduce(I32, n),
            DType::I64 => n,
            DType::U8 => self.b.ins().ireduce(I8, n),
            DType::Bool | DType::F16 | DType::BF16 => {
                return Err(format!("an index of type {}", d.name()))
            }
        })
    }

    /// Evaluates `e` at inner-loop index `inner` (leaf rows already set).
    pub(super) fn scalar(&mut self, e: &Expr, inner: Option<(usize, Value)>) -> R<Value> {
        if let Some(v) = self.hoisted_value(e) {
            return Ok(v);
        }
        let bufs = &self.prog.buffers;
        Ok(match e {
            Expr::Load { buf, .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let d = bufs[*buf].dtype;
                let ty = clif_type(d)?;
                let i = self.leaf_index(l, inner);
                let base = self.leaves[l].base.expect("a load leaf");
                let a = self.addr(base, i, elem_bytes(d));
                self.b.ins().load(ty, trusted(), a, 0)
            }
            Expr::Iota { dtype, .. } => {
                let l = self.next_leaf;
                self.next_leaf += 1;
                let i = self.leaf_index(l, inner);
                self.index_value(i, *dtype)?
            }
            Expr::Const { value, dtype } => {
                clif_type(*dtype)?;
                self.konst(Val::constant(*value, *dtype)?)?
            }
            Expr::Size { dims, dtype } => {
                let n = self.numel(dims);
                let n = self.val(n);
                self.index_value(n, *dtype)?
            }
            Expr::Unary { op, arg } => {
                let d = arg.dtype(bufs);
                let x = self.scalar(arg, inner)?;
                self.unary(*op, d, x)?
            }
            Expr::Binary { op, lhs, rhs } => {
                let d = lhs.dtype(bufs);
                let x = self.scalar(lhs, inner)?;
                let y = self.scalar(rhs, inner)?;
                self.binary(*op, d, x, y)?
            }
            Expr::Select { cond, then, els } => {
                let c = self.scalar(cond, inner)?;
                let t = self.scalar(then, inner)?;
                let f = self.scalar(els, inner)?;
                self.b.ins().select(c, t, f)
            }
            Expr::Cast { to, arg } => {
                let d = arg.dtype(bufs);
                let x = self.scalar(arg, inner)?;
                self.cast(x, d, *to)?
            }
            Expr::Remap { arg, .. } => self.scalar(arg, inner)?,
        })
    }
}
