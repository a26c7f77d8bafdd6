#!/usr/bin/env python3
"""Writes the ONNX models that tests/onnx/test_onnx_import.cpp reads with `bend import`.

    torch_onnx_models.py OUT_DIR IMAGES.f32 COUNT

From PyTorch (torch.onnx.export, opset 17, dynamic batch), each with its probabilities on the COUNT
images of IMAGES.f32 (raw float32, [COUNT, 784], pixels in [0, 1]) in NAME.f32:
  torch-mlp.onnx  nn.Sequential(Flatten, Linear, GELU, Linear, Tanh, Linear, Softmax): input [N, 1, 28, 28]
  torch-cnn.onnx  nn.Sequential(Conv2d, BatchNorm2d, ReLU, MaxPool2d, Conv2d, SiLU, AvgPool2d, Flatten,
                  Linear, ReLU, Dropout, Linear) with trained-looking BatchNorm statistics: input [N, 1, 28, 28]
And models bend must refuse, one line each (onnx.helper):
  grouped-conv.onnx  a Conv with group=2 (an attribute bend cannot honour)
  opset18.onnx       a Gemm model that imports opset 18 (newer than bend reads)
  wide-input.onnx    a Gemm model whose input is [N, 100] (does not fit MNIST)
  unknown-op.onnx    a Gemm then TopK (an op bend has no layer for)
"""
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper
from torch import nn


def export(model, name, out_dir, images):
    model.eval()
    x = torch.from_numpy(images).reshape(-1, 1, 28, 28)
    torch.onnx.export(model, x[:1], f"{out_dir}/{name}.onnx", opset_version=17, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    with torch.no_grad():
        y = model(x)
        if not isinstance(model[-1], nn.Softmax):
            y = torch.softmax(y, dim=1)
    y.numpy().astype(np.float32).tofile(f"{out_dir}/{name}.f32")


def gemm_model(path, opset, features, second=None, group=None):
    w = numpy_helper.from_array(np.full((10, features), 0.01, np.float32), "w")
    nodes = [helper.make_node("Gemm", ["x", "w"], ["y"], name="fc", transB=1)]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])]
    inits = [w]
    if second == "TopK":
        inits.append(numpy_helper.from_array(np.array([3], np.int64), "k"))
        nodes.append(helper.make_node("TopK", ["y", "k"], ["values", "indices"], name="top3", axis=1))
        outputs = [helper.make_tensor_value_info("values", TensorProto.FLOAT, ["batch", 3])]
    x_shape = ["batch", features]
    if group:
        x_shape = ["batch", 2, 28, 28]
        inits = [numpy_helper.from_array(np.full((4, 1, 3, 3), 0.1, np.float32), "k")]
        nodes = [helper.make_node("Conv", ["x", "k"], ["y"], name="conv1", group=group, kernel_shape=[3, 3])]
        outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, 26, 26])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="test")
    model.ir_version = 8
    onnx.save(model, path)


def main():
    out_dir, images_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    images = np.fromfile(images_path, dtype=np.float32).reshape(count, 784)
    torch.manual_seed(0)
    export(nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.GELU(), nn.Linear(64, 32), nn.Tanh(),
                         nn.Linear(32, 10), nn.Softmax(dim=1)), "torch-mlp", out_dir, images)
    cnn = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 8, 3, stride=1, dilation=2), nn.SiLU(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(8 * 5 * 5, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10))
    with torch.no_grad():
        cnn[1].running_mean.uniform_(-0.2, 0.2)
        cnn[1].running_var.uniform_(0.5, 2.0)
        cnn[1].weight.uniform_(0.5, 1.5)
        cnn[1].bias.uniform_(-0.1, 0.1)
    export(cnn, "torch-cnn", out_dir, images)
    gemm_model(f"{out_dir}/grouped-conv.onnx", 17, 784, group=2)
    gemm_model(f"{out_dir}/opset18.onnx", 18, 784)
    gemm_model(f"{out_dir}/wide-input.onnx", 17, 100)
    gemm_model(f"{out_dir}/unknown-op.onnx", 17, 784, second="TopK")
    print("wrote", out_dir)


if __name__ == "__main__":
    main()
