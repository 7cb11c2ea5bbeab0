//! The C API of a library built with `weft build FILE --lib`
//! (`include/weft.h`, docs/embedding.md): a static library that `weft
//! build` links with the program's two objects — its step (`weft_step`, ...)
//! and its vector-Jacobian product (`weft_vjp_step`, ...) — into
//! `libNAME.so` and `libNAME.a`.
//!
//! Every entry point is a thin shell over [`weft_runtime::session`]: it
//! checks its pointers, catches any panic (none may cross the C boundary),
//! and turns a failure into a status and a message that `weft_error`
//! returns. Nothing prints or exits.
//!
//! The program objects' symbols are declared only outside `cfg(test)`, so
//! the unit tests link without them ([`Model`] takes the programs as trait
//! objects).

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

pub use weft_runtime::driver::Program;
use weft_runtime::npy::DType;
use weft_runtime::program::TensorDecl;
use weft_runtime::session::{Lent, Session, View};
use weft_runtime::RunError;
pub use weft_runtime_native::{collective, par, rt};

// Shapes are handed out as `int64_t *` over the model's `usize` lengths.
const _: () = assert!(std::mem::size_of::<usize>() == std::mem::size_of::<i64>());

pub const WEFT_OK: i32 = 0;
pub const WEFT_ERR_USAGE: i32 = 2;
pub const WEFT_ERR_DATA: i32 = 3;
pub const WEFT_ERR_INTERNAL: i32 = 101;

pub const WEFT_INPUT: i32 = 0;
pub const WEFT_PARAM: i32 = 1;
pub const WEFT_OUTPUT: i32 = 2;
pub const WEFT_GRAD_INPUT: i32 = 3;
pub const WEFT_GRAD_PARAM: i32 = 4;

/// The API's dtype code of a dtype (weft.h).
pub fn dtype_code(d: DType) -> i32 {
    match d {
        DType::F32 => 1,
        DType::F64 => 2,
        DType::I32 => 3,
        DType::I64 => 4,
        DType::U8 => 5,
        DType::Bool => 6,
        // Not in weft.h: no program of a library has f16 values (weft build
        // refuses them).
        DType::F16 => -1,
    }
}

fn dtype_of(code: i32) -> Option<DType> {
    Some(match code {
        1 => DType::F32,
        2 => DType::F64,
        3 => DType::I32,
        4 => DType::I64,
        5 => DType::U8,
        6 => DType::Bool,
        _ => return None,
    })
}

/// One instance of the program.
pub struct Model {
    session: Session,
    main: Box<dyn Program>,
    vjp: Option<Box<dyn Program>>,
    error: CString,
    threads: usize,
    /// Names per kind (input, param, output), and each axis' size name.
    names: [Vec<CString>; 3],
    dim_names: [Vec<Vec<Option<CString>>>; 3],
}

thread_local! {
    static LAST: RefCell<CString> = RefCell::new(CString::default());
}

fn cstring(s: &str) -> CString {
    CString::new(s.replace('\0', " ")).unwrap_or_default()
}

impl Model {
    /// A model of `main` (and its VJP program).
    pub fn new(main: Box<dyn Program>, vjp: Option<Box<dyn Program>>) -> Result<Model, RunError> {
        let session = Session::new(main.descriptor(), vjp.as_ref().map(|v| v.descriptor()))?;
        if let Err(msg) = weft_runtime::cpu::check(&session.desc.requires, &weft_runtime::cpu::has)
        {
            return Err(RunError::usage(msg));
        }
        let d = &session.desc;
        let decls: [Vec<&TensorDecl>; 3] = [
            d.inputs.iter().collect(),
            d.params.iter().map(|p| &p.decl).collect(),
            d.outputs.iter().map(|o| &o.decl).collect(),
        ];
        let names = decls
            .clone()
            .map(|ds| ds.iter().map(|t| cstring(&t.name)).collect());
        let dim_names = decls.map(|ds| {
            ds.iter()
                .map(|t| {
                    t.shape
                        .iter()
                        .map(|s| match s {
                            weft_runtime::program::DimSpec::Lit(_) => None,
                            weft_runtime::program::DimSpec::Size(k) => {
                                Some(cstring(d.dim_name(*k)))
                            }
                        })
                        .collect()
                })
                .collect()
        });
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Ok(Model {
            session,
            main,
            vjp,
            error: CString::default(),
            threads,
            names,
            dim_names,
        })
    }

