#!/usr/bin/env python3
"""Loads a safetensors file into a PyTorch nn.Sequential, to prove that bend's files work in PyTorch.

    torch_load_safetensors.py FILE [ARCH] [--ones-output]

Without ARCH the model comes from the file's metadata: bend.layers (what bend train, compare and the
Sequential examples write: torch.nn class names and arguments, built as scripts/torch_load_model.py
does), else a plain MLP's widths in bend.arch or arch. ARCH is the layer widths, e.g. 784-256-128-10,
which builds nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
nn.Linear(128, 10)) whose parameters are named 0.weight, 0.bias, 2.weight, 2.bias, 4.weight, 4.bias
(the activations hold no parameters, so ReLU stands for any). A checkpoint's model.* tensors are
loaded as the model. The tensors go in with load_state_dict(strict=True), so a missing, extra or
misshapen tensor is an error. Prints OK, the model's source, the tensor count and the file's metadata
as JSON; with --ones-output, also the model's output for an all-ones input (one row, eval mode), to
compare numbers with bend.

Debian has no python3-safetensors, so the file is read here by a small reader written from the
format's definition, with the checks safetensors.torch.load_file makes: a u64 little-endian header
length (at most 100,000,000), a JSON header, and tensors that tile the data buffer exactly.
Exits 0 on success, 1 with a message on stderr otherwise.
"""
import argparse
import json
import os
import struct
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

MAX_HEADER_BYTES = 100_000_000
DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


class FormatError(Exception):
    pass


def _refuse_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise FormatError(f"duplicate key {key!r} in the header")
        result[key] = value
    return result


def read_safetensors(path):
    """Returns ({name: tensor}, {metadata key: value}) from a safetensors file."""
    if sys.byteorder != "little":
        raise FormatError("this reader assumes a little-endian machine")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise FormatError(f"the file is {len(data)} bytes, too short for the header length")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES:
        raise FormatError(f"header length {header_len} is over the limit")
    if 8 + header_len > len(data):
        raise FormatError(f"header length {header_len} runs past the end of the file")
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FormatError(f"the header is not UTF-8 JSON: {error}") from error
    if not isinstance(header, dict):
        raise FormatError("the header is not a JSON object")

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise FormatError("__metadata__ is not an object of strings")

    buffer = memoryview(data)[8 + header_len :]
    entries = []
    for name, info in header.items():
        try:
            dtype = DTYPES[info["dtype"]]
            shape = [int(d) for d in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError) as error:
            raise FormatError(f"tensor {name!r} has a malformed entry: {info!r}") from error
        entries.append((begin, end, name, dtype, shape))

    entries.sort(key=lambda e: (e[0], e[1]))
    tensors = {}
    covered = 0
    for begin, end, name, dtype, shape in entries:
        if begin != covered or end < begin:
            raise FormatError(f"tensor {name!r} offsets [{begin}, {end}] do not follow on from byte {covered}")
        numel = 1
        for d in shape:
            if d < 0:
                raise FormatError(f"tensor {name!r} has a negative dimension")
            numel *= d
        itemsize = torch.empty((), dtype=dtype).element_size()
        if end - begin != numel * itemsize:
            raise FormatError(f"tensor {name!r} has {end - begin} bytes for shape {shape} of {dtype}")
        covered = end
        if numel == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
        else:
            raw = bytearray(buffer[begin:end])  # a copy: the tensor must own writable memory
            tensors[name] = torch.frombuffer(raw, dtype=dtype).reshape(shape)
    if covered != len(buffer):
        raise FormatError(f"the data buffer is {len(buffer)} bytes but the tensors cover {covered}")
    return tensors, metadata


def build_mlp(arch):
    try:
        widths = [int(w) for w in arch.split("-")]
    except ValueError:
        widths = []
    if len(widths) < 2 or any(w <= 0 for w in widths):
        raise FormatError(f"bad architecture {arch!r}: expected widths like 784-256-10")
    layers = []
    for i in range(len(widths) - 1):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(widths[i], widths[i + 1]))
    return nn.Sequential(*layers), widths[0]


def model_from_metadata(metadata):
    """(nn.Sequential, input shape, source) from a file's metadata, or a FormatError naming what is missing."""
    if "bend.layers" in metadata:
        from torch_load_model import sequential_from  # it imports this file: imported here, when needed

        try:
            model, input_shape = sequential_from(metadata["bend.layers"])
        except (ValueError, KeyError, TypeError) as error:
            raise FormatError(f"bend.layers metadata: {error}") from error
        return model, list(input_shape), "bend.layers metadata"
    for key in ("bend.arch", "arch"):
        if key in metadata:
            model, width = build_mlp(metadata[key])
            return model, [width], f"{key} metadata"
    raise FormatError("no architecture in the metadata (bend.layers, bend.arch or arch): give ARCH, e.g. 784-256-10")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("arch", nargs="?", help="layer widths, e.g. 784-256-128-10 (default: from the metadata)")
    parser.add_argument("--ones-output", action="store_true", help="print the output for an all-ones input")
    args = parser.parse_args()
    try:
        tensors, metadata = read_safetensors(args.file)
        if args.arch:
            model, width = build_mlp(args.arch)
            input_shape, source = [width], "ARCH " + args.arch
        else:
            model, input_shape, source = model_from_metadata(metadata)
        # A checkpoint keeps the model under "model." (and the optimizer's state beside it).
        if any(name.startswith("model.") for name in tensors):
            tensors = {name[6:]: t for name, t in tensors.items() if name.startswith("model.")}
        model.load_state_dict(tensors, strict=True)
    except (OSError, FormatError, RuntimeError) as error:
        print(f"{args.file}: {error}", file=sys.stderr)
        return 1
    print("OK")
    print(f"model: {source}")
    print(f"tensors: {len(tensors)}")
    print(f"metadata: {json.dumps(metadata, sort_keys=True, ensure_ascii=False)}")
    if args.ones_output:
        model.eval()
        with torch.no_grad():
            output = model(torch.ones(1, *input_shape))
        print(f"ones output: {json.dumps(output[0].tolist())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
