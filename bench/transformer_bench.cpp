// Forward + backward of one TransformerEncoderLayer, timed: bend's side of the comparison with
// bench/torch_transformer.py (PyTorch 1.13, same layer, same shapes, same loss).
//   transformer_bench [--threads N] [--steps N] [--batch B] [--len L] [--d D] [--heads H] [--ff F]
// Prints one line: the configuration and the median and mean milliseconds per step (forward, loss,
// backward, zero_grad) over --steps steps after 5 warm-up steps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bend/bend.hpp"

using namespace bend;

int main(int argc, char** argv) {
  int threads = 0, steps = 50;
  std::int64_t batch = 128, len = 17, d = 64, heads = 4, ff = 128;
  for (int k = 1; k + 1 < argc; k += 2) {
    const std::string flag = argv[k];
    const long value = std::strtol(argv[k + 1], nullptr, 10);
    if (flag == "--threads")
      threads = static_cast<int>(value);
    else if (flag == "--steps")
      steps = static_cast<int>(value);
    else if (flag == "--batch")
      batch = value;
    else if (flag == "--len")
      len = value;
    else if (flag == "--d")
      d = value;
    else if (flag == "--heads")
      heads = value;
    else if (flag == "--ff")
      ff = value;
    else {
      std::fprintf(stderr, "transformer_bench: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  set_num_threads(threads);
  Rng rng(0);
  nn::TransformerEncoderLayer layer({d, heads, ff, 0.1f, "relu", 1e-5f, true, false}, rng);
  Tensor x = Tensor::uniform({batch, len, d}, -1.0f, 1.0f, rng).requires_grad_();
  auto step = [&] {
    layer.zero_grad();
    x.zero_grad();
    Tensor y = layer.forward(x);
    mean(y * y).backward();
  };
  for (int i = 0; i < 5; ++i) step();
  std::vector<double> ms;
  for (int i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  double total = 0;
  for (double v : ms) total += v;
  std::sort(ms.begin(), ms.end());
  std::printf(
      "bend TransformerEncoderLayer(%ld, %ld, %ld) x[%ld, %ld, %ld] threads=%d: median %.3f ms, mean %.3f "
      "ms\n",
      static_cast<long>(d), static_cast<long>(heads), static_cast<long>(ff), static_cast<long>(batch),
      static_cast<long>(len), static_cast<long>(d), num_threads(), ms[ms.size() / 2],
      total / static_cast<double>(ms.size()));
  return 0;
}
