"""NumPy peer (OpenBLAS GEMM)."""
import common  # noqa: F401  (thread env first)
import numpy as np
from common import emit, load, median_time, main

IMPL = "numpy"


def w1(d):
    x = load(d, "w1_x")

    def fresh():
        return np.tanh(0.5 * x + 0.1) * (1.0 / (1.0 + np.exp(-x)))

    out = np.empty_like(x)
    tmp = np.empty_like(x)

    def prealloc():
        np.multiply(x, 0.5, out=out)
        np.add(out, 0.1, out=out)
        np.tanh(out, out=out)
        np.negative(x, out=tmp)
        np.exp(tmp, out=tmp)
        np.add(tmp, 1.0, out=tmp)
        np.divide(out, tmp, out=out)
        return out

    emit("w1", IMPL, median_time(fresh))
    emit("w1", IMPL + " (preallocated)", median_time(prealloc))


def w2(d):
    for n in (1024, 4096):
        a, b = load(d, f"w2_a{n}"), load(d, f"w2_b{n}")
        c = np.empty((n, n), np.float32)
        emit(f"w2_{n}", IMPL, median_time(lambda: np.matmul(a, b, out=c), target_s=2.0, rounds=5))


def w4(d):
    x = load(d, "w4_x")
    ws = [load(d, f"w4_{p}") for p in ("w1", "b1", "w2", "b2", "w3", "b3")]

    def fwd():
        h = np.maximum(x @ ws[0] + ws[1], 0)
        h = np.maximum(h @ ws[2] + ws[3], 0)
        return h @ ws[4] + ws[5]

    emit("w4", IMPL, median_time(fwd, rounds=9))


def w5(d):
    x = load(d, "w5_x")

    def softmax():
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def layernorm():
        mu = x.mean(axis=-1, keepdims=True)
        xc = x - mu
        var = (xc * xc).mean(axis=-1, keepdims=True)
        return xc / np.sqrt(var + 1e-5)

    emit("w5_softmax", IMPL, median_time(softmax))
    emit("w5_layernorm", IMPL, median_time(layernorm))


def w9(d):
    x, y = load(d, "w9_x"), load(d, "w9_y")
    w1, b1, w2, b2 = (load(d, f"w9_{p}") for p in ("w1", "b1", "w2", "b2"))
    state = [w1, b1, w2, b2]
    n = x.shape[0]
    onehot = np.zeros((n, 10), np.float32)
    onehot[np.arange(n), y] = 1.0

    def step():
        w1, b1, w2, b2 = state
        z1 = x @ w1 + b1
        h = np.maximum(z1, 0)
        logits = h @ w2 + b2
        m = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - m)
        s = e.sum(axis=1, keepdims=True)
        p = e / s
        loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - logits[np.arange(n), y]))
        g = (p - onehot) / n
        gw2 = h.T @ g
        gb2 = g.sum(axis=0)
        gh = (g @ w2.T) * (z1 > 0)
        gw1 = x.T @ gh
        gb1 = gh.sum(axis=0)
        state[:] = [w1 - 0.1 * gw1, b1 - 0.1 * gb1, w2 - 0.1 * gw2, b2 - 0.1 * gb2]
        return loss

    emit("w9", IMPL, median_time(step, target_s=2.0, rounds=7))


main({"w1": w1, "w2": w2, "w4": w4, "w5": w5, "w9": w9})
