"""PyTorch peer: eager (and torch.compile for W1 and W8), CPU, 2 threads."""
import os

import common
import numpy as np
import torch
from common import emit, load, median_time, main, peak_rss_mib

torch.set_num_threads(common.THREADS)
IMPL = "torch eager"


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def w1(d):
    x = t(load(d, "w1_x"))

    def f(x):
        return torch.tanh(0.5 * x + 0.1) * torch.sigmoid(x)

    with torch.inference_mode():
        emit("w1", IMPL, median_time(lambda: f(x)))
        if os.environ.get("BENCH_TORCH_COMPILE", "1") == "1":
            try:
                import time

                t0 = time.perf_counter()
                g = torch.compile(f)
                g(x)
                ct = time.perf_counter() - t0
                emit("w1", "torch.compile", median_time(lambda: g(x)), compile_s=ct)
            except Exception as e:  # no C++ toolchain, inductor failure...
                emit("w1", "torch.compile", None, error=str(e)[:200])


def w2(d):
    for n in (1024, 4096):
        a, b = t(load(d, f"w2_a{n}")), t(load(d, f"w2_b{n}"))
        c = torch.empty(n, n)
        with torch.inference_mode():
            emit(f"w2_{n}", IMPL, median_time(lambda: torch.mm(a, b, out=c), target_s=2.0, rounds=5))


def w3(d):
    x, y = t(load(d, "w3_x")), t(load(d, "w3_y")).long()
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 512), torch.nn.ReLU(),
        torch.nn.Linear(512, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    s = median_time(step, target_s=2.0, rounds=7)
    emit("w3", IMPL, s, peak_rss_mib=peak_rss_mib())


def w4(d):
    x = t(load(d, "w4_x"))
    ws = [t(load(d, f"w4_{p}")) for p in ("w1", "b1", "w2", "b2", "w3", "b3")]
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10),
    )
    with torch.no_grad():
        for i, lin in enumerate((model[0], model[2], model[4])):
            lin.weight.copy_(ws[2 * i].T)
            lin.bias.copy_(ws[2 * i + 1])
    with torch.inference_mode():
        emit("w4", IMPL, median_time(lambda: model(x), rounds=9))


def w5(d):
    x = t(load(d, "w5_x"))
    ln = torch.nn.LayerNorm(x.shape[-1])
    with torch.inference_mode():
        emit("w5_softmax", IMPL, median_time(lambda: torch.softmax(x, dim=-1)))
        emit("w5_layernorm", IMPL, median_time(lambda: ln(x)))


def w8(d):
    x, w, gy = t(load(d, "w8_x")), t(load(d, "w8_w")), t(load(d, "w8_gy"))
    x.requires_grad_(True)
    w.requires_grad_(True)

    def loss(x, w):
        return (torch.nn.functional.conv2d(x, w, padding=1) * gy).sum()

    # autograd.grad returns fresh gradients (nothing accumulates in .grad).
    def step(f):
        value = f(x, w)
        dx, dw = torch.autograd.grad(value, (x, w))
        return value, dx, dw

    emit("w8", IMPL, median_time(lambda: step(loss), target_s=2.0, rounds=7))
    if os.environ.get("BENCH_TORCH_COMPILE", "1") == "1":
        try:
            import time

            t0 = time.perf_counter()
            g = torch.compile(loss)
            step(g)
            ct = time.perf_counter() - t0
            emit("w8", "torch.compile", median_time(lambda: step(g), target_s=2.0, rounds=7), compile_s=ct)
        except Exception as e:  # no C++ toolchain, inductor failure...
            emit("w8", "torch.compile", None, error=str(e)[:200])


def w9(d):
    x, y = t(load(d, "w9_x")), t(load(d, "w9_y")).long()
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        model[0].weight.copy_(t(load(d, "w9_w1")).T)
        model[0].bias.copy_(t(load(d, "w9_b1")))
        model[2].weight.copy_(t(load(d, "w9_w2")).T)
        model[2].bias.copy_(t(load(d, "w9_b2")))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    emit("w9", IMPL, median_time(step, target_s=2.0, rounds=7), peak_rss_mib=peak_rss_mib())


main({"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w8": w8, "w9": w9})
