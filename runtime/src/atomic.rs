//! Files written complete or not at all (contract section 12, `--out`): the
//! bytes go to a temporary file in the same directory, which is flushed to
//! disk (`fsync`) and renamed over the target, and the directory is flushed
//! so that the rename itself survives a crash. A reader — or a run killed
//! halfway — sees the old file or the new one, never a truncated one; a
//! failed write (a full disk) removes its temporary file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The temporary file beside `path`: `.NAME.weft-tmp-PID-K` (hidden, and
/// never the name of an output).
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let k = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.weft-tmp-{}-{k}", std::process::id()))
}

/// Whether `name` is a temporary file of [`write_atomic`] (a reader of a
/// directory skips them).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".weft-tmp-")
}

/// Writes `bytes` to `path` atomically (see the module header).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    } else {
        remove_stale(path);
    }
    result
}

/// Removes the temporary files that interrupted writes of `path` left.
fn remove_stale(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.weft-tmp-", name.to_string_lossy());
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Flushes the directory holding `path` (the entry a rename changed).
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("weft-atomic-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let d = dir("replace");
        let p = d.join("y.npy");
        write_atomic(&p, b"old").expect("first");
        write_atomic(&p, b"new contents").expect("second");
        assert_eq!(std::fs::read(&p).expect("read"), b"new contents");
        assert_eq!(names(&d), vec!["y.npy"]);
        // A killed write's temporary file goes with the next write.
        std::fs::write(d.join(".y.npy.weft-tmp-1-0"), b"torn").expect("stale");
        write_atomic(&p, b"again").expect("third");
        assert_eq!(names(&d), vec!["y.npy"]);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let d = dir("fail");
        let p = d.join("y.npy");
        write_atomic(&p, b"old").expect("first");
        // The rename cannot replace a directory: the write fails after the
        // temporary file was written.
        let blocked = d.join("z.npy");
        std::fs::create_dir_all(blocked.join("inside")).expect("a directory in the way");
        assert!(write_atomic(&blocked, b"data").is_err());
        assert_eq!(names(&d), vec!["y.npy", "z.npy"]);
        assert_eq!(std::fs::read(&p).expect("read"), b"old");
        assert!(write_atomic(&d.join("missing/y.npy"), b"x").is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn temporaries_are_recognised() {
        let t = temp_path(Path::new("/out/y.npy"));
        let name = t.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(is_temporary(&name.unwrap_or_default()));
        assert!(!is_temporary("y.npy"));
        assert_eq!(t.parent(), Some(Path::new("/out")));
    }
}