    fn decl(&self, kind: i32, i: i32) -> Option<&TensorDecl> {
        let d = &self.session.desc;
        let i = usize::try_from(i).ok()?;
        match kind {
            WEFT_INPUT | WEFT_GRAD_INPUT => d.inputs.get(i),
            WEFT_PARAM | WEFT_GRAD_PARAM => d.params.get(i).map(|p| &p.decl),
            WEFT_OUTPUT => d.outputs.get(i).map(|o| &o.decl),
            _ => None,
        }
    }

    fn count(&self, kind: i32) -> i32 {
        let d = &self.session.desc;
        let n = match kind {
            WEFT_INPUT | WEFT_GRAD_INPUT => d.inputs.len(),
            WEFT_PARAM | WEFT_GRAD_PARAM => d.params.len(),
            WEFT_OUTPUT => d.outputs.len(),
            _ => 0,
        };
        i32::try_from(n).unwrap_or(i32::MAX)
    }

    fn run(&mut self, steps: u64) -> Result<(), RunError> {
        rt::set_threads(self.threads);
        self.session.run(self.main.as_ref(), steps)
    }

    fn vjp(&mut self) -> Result<(), RunError> {
        rt::set_threads(self.threads);
        let prog = self
            .vjp
            .as_deref()
            .ok_or_else(|| RunError::usage("this library has no vector-Jacobian product"))?;
        self.session.vjp(prog)
    }

    fn value(&self, kind: i32, i: i32) -> Result<View<'_>, RunError> {
        let i =
            usize::try_from(i).map_err(|_| RunError::usage(format!("index {i} is negative")))?;
        match kind {
            WEFT_PARAM => self.session.param(i),
            WEFT_OUTPUT => self.session.output(i),
            WEFT_GRAD_INPUT => self.session.grad_input(i),
            WEFT_GRAD_PARAM => self.session.grad_param(i),
            _ => Err(RunError::usage(format!(
                "kind {kind} has no values to read (WEFT_PARAM, WEFT_OUTPUT, WEFT_GRAD_INPUT or WEFT_GRAD_PARAM)"
            ))),
        }
    }
}

/// Runs `f` on the model, catching panics; a failure's message is kept for
/// `weft_error`.
fn with_model(m: *mut weft_model, f: impl FnOnce(&mut Model) -> Result<(), RunError>) -> i32 {
    if m.is_null() {
        set_last("the model is NULL");
        return WEFT_ERR_USAGE;
    }
    // SAFETY: a non-null `weft_model *` comes from `weft_new` and is used by
    // one thread at a time (weft.h).
    let model = unsafe { &mut (*m).0 };
    let r = catch_unwind(AssertUnwindSafe(|| f(model)));
    let r = r.unwrap_or_else(|_| {
        Err(RunError::new(
            WEFT_ERR_INTERNAL,
            "internal error in the weft runtime (a bug: please report it)",
        ))
    });
    match r {
        Ok(()) => {
            model.error = CString::default();
            WEFT_OK
        }
        Err(e) => {
            model.error = cstring(&e.message);
            e.exit_code
        }
    }
}

fn set_last(msg: &str) {
    LAST.with(|l| *l.borrow_mut() = cstring(msg));
}

/// The opaque `weft_model` of weft.h.
#[allow(non_camel_case_types)]
pub struct weft_model(Model);

