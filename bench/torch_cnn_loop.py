#!/usr/bin/env python3
"""PyTorch's MNIST example loop (pytorch/examples mnist/main.py, the CNN of libtorch's MNIST example):
the PyTorch side of apps/mnist_cnn_loop.cpp, a user's own training loop without a Trainer.

Same net (conv 1->10 k5, max pool, relu, conv 10->20 k5, Dropout2d, max pool, relu, 320->50, relu,
dropout 0.5, 50->10, log_softmax), nll_loss, SGD lr 0.01 momentum 0.5, images normalised with
(0.1307, 0.3081), shuffled batches, the test set in batches of 1000 after each epoch. Prints one JSON
line per epoch (training seconds, test accuracy) and a summary with the peak RSS.

  /usr/bin/python3 bench/torch_cnn_loop.py --epochs 2 --train-limit 10000 --threads 1
"""
import argparse
import json
import resource
import statistics
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from torch_mlp import seeded_mnist


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, p=0.5, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parent.parent / "data" / "mnist")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    train_images, train_labels, test_images, test_labels = seeded_mnist(args)
    train_images = ((train_images - 0.1307) / 0.3081).view(-1, 1, 28, 28)
    test_images = ((test_images - 0.1307) / 0.3081).view(-1, 1, 28, 28)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
    n = train_images.shape[0]
    epoch_seconds = []
    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        started = time.perf_counter()
        order = torch.randperm(n)
        for start in range(0, n, args.batch_size):
            idx = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = F.nll_loss(model(train_images[idx]), train_labels[idx])
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - started
        epoch_seconds.append(seconds)
        model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, test_images.shape[0], 1000):
                pred = model(test_images[start : start + 1000]).argmax(1)
                correct += int((pred == test_labels[start : start + 1000]).sum())
        accuracy = correct / test_images.shape[0]
        print(json.dumps({"epoch": epoch, "seconds": round(seconds, 4), "test_accuracy": accuracy}), flush=True)
    print(json.dumps({"summary": True, "framework": "pytorch", "torch_version": torch.__version__,
                      "torch_threads": torch.get_num_threads(), "train_samples": n,
                      "median_epoch_seconds": statistics.median(epoch_seconds), "final_test_accuracy": accuracy,
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)}))


if __name__ == "__main__":
    main()
