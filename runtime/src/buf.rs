//! Buffers as the ABI wants them: C order, tightly packed, 64-byte aligned,
//! allocated fallibly (a size the machine cannot hold is an error, not an
//! abort).

use std::alloc::{alloc_zeroed, dealloc, Layout};

use crate::npy::{DType, Data, NpyArray};

/// The ABI's buffer alignment.
pub const ALIGN: usize = 64;

/// A zero-initialised, 64-byte aligned byte buffer.
pub struct AlignedBuf {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
}

impl AlignedBuf {
    /// `len` zero bytes; None when the memory is not there. A zero-length
    /// buffer still has a valid, aligned address.
    pub fn zeroed(len: usize) -> Option<AlignedBuf> {
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            return None;
        }
        Some(AlignedBuf { ptr, len, layout })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` holds `len` initialised bytes.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: `ptr` holds `len` initialised bytes, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// The elements of an array, copied into a new buffer (native byte
    /// order; a bool is one byte, 0 or 1).
    pub fn from_npy(arr: &NpyArray) -> Option<AlignedBuf> {
        fn copy<T: Copy, const N: usize>(
            v: &[T],
            to_bytes: impl Fn(T) -> [u8; N],
        ) -> Option<AlignedBuf> {
            let mut b = AlignedBuf::zeroed(v.len().checked_mul(N)?)?;
            for (dst, &x) in b.bytes_mut().chunks_exact_mut(N).zip(v) {
                dst.copy_from_slice(&to_bytes(x));
            }
            Some(b)
        }
        match &arr.data {
            Data::F16(v) => copy(v, u16::to_ne_bytes),
            Data::F32(v) => copy(v, f32::to_ne_bytes),
            Data::F64(v) => copy(v, f64::to_ne_bytes),
            Data::I32(v) => copy(v, i32::to_ne_bytes),
            Data::I64(v) => copy(v, i64::to_ne_bytes),
            Data::Bool(v) => copy(v, |x| [u8::from(x)]),
            Data::U8(v) => copy(v, |x| [x]),
        }
    }

    /// The buffer read as an array of `dtype` and `shape` (its byte length
    /// must be the shape's element count times the item size).
    pub fn to_npy(&self, dtype: DType, shape: &[usize]) -> NpyArray {
        npy_from_bytes(dtype, shape.to_vec(), self.bytes())
    }
}

/// Elements in native byte order (a bool one byte) read as an array of
/// `dtype` and `shape`.
pub fn npy_from_bytes(dtype: DType, shape: Vec<usize>, b: &[u8]) -> NpyArray {
    fn read<T, const N: usize>(b: &[u8], from: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                from(a)
            })
            .collect()
    }
    let data = match dtype {
        DType::F16 => Data::F16(read(b, u16::from_ne_bytes)),
        DType::F32 => Data::F32(read(b, f32::from_ne_bytes)),
        DType::F64 => Data::F64(read(b, f64::from_ne_bytes)),
        DType::I32 => Data::I32(read(b, i32::from_ne_bytes)),
        DType::I64 => Data::I64(read(b, i64::from_ne_bytes)),
        DType::Bool => Data::Bool(b.iter().map(|&x| x != 0).collect()),
        DType::U8 => Data::U8(b.to_vec()),
    };
    NpyArray { shape, data }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_round_trips() {
        let arr = NpyArray::new(
            vec![2, 3],
            Data::F32(vec![1.0, -2.5, 3.0, 0.0, f32::MAX, 7.0]),
        )
        .expect("array");
        let b = AlignedBuf::from_npy(&arr).expect("memory");
        assert_eq!(b.as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.len(), 24);
        assert_eq!(b.to_npy(DType::F32, &[2, 3]), arr);
        let arr = NpyArray::new(vec![3], Data::Bool(vec![true, false, true])).expect("array");
        let b = AlignedBuf::from_npy(&arr).expect("memory");
        assert_eq!(b.bytes(), &[1, 0, 1]);
        assert_eq!(b.to_npy(DType::Bool, &[3]), arr);
        let e = AlignedBuf::zeroed(0).expect("empty");
        assert!(e.is_empty());
        assert_eq!(e.as_ptr() as usize % ALIGN, 0);
        assert!(AlignedBuf::zeroed(usize::MAX - 8).is_none());
    }
}