/// Reads a lent array's description.
///
/// # Safety
/// `shape` points to `rank` values when `rank > 0`.
unsafe fn lent(
    data: *const c_void,
    dtype: i32,
    rank: i32,
    shape: *const i64,
) -> Result<Lent, RunError> {
    let dt = dtype_of(dtype)
        .ok_or_else(|| RunError::usage(format!("dtype code {dtype} is not a weft dtype")))?;
    let rank =
        usize::try_from(rank).map_err(|_| RunError::usage(format!("rank {rank} is negative")))?;
    if rank > 0 && shape.is_null() {
        return Err(RunError::usage("the shape is NULL"));
    }
    let mut dims = Vec::with_capacity(rank);
    for a in 0..rank {
        let n = *shape.add(a);
        dims.push(
            usize::try_from(n)
                .map_err(|_| RunError::usage(format!("axis {a} has the negative length {n}")))?,
        );
    }
    let n: usize = dims.iter().product();
    if data.is_null() && n > 0 {
        return Err(RunError::usage("the data pointer is NULL"));
    }
    Ok(Lent {
        data: data.cast(),
        dtype: dt,
        shape: dims,
    })
}

/// Which of [`Model`]'s name tables a kind reads (inputs, params, outputs).
fn table(kind: i32) -> Option<usize> {
    match kind {
        WEFT_INPUT | WEFT_GRAD_INPUT => Some(0),
        WEFT_PARAM | WEFT_GRAD_PARAM => Some(1),
        WEFT_OUTPUT => Some(2),
        _ => None,
    }
}

fn index(i: i32) -> Result<usize, RunError> {
    usize::try_from(i).map_err(|_| RunError::usage(format!("index {i} is negative")))
}

/// Creates a model of the linked program.
///
/// # Safety
/// `out` is a valid pointer.
#[cfg(not(test))]
#[no_mangle]
pub unsafe extern "C" fn weft_new(out: *mut *mut weft_model) -> i32 {
    if out.is_null() {
        set_last("weft_new: `out` is NULL");
        return WEFT_ERR_USAGE;
    }
    *out = std::ptr::null_mut();
    let r = catch_unwind(|| Model::new(Box::new(linked::Main), Some(Box::new(linked::Vjp))));
    match r {
        Ok(Ok(m)) => {
            *out = Box::into_raw(Box::new(weft_model(m)));
            WEFT_OK
        }
        Ok(Err(e)) => {
            set_last(&e.message);
            e.exit_code
        }
        Err(_) => {
            set_last("internal error in the weft runtime (a bug: please report it)");
            WEFT_ERR_INTERNAL
        }
    }
}

/// Creates a model of the given programs (what `weft_new` does with the
/// linked ones; for tests and other hosts).
pub fn new_model(
    main: Box<dyn Program>,
    vjp: Option<Box<dyn Program>>,
) -> Result<*mut weft_model, RunError> {
    Model::new(main, vjp).map(|m| Box::into_raw(Box::new(weft_model(m))))
}

