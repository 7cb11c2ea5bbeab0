//! Checkpoints (contract section 12): every param of a run and the number of
//! steps taken, as one Apache Arrow IPC file `DIR/ckpt-STEP.arrow` — one
//! record batch of one row, one column per param leaf named by its path,
//! each of the canonical extension type `arrow.fixed_shape_tensor` (a
//! fixed-size list of the param's elements, its shape in the extension's
//! metadata); schema metadata `weft.step` and `weft.program` (the BLAKE3
//! hash of the program's descriptor, so a checkpoint of another program is
//! refused). Written through [`crate::atomic`]: a crash leaves earlier
//! checkpoints intact and never a torn file under a checkpoint's name.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::types::Float16Type;
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int32Array,
    Int64Array, PrimitiveArray, RecordBatch, UInt8Array,
};
use arrow_buffer::{Buffer, ScalarBuffer};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{DataType, Field, Schema};

use crate::npy::{DType, Data, NpyArray};
use crate::program::ProgramDesc;
use crate::RunError;

const EXTENSION: &str = "arrow.fixed_shape_tensor";

/// `weft.program`: the BLAKE3 hash of the descriptor without its
/// `requires` record (the same program built for another CPU is the same).
pub fn program_id(descriptor: &[u8]) -> String {
    let mut h = blake3::Hasher::new();
    for line in descriptor.split(|&b| b == b'\n') {
        // Not what the code was compiled for, nor what it tells a profile.
        if !line.starts_with(b"requires ") && !line.starts_with(b"kernel ") && !line.is_empty() {
            h.update(line);
            h.update(b"\n");
        }
    }
    h.finalize().to_hex().to_string()
}

/// `ckpt-00000042.arrow`.
pub fn file_name(step: u64) -> String {
    format!("ckpt-{step:08}.arrow")
}

