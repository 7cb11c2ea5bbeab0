"""The weft benchmark driver: run by bench/run (see bench/README.md).

Runs every workload in weft (the executable of `weft build`, and `weft run`)
and in the peers (NumPy, PyTorch eager/compile, jax.jit, onnxruntime), each
in a fresh process, on the same machine in one go; writes
results/RESULTS.md, results/results.json and results/results.csv.

Timing weft. A weft program runs whole: read inputs, N steps, write outputs.
Every workload program is written so that one step is the workload (a param
updated each step keeps it stepwise, see bench/workloads/). The time per
step is (T(N steps) - T(1 step)) / (N - 1), with T the median wall time of
the whole process over rounds: start-up, reading inputs, first-touch page
faults of the buffers and writing outputs cancel out, so the figure is the
steady state of a program whose buffers are allocated once (weft's arena is
planned statically and reused across steps).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREADS = 2
ENV = dict(os.environ, OMP_NUM_THREADS="2", MKL_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")

W1_N = 1 << 24
W5_SHAPE = (4096, 4096)
# W8: conv2d NCHW x [N, C, H, W], w [O, C, KH, KW], stride 1, padding 1 (so
# OH, OW = H, W); forward, grad input and grad weight: 3 × 2·N·O·C·KH·KW·OH·OW.
W9_N = 10000
W8_X = (32, 16, 32, 32)
W8_W = (16, 16, 3, 3)
W8_FLOP = 3 * 2 * W8_X[0] * W8_W[0] * W8_W[1] * W8_W[2] * W8_W[3] * W8_X[2] * W8_X[3]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data


def make_data(d):
    rng = np.random.default_rng(0)
    f32 = np.float32
    save = lambda n, a: np.save(os.path.join(d, n + ".npy"), a)  # noqa: E731
    save("w1_x", rng.standard_normal(W1_N, dtype=f32))
    for n in (1024, 4096):
        save(f"w2_a{n}", rng.standard_normal((n, n), dtype=f32))
        save(f"w2_b{n}", rng.standard_normal((n, n), dtype=f32))
    save("w3_x", rng.standard_normal((256, 784), dtype=f32))
    save("w3_y", rng.integers(0, 10, 256).astype(np.int32))
    for name, shape in (("w1", (784, 512)), ("w2", (512, 512)), ("w3", (512, 10))):
        save(f"w3_{name}", (rng.standard_normal(shape, dtype=f32) * 0.05).astype(f32))
        save(f"w3_b{name[1]}", np.zeros(shape[1], f32))
    save("w4_x", rng.standard_normal((1, 64), dtype=f32))
    for name, shape in (("w1", (64, 64)), ("w2", (64, 64)), ("w3", (64, 10))):
        save(f"w4_{name}", (rng.standard_normal(shape, dtype=f32) * 0.1).astype(f32))
        save(f"w4_b{name[1]}", np.zeros(shape[1], f32))
    save("w5_x", rng.standard_normal(W5_SHAPE, dtype=f32))
    save("w7_x", np.ones(1024, f32))
    save("w8_x", rng.standard_normal(W8_X, dtype=f32))
    save("w8_w", (rng.standard_normal(W8_W, dtype=f32) * 0.1).astype(f32))
    save("w8_gy", rng.standard_normal((W8_X[0], W8_W[0]) + W8_X[2:], dtype=f32))
    save("w9_x", rng.standard_normal((W9_N, 64), dtype=f32))
    save("w9_y", rng.integers(0, 10, W9_N).astype(np.int32))
    for name, shape in (("w1", (64, 256)), ("w2", (256, 10))):
        save(f"w9_{name}", (rng.standard_normal(shape, dtype=f32) * 0.1).astype(f32))
        save(f"w9_b{name[1]}", np.zeros(shape[1], f32))


def chain_program(k):
    lines = [f"// W7: a chain of {k} elementwise ops", "dim N", "input x: f32[N]", "let v0 = x"]
    for i in range(k):
        op = "* 0.999" if i % 2 == 0 else "+ 0.001"
        lines.append(f"let v{i + 1} = v{i} {op}")
    lines.append(f"output y = v{k}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- weft


def wall(cmd, env=None):
    """(seconds, max RSS MiB) of one process; raises on failure."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or ENV)
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {err.strip()[:400]}")
    return dt, ru.ru_maxrss / 1024.0


