//! Distributed data-parallel runs (language.md §13) on Open MPI, loaded at
//! run time.
//!
//! A process started by an MPI launcher (`mpirun`, which sets
//! `OMPI_COMM_WORLD_SIZE` and `PMIX_RANK`) loads Open MPI's C library with
//! `dlopen` (`libmpi.so.40`, or the file `WEFT_MPI_LIB` names), finds its
//! functions and predefined handles with `dlsym` (Open MPI's `MPI_COMM_WORLD`
//! is the address of the exported global `ompi_mpi_comm_world`, `MPI_FLOAT`
//! of `ompi_mpi_float`, `MPI_SUM` of `ompi_mpi_op_sum`, ...), and joins the
//! job. Any other process runs alone: rank 0 of a world of 1, and nothing is
//! loaded — so an executable never links libmpi (`ldd` shows only the C
//! library), and one whose program has collectives runs without a launcher.
//!
//! [`init`] starts this once per process (idempotent); [`rank`] and
//! [`world`] are then the feeds' values (0 and 1 before it, and in
//! libraries). [`allreduce_parts`] is the one collective the kernels call
//! (through `weft_rt_allreduce_v1`); [`agree`] and [`any`] are the driver's
//! small consensus calls. [`finish`] ends the process's part in the job:
//! `MPI_Finalize` after a success, `MPI_Abort` with the exit status after a
//! failure, so that one failing process ends the whole job at once.
//!
//! Sums are element-wise over the processes with `MPI_Allreduce`. Every
//! process receives the same bits: Open MPI's algorithms (recursive
//! doubling, ring, Rabenseifner, reduce + broadcast) either reduce each
//! element at one process and distribute it, or combine the same two partial
//! sums on both sides of each exchange, and IEEE addition is commutative.
//! The order in which the `P` contributions are added depends on `P` and on
//! the algorithm Open MPI picks for the message size, so results differ from
//! a one-process run only by summation order (docs/distributed.md).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Mutex, OnceLock};

use crate::error::{RunError, EXIT_USAGE};

/// The element types of a collective (the codes of `weft_rt_allreduce_v1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    F64,
    I32,
    I64,
}

impl Elem {
    /// The ABI code: 0 `f32`, 1 `f64`, 2 `i32`, 3 `i64`.
    pub fn from_code(c: i64) -> Option<Elem> {
        match c {
            0 => Some(Elem::F32),
            1 => Some(Elem::F64),
            2 => Some(Elem::I32),
            3 => Some(Elem::I64),
            _ => None,
        }
    }

    pub fn code(self) -> i64 {
        match self {
            Elem::F32 => 0,
            Elem::F64 => 1,
            Elem::I32 => 2,
            Elem::I64 => 3,
        }
    }

    pub fn bytes(self) -> usize {
        match self {
            Elem::F32 | Elem::I32 => 4,
            Elem::F64 | Elem::I64 => 8,
        }
    }
}

/// Where this process stands in its job.
pub struct Dist {
    pub rank: u64,
    pub world: u64,
    mpi: Option<Mpi>,
}

static STATE: OnceLock<Dist> = OnceLock::new();

/// Joins the job when an MPI launcher started this process (else runs
/// alone); idempotent. An error (exit status 2) when the launcher is there
/// but Open MPI's library cannot be loaded or started.
pub fn init() -> Result<&'static Dist, RunError> {
    if let Some(d) = STATE.get() {
        return Ok(d);
    }
    let d = match launcher() {
        None => Dist {
            rank: 0,
            world: 1,
            mpi: None,
        },
        Some(how) => {
            let mpi = Mpi::load().map_err(|e| {
                RunError::new(
                    EXIT_USAGE,
                    format!(
                        "this process was started by an MPI launcher ({how}) but {e}; \
                         install Open MPI 4 (`apt-get install openmpi-bin`) or name its \
                         library with WEFT_MPI_LIB=/path/to/libmpi.so.40"
                    ),
                )
            })?;
            let (rank, world) = mpi.start().map_err(|e| RunError::new(EXIT_USAGE, e))?;
            Dist {
                rank,
                world,
                mpi: Some(mpi),
            }
        }
    };
    Ok(STATE.get_or_init(|| d))
}

