//! Profiles of a run (`--profile FILE`, `--stats`): one event per kernel
//! call, per part of a kernel split across threads, and per JIT
//! compilation, collected in the process and written at the end as a Chrome
//! trace-event file (Perfetto opens it) or summed into the `--stats` table.
//!
//! Compiled code reports kernel calls through `weft_rt_prof_enter`/`_exit`
//! (runtime/native), which it calls only while `weft_rt_profiling` is set;
//! `weft run`'s executor and the parallel loops call [`enter`], [`exit`] and
//! [`record`] directly. Recording costs nothing while the profile is off.

use std::cell::Cell;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::program::KernelDesc;

/// What an event measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// A call of kernel K.
    Kernel(u32),
    /// A part of kernel K run on one thread (a parallel loop's chunk).
    Part(u32),
    /// A JIT compilation of N kernels.
    Compile(u32),
}

/// The thread lanes of a trace.
pub const LANE_STEP: u32 = 1;
/// Worker `i` of the thread pool is lane `LANE_WORKER + i`.
pub const LANE_WORKER: u32 = 2;
/// The JIT's background compiler.
pub const LANE_COMPILER: u32 = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub what: What,
    pub lane: u32,
    /// Nanoseconds since the profile started.
    pub start: u64,
    pub dur: u64,
}

static ON: AtomicBool = AtomicBool::new(false);
static EPOCH: OnceLock<Instant> = OnceLock::new();
static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());
static CURRENT: AtomicU32 = AtomicU32::new(u32::MAX);

thread_local! {
    static OPENED: Cell<u64> = const { Cell::new(0) };
}

/// Non-zero while compiled code should report kernel calls (read by the
/// program object's `weft_step`, which declares it weak: docs/abi.md).
#[no_mangle]
#[allow(non_upper_case_globals)]
pub static weft_rt_profiling: AtomicI32 = AtomicI32::new(0);

/// Compiled code: kernel `k` begins.
#[no_mangle]
pub extern "C" fn weft_rt_prof_enter(k: i64) {
    enter(u32::try_from(k).unwrap_or(u32::MAX - 1));
}

/// Compiled code: kernel `k` ends.
#[no_mangle]
pub extern "C" fn weft_rt_prof_exit(k: i64) {
    exit(u32::try_from(k).unwrap_or(u32::MAX - 1));
}

/// Starts recording (from now on, [`on`] is true).
pub fn start() {
    EPOCH.get_or_init(Instant::now);
    ON.store(true, Ordering::Release);
    weft_rt_profiling.store(1, Ordering::Release);
}

/// Whether events are being recorded.
#[inline]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Nanoseconds since [`start`].
pub fn now() -> u64 {
    EPOCH.get().map_or(0, |e| {
        u64::try_from(e.elapsed().as_nanos()).unwrap_or(u64::MAX)
    })
}

/// Adds an event (while the profile is on).
pub fn record(ev: Event) {
    if on() {
        if let Ok(mut v) = EVENTS.lock() {
            v.push(ev);
        }
    }
}

/// Kernel `k` begins on the step's thread.
pub fn enter(k: u32) {
    CURRENT.store(k, Ordering::Relaxed);
    OPENED.with(|o| o.set(now()));
}

/// Kernel `k`, begun by [`enter`], ends.
pub fn exit(k: u32) {
    let start = OPENED.with(Cell::get);
    record(Event {
        what: What::Kernel(k),
        lane: LANE_STEP,
        start,
        dur: now().saturating_sub(start),
    });
    CURRENT.store(u32::MAX, Ordering::Relaxed);
}

/// The kernel running now, if any (what a parallel part belongs to).
pub fn current() -> Option<u32> {
    match CURRENT.load(Ordering::Relaxed) {
        u32::MAX => None,
        k => Some(k),
    }
}

/// Stops recording and returns the events, in the order recorded.
pub fn finish() -> Vec<Event> {
    ON.store(false, Ordering::Release);
    weft_rt_profiling.store(0, Ordering::Release);
    EVENTS
        .lock()
        .map(|mut v| std::mem::take(&mut *v))
        .unwrap_or_default()
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

fn list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("\"{}\"", esc(x))).collect();
    format!("[{}]", items.join(", "))
}

fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// The Chrome trace-event JSON of `events` (`{"traceEvents": [...]}`):
/// complete events (`"ph": "X"`, `ts`/`dur` in µs) named `k3 matmul`, whose
/// `args` name the kernel, the source `let`s and lines (`kernels[k]`);
/// `cat` is `kernel`, `part` or `compile`; metadata names the lanes.
pub fn trace_json(events: &[Event], kernels: &[KernelDesc], process: &str) -> String {
    let mut s = String::from("{\"traceEvents\": [\n");
    let _ = write!(
        s,
        "{{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": 1, \"tid\": {LANE_STEP}, \"args\": {{\"name\": \"{}\"}}}}",
        esc(process)
    );
    let mut lanes: Vec<u32> = events.iter().map(|e| e.lane).collect();
    lanes.push(LANE_STEP);
    lanes.sort_unstable();
    lanes.dedup();
    for lane in lanes {
        let name = match lane {
            LANE_STEP => "step".to_string(),
            LANE_COMPILER => "jit compiler".to_string(),
            l => format!("worker {}", l - LANE_WORKER),
        };
        let _ = write!(
            s,
            ",\n{{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": 1, \"tid\": {lane}, \"args\": {{\"name\": \"{name}\"}}}}"
        );
    }
    for e in events {
        let (cat, k) = match e.what {
            What::Kernel(k) => ("kernel", Some(k)),
            What::Part(k) => ("part", Some(k)),
            What::Compile(_) => ("compile", None),
        };
        let (name, args) = match (e.what, k) {
            (What::Compile(n), _) => (
                format!("jit compile ({n} kernel{})", if n == 1 { "" } else { "s" }),
                format!("{{\"kernels\": {n}}}"),
            ),
            (_, Some(k)) => {
                let d = kernels.get(k as usize).cloned().unwrap_or_default();
                let kind = if d.kind.is_empty() { "kernel" } else { &d.kind };
                (
                    format!("k{k} {kind}"),
                    format!(
                        "{{\"kernel\": {k}, \"kind\": \"{}\", \"lets\": {}, \"lines\": {}}}",
                        esc(kind),
                        list(&d.lets),
                        list(&d.lines)
                    ),
                )
            }
            (_, None) => continue,
        };
        let _ = write!(
            s,
            ",\n{{\"ph\": \"X\", \"cat\": \"{cat}\", \"name\": \"{}\", \"ts\": {}, \"dur\": {}, \"pid\": 1, \"tid\": {}, \"args\": {args}}}",
            esc(&name),
            micros(e.start),
            micros(e.dur),
            e.lane
        );
    }
    s.push_str("\n]}\n");
    s
}

/// The `--stats` table of a built executable: per kernel its calls and
/// time, and the source it computes; the kernels sorted by time.
pub fn stats_table(events: &[Event], kernels: &[KernelDesc]) -> String {
    let n = kernels.len().max(
        events
            .iter()
            .filter_map(|e| match e.what {
                What::Kernel(k) => Some(k as usize + 1),
                What::Part(_) | What::Compile(_) => None,
            })
            .max()
            .unwrap_or(0),
    );
    let mut calls = vec![0u64; n];
    let mut time = vec![0u64; n];
    for e in events {
        if let What::Kernel(k) = e.what {
            calls[k as usize] += 1;
            time[k as usize] += e.dur;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(time[k]));
    let total: u64 = time.iter().sum();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>6}  {:<11}  {:>7}  {:>11}  {:>6}  source (lets and lines)",
        "kernel", "kind", "calls", "time ms", "share"
    );
    for k in order {
        let d = kernels.get(k).cloned().unwrap_or_default();
        let share = if total > 0 {
            100.0 * time[k] as f64 / total as f64
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            "{:>6}  {:<11}  {:>7}  {:>11.3}  {:>5.1}%  {}",
            k,
            d.kind,
            calls[k],
            time[k] as f64 / 1e6,
            share,
            d.source()
        );
    }
    let _ = writeln!(s, "total time in kernels: {:.3} ms", total as f64 / 1e6);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kd(kind: &str, lines: &[&str], lets: &[&str]) -> KernelDesc {
        KernelDesc {
            kind: kind.into(),
            lines: lines.iter().map(|s| s.to_string()).collect(),
            lets: lets.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn trace_names_kernels_lets_and_lines() {
        let ks = vec![kd("matmul", &["19"], &["h"]), kd("map", &[], &["a\"b"])];
        let ev = [
            Event {
                what: What::Kernel(0),
                lane: LANE_STEP,
                start: 1500,
                dur: 2_000_250,
            },
            Event {
                what: What::Part(0),
                lane: LANE_WORKER + 1,
                start: 1600,
                dur: 900,
            },
            Event {
                what: What::Compile(3),
                lane: LANE_COMPILER,
                start: 0,
                dur: 10,
            },
            Event {
                what: What::Kernel(1),
                lane: LANE_STEP,
                start: 3_000_000,
                dur: 5,
            },
        ];
        let t = trace_json(&ev, &ks, "weft run x.weft");
        assert!(t.starts_with("{\"traceEvents\": ["));
        assert!(t.contains("\"name\": \"k0 matmul\", \"ts\": 1.500, \"dur\": 2000.250, \"pid\": 1, \"tid\": 1, \"args\": {\"kernel\": 0, \"kind\": \"matmul\", \"lets\": [\"h\"], \"lines\": [\"19\"]}"), "{t}");
        assert!(t.contains("\"cat\": \"part\""), "{t}");
        assert!(t.contains("\"name\": \"jit compile (3 kernels)\""), "{t}");
        assert!(t.contains("\"lets\": [\"a\\\"b\"]"), "{t}");
        assert!(t.contains("\"name\": \"worker 1\""), "{t}");
        let table = stats_table(&ev, &ks);
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[1].contains("matmul") && lines[1].contains("h (19)"),
            "{table}"
        );
        assert!(lines[2].contains("a\"b"), "{table}");
        assert!(table.contains("total time in kernels: 2.000 ms"), "{table}");
    }
}