def per_step(cmd, budget_s, rounds, max_steps=100000):
    """Median seconds per step by differencing N steps and 1 step."""
    base = lambda n: cmd + ["--steps", str(n)]  # noqa: E731
    t1, _ = wall(base(1))
    # Grow the step count until the steps take a fifth of the budget, so that
    # the estimate is not lost in the process's own noise.
    s = 3
    while True:
        ts, _ = wall(base(s))
        if ts - t1 >= budget_s / 5 or s >= max_steps:
            break
        s = min(max_steps, s * 8)
    est = max((ts - t1) / (s - 1), 1e-7)
    n = int(min(max_steps, max(3, budget_s / est)))
    ones, ns, rss = [], [], 0.0
    for _ in range(rounds):
        a, _ = wall(base(1))
        b, r = wall(base(n))
        ones.append(a)
        ns.append(b)
        rss = max(rss, r)
    s = (statistics.median(ns) - statistics.median(ones)) / (n - 1)
    return s, {"steps": n, "t1_s": statistics.median(ones), "tn_s": statistics.median(ns), "peak_rss_mib": rss}


class Weft:
    def __init__(self, weft, tmp, data):
        self.weft, self.tmp, self.data = weft, tmp, data
        self.exe_ok = None
        self.exe_error = None

    def inputs(self, wl):
        d = lambda n: os.path.join(self.data, n + ".npy")  # noqa: E731
        return {
            "w1": ["--input", f"x={d('w1_x')}"],
            "w2_1024": ["--input", f"a={d('w2_a1024')}", "--param", f"b={d('w2_b1024')}"],
            "w2_4096": ["--input", f"a={d('w2_a4096')}", "--param", f"b={d('w2_b4096')}"],
            "w3": ["--input", f"x={d('w3_x')}", "--input", f"y={d('w3_y')}"]
            + sum((["--param", f"{p}={d('w3_' + p)}"] for p in ("w1", "b1", "w2", "b2", "w3", "b3")), []),
            "w4": ["--input", f"x={d('w4_x')}"]
            + sum((["--param", f"{p}={d('w4_' + p)}"] for p in ("w1", "b1", "w2", "b2", "w3", "b3")), []),
            "w5_softmax": ["--input", f"x={d('w5_x')}"],
            "w5_layernorm": ["--input", f"x={d('w5_x')}"],
            "w8": ["--input", f"x={d('w8_x')}", "--input", f"gy={d('w8_gy')}", "--param", f"w={d('w8_w')}"],
            "w9": ["--input", f"x={d('w9_x')}", "--input", f"y={d('w9_y')}"]
            + sum((["--param", f"{p}={d('w9_' + p)}"] for p in ("w1", "b1", "w2", "b2")), []),
        }[wl]

    def build(self, src, exe):
        """Seconds to build, or raises."""
        t, _ = wall([self.weft, "build", src, "-o", exe])
        return t

    def run_cmd(self, mode, src, wl):
        out = ["--out", os.path.join(self.tmp, "out"), "--threads", str(THREADS)]
        if mode == "exe":
            exe = os.path.join(self.tmp, os.path.basename(src) + ".exe")
            if not os.path.exists(exe):
                self.build(src, exe)
            return [exe] + self.inputs(wl) + out
        return [self.weft, "run", src] + self.inputs(wl) + out


# ---------------------------------------------------------------- peers


def run_peer(py, script, wl, data, timeout=900):
    cmd = [py, os.path.join(HERE, "peers", script), wl, data]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=ENV)
    except subprocess.TimeoutExpired:
        log(f"  {script} {wl}: timed out")
        return []
    recs = []
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            recs.append(json.loads(line[7:]))
    if p.returncode != 0:
        log(f"  {script} {wl}: exit {p.returncode}: {p.stderr.strip()[-400:]}")
    return recs


def peer_available(py, module):
    return subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0


# ---------------------------------------------------------------- table