/// The step of a checkpoint's file name.
fn step_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("ckpt-")?.strip_suffix(".arrow")?;
    (digits.len() >= 8 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn value_type(d: DType) -> DataType {
    match d {
        DType::F16 => DataType::Float16,
        DType::F32 => DataType::Float32,
        DType::F64 => DataType::Float64,
        DType::I32 => DataType::Int32,
        DType::I64 => DataType::Int64,
        DType::U8 => DataType::UInt8,
        DType::Bool => DataType::Boolean,
    }
}

/// The values as an Arrow array, taking over their memory (no copy).
fn values(d: Data) -> ArrayRef {
    match d {
        Data::F16(v) => {
            let n = v.len();
            let buf = ScalarBuffer::new(Buffer::from_vec(v), 0, n);
            Arc::new(PrimitiveArray::<Float16Type>::new(buf, None))
        }
        Data::F32(v) => Arc::new(Float32Array::from(v)),
        Data::F64(v) => Arc::new(Float64Array::from(v)),
        Data::I32(v) => Arc::new(Int32Array::from(v)),
        Data::I64(v) => Arc::new(Int64Array::from(v)),
        Data::U8(v) => Arc::new(UInt8Array::from(v)),
        Data::Bool(v) => Arc::new(BooleanArray::from(v)),
    }
}

/// The leaf values of an Arrow array of `dtype` (None: another type).
fn data_of(a: &dyn Array, dtype: DType) -> Option<Data> {
    let any = a.as_any();
    Some(match dtype {
        DType::F16 => Data::F16(
            any.downcast_ref::<PrimitiveArray<Float16Type>>()?
                .values()
                .iter()
                .map(|h| h.to_bits())
                .collect(),
        ),
        DType::F32 => Data::F32(any.downcast_ref::<Float32Array>()?.values().to_vec()),
        DType::F64 => Data::F64(any.downcast_ref::<Float64Array>()?.values().to_vec()),
        DType::I32 => Data::I32(any.downcast_ref::<Int32Array>()?.values().to_vec()),
        DType::I64 => Data::I64(any.downcast_ref::<Int64Array>()?.values().to_vec()),
        DType::U8 => Data::U8(any.downcast_ref::<UInt8Array>()?.values().to_vec()),
        DType::Bool => Data::Bool(
            any.downcast_ref::<BooleanArray>()?
                .iter()
                .map(|b| b.unwrap_or(false))
                .collect(),
        ),
    })
}

/// The param leaves of a checkpoint: (path, value), in declaration order.
pub type Leaves = Vec<(String, NpyArray)>;

fn shape_json(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("{{\"shape\":[{}]}}", parts.join(","))
}

fn parse_shape_json(s: &str) -> Option<Vec<usize>> {
    let inner = s.trim().strip_prefix('{')?.strip_suffix('}')?;
    let list = inner
        .trim()
        .strip_prefix("\"shape\"")?
        .trim()
        .strip_prefix(':')?
        .trim();
    let list = list.split(']').next()?.trim().strip_prefix('[')?;
    if list.trim().is_empty() {
        return Some(Vec::new());
    }
    list.split(',').map(|x| x.trim().parse().ok()).collect()
}

/// The bytes of a checkpoint file.
pub fn encode(program: &str, step: u64, leaves: Leaves) -> Result<Vec<u8>, String> {
    let mut fields = Vec::with_capacity(leaves.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(leaves.len());
    for (name, value) in leaves {
        let size = i32::try_from(value.len())
            .map_err(|_| format!("param `{name}` has too many elements for an Arrow list"))?;
        let dt = value_type(value.dtype());
        let shape = shape_json(&value.shape);
        let item = Arc::new(Field::new("item", dt, false));
        // One row (a zero-size tensor's list has no values to count rows by).
        let list = FixedSizeListArray::try_new_with_length(
            item.clone(),
            size,
            values(value.data),
            None,
            1,
        )
        .map_err(|e| e.to_string())?;
        let meta = HashMap::from([
            ("ARROW:extension:name".to_string(), EXTENSION.to_string()),
            ("ARROW:extension:metadata".to_string(), shape),
        ]);
        fields
            .push(Field::new(name, DataType::FixedSizeList(item, size), false).with_metadata(meta));
        columns.push(Arc::new(list));
    }
    let meta = HashMap::from([
        ("weft.step".to_string(), step.to_string()),
        ("weft.program".to_string(), program.to_string()),
    ]);
    let schema = Arc::new(Schema::new(fields).with_metadata(meta));
    let batch = if columns.is_empty() {
        RecordBatch::try_new_with_options(
            schema.clone(),
            columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(1)),
        )
    } else {
        RecordBatch::try_new(schema.clone(), columns)
    }
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut w = FileWriter::try_new(&mut out, &schema).map_err(|e| e.to_string())?;
    w.write(&batch).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    drop(w);
    Ok(out)
}

/// A checkpoint read back.
pub struct Checkpoint {
    pub step: u64,
    pub program: String,
    /// Leaf name → value.
    pub leaves: Vec<(String, NpyArray)>,
}

/// Reads a checkpoint file's bytes; Err says why it is damaged.
pub fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let mut r = FileReader::try_new(Cursor::new(bytes), None).map_err(|e| e.to_string())?;
    let schema = r.schema();
    let meta = schema.metadata();
    let step = meta
        .get("weft.step")
        .and_then(|s| s.parse().ok())
        .ok_or("no `weft.step` in its schema metadata")?;
    let program = meta
        .get("weft.program")
        .cloned()
        .ok_or("no `weft.program` in its schema metadata")?;
    let batch = r
        .next()
        .ok_or("no record batch")?
        .map_err(|e| e.to_string())?;
    if batch.num_rows() != 1 {
        return Err(format!("{} rows, not 1", batch.num_rows()));
    }
    let mut leaves = Vec::with_capacity(batch.num_columns());
    for (f, col) in schema.fields().iter().zip(batch.columns()) {
        let name = f.name();
        let fm = f.metadata();
        if fm.get("ARROW:extension:name").map(String::as_str) != Some(EXTENSION) {
            return Err(format!("column `{name}` is not an {EXTENSION}"));
        }
        let shape = fm
            .get("ARROW:extension:metadata")
            .and_then(|m| parse_shape_json(m))
            .ok_or_else(|| format!("column `{name}` has no readable shape"))?;
        let list = col
            .as_any()
            .downcast_ref::<FixedSizeListArray>()
            .ok_or_else(|| format!("column `{name}` is not a fixed-size list"))?;
        let inner = list.value(0);
        let dtype = match inner.data_type() {
            DataType::Float16 => DType::F16,
            DataType::Float32 => DType::F32,
            DataType::Float64 => DType::F64,
            DataType::Int32 => DType::I32,
            DataType::Int64 => DType::I64,
            DataType::UInt8 => DType::U8,
            DataType::Boolean => DType::Bool,
            other => return Err(format!("column `{name}` holds {other}, not a weft dtype")),
        };
        let data = data_of(inner.as_ref(), dtype)
            .ok_or_else(|| format!("column `{name}` cannot be read"))?;
        let arr =
            NpyArray::new(shape, data).map_err(|e| format!("column `{name}`: {}", e.message))?;
        leaves.push((name.clone(), arr));
    }
    Ok(Checkpoint {
        step,
        program,
        leaves,
    })
}

