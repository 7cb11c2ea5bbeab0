//! `--log-file FILE`: the logged outputs as CSV, so that a loss curve can be
//! plotted without scraping stderr.
//!
//! The first line is the header: `step`, then one column per logged output
//! (a tensor of `n` values gives `n` columns `name[0]`, `name[1]`, .. in C
//! order). Each following line is one logged step: its index (the value of
//! `step` during that step, 0 for the first) and the values, floats in the
//! shortest form that reads back exactly, bools as `1`/`0`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::npy::{Data, NpyArray};
use crate::RunError;

/// The most values one logged output may contribute to a row.
pub const MAX_COLUMNS_PER_OUTPUT: usize = 64;

/// A CSV log being written.
pub struct CsvLog {
    out: BufWriter<File>,
    path: PathBuf,
    names: Vec<String>,
    /// The step of the row being collected, and its cells per name.
    row: Option<(u64, Vec<Option<Vec<String>>>)>,
    header: bool,
    error: Option<std::io::Error>,
}

impl CsvLog {
    /// Creates (truncates) `path` for the outputs `names`, in column order.
    pub fn create(path: &Path, names: Vec<String>) -> Result<CsvLog, RunError> {
        let file = File::create(path).map_err(|e| {
            RunError::data(format!("--log-file: cannot create {}: {e}", path.display()))
        })?;
        Ok(CsvLog {
            out: BufWriter::new(file),
            path: path.to_path_buf(),
            names,
            row: None,
            header: false,
            error: None,
        })
    }

    /// One logged value; `step` counts steps run (1 after the first).
    pub fn record(&mut self, step: u64, name: &str, arr: &NpyArray) -> Result<(), RunError> {
        let Some(col) = self.names.iter().position(|n| n == name) else {
            return Ok(());
        };
        if arr.len() > MAX_COLUMNS_PER_OUTPUT {
            return Err(RunError::usage(format!(
                "--log-file: output `{name}` has {} values; a CSV log takes outputs of at most {MAX_COLUMNS_PER_OUTPUT} values (log a reduction, e.g. `output {name}_mean = mean({name})`)",
                arr.len()
            )));
        }
        if self.row.as_ref().is_some_and(|(s, _)| *s != step) {
            self.flush_row();
        }
        let n = self.names.len();
        let (_, cells) = self.row.get_or_insert_with(|| (step, vec![None; n]));
        cells[col] = Some(cells_of(arr));
        if cells.iter().all(Option::is_some) {
            self.flush_row();
        }
        Ok(())
    }

    fn flush_row(&mut self) {
        let Some((step, cells)) = self.row.take() else {
            return;
        };
        if !self.header {
            let mut h = vec!["step".to_string()];
            for (name, c) in self.names.iter().zip(&cells) {
                match c {
                    Some(v) if v.len() == 1 => h.push(name.clone()),
                    Some(v) => h.extend((0..v.len()).map(|i| format!("{name}[{i}]"))),
                    None => h.push(name.clone()),
                }
            }
            self.write_line(&h.join(","));
            self.header = true;
        }
        let mut line = vec![(step.saturating_sub(1)).to_string()];
        for c in cells {
            line.extend(c.unwrap_or_else(|| vec![String::new()]));
        }
        self.write_line(&line.join(","));
    }

    fn write_line(&mut self, line: &str) {
        if self.error.is_none() {
            if let Err(e) = writeln!(self.out, "{line}") {
                self.error = Some(e);
            }
        }
    }

    /// Writes the last row and closes the file.
    pub fn finish(mut self) -> Result<(), RunError> {
        self.flush_row();
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
        match self.error {
            None => Ok(()),
            Some(e) => Err(RunError::data(format!(
                "--log-file: cannot write {}: {e}",
                self.path.display()
            ))),
        }
    }
}

/// The CSV cells of an array's values, in C order.
fn cells_of(arr: &NpyArray) -> Vec<String> {
    match &arr.data {
        Data::F32(v) => v
            .iter()
            .map(|x| float(f64::from(*x), x.to_string()))
            .collect(),
        Data::F64(v) => v.iter().map(|x| float(*x, x.to_string())).collect(),
        Data::F16(v) => v
            .iter()
            .map(|x| {
                let f = crate::half::f16_to_f32(*x);
                float(f64::from(f), f.to_string())
            })
            .collect(),
        Data::I32(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::I64(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::U8(v) => v.iter().map(|x| x.to_string()).collect(),
        Data::Bool(v) => v.iter().map(|x| u8::from(*x).to_string()).collect(),
    }
}

/// `nan`, `inf`, `-inf` as NumPy and pandas read them; else Rust's shortest form.
fn float(x: f64, shortest: String) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        shortest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_rows() {
        let dir = std::env::temp_dir().join(format!("weft-logcsv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.csv");
        let mut log = CsvLog::create(&path, vec!["loss".into(), "w".into()]).unwrap();
        let s = |v: f32| NpyArray::new(vec![], Data::F32(vec![v])).unwrap();
        let w = NpyArray::new(vec![2], Data::I64(vec![3, -4])).unwrap();
        log.record(1, "loss", &s(0.5)).unwrap();
        log.record(1, "w", &w).unwrap();
        log.record(2, "loss", &s(f32::NAN)).unwrap();
        log.record(2, "w", &w).unwrap();
        log.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "step,loss,w[0],w[1]\n0,0.5,3,-4\n1,nan,3,-4\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
