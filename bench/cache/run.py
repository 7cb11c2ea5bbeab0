#!/usr/bin/env python3
"""weft run --cache: a second run after editing only the last line of a
pipeline with expensive preprocessing (bench/cache/pipeline.weft), against
the same edited run without the cache.

    python3 bench/cache/run.py [--rounds 9] [--rows 4096]

Needs the release build (cargo build --release) and NumPy. Each round: a
fresh cache directory is filled by a run of the original program (not
timed); then the edited program (its last line changed) runs once with
--cache and once without, in alternating order; both are whole processes
(start-up, compiling, reading the input, writing the output). The outputs
are compared byte for byte. Writes bench/results/CACHE.md.
"""
import argparse, os, pathlib, shutil, statistics, subprocess, sys, tempfile, time

import numpy as np

here = pathlib.Path(__file__).resolve().parent
root = here.parent.parent
weft = root / "target" / "release" / "weft"


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--rows", type=int, default=4096)
    a = ap.parse_args()
    if not weft.exists():
        sys.exit("bench/cache: build first: cargo build --release")
    src = (here / "pipeline.weft").read_text()
    edited = src.replace("output summary = mean(feats, axis=0)", "output summary = max(feats, axis=0)")
    assert edited != src
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        x = d / "x.npy"
        np.save(x, np.random.default_rng(0).standard_normal((a.rows, 768)).astype(np.float32))
        (d / "orig.weft").write_text(src)
        (d / "edit.weft").write_text(edited)
        cached, plain = [], []
        for r in range(a.rounds):
            cache = d / f"cache{r}"
            base = [str(weft), "run", "--input", f"x={x}", "--threads", "2"]
            subprocess.run(base[:2] + [str(d / "orig.weft")] + base[2:] + ["--cache", str(cache), "--out", str(d / "o0")], check=True, stdout=subprocess.DEVNULL)
            runs = [("cached", ["--cache", str(cache), "--out", str(d / "oc")]), ("plain", ["--out", str(d / "op")])]
            if r % 2:
                runs.reverse()
            for tag, extra in runs:
                t = timed(base[:2] + [str(d / "edit.weft")] + base[2:] + extra)
                (cached if tag == "cached" else plain).append(t)
            same = (d / "oc" / "summary.npy").read_bytes() == (d / "op" / "summary.npy").read_bytes()
            assert same, "the cached run's output differs"
            shutil.rmtree(cache)
        mc, mp = statistics.median(cached), statistics.median(plain)
        load = os.getloadavg()
        text = f"""# weft run --cache

`python3 bench/cache/run.py --rounds {a.rounds} --rows {a.rows}` on {time.strftime('%Y-%m-%d %H:%M')} (load average {load[0]:.2f}).

bench/cache/pipeline.weft: x `f32[{a.rows}, 768]` through eight `tanh(. @ proj)` layers (a fixed random 768×768 projection),
then one cheap last line. The cache is filled by a run of the program; the last line is edited
(`mean` → `max`); the edited program then runs with `--cache` (it loads `feats`) and without. Whole
processes, median of {a.rounds} rounds; outputs identical byte for byte in every round.

| run of the edited program | median s |
|---|---|
| without the cache | {mp:.3f} |
| with `--cache` (after a run of the original) | {mc:.3f} |
| speed-up | **{mp / mc:.1f}×** |
"""
        out = root / "bench" / "results" / "CACHE.md"
        out.write_text(text)
        print(text)


if __name__ == "__main__":
    main()
