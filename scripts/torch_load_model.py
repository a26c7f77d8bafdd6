#!/usr/bin/env python3
"""Loads a model bend saved from a model spec (bend train --model/--arch) into the same torch.nn.Sequential.

    torch_load_model.py FILE... [--rows N]

The Sequential is built from the file's bend.layers metadata, JSON written from bend's layer table
(src/nn/layer_table.cpp): {"input": [1, 28, 28], "modules": [{"name": "Conv2d", "args": {"in_channels":
1, "out_channels": 6, "kernel_size": 5, ...}}, ...]}. Each module is getattr(torch.nn, name)(**args),
with no list of layer kinds here: a new kind of layer in bend needs no change to this script. The one
module torch.nn lacks, SwiGLU, is defined below. The file's tensors go in with
load_state_dict(strict=True), so a missing, extra or misshapen tensor is an error.

BatchNorm's num_batches_tracked is a float32 scalar in bend's files and an int64 buffer in PyTorch:
load_state_dict copies it with Tensor.copy_, which converts, so the strict load accepts it and the
buffer stays int64 (checked here).

For each file, prints OK, the module count and, for N test rows (row r, value j = ((7 r + 13 j) % 17) /
16, viewed as the input shape), the eval-mode outputs as JSON, to compare numbers with bend. Exits 0 on
success, 1 with a message on stderr otherwise.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_safetensors import FormatError, read_safetensors  # noqa: E402


class SwiGLU(nn.Module):
    """bend's SwiGLU block (bend/nn/swiglu.hpp): silu(gate_proj(x)) * up_proj(x)."""

    def __init__(self, in_features, hidden_features):
        super().__init__()
        self.gate_proj = nn.Linear(in_features, hidden_features)
        self.up_proj = nn.Linear(in_features, hidden_features)

    def forward(self, x):
        return F.silu(self.gate_proj(x)) * self.up_proj(x)


BEND_MODULES = {"SwiGLU": SwiGLU}


def module_from(entry):
    """One bend.layers module, {"name": ..., "args": {...}}, to a torch.nn module."""
    name = entry["name"]
    cls = getattr(nn, name, None) or BEND_MODULES.get(name)
    if cls is None:
        raise ValueError(f"no PyTorch module '{name}' (torch.nn has none, nor this script)")
    return cls(**entry["args"])


def sequential_from(layers_json):
    """bend.layers (JSON) to (nn.Sequential, input sample shape)."""
    layers = json.loads(layers_json)
    return nn.Sequential(*[module_from(entry) for entry in layers["modules"]]), layers["input"]


def load(path, rows):
    """Prints what the module docstring says for one file; 0 on success, 1 otherwise."""
    try:
        tensors, metadata = read_safetensors(path)
        if "bend.layers" not in metadata:
            raise ValueError("no bend.layers metadata (saved by bend train from a model spec)")
        model, input_shape = sequential_from(metadata["bend.layers"])
        # A checkpoint keeps the model under "model.".
        if any(name.startswith("model.") for name in tensors):
            tensors = {name[6:]: t for name, t in tensors.items() if name.startswith("model.")}
        model.load_state_dict(tensors, strict=True)
    except (OSError, FormatError, RuntimeError, ValueError, KeyError, TypeError) as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    for name, buffer in model.named_buffers():
        if name.endswith("num_batches_tracked") and buffer.dtype != torch.int64:
            print(f"{path}: {name} became {buffer.dtype}, expected torch.int64", file=sys.stderr)
            return 1
    features = 1
    for d in input_shape:
        features *= d
    x = torch.tensor([[((7 * r + 13 * j) % 17) / 16 for j in range(features)] for r in range(rows)],
                     dtype=torch.float32).view(rows, *input_shape)
    model.eval()
    with torch.no_grad():
        output = model(x)
    print("OK")
    print(f"modules: {len(model)}")
    tracked = [int(b) for n, b in model.named_buffers() if n.endswith("num_batches_tracked")]
    print(f"num_batches_tracked: {json.dumps(tracked)}")
    print(f"outputs: {json.dumps(output.tolist())}")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--rows", type=int, default=2)
    args = parser.parse_args()
    return max(load(path, args.rows) for path in args.files)


if __name__ == "__main__":
    sys.exit(main())
