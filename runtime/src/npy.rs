//! NumPy `.npy` reading and writing.
//!
//! Reads format versions 1.0, 2.0 and 3.0 (3.0 has a UTF-8 header) for the
//! dtypes weft uses: `f2 f4 f8 i4 i8 b1 u1`.  Big-endian data (`>f4`) is
//! byte-swapped, Fortran-ordered data is reordered to C order, and anything
//! else (complex, structured, object, other integer widths) is refused with a
//! message naming the dtype.  The header is parsed by a small strict parser
//! for the Python literal NumPy writes (a dict with the keys `descr`,
//! `fortran_order` and `shape`).
//!
//! Reading never panics and never allocates more than the input justifies:
//! the header is limited to [`MAX_HEADER_LEN`] bytes and [`MAX_NDIM`]
//! dimensions, and the size implied by the shape is computed with checked
//! arithmetic and compared with the bytes actually present before any
//! element buffer is allocated.
//!
//! Writing produces exactly what `numpy.save` writes: version 1.0 (2.0 only
//! if the header does not fit in 65535 bytes), a `<` (or `|`) descr,
//! `fortran_order: False`, NumPy's spare space for growing the first axis,
//! and a header padded with spaces and ended by `\n` so the data starts at a
//! multiple of 64 bytes.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

mod header;

use header::{parse_header, Header};

/// The magic bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Headers longer than this are refused as absurd.
pub const MAX_HEADER_LEN: usize = 1 << 20;
/// The most dimensions an array may have (NumPy's own limit).
pub const MAX_NDIM: usize = 64;
/// NumPy aligns the start of the data to this many bytes.
const ARRAY_ALIGN: usize = 64;
/// NumPy leaves room for the first axis to grow to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// An element type that weft can exchange through `.npy` files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F16,
    F32,
    F64,
    I32,
    I64,
    Bool,
    U8,
}

impl DType {
    /// Every supported dtype.
    pub const ALL: [DType; 7] = [
        DType::F16,
        DType::F32,
        DType::F64,
        DType::I32,
        DType::I64,
        DType::Bool,
        DType::U8,
    ];

    /// The weft name: `f16`, `f32`, `f64`, `i32`, `i64`, `bool`, `u8`.
    pub fn name(&self) -> &'static str {
        match self {
            DType::F16 => "f16",
            DType::F32 => "f32",
            DType::F64 => "f64",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::Bool => "bool",
            DType::U8 => "u8",
        }
    }

    /// The little-endian NumPy type string written to `.npy` headers
    /// (`<f4`, `|b1`, ...).
    pub fn numpy_descr(&self) -> &'static str {
        match self {
            DType::F16 => "<f2",
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::Bool => "|b1",
            DType::U8 => "|u1",
        }
    }

    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        match self {
            DType::F16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool | DType::U8 => 1,
        }
    }

    /// Whether this is a floating-point dtype.
    pub fn is_float(&self) -> bool {
        matches!(self, DType::F16 | DType::F32 | DType::F64)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The elements of an array, in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// Raw IEEE 754 half-precision bits (see [`crate::half`]).
    F16(Vec<u16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
    U8(Vec<u8>),
}

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F16(_) => DType::F16,
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
            Data::U8(_) => DType::U8,
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F16(v) => v.len(),
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::U8(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An n-dimensional array as stored in a `.npy` file: a shape and its
/// elements in C order.  Invariant: `data.len() == shape.iter().product()`
/// (the empty product is 1, so a 0-d array has one element).
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Data,
}

impl NpyArray {
    /// Builds an array, checking that the data has as many elements as the
    /// shape implies.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Self, NpyError> {
        match element_count(&shape) {
            Some(n) if n == data.len() => Ok(NpyArray { shape, data }),
            _ => Err(NpyError::new(format!(
                "shape {} needs {} elements but {} were given",
                shape_text(&shape),
                element_count(&shape).map_or("too many".to_string(), |n| n.to_string()),
                data.len()
            ))),
        }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }
}

/// Why a `.npy` file could not be read or written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyError {
    pub message: String,
}