/// The checkpoint files of `dir`, oldest first: (step, path). Temporary
/// files of an interrupted write are not listed.
pub fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, RunError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(RunError::io(format!(
                "cannot read the checkpoint directory {}: {e}",
                dir.display()
            )))
        }
    };
    let mut v: Vec<(u64, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            step_of(&name).map(|s| (s, e.path()))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// Writes the checkpoint of step `step` into `dir` (created if missing),
/// then keeps the `keep` newest.
pub fn write(
    dir: &Path,
    program: &str,
    step: u64,
    leaves: Leaves,
    keep: Option<u64>,
) -> Result<PathBuf, RunError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        RunError::io(format!(
            "cannot create the checkpoint directory {}: {e}",
            dir.display()
        ))
    })?;
    let bytes = encode(program, step, leaves)
        .map_err(|e| RunError::data(format!("cannot encode the checkpoint of step {step}: {e}")))?;
    let path = dir.join(file_name(step));
    crate::atomic::write_atomic(&path, &bytes)
        .map_err(|e| RunError::io(format!("cannot write {}: {e}", path.display())))?;
    if let Some(keep) = keep {
        let all = list(dir)?;
        let n = all
            .len()
            .saturating_sub(usize::try_from(keep).unwrap_or(usize::MAX));
        for (_, old) in &all[..n] {
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(path)
}

/// Params read from a checkpoint for `desc`, checked: every param leaf
/// present with its dtype and `shapes[i]`, and the same program.
pub fn params_from(
    ck: Checkpoint,
    path: &Path,
    desc: &ProgramDesc,
    program: &str,
    shapes: &[Vec<usize>],
) -> Result<Vec<NpyArray>, RunError> {
    let shown = path.display();
    if ck.program != program {
        return Err(RunError::data(format!(
            "{shown} is a checkpoint of another program (weft.program {}, this program is {program})",
            ck.program
        )));
    }
    let mut by_name: HashMap<String, NpyArray> = ck.leaves.into_iter().collect();
    let mut out = Vec::with_capacity(desc.params.len());
    for (p, shape) in desc.params.iter().zip(shapes) {
        let name = &p.decl.name;
        let v = by_name
            .remove(name)
            .ok_or_else(|| RunError::data(format!("{shown} has no param `{name}`")))?;
        if v.dtype() != p.decl.dtype || v.shape != *shape {
            return Err(RunError::data(format!(
                "param `{name}` is {} in {shown}, but the program's is {}",
                crate::bind::concrete_text(v.dtype(), &v.shape),
                crate::bind::concrete_text(p.decl.dtype, shape)
            )));
        }
        out.push(v);
    }
    if let Some(extra) = by_name.keys().next() {
        return Err(RunError::data(format!(
            "{shown} has a param `{extra}` that the program does not have"
        )));
    }
    Ok(out)
}

/// The newest complete checkpoint of `dir` (or the file `from` itself),
/// with warnings for the damaged ones passed over; None when there is none.
pub fn newest(
    from: &Path,
    warn: &mut dyn FnMut(String),
) -> Result<Option<(PathBuf, Checkpoint)>, RunError> {
    let candidates = if from.is_dir() || !from.exists() {
        list(from)?.into_iter().rev().map(|(_, p)| p).collect()
    } else {
        vec![from.to_path_buf()]
    };
    for path in candidates {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                warn(format!(
                    "ignoring checkpoint {}: cannot read it: {e}",
                    path.display()
                ));
                continue;
            }
        };
        match decode(&bytes) {
            Ok(ck) => return Ok(Some((path, ck))),
            Err(why) if from.is_file() => {
                return Err(RunError::data(format!(
                    "{} is not a complete checkpoint: {why}",
                    path.display()
                )))
            }
            Err(why) => warn(format!(
                "ignoring damaged checkpoint {}: {why}",
                path.display()
            )),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::parse_descriptor;

    fn arrays() -> Vec<(String, NpyArray)> {
        let a = |shape: Vec<usize>, data: Data| NpyArray::new(shape, data).expect("an array");
        vec![
            (
                "net.w".into(),
                a(
                    vec![2, 3],
                    Data::F32(vec![1.5, -0.0, f32::NAN, f32::INFINITY, 2.0, -3.25]),
                ),
            ),
            ("b".into(), a(vec![2], Data::F64(vec![1e-300, -7.0]))),
            ("n".into(), a(vec![], Data::I64(vec![i64::MIN]))),
            ("k".into(), a(vec![3], Data::I32(vec![1, -2, i32::MAX]))),
            ("img".into(), a(vec![1, 2], Data::U8(vec![0, 255]))),
            (
                "mask".into(),
                a(vec![3], Data::Bool(vec![true, false, true])),
            ),
            ("empty".into(), a(vec![0, 4], Data::F32(vec![]))),
        ]
    }

    fn leaves(v: &[(String, NpyArray)]) -> Leaves {
        v.to_vec()
    }

    #[test]
    fn every_dtype_round_trips_bit_for_bit() {
        let v = arrays();
        let bytes = encode("prog", 42, leaves(&v)).expect("encode");
        let ck = decode(&bytes).expect("decode");
        assert_eq!((ck.step, ck.program.as_str()), (42, "prog"));
        assert_eq!(ck.leaves.len(), v.len());
        for ((n1, a1), (n2, a2)) in ck.leaves.iter().zip(&v) {
            assert_eq!(n1, n2);
            assert_eq!(a1.shape, a2.shape);
            assert_eq!(
                crate::npy::write_npy(a1),
                crate::npy::write_npy(a2),
                "{n1} differs"
            );
        }
    }

    #[test]
    fn a_truncated_or_foreign_file_is_damaged() {
        let v = arrays();
        let bytes = encode("prog", 1, leaves(&v)).expect("encode");
        for cut in [0, 8, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..cut]).is_err(), "{cut} bytes decoded");
        }
        assert!(decode(b"\\x93NUMPY not arrow").is_err());
    }

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("weft-ckpt-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn keep_the_newest_and_pass_over_damaged_ones() {
        let d = scratch("keep");
        let v = arrays();
        for step in [3, 10, 7, 12] {
            write(&d, "prog", step, leaves(&v), Some(2)).expect("write");
        }
        let steps: Vec<u64> = list(&d)
            .expect("list")
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(steps, vec![10, 12]);
        // A torn newest file and an interrupted write's temporary file.
        std::fs::write(d.join(file_name(13)), b"ARROW1 torn").expect("torn");
        std::fs::write(d.join(".ckpt-00000014.arrow.weft-tmp-1-0"), b"partial").expect("tmp");
        let mut warnings = Vec::new();
        let (path, ck) = newest(&d, &mut |w| warnings.push(w))
            .expect("no error")
            .expect("a checkpoint");
        assert_eq!(ck.step, 12);
        assert_eq!(path, d.join(file_name(12)));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("ckpt-00000013.arrow"), "{warnings:?}");
        // A file given directly must be complete.
        assert!(newest(&d.join(file_name(13)), &mut |_| {}).is_err());
        assert!(newest(&scratch("none"), &mut |_| {})
            .expect("empty")
            .is_none());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_checkpoint_of_another_program_or_params_is_refused() {
        let desc = parse_descriptor(
            b"weft-program 1\ndims\nparam w f32 1 2 full 0\nparam n i64 0 full 0\n",
        )
        .expect("desc");
        let a = |shape: Vec<usize>, data: Data| NpyArray::new(shape, data).expect("an array");
        let w = a(vec![2], Data::F32(vec![1.0, 2.0]));
        let n = a(vec![], Data::I64(vec![5]));
        let shapes = vec![vec![2], vec![]];
        let check = |program: &str, v: Vec<(String, NpyArray)>| {
            let bytes = encode(program, 5, leaves(&v)).expect("encode");
            params_from(
                decode(&bytes).expect("decode"),
                Path::new("c.arrow"),
                &desc,
                "me",
                &shapes,
            )
        };
        let ok = check("me", vec![("w".into(), w.clone()), ("n".into(), n.clone())]).expect("same");
        assert_eq!(ok.len(), 2);
        let e = check(
            "other",
            vec![("w".into(), w.clone()), ("n".into(), n.clone())],
        )
        .err();
        assert!(e.is_some_and(|e| e.message.contains("another program")));
        let e = check("me", vec![("w".into(), w.clone())]).err();
        assert_eq!(
            e.map(|e| e.message),
            Some("c.arrow has no param `n`".into())
        );
        let wrong = a(vec![2], Data::F64(vec![1.0, 2.0]));
        let e = check("me", vec![("w".into(), wrong), ("n".into(), n.clone())]).err();
        assert_eq!(
            e.map(|e| e.message),
            Some("param `w` is f64[2] in c.arrow, but the program's is f32[2]".into())
        );
        let e = check(
            "me",
            vec![("w".into(), w), ("n".into(), n.clone()), ("z".into(), n)],
        )
        .err();
        assert!(e.is_some_and(|e| e.message.contains("`z`")));
    }

    #[test]
    fn the_program_id_ignores_the_cpu_features() {
        let a = program_id(b"weft-program 1\ndims\nrequires avx2 fma\n");
        let b = program_id(b"weft-program 1\ndims\n");
        let c = program_id(b"weft-program 1\ndims B\n");
        assert_eq!(a, b);
        assert_ne!(b, c);
        assert_eq!(a.len(), 64);
    }
}
