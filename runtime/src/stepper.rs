//! Running steps of a bound program: the buffers one step needs besides
//! the inputs and params (step outputs, updates, arena, feeds), and the
//! step itself — what the executables' driver ([`crate::driver`]) and a
//! library's model ([`crate::session`]) share.

use std::ffi::c_void;

use crate::bind::{self, byte_size, concrete_text};
use crate::buf::AlignedBuf;
use crate::driver::{resolve_feed, Program};
use crate::feed::{self, Feed, FeedState, StepCtx};
use crate::program::{OutputSrc, ProgramDesc, TensorDecl};
use crate::RunError;

/// A zeroed buffer for a value declared as `d`.
pub fn alloc_for(
    desc: &ProgramDesc,
    d: &TensorDecl,
    shape: &[usize],
) -> Result<AlignedBuf, RunError> {
    let bytes = byte_size(d.dtype, shape)
        .ok_or_else(|| RunError::data(bind::too_large(&desc.type_text(d), d.dtype, shape)))?;
    AlignedBuf::zeroed(bytes).ok_or_else(|| {
        RunError::data(format!(
            "not enough memory for a value of type {} ({bytes} bytes)",
            concrete_text(d.dtype, shape)
        ))
    })
}

/// A copy of an array in an aligned buffer.
pub fn copy_in(arr: &crate::NpyArray) -> Result<AlignedBuf, RunError> {
    AlignedBuf::from_npy(arr).ok_or_else(|| {
        RunError::data(format!(
            "not enough memory for a value of type {}",
            concrete_text(arr.dtype(), &arr.shape)
        ))
    })
}

/// The step buffers of a program at one binding of its sizes.
pub struct Stepper {
    /// `dims` as `weft_step` takes them.
    pub dims: Vec<i64>,
    /// The lengths of each param.
    pub param_shapes: Vec<Vec<usize>>,
    /// Step outputs by step index (the `until` conditions last), and their lengths.
    pub outputs: Vec<AlignedBuf>,
    pub step_shapes: Vec<Vec<usize>>,
    updates: Vec<AlignedBuf>,
    arena: AlignedBuf,
    feeds: Feeds,
    /// Whether the feeds were computed once.
    fed: bool,
}

impl Stepper {
    /// Allocates everything for `bound` sizes (every size bound).
    pub fn new(
        prog: &dyn Program,
        desc: &ProgramDesc,
        bound: &[Option<usize>],
    ) -> Result<Stepper, RunError> {
        let dims: Vec<i64> = (0..desc.n_dims())
            .map(|k| {
                let d = bound.get(k).copied().flatten().ok_or_else(|| {
                    RunError::data(format!(
                        "size {} is not bound: no input (or --param file) has it in its type",
                        desc.dim_name(k)
                    ))
                })?;
                i64::try_from(d).map_err(|_| RunError::data(format!("size {d} is too large")))
            })
            .collect::<Result<_, _>>()?;
        let param_shapes: Vec<Vec<usize>> = desc
            .params
            .iter()
            .map(|p| bind::resolve_shape(desc, bound, &p.decl))
            .collect::<Result<_, _>>()?;
        let until_decl = TensorDecl {
            name: "until".into(),
            dtype: crate::DType::Bool,
            shape: vec![],
        };
        let mut step_decls: Vec<Option<(&TensorDecl, Vec<usize>)>> =
            vec![None; desc.step_outputs()];
        for &u in &desc.until {
            if let Some(slot) = step_decls.get_mut(u) {
                *slot = Some((&until_decl, vec![]));
            }
        }
        for o in &desc.outputs {
            if let OutputSrc::Step(i) = o.src {
                let shape = bind::resolve_shape(desc, bound, &o.decl)?;
                if let Some(slot) = step_decls.get_mut(i) {
                    *slot = Some((&o.decl, shape));
                }
            }
        }
        let mut outputs = Vec::with_capacity(step_decls.len());
        let mut step_shapes = Vec::with_capacity(step_decls.len());
        for sd in step_decls {
            // `validate` checked that every step output is declared once.
            let (d, shape) = sd.ok_or_else(|| RunError::data("a step output is not declared"))?;
            outputs.push(alloc_for(desc, d, &shape)?);
            step_shapes.push(shape);
        }
        let mut updates = Vec::with_capacity(desc.updates.len());
        for &p in &desc.updates {
            updates.push(alloc_for(desc, &desc.params[p].decl, &param_shapes[p])?);
        }
        let arena_bytes = prog.arena_bytes(&dims);
        let arena = usize::try_from(arena_bytes)
            .ok()
            .and_then(AlignedBuf::zeroed)
            .ok_or_else(|| {
                RunError::data(format!(
                    "not enough memory for the program's scratch space ({arena_bytes} bytes)"
                ))
            })?;
        Ok(Stepper {
            dims,
            param_shapes,
            outputs,
            step_shapes,
            updates,
            arena,
            feeds: Feeds::new(desc, bound)?,
            fed: false,
        })
    }