/// The launcher's mark in the environment, if any (`OMPI_COMM_WORLD_SIZE=2`).
fn launcher() -> Option<String> {
    ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK"]
        .iter()
        .find_map(|k| std::env::var(k).ok().map(|v| format!("{k}={v}")))
}

/// This process's rank (0 outside a job).
pub fn rank() -> u64 {
    STATE.get().map_or(0, |d| d.rank)
}

/// The number of processes of the job (1 outside a job).
pub fn world() -> u64 {
    STATE.get().map_or(1, |d| d.world)
}

/// Whether this process prints, logs and writes files: rank 0.
pub fn is_root() -> bool {
    rank() == 0
}

/// `error: MESSAGE`, or `error: rank R of P: MESSAGE` in a job of several
/// processes (every process reports its own failure).
pub fn error_text(message: &str) -> String {
    if world() > 1 {
        format!("error: rank {} of {}: {message}", rank(), world())
    } else {
        format!("error: {message}")
    }
}

/// Ends this process's part in the job and returns `code`: `MPI_Finalize`
/// after a success; after a failure, `MPI_Abort` with `code`, which ends
/// every process of the job (and does not return). Outside a job, only
/// returns `code`.
pub fn finish(code: i32) -> i32 {
    let Some(mpi) = STATE.get().and_then(|d| d.mpi.as_ref()) else {
        return code;
    };
    if code == 0 {
        // SAFETY: MPI was initialised by `start`, and is finalised once
        // (the process ends after this).
        unsafe { (mpi.finalize)() };
        code
    } else {
        abort(code)
    }
}

/// Ends the whole job with exit status `code` (the process alone outside a job).
pub fn abort(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if let Some(mpi) = STATE.get().and_then(|d| d.mpi.as_ref()) {
        // SAFETY: an initialised MPI; MPI_Abort ends the process.
        unsafe { (mpi.abort)(mpi.comm_world, code) };
    }
    std::process::exit(code)
}

/// Reports a failure of a collective and ends the job (exit status 3).
fn fail(message: String) -> ! {
    eprintln!("{}", error_text(&message));
    abort(crate::error::EXIT_DATA)
}

/// Element-wise sums over the processes of several buffers of one element
/// type, in one collective call: part `i` reads `len` elements at `src` and
/// writes their sum at `dst` (which may be `src`). In a world of one, each
/// `dst` becomes a copy of its `src`.
///
/// # Safety
/// Each `src` is valid for reads and each `dst` for writes of `len`
/// elements; a `dst` overlaps no other part's buffers.
pub unsafe fn allreduce_parts(elem: Elem, parts: &[(*const u8, *mut u8, usize)]) {
    let es = elem.bytes();
    let Some(mpi) = STATE.get().and_then(|d| d.mpi.as_ref()) else {
        for &(s, d, n) in parts {
            if s != d.cast_const() {
                std::ptr::copy(s, d, n * es);
            }
        }
        return;
    };
    if let [(s, d, n)] = parts {
        // One part: from its buffer into its result (or in place).
        let src = (s.cast_mut() != *d).then_some(*s);
        mpi.allreduce(elem, src, *d, *n, Reduce::Sum);
        return;
    }
    // One contiguous buffer for every part: one call, not one per tensor.
    let total: usize = parts.iter().map(|p| p.2).sum();
    let mut scratch = SCRATCH.lock().unwrap_or_else(|p| p.into_inner());
    if scratch.len() < total * es {
        let more = total * es - scratch.len();
        if scratch.try_reserve_exact(more).is_err() {
            fail(format!(
                "not enough memory for the all-reduce buffer ({} bytes)",
                total * es
            ));
        }
        scratch.resize(total * es, 0);
    }
    let mut at = 0;
    for &(s, _, n) in parts {
        std::ptr::copy_nonoverlapping(s, scratch.as_mut_ptr().add(at), n * es);
        at += n * es;
    }
    mpi.allreduce(elem, None, scratch.as_mut_ptr(), total, Reduce::Sum);
    let mut at = 0;
    for &(_, d, n) in parts {
        std::ptr::copy_nonoverlapping(scratch.as_ptr().add(at), d, n * es);
        at += n * es;
    }
}