/// # Safety
/// `m` is NULL or came from `weft_new` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn weft_free(m: *mut weft_model) {
    if !m.is_null() {
        drop(Box::from_raw(m));
    }
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_error(m: *const weft_model) -> *const c_char {
    if m.is_null() {
        return LAST.with(|l| l.borrow().as_ptr());
    }
    (*m).0.error.as_ptr()
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_set_threads(m: *mut weft_model, threads: i32) -> i32 {
    with_model(m, |model| {
        let n = usize::try_from(threads)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| RunError::usage(format!("threads must be at least 1, not {threads}")))?;
        model.threads = n;
        Ok(())
    })
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_count(m: *const weft_model, kind: i32) -> i32 {
    if m.is_null() {
        return 0;
    }
    (*m).0.count(kind)
}

/// # Safety
/// `m` is a live model and `name` a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn weft_find(m: *const weft_model, kind: i32, name: *const c_char) -> i32 {
    if m.is_null() || name.is_null() || !(0..3).contains(&kind) {
        return -1;
    }
    let want = CStr::from_ptr(name);
    (*m).0.names[kind as usize]
        .iter()
        .position(|n| n.as_c_str() == want)
        .and_then(|i| i32::try_from(i).ok())
        .unwrap_or(-1)
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_name(m: *const weft_model, kind: i32, i: i32) -> *const c_char {
    if m.is_null() {
        return std::ptr::null();
    }
    let Some(k) = table(kind) else {
        return std::ptr::null();
    };
    let model = &(*m).0;
    match usize::try_from(i).ok().and_then(|i| model.names[k].get(i)) {
        Some(n) => n.as_ptr(),
        None => std::ptr::null(),
    }
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_dtype(m: *const weft_model, kind: i32, i: i32) -> i32 {
    if m.is_null() {
        return -1;
    }
    (*m).0.decl(kind, i).map_or(-1, |d| dtype_code(d.dtype))
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_rank(m: *const weft_model, kind: i32, i: i32) -> i32 {
    if m.is_null() {
        return -1;
    }
    (*m).0
        .decl(kind, i)
        .map_or(-1, |d| i32::try_from(d.rank()).unwrap_or(-1))
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_dim(m: *const weft_model, kind: i32, i: i32, axis: i32) -> i64 {
    if m.is_null() {
        return -1;
    }
    let model = &(*m).0;
    let Some(spec) = model
        .decl(kind, i)
        .and_then(|d| d.shape.get(usize::try_from(axis).ok()?))
    else {
        return -1;
    };
    match *spec {
        weft_runtime::program::DimSpec::Lit(n) => i64::try_from(n).unwrap_or(-1),
        weft_runtime::program::DimSpec::Size(k) => model
            .session
            .dims
            .get(k)
            .copied()
            .flatten()
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(-1),
    }
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_dim_name(
    m: *const weft_model,
    kind: i32,
    i: i32,
    axis: i32,
) -> *const c_char {
    if m.is_null() {
        return std::ptr::null();
    }
    let Some(k) = table(kind) else {
        return std::ptr::null();
    };
    let model = &(*m).0;
    let name = usize::try_from(i)
        .ok()
        .and_then(|i| model.dim_names[k].get(i))
        .and_then(|axes| axes.get(usize::try_from(axis).ok()?))
        .and_then(|n| n.as_ref());
    name.map_or(std::ptr::null(), |n| n.as_ptr())
}

/// # Safety
/// `m` is a live model; `data` holds the array and stays valid until the
/// next `weft_run` or `weft_vjp` returns; `shape` holds `rank` lengths.
#[no_mangle]
pub unsafe extern "C" fn weft_set_input(
    m: *mut weft_model,
    i: i32,
    data: *const c_void,
    dtype: i32,
    rank: i32,
    shape: *const i64,
) -> i32 {
    with_model(m, |model| {
        let v = lent(data, dtype, rank, shape)?;
        model.session.set_input(index(i)?, v)
    })
}

/// # Safety
/// As [`weft_set_input`], but `data` is copied at once.
#[no_mangle]
pub unsafe extern "C" fn weft_set_param(
    m: *mut weft_model,
    i: i32,
    data: *const c_void,
    dtype: i32,
    rank: i32,
    shape: *const i64,
) -> i32 {
    with_model(m, |model| {
        let v = lent(data, dtype, rank, shape)?;
        model.session.set_param(index(i)?, &v)
    })
}

/// # Safety
/// As [`weft_set_input`].
#[no_mangle]
pub unsafe extern "C" fn weft_set_cotangent(
    m: *mut weft_model,
    i: i32,
    data: *const c_void,
    dtype: i32,
    rank: i32,
    shape: *const i64,
) -> i32 {
    with_model(m, |model| {
        if data.is_null() {
            return model.session.clear_cotangent(index(i)?);
        }
        let v = lent(data, dtype, rank, shape)?;
        model.session.set_cotangent(index(i)?, v)
    })
}

/// # Safety
/// `m` is a live model whose inputs' memory is valid.
#[no_mangle]
pub unsafe extern "C" fn weft_run(m: *mut weft_model, steps: i64) -> i32 {
    with_model(m, |model| {
        let steps = u64::try_from(steps)
            .ok()
            .filter(|&s| s >= 1)
            .ok_or_else(|| RunError::usage(format!("steps must be at least 1, not {steps}")))?;
        model.run(steps)
    })
}

/// # Safety
/// `m` is a live model; `inputs` holds `weft_count(m, WEFT_INPUT)` pointers
/// (or is NULL), `outputs` `weft_count(m, WEFT_OUTPUT)` (or is NULL), as
/// weft.h says.
#[no_mangle]
pub unsafe extern "C" fn weft_run_with(
    m: *mut weft_model,
    steps: i64,
    inputs: *const *const c_void,
    outputs: *const *mut c_void,
) -> i32 {
    with_model(m, |model| {
        let steps = u64::try_from(steps)
            .ok()
            .filter(|&s| s >= 1)
            .ok_or_else(|| RunError::usage(format!("steps must be at least 1, not {steps}")))?;
        let (ni, no) = (
            model.session.desc.inputs.len(),
            model.session.desc.outputs.len(),
        );
        let ins: Vec<*const u8> = if inputs.is_null() {
            Vec::new()
        } else {
            (0..ni).map(|i| (*inputs.add(i)).cast()).collect()
        };
        let outs: Vec<*mut u8> = if outputs.is_null() {
            Vec::new()
        } else {
            (0..no).map(|i| (*outputs.add(i)).cast()).collect()
        };
        rt::set_threads(model.threads);
        model
            .session
            .run_with(model.main.as_ref(), steps, &ins, &outs)
    })
}

/// # Safety
/// `m` is NULL or a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_get_step(m: *const weft_model) -> i64 {
    if m.is_null() {
        return -1;
    }
    i64::try_from((*m).0.session.step).unwrap_or(i64::MAX)
}

/// # Safety
/// `m` is a live model.
#[no_mangle]
pub unsafe extern "C" fn weft_set_step(m: *mut weft_model, step: i64) -> i32 {
    with_model(m, |model| {
        model.session.step = u64::try_from(step)
            .map_err(|_| RunError::usage(format!("the step must be at least 0, not {step}")))?;
        Ok(())
    })
}

/// # Safety
/// `m` is a live model whose inputs' and cotangents' memory is valid.
#[no_mangle]
pub unsafe extern "C" fn weft_vjp(m: *mut weft_model) -> i32 {
    with_model(m, |model| model.vjp())
}

/// # Safety
/// `m` is a live model; `data` and `shape` are valid pointers (or NULL).
#[no_mangle]
pub unsafe extern "C" fn weft_get(
    m: *const weft_model,
    kind: i32,
    i: i32,
    data: *mut *const c_void,
    shape: *mut *const i64,
) -> i32 {
    // The error message is the model's: a read takes `*mut` internally only
    // to record it.
    with_model(m.cast_mut(), |model| {
        let v = model.value(kind, i)?;
        if !data.is_null() {
            *data = v.data.cast();
        }
        if !shape.is_null() {
            *shape = v.shape.as_ptr().cast();
        }
        Ok(())
    })
}

/// The program objects' symbols (docs/abi.md; `weft_vjp_*` for the VJP).
#[cfg(not(test))]
mod linked {
    weft_runtime::linked_program!(
        Main,
        weft_program_desc,
        weft_program_desc_len,
        weft_arena_bytes,
        weft_step
    );
    weft_runtime::linked_program!(
        Vjp,
        weft_vjp_program_desc,
        weft_vjp_program_desc_len,
        weft_vjp_arena_bytes,
        weft_vjp_step
    );
}
