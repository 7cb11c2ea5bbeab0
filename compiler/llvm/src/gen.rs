//! Kernel IR to LLVM IR: one internal function per kernel, `weft_step`
//! calling them in order, and `weft_arena_bytes`.
//!
//! Each kernel function takes the dims array and one `noalias` pointer per
//! buffer it touches (a kernel never reads the buffer it writes, and the
//! memory plan never puts two live temps in one slot), so LLVM needs no
//! run-time alias checks to vectorise. Loop nests are plain counted loops
//! over `i64` indices, innermost the last axis; a load's address is the C
//! order linear index of its view, which LLVM strength-reduces.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::types::{BasicMetadataTypeEnum, BasicType, BasicTypeEnum};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FunctionValue, IntValue, PointerValue,
};
use inkwell::{AddressSpace, IntPredicate};

use crate::par::parallel_split;
use weft_compiler::ir::types::{DType, Dim};
use weft_compiler::kernel::{elem_bytes, BufId, BufKind, Kernel, Program};

pub(crate) type R<T> = Result<T, String>;

pub(crate) trait OrStr<T> {
    fn s(self) -> R<T>;
}

impl<T, E: std::fmt::Debug> OrStr<T> for Result<T, E> {
    fn s(self) -> R<T> {
        self.map_err(|e| format!("LLVM builder: {e:?}"))
    }
}

pub(crate) struct Gen<'c, 'p> {
    pub ctx: &'c Context,
    pub module: Module<'c>,
    pub b: Builder<'c>,
    pub prog: &'p Program,
    /// Function attributes for the target (`target-cpu`, `target-features`).
    pub fn_attrs: Vec<(String, String)>,
    pub func: Option<FunctionValue<'c>>,
    /// The dims of the current function, loaded at entry.
    pub dims: Vec<IntValue<'c>>,
    /// Buffer pointers of the current function.
    pub bufs: Vec<Option<PointerValue<'c>>>,
    /// When set, the next loop [`Gen::loops`] opens runs over `[lo, hi)`
    /// instead of `[0, n)`: the outer axis of a parallel kernel's range.
    pub outer_range: Option<(IntValue<'c>, IntValue<'c>)>,
    /// Buffers of a row group held one row at a time (`par.rs`): element
    /// `i` of such a buffer is at `scratch[i - start]`, `start` the index of
    /// the current row's first element.
    pub rows: Vec<Option<(PointerValue<'c>, IntValue<'c>)>>,
    /// The prefix of the object's external symbols: `weft_` (`weft_step`),
    /// or `weft_vjp_` for a library's vector-Jacobian product.
    pub prefix: &'static str,
}

/// The runtime's profiling switch (`weft_runtime::profile`).
const PROFILING_FLAG: &str = "weft_rt_profiling";

impl<'c, 'p> Gen<'c, 'p> {
    pub fn new(ctx: &'c Context, prog: &'p Program, fn_attrs: Vec<(String, String)>) -> Self {
        Gen {
            ctx,
            module: ctx.create_module("weft_program"),
            b: ctx.create_builder(),
            prog,
            fn_attrs,
            func: None,
            dims: Vec::new(),
            bufs: vec![None; prog.buffers.len()],
            outer_range: None,
            rows: vec![None; prog.buffers.len()],
            prefix: "weft_",
        }
    }

