#!/usr/bin/env python3
"""Peak resident memory of training through `batch` on a dataset larger than
the run should hold (contract, section 10: memory-mapped `.npy` inputs).

Writes a float32 dataset of ROWS x COLS (default 2^19 x 1024 = 2 GiB) and its
labels to a scratch folder, then trains a linear softmax classifier on it
with `batch(.., 256, shuffle=1)` for STEPS steps, through `weft run` and a
built executable, each under `/usr/bin/time -v`, and reports the peak RSS
(`Maximum resident set size`) and the wall time. For scale, it also reports
the RSS of reading the whole file into memory (`weft run --engine
reference`, which does not map inputs) when --with-reference is given.

    python3 bench/mmap_batch.py [--rows N] [--cols C] [--steps S] [--dir DIR]

Needs numpy and a release build (`cargo build --release -p weft-cli
-p weft-runtime-exe`). The table goes to stdout and bench/results/MMAP.md.
"""
import argparse, os, re, subprocess, sys, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WEFT = os.path.join(ROOT, "target", "release", "weft")

PROGRAM = """
// A linear softmax classifier trained in shuffled minibatches of 256 rows.
use nn
use optim
dim N
input x: f32[N, {cols}]
input y: i32[N]
param w: f32[{cols}, 10] = normal(0.0, 0.01, seed=1)
param b: f32[10] = zeros()
let (xb, yb) = batch((x, y), 256, shuffle=1)
let loss = mean(nn.cross_entropy(xb @ w + b, yb))
let (gw, gb) = grad(loss, (w, b))
update w = optim.sgd(w, gw, 0.01)
update b = optim.sgd(b, gb, 0.01)
output loss
"""


def make_data(d, rows, cols):
    xp, yp = os.path.join(d, "x.npy"), os.path.join(d, "y.npy")
    if os.path.exists(xp) and np.load(xp, mmap_mode="r").shape == (rows, cols):
        return xp, yp
    x = np.lib.format.open_memmap(xp, mode="w+", dtype=np.float32, shape=(rows, cols))
    rng = np.random.default_rng(0)
    chunk = 1 << 15
    for s in range(0, rows, chunk):
        e = min(rows, s + chunk)
        x[s:e] = rng.standard_normal((e - s, cols), dtype=np.float32)
    x.flush()
    del x
    np.save(yp, (np.arange(rows) % 10).astype(np.int32))
    return xp, yp


def measure(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    rss_mb = int(m.group(1)) / 1024 if m else float("nan")
    loss = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    return rss_mb, wall, loss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1 << 19)
    ap.add_argument("--cols", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--dir", default="/tmp/weft-mmap-bench")
    ap.add_argument("--with-reference", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    xp, yp = make_data(a.dir, a.rows, a.cols)
    gb = os.path.getsize(xp) / 2**30
    prog = os.path.join(a.dir, "train.weft")
    with open(prog, "w") as f:
        f.write(PROGRAM.format(cols=a.cols))
    exe = os.path.join(a.dir, "train")
    subprocess.run([WEFT, "build", prog, "-o", exe], check=True)
    flags = ["--input", f"x={xp}", "--input", f"y={yp}", "--steps", str(a.steps)]
    rows = []
    for name, cmd in [("built executable", [exe] + flags), ("weft run", [WEFT, "run", prog] + flags)]:
        rss, wall, loss = measure(cmd)
        rows.append((name, rss, wall, loss))
    if a.with_reference:
        rss, wall, loss = measure([WEFT, "run", prog, "--engine", "reference"] + flags)
        rows.append(("weft run --engine reference (reads the file)", rss, wall, loss))
    seen = a.steps * 256
    lines = [
        "# Training through `batch` on a memory-mapped dataset",
        "",
        f"`python3 bench/mmap_batch.py --rows {a.rows} --cols {a.cols} --steps {a.steps}`:",
        f"x is f32[{a.rows}, {a.cols}] ({gb:.2f} GiB on disk), batches of 256 rows, shuffled;",
        f"{a.steps} steps read {seen} rows ({seen / a.rows:.2f} epochs). Peak RSS from `/usr/bin/time -v`.",
        "",
        "| run | peak RSS (MB) | wall (s) | last output |",
        "|---|---|---|---|",
    ]
    for name, rss, wall, loss in rows:
        lines.append(f"| {name} | {rss:.0f} | {wall:.1f} | `{loss}` |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(HERE, "results", "MMAP.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
