#!/usr/bin/env python3
"""Loads a bend ViT (bend train --model vit) into a vision transformer written from standard torch.nn parts.

    torch_vit.py FILE [--heads 4] [--activation gelu] [--rows N]

The model (class ViT below) is the usual one: patch_embed = nn.Conv2d(C, d, kernel_size=p, stride=p),
cls_token [1, 1, d], pos_embed [1, 1 + tokens, d], blocks.N = nn.TransformerEncoderLayer(d, heads, ff,
dropout=0, activation, batch_first=True, norm_first=True), norm = nn.LayerNorm(d), head = nn.Linear on the
class token. Its sizes come from the file's tensor shapes; heads and the activation (relu, gelu or any
torch.nn activation class name in lower case, e.g. silu) from the command line. The tensors go in with
load_state_dict(strict=True). Prints OK and, for N test rows (row r, value j = ((7 r + 13 j) % 17) / 16,
viewed as the image), the eval-mode logits as JSON (the format of torch_load_model.py). Exits 0 on success,
1 with a message on stderr otherwise.
"""
import argparse
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_safetensors import FormatError, read_safetensors  # noqa: E402


class ViT(nn.Module):
    def __init__(self, channels, patch, dim, tokens, blocks, heads, ff, activation, classes):
        super().__init__()
        self.patch_embed = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + tokens, dim))
        self.blocks = nn.Sequential(*[
            nn.TransformerEncoderLayer(dim, heads, ff, dropout=0.0, activation=activation, batch_first=True,
                                       norm_first=True) for _ in range(blocks)
        ])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def activation_of(name):
    if name in ("relu", "gelu"):
        return name
    for cls in vars(nn).values():
        if isinstance(cls, type) and cls.__name__.lower() == name:
            return cls()
    raise ValueError(f"no torch.nn activation '{name}'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--activation", default="gelu")
    parser.add_argument("--rows", type=int, default=2)
    args = parser.parse_args()
    try:
        tensors, _ = read_safetensors(args.file)
        if any(name.startswith("model.") for name in tensors):  # a checkpoint
            tensors = {name[6:]: t for name, t in tensors.items() if name.startswith("model.")}
        dim, channels, patch, _ = tensors["patch_embed.weight"].shape
        blocks = len({name.split(".")[1] for name in tensors if name.startswith("blocks.")})
        model = ViT(channels, patch, dim, tensors["pos_embed"].shape[1] - 1, blocks, args.heads,
                    tensors["blocks.0.linear1.weight"].shape[0], activation_of(args.activation),
                    tensors["head.weight"].shape[0])
        model.load_state_dict(tensors, strict=True)
    except (OSError, FormatError, RuntimeError, ValueError, KeyError, TypeError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1
    side = int(round(((model.pos_embed.shape[1] - 1) ** 0.5) * patch))
    features = channels * side * side
    x = torch.tensor([[((7 * r + 13 * j) % 17) / 16 for j in range(features)] for r in range(args.rows)],
                     dtype=torch.float32).view(args.rows, channels, side, side)
    model.eval()
    with torch.no_grad():
        output = model(x)
    print("OK")
    print(f"outputs: {json.dumps(output.tolist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
