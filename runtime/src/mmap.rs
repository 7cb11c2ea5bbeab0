//! Memory-mapped `.npy` inputs: a dataset larger than memory is read
//! through the page cache, only the rows a step touches (contract, section
//! 10: inputs are read without copying where the format allows).
//!
//! An input file is mapped when its data is in the form the step reads —
//! little-endian (or one byte per element, not bool, whose bytes must be
//! checked), C order, starting at a 64-byte aligned offset (NumPy aligns the
//! header so) — and large enough to be worth it; otherwise it is read. The
//! pages a step touched are dropped from the process ([`Mapped::release`])
//! every few steps: they stay in the page cache, and the resident memory of
//! a run stays near what a step uses.

use std::ffi::c_void;
use std::fs::File;
use std::path::Path;

use crate::npy::{DType, NpyError};

/// Files whose data is at least this large are mapped.
pub const MAP_MIN_BYTES: usize = 1 << 20;

/// A read-only private mapping of a whole file.
pub struct Mapped {
    base: *mut c_void,
    len: usize,
    /// Where the array's data starts.
    pub offset: usize,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

// SAFETY: the mapping is read-only and owned; nothing aliases it mutably.
unsafe impl Send for Mapped {}

#[cfg(unix)]
mod sys {
    use std::ffi::c_void;
    pub const PROT_READ: i32 = 1;
    pub const MAP_PRIVATE: i32 = 2;
    pub const MADV_DONTNEED: i32 = 4;
    extern "C" {
        pub fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: i32,
            flags: i32,
            fd: i32,
            offset: i64,
        ) -> *mut c_void;
        pub fn munmap(addr: *mut c_void, len: usize) -> i32;
        pub fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
    }
}

impl Mapped {
    /// Maps `path` when its data can be used in place (see the module
    /// header); `Ok(None)` when it must be read instead. The header is
    /// checked exactly as [`crate::npy::read_npy_file`] checks it.
    pub fn open(path: &Path) -> Result<Option<Mapped>, NpyError> {
        let Some(info) = crate::npy::file_layout(path)? else {
            return Ok(None);
        };
        let in_place = !info.big_endian
            && !info.fortran_order
            && info.dtype != DType::Bool
            && info.dtype != DType::F16
            && info.offset % 64 == 0
            && info.data_bytes >= MAP_MIN_BYTES;
        if !in_place {
            return Ok(None);
        }
        map_file(path, info.offset + info.data_bytes).map(|m| {
            m.map(|(base, len)| Mapped {
                base,
                len,
                offset: info.offset,
                dtype: info.dtype,
                shape: info.shape,
            })
        })
    }

    /// The first byte of the data (64-byte aligned).
    pub fn data_ptr(&self) -> *const u8 {
        // SAFETY: `offset` is within the mapping (checked at open).
        unsafe { self.base.cast::<u8>().add(self.offset) }
    }

    /// Drops the mapping's resident pages from this process (they stay in the
    /// page cache and come back on the next touch).
    pub fn release(&self) {
        #[cfg(unix)]
        // SAFETY: the whole range is this mapping, read-only and private.
        unsafe {
            sys::madvise(self.base, self.len, sys::MADV_DONTNEED);
        }
    }
}

#[cfg(unix)]
fn map_file(path: &Path, len: usize) -> Result<Option<(*mut c_void, usize)>, NpyError> {
    use std::os::unix::io::AsRawFd;
    let file = File::open(path)
        .map_err(|e| NpyError::new(format!("{}: cannot read: {e}", path.display())))?;
    // SAFETY: a read-only private mapping of an open file, of a length the
    // file was checked to have; the result is checked for MAP_FAILED.
    let p = unsafe {
        sys::mmap(
            std::ptr::null_mut(),
            len,
            sys::PROT_READ,
            sys::MAP_PRIVATE,
            file.as_raw_fd(),
            0,
        )
    };
    if p as isize == -1 || p.is_null() {
        return Ok(None);
    }
    Ok(Some((p, len)))
}

#[cfg(not(unix))]
fn map_file(_: &Path, _: usize) -> Result<Option<(*mut c_void, usize)>, NpyError> {
    Ok(None)
}

impl Drop for Mapped {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: `base`/`len` are the mapping made at open, unmapped once.
        unsafe {
            sys::munmap(self.base, self.len);
        }
    }
}
