#!/usr/bin/env python3
"""Forward + backward of one nn.TransformerEncoderLayer in PyTorch: the other side of bench/transformer_bench.cpp.

/usr/bin/python3 bench/torch_transformer.py [threads] [steps]. Same layer (d 64, 4 heads, ff 128, dropout 0.1,
relu, post-norm, batch_first), input [128, 17, 64], loss mean(y * y), training mode; median and mean ms per
step over `steps` steps after 5 warm-up steps.
"""
import statistics
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
torch.set_num_threads(threads)
torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(64, 4, 128, dropout=0.1, batch_first=True)
layer.train()
x = (torch.rand(128, 17, 64) * 2 - 1).requires_grad_()


def step():
    layer.zero_grad(set_to_none=False)
    x.grad = None
    y = layer(x)
    (y * y).mean().backward()


for _ in range(5):
    step()
ms = []
for _ in range(steps):
    t0 = time.perf_counter()
    step()
    ms.append((time.perf_counter() - t0) * 1000)
print(f"torch {torch.__version__} TransformerEncoderLayer(64, 4, 128) x[128, 17, 64] threads={threads}: "
      f"median {statistics.median(ms):.3f} ms, mean {statistics.mean(ms):.3f} ms")
