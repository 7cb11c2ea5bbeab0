//! The error type shared by the interpreter (`weft run`) and built executables.
//!
//! A [`RunError`] carries the process exit status the contract prescribes
//! (`2` bad command-line usage, `3` bad run-time data) together with a
//! message for the user.  Conversions from [`NpyError`] and [`UsageError`]
//! let callers use `?` on the runtime's other APIs.

use std::fmt;

use crate::flags::UsageError;
use crate::npy::NpyError;

/// Every exit status of `weft` and of built executables, defined here once
/// (the contract's section 8, plus 101).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success,
    /// The program has compile errors, or a backend cannot run it.
    Compile,
    /// Bad command-line usage (a missing file or tool included).
    Usage,
    /// Bad run-time data: a missing, unreadable or ill-typed input, a size
    /// bound twice, an index out of range.
    Data,
    /// A bug in weft: an internal compiler error, a damaged program object.
    Internal,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::Compile => 1,
            Exit::Usage => 2,
            Exit::Data => 3,
            Exit::Internal => 101,
        }
    }

    /// The status as the byte a process returns.
    pub const fn byte(self) -> u8 {
        self.code() as u8
    }
}

/// Exit status for bad command-line usage.
pub const EXIT_USAGE: i32 = Exit::Usage.code();
/// Exit status for bad run-time data (a missing, unreadable or ill-typed input).
pub const EXIT_DATA: i32 = Exit::Data.code();
/// Exit status for a bug in weft.
pub const EXIT_INTERNAL: i32 = Exit::Internal.code();

/// An error that ends a run; the process should print `message` on stderr
/// and exit with `exit_code`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunError {
    /// The process exit status (see [`EXIT_USAGE`], [`EXIT_DATA`]).
    pub exit_code: i32,
    /// What went wrong, naming the input, what was expected and what was found.
    pub message: String,
}

impl RunError {
    /// Bad run-time data: a wrong dtype or shape, a size name bound twice, a
    /// malformed `.npy` file (exit status 3).
    pub fn data(message: impl Into<String>) -> Self {
        RunError {
            exit_code: EXIT_DATA,
            message: message.into(),
        }
    }

    /// An error with the given status.
    pub fn new(exit_code: i32, message: impl Into<String>) -> Self {
        RunError {
            exit_code,
            message: message.into(),
        }
    }

    /// Bad command-line usage (exit status 2).
    pub fn usage(message: impl Into<String>) -> Self {
        RunError {
            exit_code: EXIT_USAGE,
            message: message.into(),
        }
    }

    /// A file could not be read or written (a missing input, an unwritable
    /// `--out` directory).  The contract counts a missing or unreadable input
    /// as bad run-time data, so this is exit status 3 as well.
    pub fn io(message: impl Into<String>) -> Self {
        RunError {
            exit_code: EXIT_DATA,
            message: message.into(),
        }
    }

    /// Prefixes the message with some context, e.g. `input 'x'`.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunError {}

impl From<NpyError> for RunError {
    fn from(e: NpyError) -> Self {
        RunError::data(e.message)
    }
}

impl From<UsageError> for RunError {
    /// A help request becomes exit status 0 with an empty message.
    fn from(e: UsageError) -> Self {
        RunError {
            exit_code: e.exit_code(),
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_set_exit_codes() {
        assert_eq!(RunError::data("x").exit_code, 3);
        assert_eq!(RunError::usage("x").exit_code, 2);
        assert_eq!(RunError::io("x").exit_code, 3);
    }

    #[test]
    fn display_and_context() {
        let e = RunError::data("expected f32[3], found f64[3]").context("input 'x'");
        assert_eq!(e.to_string(), "input 'x': expected f32[3], found f64[3]");
    }

    #[test]
    fn conversions() {
        let e: RunError = NpyError::new("bad magic").into();
        assert_eq!((e.exit_code, e.message.as_str()), (3, "bad magic"));
        let e: RunError = UsageError::new("unknown flag").into();
        assert_eq!(e.exit_code, 2);
    }
}
