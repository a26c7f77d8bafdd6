#!/usr/bin/python3
"""PyTorch reference for bend's MLP speed benchmark.

Trains the MLP 784-H1-...-10 on MNIST with plain PyTorch (no DataLoader, no
torchvision) the way a typical small training script does, and times each
epoch's training loop.  bend's own benchmark runs the same model, optimizer,
batch size and data so the two epoch times can be compared directly.

Run it with Debian's interpreter (/usr/bin/python3), which is where the
python3-torch package lives.  See bench/README.md for the measured figures.
"""

import argparse
import copy
import gzip
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / "data" / "mnist"

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,  # exact (erf) form, PyTorch's default
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
}

IDX_UBYTE_TYPE = 0x08


def read_idx(path: Path, expected_rank: int) -> np.ndarray:
    """Reads an IDX file of unsigned bytes (raw or gzip-compressed)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4:
        raise ValueError(f"{path}: {len(data)} bytes is too short for an IDX header")
    zero0, zero1, element_type, rank = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or element_type != IDX_UBYTE_TYPE:
        raise ValueError(
            f"{path}: bad IDX magic {data[:4].hex()} at byte 0 (want 0000{IDX_UBYTE_TYPE:02x}..)"
        )
    if rank != expected_rank:
        raise ValueError(f"{path}: IDX rank {rank} at byte 3, expected {expected_rank}")
    header_bytes = 4 + 4 * rank
    if len(data) < header_bytes:
        raise ValueError(f"{path}: file ends inside the IDX header ({len(data)} bytes)")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    payload_bytes = int(np.prod(shape))
    if len(data) - header_bytes != payload_bytes:
        raise ValueError(
            f"{path}: header says shape {shape} ({payload_bytes} bytes after byte "
            f"{header_bytes}) but the file has {len(data) - header_bytes}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_bytes).reshape(shape)


def find_idx_file(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        candidate = data_dir / name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{data_dir}: neither {stem} nor {stem}.gz exists (run data/fetch-mnist.sh or pass --data-dir)"
    )


def load_split(data_dir: Path, prefix: str):
    """Returns (images float32 [N,784] in [0,1], labels int64 [N]) as torch tensors."""
    images = read_idx(find_idx_file(data_dir, f"{prefix}-images-idx3-ubyte"), 3)
    labels = read_idx(find_idx_file(data_dir, f"{prefix}-labels-idx1-ubyte"), 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{data_dir}: {prefix} has {images.shape[0]} images but {labels.shape[0]} labels")
    flat = images.reshape(images.shape[0], -1).astype(np.float32)
    flat /= 255.0  # in place: no second 188 MB temporary in the peak RSS
    return torch.from_numpy(flat), torch.from_numpy(labels.astype(np.int64))


def seeded_mnist(args):
    """Sets torch's threads (args.threads, when > 0) and seed (args.seed), then loads MNIST from
    args.data_dir: (train_images, train_labels, test_images, test_labels), the training split cut to its
    first args.train_limit images when that is > 0."""
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_images, train_labels = load_split(args.data_dir, "train")
    test_images, test_labels = load_split(args.data_dir, "t10k")
    if args.train_limit > 0:
        train_images = train_images[: args.train_limit].contiguous()
        train_labels = train_labels[: args.train_limit].contiguous()
    return train_images, train_labels, test_images, test_labels


def parse_arch(text: str):
    try:
        sizes = [int(part) for part in text.split("-")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--arch {text!r}: expected sizes like 784-256-128-10")
    if len(sizes) < 2 or any(size <= 0 for size in sizes):
        raise argparse.ArgumentTypeError(f"--arch {text!r}: need at least two positive sizes")
    return sizes


def build_mlp(sizes, activation: str) -> nn.Sequential:
    layers = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out))  # PyTorch's default init
        if index < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def build_from_layers(text: str):
    """A CNN (or any spec) as bend describes it in bend.layers (JSON: {"input": [1, 28, 28], "modules":
    [...]}), built by scripts/torch_load_model.py: (Sequential, input sample shape)."""
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    from torch_load_model import sequential_from  # noqa: E402

    try:
        return sequential_from(text)
    except (ValueError, KeyError, TypeError) as error:
        raise argparse.ArgumentTypeError(f"--layers: {error}") from error


def build_optimizer(args, parameters):
    # foreach=None is PyTorch's default (the per-tensor loop on CPU in torch 1.13).
    foreach = True if args.foreach else None
    if args.opt == "adam":
        return torch.optim.Adam(parameters, lr=args.lr if args.lr is not None else 1e-3, foreach=foreach)
    return torch.optim.SGD(
        parameters,
        lr=args.lr if args.lr is not None else 0.01,
        momentum=args.momentum,
        foreach=foreach,
    )


def train_step(model, optimizer, inputs, targets):
    loss = F.cross_entropy(model(inputs), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def warm_up(args, model, images, labels):
    """Runs steps on a throwaway copy so the timed run starts from the seed's init."""
    if args.warmup_steps <= 0:
        return
    scratch_model = copy.deepcopy(model)
    scratch_optimizer = build_optimizer(args, scratch_model.parameters())
    count = images.shape[0]
    start = 0
    for _ in range(args.warmup_steps):
        if start >= count:
            start = 0
        train_step(scratch_model, scratch_optimizer, images[start : start + args.batch], labels[start : start + args.batch])
        start += args.batch


