#!/usr/bin/env python3
"""A NumPy-only reference for examples/digits.weft: what test accuracy to expect.

    python3 bench/digits_reference.py [--steps 300] [--lr 0.01] [--seeds 5]

Trains a 64-128-10 MLP (relu, dropout 0.1 after the hidden layer) on
examples/data/digits (written by examples/data/make_digits.py) with Adam
(PyTorch's rule, b1 = 0.9, b2 = 0.999, eps = 1e-8) on minibatches of 64 rows,
float32 throughout. The minibatch order is the contract's `batch(.., 64,
shuffle=1)` (section 10: SplitMix64 keys, a new permutation every epoch,
floor(1437 / 64) = 22 batches an epoch), as digits.weft uses it; initial
weights and dropout masks come from NumPy's generator (weft's are its own),
so results are compared over several seeds, not bit for bit. Prints the test
accuracy (no dropout) of each seed and their mean. Needs only NumPy.
"""
import argparse, os

import numpy as np

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data", "digits")
M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def mix(z):
    """SplitMix64 on uint64 arrays (wrapping)."""
    z = np.asarray(z, np.uint64)
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def batch_rows(n, size, key, step):
    """The rows of `batch(X, size, shuffle=key)` at `step` (world 1, rank 0)."""
    nb = n // size
    e, j = step // nb, step % nb
    keys = mix(mix(mix(np.uint64(key)) ^ np.uint64(e)) ^ np.arange(n, dtype=np.uint64))
    perm = np.argsort(keys, kind="stable")
    return perm[j * size:(j + 1) * size]


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def train(x, y, tx, ty, steps, lr, seed, hidden=128, bs=64, p_drop=0.1):
    rng = np.random.default_rng(seed)
    f = np.float32
    P = {"w1": (rng.standard_normal((64, hidden)) * 0.125).astype(f), "b1": np.zeros(hidden, f),
         "w2": (rng.standard_normal((hidden, 10)) * 0.09).astype(f), "b2": np.zeros(10, f)}
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    b1, b2, eps = f(0.9), f(0.999), f(1e-8)
    eye = np.eye(10, dtype=f)
    for t in range(steps):
        r = batch_rows(len(y), bs, 1, t)
        xb, yb = x[r], y[r]
        pre = xb @ P["w1"] + P["b1"]
        keep = (rng.random(pre.shape) >= p_drop).astype(f) / f(1 - p_drop)
        h = np.maximum(pre, 0) * keep
        lsm = log_softmax(h @ P["w2"] + P["b2"])
        dl = (np.exp(lsm) - eye[yb]) / f(bs)
        dh = (dl @ P["w2"].T) * keep * (pre > 0)
        G = {"w1": xb.T @ dh, "b1": dh.sum(0), "w2": h.T @ dl, "b2": dl.sum(0)}
        step = t + 1
        for k in P:
            M[k] = b1 * M[k] + (1 - b1) * G[k]
            V[k] = b2 * V[k] + (1 - b2) * G[k] * G[k]
            mh = M[k] / f(1 - 0.9 ** step)
            vh = V[k] / f(1 - 0.999 ** step)
            P[k] = P[k] - f(lr) * mh / (np.sqrt(vh) + eps)
    logits = np.maximum(tx @ P["w1"] + P["b1"], 0) @ P["w2"] + P["b2"]
    train_loss = -log_softmax(np.maximum(x @ P["w1"] + P["b1"], 0) @ P["w2"] + P["b2"])[
        np.arange(len(y)), y].mean()
    return float((logits.argmax(1) == ty).mean()), float(train_loss)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    load = lambda n: np.load(os.path.join(DATA, n + ".npy"))
    x, y, tx, ty = load("train_x"), load("train_y"), load("test_x"), load("test_y")
    accs = []
    for s in range(a.seeds):
        acc, loss = train(x, y, tx, ty, a.steps, a.lr, s)
        accs.append(acc)
        print(f"seed {s}: test accuracy {acc:.4f}  (full training loss {loss:.4f})")
    print(f"{a.steps} steps, lr {a.lr}: mean test accuracy {np.mean(accs):.4f} "
          f"(min {min(accs):.4f}, max {max(accs):.4f}) over {a.seeds} seeds")


if __name__ == "__main__":
    main()
