"""onnxruntime peer for W4: the MLP as an ONNX graph built with onnx.helper."""
import common
import numpy as np
import onnx
import onnxruntime as ort
from common import emit, load, median_time, main
from onnx import TensorProto, helper, numpy_helper

IMPL = "onnxruntime"


def w4(d):
    x = load(d, "w4_x")
    names = ("w1", "b1", "w2", "b2", "w3", "b3")
    inits = [numpy_helper.from_array(load(d, f"w4_{p}"), p) for p in names]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"]),
        helper.make_node("Add", ["m1", "b1"], ["a1"]),
        helper.make_node("Relu", ["a1"], ["h1"]),
        helper.make_node("MatMul", ["h1", "w2"], ["m2"]),
        helper.make_node("Add", ["m2", "b2"], ["a2"]),
        helper.make_node("Relu", ["a2"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w3"], ["m3"]),
        helper.make_node("Add", ["m3", "b3"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    so = ort.SessionOptions()
    so.intra_op_num_threads = common.THREADS
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    emit("w4", IMPL, median_time(lambda: sess.run(["y"], {"x": x}), rounds=9))
    io = sess.io_binding()
    io.bind_cpu_input("x", x)
    io.bind_output("y")
    emit("w4", IMPL + " (IOBinding)", median_time(lambda: sess.run_with_iobinding(io), rounds=9))


main({"w4": w4})
