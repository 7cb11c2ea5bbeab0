//! The CPU features a built executable needs (the descriptor's `requires`
//! records), checked before any compiled code runs: an executable built
//! with `--target-cpu x86-64-v4` on a CPU without AVX-512 says what is
//! missing instead of dying by SIGILL.

/// Whether this CPU has feature `name` (LLVM's spelling); None for a name
/// this check does not know.
pub fn has(name: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as d;
        Some(match name {
            "sse3" => d!("sse3"),
            "ssse3" => d!("ssse3"),
            "sse4.1" => d!("sse4.1"),
            "sse4.2" => d!("sse4.2"),
            "popcnt" => d!("popcnt"),
            "avx" => d!("avx"),
            "avx2" => d!("avx2"),
            "fma" => d!("fma"),
            "f16c" => d!("f16c"),
            "bmi" | "bmi1" => d!("bmi1"),
            "bmi2" => d!("bmi2"),
            "lzcnt" => d!("lzcnt"),
            "movbe" => d!("movbe"),
            "avx512f" => d!("avx512f"),
            "avx512bw" => d!("avx512bw"),
            "avx512cd" => d!("avx512cd"),
            "avx512dq" => d!("avx512dq"),
            "avx512vl" => d!("avx512vl"),
            _ => return None,
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        None
    }
}

/// Err (the message for the user) when a CPU described by `has` lacks one
/// of the `required` features; names `has` does not know are not counted.
pub fn check(required: &[String], has: &dyn Fn(&str) -> Option<bool>) -> Result<(), String> {
    let lacking: Vec<&str> = required
        .iter()
        .filter(|f| has(f) == Some(false))
        .map(String::as_str)
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    Err(format!(
        "this executable was built for a CPU with {}; this CPU lacks {}\n\
         note: rebuild it on this machine, or with `weft build --target-cpu x86-64-v2` \
         (or another level this CPU has)",
        required.join(", "),
        lacking.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(fs: &[&str]) -> Vec<String> {
        fs.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn this_cpu_has_the_baseline_and_unknown_names_are_not_counted() {
        // sse3 is on every CPU this project runs on.
        assert_eq!(check(&req(&["sse3"]), &has), Ok(()));
        assert_eq!(has("no-such-feature"), None);
        assert_eq!(check(&req(&["no-such-feature"]), &has), Ok(()));
    }

    #[test]
    fn a_missing_feature_is_named() {
        // A CPU with AVX2 but not AVX-512.
        let cpu = |f: &str| Some(!f.starts_with("avx512"));
        let e = check(&req(&["avx2", "avx512f", "avx512bw"]), &cpu).unwrap_err();
        assert!(e.contains("lacks avx512f, avx512bw"), "{e}");
        assert!(e.contains("--target-cpu"), "{e}");
        assert_eq!(check(&req(&["avx2", "fma"]), &cpu), Ok(()));
    }
}