def test_accuracy(model, images, labels) -> float:
    model.eval()
    with torch.no_grad():
        correct = (model(images).argmax(dim=1) == labels).sum().item()
    model.train()
    return correct / labels.shape[0]


def loaded_blas_library() -> str:
    """The BLAS shared object actually mapped into this process (Debian uses alternatives)."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                if "libblas" in path or "libopenblas" in path or "libmkl" in path:
                    return os.path.realpath(path)
    except OSError:
        pass
    return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="directory with the MNIST IDX files")
    parser.add_argument("--arch", type=parse_arch, default=parse_arch("784-256-128-10"), help="layer sizes")
    parser.add_argument("--act", choices=sorted(ACTIVATIONS), default="relu")
    parser.add_argument(
        "--layers",
        default=None,
        help="any model bend can build, as its bend.layers description (bend_bench --describe prints it); "
        "replaces --arch/--act",
    )
    parser.add_argument("--opt", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float, default=None, help="default: 1e-3 for Adam, 0.01 for SGD")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    parser.add_argument("--foreach", action="store_true", help="multi-tensor (foreach) optimizer step")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads (default 1, the fastest setting on the 2-core benchmark machine; 0 = leave torch's default)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warmup-steps", type=int, default=50, help="untimed steps on a throwaway model copy")
    parser.add_argument("--train-limit", type=int, default=0, help="use only the first N training images (0 = all)")
    parser.add_argument("--json", action="store_true", help="one JSON line per epoch plus a JSON summary")
    args = parser.parse_args()
    if args.batch <= 0 or args.epochs <= 0:
        parser.error("--batch and --epochs must be positive")
    if args.arch[0] != 784 or args.arch[-1] != 10:
        parser.error(f"--arch must start with 784 and end with 10 for MNIST, got {args.arch}")

    train_images, train_labels, test_images, test_labels = seeded_mnist(args)
    train_count = train_images.shape[0]

    if args.layers:
        model, sample_shape = build_from_layers(args.layers)
        train_images = train_images.view(-1, *sample_shape)
        test_images = test_images.view(-1, *sample_shape)
    else:
        model = build_mlp(args.arch, args.act)
    optimizer = build_optimizer(args, model.parameters())
    warm_up(args, model, train_images, train_labels)

    def emit(record, human):
        print(json.dumps(record) if args.json else human, flush=True)

    epoch_seconds = []
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        loss_sum = 0.0
        batch_count = 0
        started = time.perf_counter()
        cpu_started = time.process_time()
        order = torch.randperm(train_count)
        for start in range(0, train_count, args.batch):
            batch_indices = order[start : start + args.batch]
            loss = train_step(model, optimizer, train_images[batch_indices], train_labels[batch_indices])
            loss_sum += loss.item()
            batch_count += 1
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        epoch_seconds.append(seconds)
        accuracy = test_accuracy(model, test_images, test_labels)
        emit(
            {
                "epoch": epoch,
                "seconds": round(seconds, 4),
                "cpu_seconds": round(cpu_seconds, 4),
                "samples_per_s": round(train_count / seconds, 1),
                "train_loss": round(loss_sum / batch_count, 5),
                "test_accuracy": round(accuracy, 5),
            },
            f"epoch {epoch:3d}  {seconds:7.3f} s  {train_count / seconds:9.0f} samples/s  "
            f"loss {loss_sum / batch_count:.4f}  test acc {100 * accuracy:.2f}%",
        )

    median_seconds = statistics.median(epoch_seconds)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB
    summary = {
        "summary": True,
        "framework": "pytorch",
        "torch_version": torch.__version__,
        "arch": "-".join(str(size) for size in args.arch) if not args.layers else args.layers,
        "act": args.act,
        "opt": args.opt,
        "lr": optimizer.param_groups[0]["lr"],
        "foreach": args.foreach,
        "batch": args.batch,
        "epochs": args.epochs,
        "seed": args.seed,
        "train_samples": train_count,
        "median_epoch_seconds": round(median_seconds, 4),
        "samples_per_s": round(train_count / median_seconds, 1),
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "final_test_accuracy": round(accuracy, 5),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "blas_library": loaded_blas_library(),
        "peak_rss_mib": round(peak_rss_mib, 1),
    }
    emit(
        summary,
        f"median epoch {median_seconds:.3f} s ({train_count / median_seconds:.0f} samples/s), "
        f"final test acc {100 * accuracy:.2f}%, torch {torch.__version__}, "
        f"{torch.get_num_threads()} torch threads, OMP_NUM_THREADS={summary['OMP_NUM_THREADS']}, "
        f"OPENBLAS_NUM_THREADS={summary['OPENBLAS_NUM_THREADS']}, "
        f"OPENBLAS_CORETYPE={summary['OPENBLAS_CORETYPE']}, peak RSS {peak_rss_mib:.0f} MiB",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