    pub fn i64c(&self, v: u64) -> IntValue<'c> {
        self.ctx.i64_type().const_int(v, false)
    }

    pub fn ptr_t(&self) -> inkwell::types::PointerType<'c> {
        self.ctx.ptr_type(AddressSpace::default())
    }

    /// The type of a value of `d` (bool: i1).
    pub fn val_t(&self, d: DType) -> BasicTypeEnum<'c> {
        match d {
            DType::F32 | DType::F16 | DType::BF16 => self.ctx.f32_type().into(),
            DType::F64 => self.ctx.f64_type().into(),
            DType::I32 => self.ctx.i32_type().into(),
            DType::I64 => self.ctx.i64_type().into(),
            DType::U8 => self.ctx.i8_type().into(),
            DType::Bool => self.ctx.bool_type().into(),
        }
    }

    /// The type of an element in memory (bool: i8).
    pub fn mem_t(&self, d: DType) -> BasicTypeEnum<'c> {
        match d {
            DType::Bool => self.ctx.i8_type().into(),
            d => self.val_t(d),
        }
    }

    pub fn dim(&self, d: &Dim) -> IntValue<'c> {
        match d {
            Dim::Lit(n) => self.i64c(*n),
            Dim::Sym(_) | Dim::Expr(_) => match self.prog.dim_slot(d) {
                Some(i) => self.dims[i],
                None => self.i64c(0),
            },
        }
    }

    pub fn mul(&self, a: IntValue<'c>, b: IntValue<'c>) -> R<IntValue<'c>> {
        self.b.build_int_mul(a, b, "").s()
    }

    pub fn add(&self, a: IntValue<'c>, b: IntValue<'c>) -> R<IntValue<'c>> {
        self.b.build_int_add(a, b, "").s()
    }

    pub fn numel(&self, ds: &[Dim]) -> R<IntValue<'c>> {
        let mut n = self.i64c(1);
        for d in ds {
            n = self.mul(n, self.dim(d))?;
        }
        Ok(n)
    }

    /// C-order linear index of `idx` in `shape`.
    pub fn linear(&self, idx: &[IntValue<'c>], shape: &[Dim]) -> R<IntValue<'c>> {
        let mut lin = self.i64c(0);
        for (i, d) in idx.iter().zip(shape) {
            lin = self.add(self.mul(lin, self.dim(d))?, *i)?;
        }
        Ok(lin)
    }

    /// Pointer to element `i` of buffer `buf`.
    pub fn elem_ptr(&self, buf: BufId, i: IntValue<'c>) -> R<PointerValue<'c>> {
        let ty = self.mem_t(self.prog.buffers[buf].dtype);
        if let Some((scratch, start)) = self.rows[buf] {
            let i = self.b.build_int_nsw_sub(i, start, "").s()?;
            // SAFETY: a row group reads and writes such a buffer only in the
            // current row, which the scratch row holds.
            return unsafe { self.b.build_in_bounds_gep(ty, scratch, &[i], "") }.s();
        }
        let base = self.bufs[buf].ok_or_else(|| format!("buffer %{buf} not bound"))?;
        // SAFETY: in bounds by construction of the kernel IR.
        unsafe { self.b.build_in_bounds_gep(ty, base, &[i], "") }.s()
    }

    pub fn load_elem(&self, buf: BufId, i: IntValue<'c>) -> R<BasicValueEnum<'c>> {
        let d = self.prog.buffers[buf].dtype;
        let p = self.elem_ptr(buf, i)?;
        let v = self.b.build_load(self.mem_t(d), p, "").s()?;
        if d == DType::Bool {
            let z = self.ctx.i8_type().const_zero();
            return Ok(self
                .b
                .build_int_compare(IntPredicate::NE, v.into_int_value(), z, "")
                .s()?
                .into());
        }
        Ok(v)
    }

    pub fn store_elem(&self, buf: BufId, i: IntValue<'c>, v: BasicValueEnum<'c>) -> R<()> {
        let d = self.prog.buffers[buf].dtype;
        let p = self.elem_ptr(buf, i)?;
        let v = if d == DType::Bool {
            self.b
                .build_int_z_extend(v.into_int_value(), self.ctx.i8_type(), "")
                .s()?
                .into()
        } else {
            v
        };
        self.b.build_store(p, v).s()?;
        Ok(())
    }

    /// A stack slot in the current function's entry block (so that LLVM
    /// promotes it to a register even when the kernel runs inside a loop).
    pub fn entry_alloca(&self, t: BasicTypeEnum<'c>, name: &str) -> R<PointerValue<'c>> {
        let entry = self
            .func()?
            .get_first_basic_block()
            .ok_or("no entry block")?;
        let b = self.ctx.create_builder();
        match entry.get_first_instruction() {
            Some(i) => b.position_before(&i),
            None => b.position_at_end(entry),
        }
        b.build_alloca(t, name).s()
    }

    fn func(&self) -> R<FunctionValue<'c>> {
        self.func.ok_or_else(|| "no current function".to_string())
    }

    pub fn block(&self, name: &str) -> R<BasicBlock<'c>> {
        Ok(self.ctx.append_basic_block(self.func()?, name))
    }

    /// A counted loop nest over `extents` (outermost first); `body` gets the indices.
    pub fn loops(
        &mut self,
        extents: &[IntValue<'c>],
        body: &mut dyn FnMut(&mut Self, &[IntValue<'c>]) -> R<()>,
    ) -> R<()> {
        let mut idx = Vec::new();
        self.loops_rec(extents, &mut idx, body)
    }

    fn loops_rec(
        &mut self,
        extents: &[IntValue<'c>],
        idx: &mut Vec<IntValue<'c>>,
        body: &mut dyn FnMut(&mut Self, &[IntValue<'c>]) -> R<()>,
    ) -> R<()> {
        let Some((&n, rest)) = extents.split_first() else {
            return body(self, idx);
        };
        let (start, n) = match self.outer_range.take() {
            Some((lo, hi)) => (lo, hi),
            None => (self.i64c(0), n),
        };
        let pre = self.b.get_insert_block().ok_or("no block")?;
        let (head, bodyb, exit) = (
            self.block("loop")?,
            self.block("body")?,
            self.block("done")?,
        );
        self.b.build_unconditional_branch(head).s()?;
        self.b.position_at_end(head);
        let i64t = self.ctx.i64_type();
        let phi = self.b.build_phi(i64t, "i").s()?;
        phi.add_incoming(&[(&start, pre)]);
        let i = phi.as_basic_value().into_int_value();
        let cond = self.b.build_int_compare(IntPredicate::SLT, i, n, "").s()?;
        self.b.build_conditional_branch(cond, bodyb, exit).s()?;
        self.b.position_at_end(bodyb);
        idx.push(i);
        self.loops_rec(rest, idx, body)?;
        idx.pop();
        let next = self.b.build_int_nsw_add(i, self.i64c(1), "").s()?;
        let latch = self.b.get_insert_block().ok_or("no block")?;
        self.b.build_unconditional_branch(head).s()?;
        phi.add_incoming(&[(&next, latch)]);
        self.b.position_at_end(exit);
        Ok(())
    }

    /// `for j in (0..to).step_by(step) { body(j) }` (`to` a multiple of `step`).
    pub fn step_loop(
        &mut self,
        to: IntValue<'c>,
        step: u64,
        body: &mut dyn FnMut(&mut Self, IntValue<'c>) -> R<()>,
    ) -> R<()> {
        let pre = self.b.get_insert_block().ok_or("no block")?;
        let (head, bodyb, exit) = (
            self.block("loop")?,
            self.block("body")?,
            self.block("done")?,
        );
        self.b.build_unconditional_branch(head).s()?;
        self.b.position_at_end(head);
        let phi = self.b.build_phi(self.ctx.i64_type(), "j").s()?;
        phi.add_incoming(&[(&self.i64c(0), pre)]);
        let j = phi.as_basic_value().into_int_value();
        let cond = self.b.build_int_compare(IntPredicate::SLT, j, to, "").s()?;
        self.b.build_conditional_branch(cond, bodyb, exit).s()?;
        self.b.position_at_end(bodyb);
        body(self, j)?;
        let next = self.b.build_int_nsw_add(j, self.i64c(step), "").s()?;
        let latch = self.b.get_insert_block().ok_or("no block")?;
        self.b.build_unconditional_branch(head).s()?;
        phi.add_incoming(&[(&next, latch)]);
        self.b.position_at_end(exit);
        Ok(())
    }

    /// Returns `code` from the current function unless `ok`.
    pub fn fail_unless(&self, ok: IntValue<'c>, code: u32) -> R<()> {
        let (fail, cont) = (self.block("fail")?, self.block("ok")?);
        self.b.build_conditional_branch(ok, cont, fail).s()?;
        self.b.position_at_end(fail);
        self.b
            .build_return(Some(&self.ctx.i32_type().const_int(code as u64, false)))
            .s()?;
        self.b.position_at_end(cont);
        Ok(())
    }

    pub fn add_fn_attrs(&self, f: FunctionValue<'c>) {
        for (k, v) in &self.fn_attrs {
            f.add_attribute(
                AttributeLoc::Function,
                self.ctx.create_string_attribute(k, v),
            );
        }
        f.add_attribute(AttributeLoc::Function, self.enum_attr("nounwind", 0));
    }

    pub fn enum_attr(&self, name: &str, v: u64) -> Attribute {
        self.ctx
            .create_enum_attribute(Attribute::get_named_enum_kind_id(name), v)
    }

    /// An external function, declared once.
    pub fn extern_fn(
        &self,
        name: &str,
        ret: Option<BasicTypeEnum<'c>>,
        args: &[BasicMetadataTypeEnum<'c>],
    ) -> FunctionValue<'c> {
        if let Some(f) = self.module.get_function(name) {
            return f;
        }
        let t = match ret {
            Some(r) => r.fn_type(args, false),
            None => self.ctx.void_type().fn_type(args, false),
        };
        self.module.add_function(name, t, Some(Linkage::External))
    }

    pub fn call(
        &self,
        f: FunctionValue<'c>,
        args: &[BasicMetadataValueEnum<'c>],
    ) -> R<Option<BasicValueEnum<'c>>> {
        Ok(self
            .b
            .build_call(f, args, "")
            .s()?
            .try_as_basic_value()
            .basic())
    }

    /// Generates kernel `k` as an internal function `(dims, bufs..) -> i32`.
    pub fn kernel_fn(&mut self, k: usize, kern: &Kernel) -> R<(FunctionValue<'c>, Vec<BufId>)> {
        let mut bufs: Vec<BufId> = kern.outputs();
        bufs.extend(kern.inputs());
        if let Some(split) = parallel_split(self.prog, kern) {
            return self.parallel_kernel_fn(&format!("weft_k{k}"), &[kern], bufs, split);
        }
        let ptr = self.ptr_t();
        let args: Vec<BasicMetadataTypeEnum> =
            std::iter::repeat_n(ptr.into(), bufs.len() + 1).collect();
        let f = self.module.add_function(
            &format!("weft_k{k}"),
            self.ctx.i32_type().fn_type(&args, false),
            Some(Linkage::Internal),
        );
        self.add_fn_attrs(f);
        // Kept out of `weft_step`: inlining hundreds of kernels into one
        // function makes LLVM's compile time grow much faster than linearly.
        f.add_attribute(AttributeLoc::Function, self.enum_attr("noinline", 0));
        for i in 0..=bufs.len() {
            f.add_attribute(AttributeLoc::Param(i as u32), self.enum_attr("noalias", 0));
            f.add_attribute(
                AttributeLoc::Param(i as u32),
                self.enum_attr("nocapture", 0),
            );
        }
        self.func = Some(f);
        let entry = self.ctx.append_basic_block(f, "entry");
        self.b.position_at_end(entry);
        self.load_dims(f.get_nth_param(0).ok_or("param")?.into_pointer_value())?;
        self.bufs = vec![None; self.prog.buffers.len()];
        for (i, &b) in bufs.iter().enumerate() {
            self.bufs[b] = Some(
                f.get_nth_param(i as u32 + 1)
                    .ok_or("param")?
                    .into_pointer_value(),
            );
        }
        self.kernel_body(kern)?;
        self.b
            .build_return(Some(&self.ctx.i32_type().const_zero()))
            .s()?;
        Ok((f, bufs))
    }

    pub fn load_dims(&mut self, p: PointerValue<'c>) -> R<()> {
        let i64t = self.ctx.i64_type();
        self.dims.clear();
        for i in 0..self.prog.dims.len() {
            // SAFETY: the ABI's dims array has one entry per size name.
            let q = unsafe {
                self.b
                    .build_in_bounds_gep(i64t, p, &[self.i64c(i as u64)], "")
            }
            .s()?;
            let v = self.b.build_load(i64t, q, "dim").s()?.into_int_value();
            self.dims.push(v);
        }
        Ok(())
    }

    /// `weft_step` and `weft_arena_bytes`.
    /// `--profile`/`--stats`: whether the runtime records kernel calls now
    /// (`weft_rt_profiling` non-zero; the symbol is weak, absent means no).
    fn profiling_on(&self) -> R<IntValue<'c>> {
        let i32t = self.ctx.i32_type();
        let flag = match self.module.get_global(PROFILING_FLAG) {
            Some(g) => g,
            None => {
                let g = self.module.add_global(i32t, None, PROFILING_FLAG);
                g.set_linkage(Linkage::ExternalWeak);
                g
            }
        };
        let zero = self.entry_alloca(i32t.into(), "no_profile")?;
        self.b.build_store(zero, i32t.const_zero()).s()?;
        let p = flag.as_pointer_value();
        let null = self.b.build_is_null(p, "").s()?;
        let p = self
            .b
            .build_select(null, zero, p, "")
            .s()?
            .into_pointer_value();
        let v = self
            .b
            .build_load(i32t, p, "profiling")
            .s()?
            .into_int_value();
        self.b
            .build_int_compare(IntPredicate::NE, v, i32t.const_zero(), "")
            .s()
    }

    /// `if on { name(k) }`: a profile hook of the runtime (weak).
    fn profile_hook(&self, on: IntValue<'c>, name: &str, k: usize) -> R<()> {
        let f = match self.module.get_function(name) {
            Some(f) => f,
            None => self.module.add_function(
                name,
                self.ctx
                    .void_type()
                    .fn_type(&[self.ctx.i64_type().into()], false),
                Some(Linkage::ExternalWeak),
            ),
        };
        let (call, next) = (self.block("profile")?, self.block("profiled")?);
        self.b.build_conditional_branch(on, call, next).s()?;
        self.b.position_at_end(call);
        self.call(f, &[self.i64c(k as u64).into()])?;
        self.b.build_unconditional_branch(next).s()?;
        self.b.position_at_end(next);
        Ok(())
    }

    /// The step's entry points; `kernels[i]` is a kernel function, its
    /// buffers, and the first kernel of the program it computes (what a
    /// profile names it by).
    pub fn entry_points(&mut self, kernels: &[(FunctionValue<'c>, Vec<BufId>, usize)]) -> R<()> {
        let (i64t, i32t, ptr) = (self.ctx.i64_type(), self.ctx.i32_type(), self.ptr_t());
        // weft_arena_bytes
        let f = self.module.add_function(
            &format!("{}arena_bytes", self.prefix),
            i64t.fn_type(&[ptr.into()], false),
            None,
        );
        self.add_fn_attrs(f);
        self.func = Some(f);
        self.b
            .position_at_end(self.ctx.append_basic_block(f, "entry"));
        self.load_dims(f.get_nth_param(0).ok_or("param")?.into_pointer_value())?;
        let sizes = self.slot_sizes()?;
        let mut total = self.i64c(0);
        for s in &sizes {
            total = self.add(total, *s)?;
        }
        self.b.build_return(Some(&total)).s()?;
        // weft_step
        let f = self.module.add_function(
            &format!("{}step", self.prefix),
            i32t.fn_type(&[ptr.into(); 6], false),
            None,
        );
        self.add_fn_attrs(f);
        self.func = Some(f);
        self.b
            .position_at_end(self.ctx.append_basic_block(f, "entry"));
        let arg = |i: u32| -> R<PointerValue<'c>> {
            Ok(f.get_nth_param(i).ok_or("param")?.into_pointer_value())
        };
        let dims_p = arg(0)?;
        self.load_dims(dims_p)?;
        let sizes = self.slot_sizes()?;
        let mut offs = vec![self.i64c(0)];
        for s in &sizes {
            let last = *offs.last().ok_or("offs")?;
            offs.push(self.add(last, *s)?);
        }
        let mut ptrs = Vec::new();
        for buf in &self.prog.buffers {
            let (array, i) = match buf.kind {
                BufKind::Input(i) => (arg(1)?, i),
                BufKind::Param(i) => (arg(2)?, i),
                BufKind::Output(i) => (arg(3)?, i),
                BufKind::Update(i) => (arg(4)?, i),
                BufKind::Temp { slot } => {
                    // SAFETY: the arena holds every slot.
                    let p = unsafe {
                        self.b
                            .build_in_bounds_gep(self.ctx.i8_type(), arg(5)?, &[offs[slot]], "")
                    }
                    .s()?;
                    ptrs.push(p);
                    continue;
                }
            };
            // SAFETY: the ABI's pointer arrays have one entry per buffer of each kind.
            let q = unsafe {
                self.b
                    .build_in_bounds_gep(ptr, array, &[self.i64c(i as u64)], "")
            }
            .s()?;
            ptrs.push(
                self.b
                    .build_load(ptr, q, &buf.name)
                    .s()?
                    .into_pointer_value(),
            );
        }
        let on = self.profiling_on()?;
        for (kf, bufs, k) in kernels {
            let mut args: Vec<BasicMetadataValueEnum> = vec![dims_p.into()];
            args.extend(bufs.iter().map(|&b| BasicMetadataValueEnum::from(ptrs[b])));
            self.profile_hook(on, "weft_rt_prof_enter", *k)?;
            let rc = self
                .call(*kf, &args)?
                .ok_or("kernel result")?
                .into_int_value();
            self.profile_hook(on, "weft_rt_prof_exit", *k)?;
            let ok = self
                .b
                .build_int_compare(IntPredicate::EQ, rc, i32t.const_zero(), "")
                .s()?;
            let (fail, cont) = (self.block("fail")?, self.block("ok")?);
            self.b.build_conditional_branch(ok, cont, fail).s()?;
            self.b.position_at_end(fail);
            self.b.build_return(Some(&rc)).s()?;
            self.b.position_at_end(cont);
        }
        self.b.build_return(Some(&i32t.const_zero())).s()?;
        Ok(())
    }

    /// Each slot's byte size: the max of its members' sizes rounded up to 64.
    fn slot_sizes(&self) -> R<Vec<IntValue<'c>>> {
        let mut out = Vec::new();
        for members in &self.prog.slots {
            let mut m = self.i64c(0);
            for &b in members {
                let buf = &self.prog.buffers[b];
                let n = self.mul(self.numel(&buf.shape)?, self.i64c(elem_bytes(buf.dtype)))?;
                let n = self
                    .b
                    .build_and(self.add(n, self.i64c(63))?, self.i64c(!63u64), "")
                    .s()?;
                let gt = self.b.build_int_compare(IntPredicate::UGT, n, m, "").s()?;
                m = self.b.build_select(gt, n, m, "").s()?.into_int_value();
            }
            out.push(m);
        }
        Ok(out)
    }
}