impl NpyError {
    pub fn new(message: impl Into<String>) -> Self {
        NpyError {
            message: message.into(),
        }
    }
}

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for NpyError {}

/// The product of a shape, or `None` on overflow.
fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// A shape as weft writes it: `[2, 3]`.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// Reads the fixed preamble: returns the header length and the offset of the
/// header text, given at least the first 12 bytes (or fewer for short input).
fn parse_preamble(bytes: &[u8]) -> Result<(usize, usize, u8), NpyError> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(NpyError::new("not a .npy file (bad magic)"));
    }
    let (Some(&major), Some(&minor)) = (bytes.get(6), bytes.get(7)) else {
        return Err(NpyError::new(
            "truncated: the file ends inside the .npy preamble",
        ));
    };
    let len_bytes = match (major, minor) {
        (1, 0) => 2,
        (2, 0) | (3, 0) => 4,
        _ => {
            return Err(NpyError::new(format!(
                "unsupported .npy format version {major}.{minor} (weft reads 1.0, 2.0 and 3.0)"
            )))
        }
    };
    let Some(raw) = bytes.get(8..8 + len_bytes) else {
        return Err(NpyError::new(
            "truncated: the file ends inside the .npy preamble",
        ));
    };
    let header_len = raw
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError::new(format!(
            "absurd .npy header length {header_len} bytes (the limit is {MAX_HEADER_LEN})"
        )));
    }
    Ok((header_len, 8 + len_bytes, major))
}

/// Parses everything up to the data: returns the header and the data offset.
fn read_header(bytes: &[u8]) -> Result<(Header, usize), NpyError> {
    let (header_len, start, major) = parse_preamble(bytes)?;
    let end = start + header_len;
    let Some(text) = bytes.get(start..end) else {
        return Err(NpyError::new(format!(
            "truncated: the .npy header is {header_len} bytes but the file ends after {}",
            bytes.len().saturating_sub(start)
        )));
    };
    if major == 3 && std::str::from_utf8(text).is_err() {
        return Err(NpyError::new("malformed .npy header: not valid UTF-8"));
    }
    // Versions 1 and 2 are latin-1; the parser only accepts ASCII outside
    // strings, and a descr with non-ASCII bytes is refused as unsupported.
    Ok((parse_header(text)?, end))
}

/// The number of data bytes a header implies, with overflow checked.
fn data_size(header: &Header) -> Result<(usize, usize), NpyError> {
    if header.shape.len() > MAX_NDIM {
        return Err(NpyError::new(format!(
            "absurd .npy header: {} dimensions (NumPy allows at most {MAX_NDIM})",
            header.shape.len()
        )));
    }
    let too_large = || {
        NpyError::new(format!(
            "absurd shape {} in .npy header: the array would not fit in memory",
            shape_text(&header.shape)
        ))
    };
    let count = element_count(&header.shape).ok_or_else(too_large)?;
    let nbytes = count
        .checked_mul(header.dtype.itemsize())
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(too_large)?;
    Ok((count, nbytes))
}

/// Checks that exactly `nbytes` of data are present.
fn check_data_len(
    header: &Header,
    count: usize,
    nbytes: usize,
    present: u64,
) -> Result<(), NpyError> {
    let expected = nbytes as u64;
    if present < expected {
        return Err(NpyError::new(format!(
            "truncated: header says {count} elements of {} ({nbytes} bytes) but only {present} bytes of data follow",
            header.dtype
        )));
    }
    if present > expected {
        return Err(NpyError::new(format!(
            "{} bytes of trailing garbage after the {count} elements of {} the header describes",
            present - expected,
            header.dtype
        )));
    }
    Ok(())
}