/// The packing buffer of [`allreduce_parts`], kept between steps.
static SCRATCH: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Whether every process holds the same `vals`; where they differ, the
/// smallest and the largest value of each. One pair of small collectives
/// (a world of one always agrees).
pub fn agree(vals: &[i64]) -> Result<(), (Vec<i64>, Vec<i64>)> {
    let Some(mpi) = STATE.get().and_then(|d| d.mpi.as_ref()) else {
        return Ok(());
    };
    let (mut lo, mut hi) = (vals.to_vec(), vals.to_vec());
    // SAFETY: buffers of `vals.len()` i64 values, reduced in place.
    unsafe {
        mpi.allreduce(
            Elem::I64,
            None,
            lo.as_mut_ptr().cast(),
            lo.len(),
            Reduce::Min,
        );
        mpi.allreduce(
            Elem::I64,
            None,
            hi.as_mut_ptr().cast(),
            hi.len(),
            Reduce::Max,
        );
    }
    if lo == hi {
        Ok(())
    } else {
        Err((lo, hi))
    }
}

/// Whether `flag` holds on any process (the flag itself in a world of one).
pub fn any(flag: bool) -> bool {
    let Some(mpi) = STATE.get().and_then(|d| d.mpi.as_ref()) else {
        return flag;
    };
    let mut v = [i64::from(flag)];
    // SAFETY: one i64, reduced in place.
    unsafe { mpi.allreduce(Elem::I64, None, v.as_mut_ptr().cast(), 1, Reduce::Max) };
    v[0] != 0
}

#[derive(Clone, Copy)]
enum Reduce {
    Sum,
    Min,
    Max,
}

type Handle = *mut c_void;
type InitThread = unsafe extern "C" fn(*mut c_int, *mut c_void, c_int, *mut c_int) -> c_int;
type CommInt = unsafe extern "C" fn(Handle, *mut c_int) -> c_int;
type Allreduce =
    unsafe extern "C" fn(*const c_void, *mut c_void, c_int, Handle, Handle, Handle) -> c_int;
type Abort = unsafe extern "C" fn(Handle, c_int) -> c_int;
type Finalize = unsafe extern "C" fn() -> c_int;

/// Open MPI's functions and predefined handles, found in the loaded library.
struct Mpi {
    init_thread: InitThread,
    comm_rank: CommInt,
    comm_size: CommInt,
    allreduce: Allreduce,
    abort: Abort,
    finalize: Finalize,
    comm_world: Handle,
    types: [Handle; 4],
    ops: [Handle; 3],
}

// SAFETY: the handles are addresses of Open MPI's immutable predefined
// objects; calls are made one at a time (MPI_THREAD_SERIALIZED is asked for).
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

extern "C" {
    fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, name: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}

