#!/usr/bin/env python3
"""Loads the file apps/mnist_net.cpp saves into the docs' functional-style PyTorch Net.

    torch_load_net.py FILE

Net is the docs' module: fc1 = Linear(784, 256), fc2 = Linear(256, 128), fc3 = Linear(128, 10), and
forward(x) = fc3(gelu(fc2(relu(fc1(x))))). The file's tensors go in with load_state_dict(strict=True), so
a missing, extra or misshapen tensor is an error. Prints OK and the model's output for an all-ones input
(one row) as JSON, to compare numbers with bend. Exits 0 on success, 1 with a message otherwise.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_safetensors import FormatError, read_safetensors  # noqa: E402


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.gelu(self.fc2(x))
        return self.fc3(x)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    path = sys.argv[1]
    try:
        tensors, metadata = read_safetensors(path)
        model = Net()
        model.load_state_dict(tensors, strict=True)
    except (OSError, FormatError, RuntimeError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    with torch.no_grad():
        output = model(torch.ones(1, 784))
    print("OK")
    print(f"model: {metadata.get('bend.model', '?')}")
    print(f"ones output: {json.dumps(output[0].tolist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