/// Decodes exactly `header`'s elements from `raw` (whose length was checked).
fn decode(header: &Header, raw: &[u8]) -> Result<NpyArray, NpyError> {
    macro_rules! numbers {
        ($variant:ident, $t:ty, $n:expr) => {{
            let v: Vec<$t> = raw
                .chunks_exact($n)
                .map(|c| {
                    let mut b = [0u8; $n];
                    b.copy_from_slice(c);
                    if header.big_endian {
                        <$t>::from_be_bytes(b)
                    } else {
                        <$t>::from_le_bytes(b)
                    }
                })
                .collect();
            Data::$variant(reorder(header, v))
        }};
    }
    let data = match header.dtype {
        DType::F16 => numbers!(F16, u16, 2),
        DType::F32 => numbers!(F32, f32, 4),
        DType::F64 => numbers!(F64, f64, 8),
        DType::I32 => numbers!(I32, i32, 4),
        DType::I64 => numbers!(I64, i64, 8),
        DType::U8 => Data::U8(reorder(header, raw.to_vec())),
        DType::Bool => {
            if let Some(i) = raw.iter().position(|&b| b > 1) {
                return Err(NpyError::new(format!(
                    "invalid bool byte 0x{:02x} at element {i} (only 0 and 1 are allowed)",
                    raw[i]
                )));
            }
            Data::Bool(reorder(header, raw.iter().map(|&b| b == 1).collect()))
        }
    };
    Ok(NpyArray {
        shape: header.shape.clone(),
        data,
    })
}

/// Converts Fortran-ordered elements to C order (a no-op otherwise).
fn reorder<T: Copy>(header: &Header, v: Vec<T>) -> Vec<T> {
    let shape = &header.shape;
    if !header.fortran_order || shape.len() < 2 || v.is_empty() {
        return v;
    }
    // Fortran strides: axis 0 is contiguous.
    let mut strides = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        strides[k] = strides[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(v.len());
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    for _ in 0..v.len() {
        out.push(v[offset]);
        // Advance the C-order odometer, last axis fastest.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < shape[k] {
                break;
            }
            offset -= strides[k] * shape[k];
            index[k] = 0;
        }
    }
    out
}

/// Parses a whole `.npy` file held in memory.
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let (header, offset) = read_header(bytes)?;
    let (count, nbytes) = data_size(&header)?;
    let raw = &bytes[offset..];
    check_data_len(&header, count, nbytes, raw.len() as u64)?;
    decode(&header, raw)
}

/// Reads and parses a `.npy` file.  The file size is checked against the
/// header before the data is read, so a huge or truncated file fails fast.
/// Every message starts with the path: `data/x.npy: truncated: ...`.
pub fn read_npy_file(path: &Path) -> Result<NpyArray, NpyError> {
    let shown = path.display();
    let io_err = |e: std::io::Error| NpyError::new(format!("{shown}: cannot read: {e}"));
    let with_path = |e: NpyError| NpyError::new(format!("{shown}: {}", e.message));
    let mut file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(NpyError::new(format!(
            "{shown}: is a directory, not a .npy file"
        )));
    }
    // Only regular files have a meaningful size; pipes and devices are read
    // up to the size the header implies (plus one byte to detect garbage).
    let file_len = meta.is_file().then_some(meta.len());

    let (header, offset, count, nbytes) = read_file_header(&mut file, path)?;
    if let Some(len) = file_len {
        check_data_len(&header, count, nbytes, len.saturating_sub(offset as u64))
            .map_err(with_path)?;
    }
    let mut raw = Vec::with_capacity(match file_len {
        Some(_) => nbytes,
        None => nbytes.min(1 << 20),
    });
    file.take(nbytes as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(io_err)?;
    check_data_len(&header, count, nbytes, raw.len() as u64).map_err(with_path)?;
    decode(&header, &raw).map_err(with_path)
}

/// Reads an open `.npy` file's preamble and header (and no more): the
/// header, the data offset, the element count and the data bytes; errors
/// start with the path.
fn read_file_header(
    file: &mut File,
    path: &Path,
) -> Result<(Header, usize, usize, usize), NpyError> {
    let shown = path.display();
    let io_err = |e: std::io::Error| NpyError::new(format!("{shown}: cannot read: {e}"));
    let with_path = |e: NpyError| NpyError::new(format!("{shown}: {}", e.message));
    let mut head = Vec::new();
    (&mut *file)
        .take(12)
        .read_to_end(&mut head)
        .map_err(io_err)?;
    let (header_len, start, _) = parse_preamble(&head).map_err(with_path)?;
    let need = (start + header_len) as u64;
    (&mut *file)
        .take(need.saturating_sub(head.len() as u64))
        .read_to_end(&mut head)
        .map_err(io_err)?;
    head.truncate(start + header_len);
    let (header, offset) = read_header(&head).map_err(with_path)?;
    let (count, nbytes) = data_size(&header).map_err(with_path)?;
    Ok((header, offset, count, nbytes))
}