const RTLD_NOW: c_int = 2;
/// Open MPI's components (loaded by libmpi itself) need its symbols global.
const RTLD_GLOBAL: c_int = 0x100;
const MPI_THREAD_SERIALIZED: c_int = 2;
/// Open MPI's `MPI_IN_PLACE`.
const MPI_IN_PLACE: *const c_void = std::ptr::without_provenance(1);
/// The most elements one MPI call takes (its count is a C `int`).
const MAX_COUNT: usize = 1 << 30;

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated string.
    unsafe {
        let e = dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

impl Mpi {
    fn load() -> Result<Mpi, String> {
        let path = std::env::var("WEFT_MPI_LIB").unwrap_or_else(|_| "libmpi.so.40".into());
        let c = CString::new(path.clone()).map_err(|_| format!("the path {path} has a NUL"))?;
        // SAFETY: a NUL-terminated path; loading runs the library's initialisers.
        let lib = unsafe { dlopen(c.as_ptr(), RTLD_NOW | RTLD_GLOBAL) };
        if lib.is_null() {
            return Err(format!(
                "Open MPI's library {path} cannot be loaded ({})",
                last_dl_error()
            ));
        }
        let sym = |name: &str| -> Result<*mut c_void, String> {
            let c = CString::new(name).map_err(|_| name.to_string())?;
            // SAFETY: a loaded library and a NUL-terminated name.
            let p = unsafe { dlsym(lib, c.as_ptr()) };
            if p.is_null() {
                Err(format!(
                    "{path} has no symbol `{name}` (is it Open MPI 4's libmpi.so.40?)"
                ))
            } else {
                Ok(p)
            }
        };
        // SAFETY: each symbol is the Open MPI function of that name, with
        // the C signature of the MPI standard written in its type.
        unsafe {
            Ok(Mpi {
                init_thread: std::mem::transmute::<*mut c_void, InitThread>(sym(
                    "MPI_Init_thread",
                )?),
                comm_rank: std::mem::transmute::<*mut c_void, CommInt>(sym("MPI_Comm_rank")?),
                comm_size: std::mem::transmute::<*mut c_void, CommInt>(sym("MPI_Comm_size")?),
                allreduce: std::mem::transmute::<*mut c_void, Allreduce>(sym("MPI_Allreduce")?),
                abort: std::mem::transmute::<*mut c_void, Abort>(sym("MPI_Abort")?),
                finalize: std::mem::transmute::<*mut c_void, Finalize>(sym("MPI_Finalize")?),
                comm_world: sym("ompi_mpi_comm_world")?,
                types: [
                    sym("ompi_mpi_float")?,
                    sym("ompi_mpi_double")?,
                    sym("ompi_mpi_int32_t")?,
                    sym("ompi_mpi_int64_t")?,
                ],
                ops: [
                    sym("ompi_mpi_op_sum")?,
                    sym("ompi_mpi_op_min")?,
                    sym("ompi_mpi_op_max")?,
                ],
            })
        }
    }

    /// `MPI_Init_thread`, then this process's rank and the world size.
    fn start(&self) -> Result<(u64, u64), String> {
        let mut provided: c_int = 0;
        let (mut r, mut s): (c_int, c_int) = (0, 0);
        // SAFETY: MPI-2 allows null argc/argv; the out-pointers are ours.
        let ok = unsafe {
            (self.init_thread)(
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                MPI_THREAD_SERIALIZED,
                &mut provided,
            ) == 0
                && (self.comm_rank)(self.comm_world, &mut r) == 0
                && (self.comm_size)(self.comm_world, &mut s) == 0
        };
        match (ok, u64::try_from(r), u64::try_from(s)) {
            (true, Ok(r), Ok(s)) if r < s => Ok((r, s)),
            _ => Err("MPI_Init_thread failed: the MPI job could not be joined".into()),
        }
    }

    /// `MPI_Allreduce` of `count` elements, from `src` into `dst` (in place
    /// when `src` is None), in calls of at most [`MAX_COUNT`] elements.
    ///
    /// # Safety
    /// `src` and `dst` hold `count` elements.
    unsafe fn allreduce(
        &self,
        elem: Elem,
        src: Option<*const u8>,
        dst: *mut u8,
        count: usize,
        op: Reduce,
    ) {
        let ty = self.types[elem.code() as usize];
        let op = self.ops[op as usize];
        let es = elem.bytes();
        let mut at = 0;
        while at < count {
            let n = (count - at).min(MAX_COUNT);
            let s = src.map_or(MPI_IN_PLACE, |s| s.add(at * es).cast());
            let rc = (self.allreduce)(
                s,
                dst.add(at * es).cast(),
                n as c_int,
                ty,
                op,
                self.comm_world,
            );
            if rc != 0 {
                fail(format!("MPI_Allreduce failed with MPI error {rc}"));
            }
            at += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_world_of_one_copies() {
        let src = [1.5f32, -2.0, 3.25];
        let mut dst = [0f32; 3];
        let mut inplace = [7i64, 8];
        // SAFETY: buffers of the given lengths.
        unsafe {
            allreduce_parts(
                Elem::F32,
                &[(src.as_ptr().cast(), dst.as_mut_ptr().cast(), 3)],
            );
            let p = inplace.as_mut_ptr().cast::<u8>();
            allreduce_parts(Elem::I64, &[(p, p, 2)]);
        }
        assert_eq!(dst, src);
        assert_eq!(inplace, [7, 8]);
        assert!(agree(&[1, 2]).is_ok());
        assert!(any(true) && !any(false));
        assert_eq!((rank(), world()), (0, 1));
    }

    #[test]
    fn element_codes() {
        for c in 0..4 {
            assert_eq!(Elem::from_code(c).map(Elem::code), Some(c));
        }
        assert_eq!(Elem::from_code(4), None);
    }
}