UNITS = {
    "w1": ("GB/s", lambda s: 2 * 4 * W1_N / s / 1e9),
    "w2_1024": ("GFLOP/s", lambda s: 2 * 1024**3 / s / 1e9),
    "w2_4096": ("GFLOP/s", lambda s: 2 * 4096**3 / s / 1e9),
    "w3": ("steps/s", lambda s: 1 / s),
    "w4": ("µs/call", lambda s: s * 1e6),
    "w5_softmax": ("GB/s", lambda s: 2 * 4 * W5_SHAPE[0] * W5_SHAPE[1] / s / 1e9),
    "w5_layernorm": ("GB/s", lambda s: 2 * 4 * W5_SHAPE[0] * W5_SHAPE[1] / s / 1e9),
    "w7_100": ("s", lambda s: s),
    "w7_1000": ("s", lambda s: s),
    "w7_10000": ("s", lambda s: s),
    "w8": ("ms/call", lambda s: s * 1e3),
    "w9": ("steps/s", lambda s: 1 / s),
}
LOWER_IS_BETTER = {"w4", "w7_100", "w7_1000", "w7_10000", "w8"}
TITLES = {
    "w1": "W1 tanh(0.5x+0.1)*sigmoid(x), 16M f32",
    "w2_1024": "W2 GEMM 1024³",
    "w2_4096": "W2 GEMM 4096³",
    "w3": "W3 MLP 784-512-512-10 train step, B=256",
    "w9": "W9 MLP 64-256-10 full-batch SGD step, N=10,000",
    "w4": "W4 MLP 64-64-64-10 forward, B=1",
    "w5_softmax": "W5 row softmax 4096²",
    "w5_layernorm": "W5 layer norm 4096²",
    "w7_100": "W7 compile, chain K=100",
    "w7_1000": "W7 compile, chain K=1,000",
    "w7_10000": "W7 compile, chain K=10,000",
    "w8": "W8 conv 3×3 16→16, 32×32, B=32, fwd+bwd",
}


