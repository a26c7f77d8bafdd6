#!/usr/bin/env python3
"""Loads a model bend saved from a model spec (bend train --model/--arch) into the same torch.nn modules.

    torch_load_model.py FILE... [--rows N]

The Sequential is built from the file's bend.layers metadata, JSON written from bend's layer table
(src/nn/layer_table.cpp): {"input": [1, 28, 28], "modules": [{"name": "Conv2d", "args": {"in_channels":
1, "out_channels": 6, "kernel_size": 5, ...}}, ...]}. Each module is getattr(torch.nn, name)(**args),
with no list of layer kinds here: a new kind of layer in bend needs no change to this script unless torch.nn
lacks its module. Those are defined below: SwiGLU, the vision transformer's PatchEmbedding (an nn.Conv2d
read as tokens), ClassToken, PositionEmbedding, TakeToken, and the gated SwiGLUTransformerEncoderLayer.
The modules run in order as in nn.Sequential, each named by its index or by its "key" (--model vit:
patch_embed, cls_token, pos_embed, blocks.N, norm, head). The file's tensors go in with
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


class PatchEmbedding(nn.Conv2d):
    """bend's PatchEmbedding (bend/nn/patch_embedding.hpp): an nn.Conv2d with kernel = stride = patch whose
    output is read as tokens, [N, C, H, W] -> [N, (H/p)(W/p), D]."""

    def forward(self, x):
        return super().forward(x).flatten(2).transpose(1, 2)


class ClassToken(nn.Module):
    """bend's ClassToken: a learned token cls_token [1, 1, D] put first in each sequence."""

    def __init__(self, embed_dim):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))

    def forward(self, x):
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)


class PositionEmbedding(nn.Module):
    """bend's PositionEmbedding: a learned table pos_embed [1, max_tokens, D] added to the tokens."""

    def __init__(self, max_tokens, embed_dim):
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, max_tokens, embed_dim))

    def forward(self, x):
        return x + self.pos_embed[:, : x.shape[1]]


class TakeToken(nn.Module):
    """bend's TakeToken: x[:, index] of a batch of token sequences."""

    def __init__(self, index):
        super().__init__()
        self.index = index

    def forward(self, x):
        return x[:, self.index]


class SwiGLUTransformerEncoderLayer(nn.TransformerEncoderLayer):
    """bend's TransformerEncoderLayer with activation "swiglu": linear1 to 2 * dim_feedforward, then
    silu(gate) * value with the gate first (bend/nn/transformer_encoder_layer.hpp)."""

    def __init__(self, d_model, nhead, dim_feedforward, **kwargs):
        super().__init__(d_model, nhead, dim_feedforward, **kwargs)
        self.linear1 = nn.Linear(d_model, 2 * dim_feedforward)
        self.activation_relu_or_gelu = False  # the fused fast path would skip _ff_block

    def _ff_block(self, x):
        gate, value = self.linear1(x).chunk(2, dim=-1)
        return self.dropout2(self.linear2(self.dropout(F.silu(gate) * value)))


BEND_MODULES = {
    cls.__name__: cls
    for cls in (SwiGLU, PatchEmbedding, ClassToken, PositionEmbedding, TakeToken, SwiGLUTransformerEncoderLayer)
}


def module_from(entry):
    """One bend.layers module, {"name": ..., "args": {...}} (a container also has "modules", given to it in
    order; an argument that is itself such an object is built as a module), to a torch.nn module."""
    name = entry["name"]
    cls = getattr(nn, name, None) or BEND_MODULES.get(name)
    if cls is None:
        raise ValueError(f"no PyTorch module '{name}' (torch.nn has none, nor this script)")
    args = {k: module_from(v) if isinstance(v, dict) and "name" in v else v for k, v in entry["args"].items()}
    return cls(*[module_from(m) for m in entry.get("modules", [])], **args)


class Model(nn.Module):
    """The modules of bend.layers run in order, as nn.Sequential. Each is the child named by its "key", or
    by its index when it has none (as nn.Sequential names them); key "" puts its parameters in the model's
    own namespace (a class token's cls_token), as a torch model holding them itself."""

    def __init__(self, entries):
        super().__init__()
        self.steps = []
        for index, entry in enumerate(entries):
            module = module_from(entry)
            key = entry.get("key", str(index))
            if key:
                self.add_module(key, module)
            else:
                for name, parameter in module.named_parameters():
                    self.register_parameter(name, parameter)
            self.steps.append(module)

    def __len__(self):
        return len(self.steps)

    def forward(self, x):
        for module in self.steps:
            x = module(x)
        return x


def sequential_from(layers_json):
    """bend.layers (JSON) to (the model, input sample shape)."""
    layers = json.loads(layers_json)
    return Model(layers["modules"]), layers["input"]


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
