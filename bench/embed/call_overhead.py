"""Python call overhead of a compiled weft program (issue: embedding): one
call of the W4 MLP (64-64-64-10, ReLU, batch 1) from Python, NumPy in and
out, against PyTorch eager, onnxruntime and jax.jit called from Python in
the same process, with the same weights. Prints a Markdown table of the
median time per call (of ROUNDS rounds of N calls each) and checks that all
four compute the same outputs.

    bench/.venv/bin/python bench/embed/call_overhead.py [--weft target/release/weft]

Needs numpy, torch, jax and onnxruntime (bench/.venv has them) and the
Python package (python/, put on sys.path here).
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import weft  # noqa: E402

ROUNDS, N = 9, 20000


def per_call(f, n=N, rounds=ROUNDS):
    """Median over rounds of the mean time of one call, in microseconds."""
    for _ in range(max(100, n // 20)):
        f()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        times.append((time.perf_counter() - t0) / n * 1e6)
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", default=str(ROOT / "target/release/weft"))
    args = ap.parse_args()
    os.environ["WEFT"] = args.weft
    m = weft.build(Path(__file__).with_name("w4_lib.weft"))
    m.threads = 1
    names = ("w1", "b1", "w2", "b2", "w3", "b3")
    p = {k: m.get_param(k) for k in names}
    x = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    ref = np.maximum(np.maximum(x @ p["w1"] + p["b1"], 0) @ p["w2"] + p["b2"], 0) @ p["w3"] + p["b3"]
    rows = []
    y = m.run(x=x)["y"]
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    rows.append(("weft (`m.run(x=x)`, NumPy in and out)", per_call(lambda: m.run(x=x))))

    import torch

    torch.set_num_threads(1)
    net = torch.nn.Sequential(
        torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(),
        torch.nn.Linear(64, 10))
    with torch.no_grad():
        for layer, (w, b) in zip([net[0], net[2], net[4]], [("w1", "b1"), ("w2", "b2"), ("w3", "b3")]):
            layer.weight.copy_(torch.from_numpy(p[w].T.copy()))
            layer.bias.copy_(torch.from_numpy(p[b]))
    xt = torch.from_numpy(x)
    with torch.inference_mode():
        np.testing.assert_allclose(net(xt).numpy(), ref, rtol=1e-5, atol=1e-6)
        rows.append(("PyTorch eager (`net(x)`, inference mode, tensors)", per_call(lambda: net(xt))))
        rows.append(("PyTorch eager, NumPy in and out",
                     per_call(lambda: net(torch.from_numpy(x)).numpy())))

    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    inits = [numpy_helper.from_array(p[k], k) for k in names]
    nodes = []
    prev = "x"
    for i, (w, b) in enumerate([("w1", "b1"), ("w2", "b2"), ("w3", "b3")]):
        nodes.append(helper.make_node("MatMul", [prev, w], [f"m{i}"]))
        out = "y" if i == 2 else f"a{i}"
        nodes.append(helper.make_node("Add", [f"m{i}", b], [out]))
        if i < 2:
            nodes.append(helper.make_node("Relu", [out], [f"h{i}"]))
            prev = f"h{i}"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(["y"], {"x": x})[0], ref, rtol=1e-5, atol=1e-6)
    rows.append(("onnxruntime (`sess.run`)", per_call(lambda: sess.run(["y"], {"x": x}))))

    import jax
    import jax.numpy as jnp

    pj = {k: jnp.asarray(v) for k, v in p.items()}

    @jax.jit
    def f(x):
        h = jax.nn.relu(x @ pj["w1"] + pj["b1"])
        h = jax.nn.relu(h @ pj["w2"] + pj["b2"])
        return h @ pj["w3"] + pj["b3"]

    np.testing.assert_allclose(np.asarray(f(x)), ref, rtol=1e-5, atol=1e-6)
    rows.append(("jax.jit (`f(x).block_until_ready()`, NumPy in)",
                 per_call(lambda: f(x).block_until_ready())))
    rows.append(("jax.jit, NumPy in and out (`np.asarray(f(x))`)", per_call(lambda: np.asarray(f(x)))))

    base = rows[0][1][0]
    print(f"| call ({N} calls x {ROUNDS} rounds, median) | µs per call | weft's advantage |")
    print("|---|---:|---:|")
    for name, (med, _) in rows:
        print(f"| {name} | {med:.2f} | {med / base:.1f}x |")


if __name__ == "__main__":
    main()