def fmt(v):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def machine_info():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "commit": commit + ("+dirty" if dirty else ""),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def write_results(recs, ceil, info, outdir):
    os.makedirs(outdir, exist_ok=True)
    for r in recs:
        if r.get("seconds") is not None and r["workload"] in UNITS:
            r["value"] = UNITS[r["workload"]][1](r["seconds"])
            r["unit"] = UNITS[r["workload"]][0]
            if r["workload"] == "w8":
                r["gflop_s"] = W8_FLOP / r["seconds"] / 1e9
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump({"machine": info, "ceilings": ceil, "results": recs}, f, indent=1)
    with open(os.path.join(outdir, "results.csv"), "w") as f:
        f.write("workload,impl,seconds,value,unit,peak_rss_mib\n")
        for r in recs:
            f.write(",".join(str(r.get(k, "")) for k in ("workload", "impl", "seconds", "value", "unit", "peak_rss_mib")) + "\n")
    impls = []
    for r in recs:
        if r["impl"] not in impls:
            impls.append(r["impl"])
    weft_impls = [i for i in impls if i.startswith("weft")]
    # Columns in a fixed order: weft's tiers first.
    order = ["weft exe", "weft run", "weft build", "weft check"]
    impls = [i for i in order if i in impls] + [i for i in impls if i not in order]
    peer_impls = [i for i in impls if not i.startswith("weft")]
    lines = [
        "# weft benchmark results",
        "",
        f"{info['date']}, {info['cpu']} ({info['cores']} cores), commit {info['commit']}, "
        f"load average at start {info['loadavg_at_start']}. All f32, {THREADS} threads. "
        "Medians; higher is better except µs/call, ms/call and compile seconds.",
        "",
    ]
    if ceil:
        lines += [
            "Ceilings (W6, C with OpenMP, 2 threads): "
            + ", ".join(f"{k} {v['value']:.1f} {v['unit']}" for k, v in ceil.items()),
            "",
        ]
    head = ["workload", "unit"] + impls + ["best peer", "weft / best peer"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for wl in UNITS:
        rows = {r["impl"]: r for r in recs if r["workload"] == wl and r.get("value") is not None}
        if not rows:
            continue
        lower = wl in LOWER_IS_BETTER
        pick = min if lower else max
        peers = [(rows[i]["value"], i) for i in peer_impls if i in rows]
        # W7's compile time is weft build's (to an executable); `weft check`
        # (front end only) and `weft run` (compile and run in process) are
        # shown for reference, not compared.
        ratio_impls = ["weft build"] if wl.startswith("w7") else weft_impls
        weft = [(rows[i]["value"], i) for i in ratio_impls if i in rows]
        best_peer = pick(peers) if peers else None
        best_weft = pick(weft) if weft else None
        cells = [TITLES[wl], UNITS[wl][0]]
        for i in impls:
            c = fmt(rows[i]["value"]) if i in rows else "–"
            if wl in ("w3", "w9") and i in rows and rows[i].get("peak_rss_mib"):
                c += f" ({rows[i]['peak_rss_mib']:.0f} MiB)"
            if wl == "w8" and i in rows:
                c += f" ({fmt(rows[i]['gflop_s'])} GFLOP/s)"
            cells.append(c)
        cells.append(f"{best_peer[1]}" if best_peer else "–")
        if best_peer and best_weft:
            ratio = best_peer[0] / best_weft[0] if lower else best_weft[0] / best_peer[0]
            # With --rounds: the median of the rounds' own ratios (seconds
            # of weft's tier against the same peer in the same round).
            rs = [
                (p / q)
                for p, q in zip(rows[best_peer[1]].get("rounds_seconds") or [],
                                rows[best_weft[1]].get("rounds_seconds") or [])
                if p and q
            ]
            if len(rs) > 1:
                ratio = statistics.median(rs)
                cells.append(f"{ratio:.2f}x ({best_weft[1]}, median of {len(rs)} rounds)")
            else:
                cells.append(f"{ratio:.2f}x ({best_weft[1]})")
        else:
            cells.append("–")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ratios are weft's speed over the peer's (> 1: weft faster), for µs/call, ms/call and seconds too.",
        "W3 cells show peak RSS of the whole process in parentheses; W8 cells GFLOP/s, counting",
        "3 × 2·N·O·C·KH·KW·OH·OW (forward, grad input, grad weight). W7: `weft build` (front end,",
        "kernel IR, LLVM O3, link with cc) is compared; `weft check` (front end) and `weft run` (compile",
        "and run 1,024 elements in process) are for reference; jax: jit lower+compile of a fresh function.",
        "W1/W5 GB/s count one read and one write of the array; compare with the STREAM ceilings above.",
        "Errors and skipped peers:",
    ]
    for r in recs:
        if r.get("error"):
            lines.append(f"- {r['workload']} {r['impl']}: {r['error']}")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(outdir, "RESULTS.md"), "w") as f:
        f.write(text)
    return text


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", default=os.path.join(ROOT, "target", "release", "weft"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only", default="", help="comma-separated workloads (w1,w2,w3,w4,w5,w6,w7,w8,w9)")
    ap.add_argument("--skip-peers", action="store_true")
    ap.add_argument("--skip-weft", action="store_true", help="run no weft: peers (and W6's ceilings) only")
    ap.add_argument("--skip-interp", action="store_true", help="skip `weft run` (the reference interpreter)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of steps per weft measurement")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the whole table N times; each figure is the median over rounds, each ratio the median of the rounds' ratios")
    a = ap.parse_args()
    only = set(a.only.split(",")) if a.only else {"w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9"}
    info = machine_info()
    log(f"machine: {info}")
    tmp = tempfile.mkdtemp(prefix="weft-bench-")
    recs, ceil = [], {}
    try:
        data = os.path.join(tmp, "data")
        os.makedirs(data)
        log("generating data...")
        make_data(data)
        w = Weft(a.weft, tmp, data)
        wdir = os.path.join(HERE, "workloads")
        progs = {
            "w1": "w1_fused.weft", "w2_1024": "w2_gemm.weft", "w2_4096": "w2_gemm.weft",
            "w3": "w3_mlp_train.weft", "w4": "w4_mlp_infer.weft",
            "w5_softmax": "w5_softmax.weft", "w5_layernorm": "w5_layernorm.weft",
            "w8": "w8_conv.weft", "w9": "w9_mlp_full.weft",
        }
        # Can this weft build executables?
        if a.skip_weft:
            w.exe_ok = False
        else:
            try:
                w.build(os.path.join(wdir, "w1_fused.weft"), os.path.join(tmp, "probe.exe"))
                w.exe_ok = True
            except RuntimeError as e:
                w.exe_ok = False
                log(f"weft build unavailable: {e}")
                recs.append({"workload": "w1", "impl": "weft exe", "error": f"`weft build` failed: {str(e)[:200]}"})
        modes = [] if a.skip_weft else (["exe"] if w.exe_ok else []) + ([] if a.skip_interp else ["run"])
        rounds = []
        for rnd in range(max(1, a.rounds)):
            if a.rounds > 1:
                log(f"round {rnd + 1} of {a.rounds}")
            rounds.append(measure_round(a, only, w, wdir, progs, modes, data, tmp, ceil))
        recs += merge_rounds(rounds)
        text = write_results(recs, ceil, info, a.out)
        print(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def merge_rounds(rounds):
    """One record per (workload, impl): the median seconds over the rounds,
    with every round's seconds in `rounds_seconds` (None where it failed)."""
    if len(rounds) == 1:
        return rounds[0]
    out, index = [], {}
    for r, recs in enumerate(rounds):
        for rec in recs:
            key = (rec["workload"], rec["impl"])
            if key not in index:
                index[key] = dict(rec, rounds_seconds=[None] * len(rounds))
                out.append(index[key])
            m = index[key]
            m["rounds_seconds"][r] = rec.get("seconds")
            if rec.get("peak_rss_mib"):
                m["peak_rss_mib"] = max(m.get("peak_rss_mib") or 0, rec["peak_rss_mib"])
    for m in out:
        got = [s for s in m["rounds_seconds"] if s is not None]
        if got:
            m["seconds"] = statistics.median(got)
            m.pop("error", None)
    return out


def measure_round(a, only, w, wdir, progs, modes, data, tmp, ceil):
    """Every workload once: weft's tiers, W7, W6's ceilings, the peers."""
    recs = []
    for wl, prog in progs.items():
        if wl.split("_")[0] not in only:
            continue
        for mode in modes:
            impl = "weft exe" if mode == "exe" else "weft run"
            # The interpreter's 4096³ product takes seconds per step.
            if mode == "run" and wl == "w2_4096":
                continue
            budget = a.budget if mode == "exe" else a.budget * 2
            log(f"{wl} {impl}...")
            try:
                cmd = w.run_cmd(mode, os.path.join(wdir, prog), wl)
                s, extra = per_step(cmd, budget, rounds=5 if mode == "exe" else 3)
                recs.append({"workload": wl, "impl": impl, "seconds": s, **extra})
            except RuntimeError as e:
                log(f"  failed: {e}")
                recs.append({"workload": wl, "impl": impl, "error": str(e)[:300]})
    if "w7" in only and not a.skip_weft:
        xs = os.path.join(data, "w7_x.npy")
        for k in (100, 1000, 10000):
            src = os.path.join(tmp, f"chain{k}.weft")
            with open(src, "w") as f:
                f.write(chain_program(k))
            reps = 3 if k < 10000 else 2
            variants = [("weft check", [a.weft, "check", src]),
                        ("weft run", [a.weft, "run", src, "--input", f"x={xs}", "--out", os.path.join(tmp, "out")])]
            if w.exe_ok:
                variants.insert(0, ("weft build", [a.weft, "build", src, "-o", os.path.join(tmp, f"chain{k}.exe")]))
            for impl, cmd in variants:
                log(f"w7 K={k} {impl}...")
                try:
                    ts = [wall(cmd)[0] for _ in range(reps)]
                    recs.append({"workload": f"w7_{k}", "impl": impl, "seconds": statistics.median(ts)})
                except RuntimeError as e:
                    recs.append({"workload": f"w7_{k}", "impl": impl, "error": str(e)[:300]})
    if "w6" in only:
        exe = os.path.join(tmp, "ceilings")
        r = subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", "-o", exe, os.path.join(HERE, "ceilings", "ceilings.c")], capture_output=True, text=True)
        if r.returncode == 0:
            out = subprocess.run([exe], capture_output=True, text=True, env=dict(ENV, OMP_NUM_THREADS=str(THREADS))).stdout
            for line in out.splitlines():
                k, v, *u = line.split()
                if u:
                    ceil[k] = {"value": float(v), "unit": u[0]}
        else:
            log(f"ceilings: cc failed: {r.stderr[:300]}")
    if not a.skip_peers:
        peers = [("numpy_peer.py", "numpy", ["w1", "w2", "w4", "w5", "w9"]),
                 ("torch_peer.py", "torch", ["w1", "w2", "w3", "w4", "w5", "w8", "w9"]),
                 ("jax_peer.py", "jax", ["w1", "w2", "w3", "w4", "w5", "w7", "w8", "w9"]),
                 ("ort_peer.py", "onnxruntime", ["w4"])]
        for script, module, wls in peers:
            if not peer_available(a.python, module):
                log(f"peer {module} not installed: skipped")
                recs.append({"workload": "w1", "impl": module, "error": "not installed: skipped"})
                continue
            for wl in wls:
                if wl not in only:
                    continue
                log(f"{wl} {module}...")
                recs += run_peer(a.python, script, wl, data)
    return recs


if __name__ == "__main__":
    main()
