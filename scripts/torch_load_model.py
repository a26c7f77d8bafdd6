#!/usr/bin/env python3
"""Loads a model bend saved from a model spec (bend train --model/--arch) into the same torch.nn.Sequential.

    torch_load_model.py FILE [--rows N]

The Sequential is built from the file's bend.layers metadata: the spec's modules in order, one per ';',
each "Class key=value ...", e.g. "Conv2d in=1 out=6 kernel=5 stride=1 padding=2 dilation=1",
"MaxPool2d kernel=2 stride=2", "BatchNorm2d features=6", "LayerNorm shape=6,28,28", "Flatten",
"Linear in=400 out=120", "Dropout p=0.5", "Activation name=relu module=ReLU"; the first item is the
input sample shape ("input 1,28,28"). The file's tensors go in with load_state_dict(strict=True), so a
missing, extra or misshapen tensor is an error.

BatchNorm's num_batches_tracked is a float32 scalar in bend's files and an int64 buffer in PyTorch:
load_state_dict copies it with Tensor.copy_, which converts, so the strict load accepts it and the
buffer stays int64 (checked here).

Prints OK, the module count and, for N test rows (row r, value j = ((7 r + 13 j) % 17) / 16, viewed as
the input shape), the eval-mode outputs as JSON, to compare numbers with bend. Exits 0 on success, 1
with a message on stderr otherwise.
"""
import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_safetensors import FormatError, read_safetensors  # noqa: E402


def ints(text):
    return [int(v) for v in text.split(",")]


def module_from(line):
    """One bend.layers item to a torch.nn module."""
    kind, *pairs = line.split()
    a = dict(pair.split("=", 1) for pair in pairs)
    if kind == "Conv2d":
        return nn.Conv2d(int(a["in"]), int(a["out"]), int(a["kernel"]), stride=int(a["stride"]),
                         padding=int(a["padding"]), dilation=int(a["dilation"]))
    if kind == "MaxPool2d":
        return nn.MaxPool2d(int(a["kernel"]), stride=int(a["stride"]))
    if kind == "AvgPool2d":
        return nn.AvgPool2d(int(a["kernel"]), stride=int(a["stride"]))
    if kind == "Flatten":
        return nn.Flatten()
    if kind == "BatchNorm1d":
        return nn.BatchNorm1d(int(a["features"]))
    if kind == "BatchNorm2d":
        return nn.BatchNorm2d(int(a["features"]))
    if kind == "LayerNorm":
        return nn.LayerNorm(ints(a["shape"]))
    if kind == "Dropout":
        return nn.Dropout(float(a["p"]))
    if kind == "Dropout2d":
        return nn.Dropout2d(float(a["p"]))
    if kind == "Linear":
        return nn.Linear(int(a["in"]), int(a["out"]))
    if kind == "Activation":
        if a["name"] == "gelu_tanh":
            return nn.GELU(approximate="tanh")
        return getattr(nn, a["module"])()
    raise ValueError(f"no PyTorch module for the layer '{line}'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--rows", type=int, default=2)
    args = parser.parse_args()
    try:
        tensors, metadata = read_safetensors(args.file)
        if "bend.layers" not in metadata:
            raise ValueError("no bend.layers metadata (saved by bend train from a model spec)")
        head, *lines = metadata["bend.layers"].split(";")
        if not head.startswith("input "):
            raise ValueError(f"bend.layers starts with '{head}', expected 'input C,H,W'")
        input_shape = ints(head[len("input "):])
        model = nn.Sequential(*[module_from(line) for line in lines])
        # A checkpoint keeps the model under "model.".
        if any(name.startswith("model.") for name in tensors):
            tensors = {name[6:]: t for name, t in tensors.items() if name.startswith("model.")}
        model.load_state_dict(tensors, strict=True)
    except (OSError, FormatError, RuntimeError, ValueError, KeyError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1
    for name, buffer in model.named_buffers():
        if name.endswith("num_batches_tracked") and buffer.dtype != torch.int64:
            print(f"{args.file}: {name} became {buffer.dtype}, expected torch.int64", file=sys.stderr)
            return 1
    features = 1
    for d in input_shape:
        features *= d
    x = torch.tensor([[((7 * r + 13 * j) % 17) / 16 for j in range(features)] for r in range(args.rows)],
                     dtype=torch.float32).view(args.rows, *input_shape)
    model.eval()
    with torch.no_grad():
        output = model(x)
    print("OK")
    print(f"modules: {len(model)}")
    tracked = [int(b) for n, b in model.named_buffers() if n.endswith("num_batches_tracked")]
    print(f"num_batches_tracked: {json.dumps(tracked)}")
    print(f"outputs: {json.dumps(output.tolist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