/// Where a `.npy` file's data lies, and in what form: what [`crate::mmap`]
/// needs to use it in place.
#[derive(Clone, Debug, PartialEq)]
pub struct FileLayout {
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub big_endian: bool,
    pub fortran_order: bool,
    /// The data's offset in the file.
    pub offset: usize,
    pub data_bytes: usize,
}

/// The layout of a regular `.npy` file, its header and size checked as
/// [`read_npy_file`] checks them (the same messages); `None` for something
/// other than a regular file.
pub fn file_layout(path: &Path) -> Result<Option<FileLayout>, NpyError> {
    let shown = path.display();
    let io_err = |e: std::io::Error| NpyError::new(format!("{shown}: cannot read: {e}"));
    let with_path = |e: NpyError| NpyError::new(format!("{shown}: {}", e.message));
    let mut file = File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Ok(None);
    }
    let (header, offset, count, nbytes) = read_file_header(&mut file, path)?;
    check_data_len(
        &header,
        count,
        nbytes,
        meta.len().saturating_sub(offset as u64),
    )
    .map_err(with_path)?;
    Ok(Some(FileLayout {
        dtype: header.dtype,
        shape: header.shape.clone(),
        big_endian: header.big_endian,
        fortran_order: header.fortran_order,
        offset,
        data_bytes: nbytes,
    }))
}

/// The header dict exactly as `numpy.save` writes it, before padding.
fn header_dict(arr: &NpyArray) -> String {
    let shape = match arr.shape.as_slice() {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        dims => {
            let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        arr.dtype().numpy_descr()
    );
    if let Some(first) = arr.shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    dict
}

/// Serialises an array as NumPy's `numpy.save` would.  The array must satisfy
/// the [`NpyArray`] invariant (see [`NpyArray::new`]); [`write_npy_file`]
/// checks it.
pub fn write_npy(arr: &NpyArray) -> Vec<u8> {
    let dict = header_dict(arr);
    let hlen = dict.len() + 1; // + the final '\n'
                               // NumPy's rule: pad with at least one space so the data starts at a
                               // multiple of 64; use version 2.0 only if the length overflows a u16.
    let pad_for = |prefix: usize| ARRAY_ALIGN - (prefix + hlen) % ARRAY_ALIGN;
    let (version, len_bytes) = if hlen + pad_for(10) <= usize::from(u16::MAX) {
        (1u8, 2usize)
    } else {
        (2u8, 4usize)
    };
    let prefix = MAGIC.len() + 2 + len_bytes;
    let pad = pad_for(prefix);
    let total_header = hlen + pad;

    let mut out = Vec::with_capacity(prefix + total_header + arr.len() * arr.dtype().itemsize());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(total_header as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(total_header as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.push(b'\n');
    match &arr.data {
        Data::F16(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Data::F32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Data::F64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Data::I32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Data::I64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        Data::Bool(v) => out.extend(v.iter().map(|&b| u8::from(b))),
        Data::U8(v) => out.extend_from_slice(v),
    }
    out
}

/// Writes an array to a `.npy` file (replacing it), after checking that its
/// data matches its shape.  Messages start with the path.
pub fn write_npy_file(path: &Path, arr: &NpyArray) -> Result<(), NpyError> {
    let shown = path.display();
    if element_count(&arr.shape) != Some(arr.len()) {
        return Err(NpyError::new(format!(
            "{shown}: cannot write: shape {} does not match the {} elements given",
            shape_text(&arr.shape),
            arr.len()
        )));
    }
    // Complete or not at all: a full disk or a killed run never leaves a
    // truncated array behind.
    crate::atomic::write_atomic(path, &write_npy(arr))
        .map_err(|e| NpyError::new(format!("{shown}: cannot write: {e}")))
}

#[cfg(test)]
mod tests;