    /// Runs step `step` (0-based) on the program's own inputs `inputs`
    /// (pointers to their data) and `params`; the updates then become the
    /// params. True when an `until` condition holds after it.
    pub fn step(
        &mut self,
        prog: &dyn Program,
        desc: &ProgramDesc,
        inputs: &[*const c_void],
        params: &mut [AlignedBuf],
        step: u64,
    ) -> Result<bool, RunError> {
        let ctx = StepCtx {
            step,
            rank: crate::dist::rank(),
            world: crate::dist::world(),
        };
        self.feeds.refresh(desc, ctx, !self.fed)?;
        self.fed = true;
        let mut input_ptrs: Vec<*const c_void> =
            Vec::with_capacity(inputs.len() + desc.feeds.len());
        input_ptrs.extend_from_slice(inputs);
        input_ptrs.extend(self.feeds.bufs.iter().map(|b| b.as_ptr().cast::<c_void>()));
        let param_ptrs: Vec<*const c_void> = params.iter().map(|b| b.as_ptr().cast()).collect();
        let output_ptrs: Vec<*mut c_void> = self
            .outputs
            .iter_mut()
            .map(|b| b.as_mut_ptr().cast())
            .collect();
        let update_ptrs: Vec<*mut c_void> = self
            .updates
            .iter_mut()
            .map(|b| b.as_mut_ptr().cast())
            .collect();
        // SAFETY: one buffer of the declared size per input (the caller's),
        // param, step output and update, and `weft_arena_bytes(dims)` bytes
        // of arena, all 64-byte aligned (docs/abi.md).
        let code = unsafe {
            prog.step(
                self.dims.as_ptr(),
                input_ptrs.as_ptr(),
                param_ptrs.as_ptr(),
                output_ptrs.as_ptr(),
                update_ptrs.as_ptr(),
                self.arena.as_mut_ptr().cast(),
            )
        };
        if code != 0 {
            return Err(RunError::data(match desc.error_message(code) {
                Some(m) => m.to_string(),
                None => format!("the program failed with error code {code}"),
            }));
        }
        // All updates are assigned together, after the step: each update
        // buffer becomes its param, and the old value's buffer the next
        // step's update buffer (the step writes every element of it).
        for (u, &p) in desc.updates.iter().enumerate() {
            if let Some(param) = params.get_mut(p) {
                std::mem::swap(param, &mut self.updates[u]);
            }
        }
        Ok(desc.until.iter().any(|&u| {
            self.outputs
                .get(u)
                .is_some_and(|b| b.bytes().first().is_some_and(|&x| x != 0))
        }))
    }

    /// The value of output `i` after a step (a param output is the param's
    /// current value).
    pub fn output_value(
        &self,
        desc: &ProgramDesc,
        i: usize,
        params: &[AlignedBuf],
    ) -> crate::NpyArray {
        let o = &desc.outputs[i];
        match o.src {
            OutputSrc::Step(k) => self.outputs[k].to_npy(o.decl.dtype, &self.step_shapes[k]),
            OutputSrc::Param(p) => {
                params[p].to_npy(desc.params[p].decl.dtype, &self.param_shapes[p])
            }
        }
    }
}

/// The feeds' buffers, refreshed before each step.
struct Feeds {
    bufs: Vec<AlignedBuf>,
    shapes: Vec<Vec<usize>>,
    resolved: Vec<Feed<u64>>,
    states: Vec<FeedState>,
}

impl Feeds {
    fn new(desc: &ProgramDesc, dims: &[Option<usize>]) -> Result<Feeds, RunError> {
        let mut f = Feeds {
            bufs: Vec::new(),
            shapes: Vec::new(),
            resolved: Vec::new(),
            states: Vec::new(),
        };
        for fd in &desc.feeds {
            f.shapes.push(bind::resolve_shape(desc, dims, &fd.decl)?);
            f.resolved.push(resolve_feed(desc, dims, &fd.feed)?);
            f.states.push(FeedState::default());
            f.bufs.push(alloc_for(
                desc,
                &fd.decl,
                f.shapes.last().map_or(&[][..], |s| s),
            )?);
        }
        Ok(f)
    }

    /// Computes the feeds that change at this step (all of them on the
    /// first).
    fn refresh(&mut self, desc: &ProgramDesc, ctx: StepCtx, first: bool) -> Result<(), RunError> {
        for (i, fd) in desc.feeds.iter().enumerate() {
            if !first && !fd.feed.per_step() {
                continue;
            }
            let v = feed::value(
                &self.resolved[i],
                fd.decl.dtype,
                &self.shapes[i],
                ctx,
                &mut self.states[i],
            )?;
            self.bufs[i] = copy_in(&v)?;
        }
        Ok(())
    }
}
