// A training loop of one's own, no Trainer: the official libtorch MNIST example (a small CNN with
// Dropout2d, log_softmax and nll_loss, SGD with momentum, an eval that counts argmax == target) as a
// libtorch user writes it, in bend. The model, the loops and the accuracy line read as they do there:
//
//   torch::nn::Conv2d conv1{nullptr}        ->  nn::ModuleHolder<nn::Conv2d> conv1
//   x.view({-1, 320})                       ->  x.view({-1, 320})
//   torch::optim::SGD(params, SGDOptions(0.01).momentum(0.5))  ->  SGD(params, {.lr = 0.01, .momentum = 0.5})
//   for (auto& batch : *loader)             ->  for (Batch& batch : loader)   (images [64, 1, 28, 28])
//   output.argmax(1).eq(targets).sum().template item<int64_t>()
//                                           ->  output.argmax(1).eq(Tensor::from_indices(batch.labels))
//                                                 .sum().item<std::int64_t>()
//
//   ./build/mnist_cnn_loop [--epochs 10] [--data-dir data/mnist] [--train-limit N] [--batch-size 64]
//                          [--seed 1]
#include <bend/bend.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>

using namespace bend;

struct Net : nn::Module {
  Net() {
    conv1 = register_module("conv1", nn::ModuleHolder<nn::Conv2d>(1, 10, /*kernel_size=*/5));
    conv2 = register_module("conv2", nn::ModuleHolder<nn::Conv2d>(10, 20, /*kernel_size=*/5));
    conv2_drop = register_module("conv2_drop", nn::ModuleHolder<nn::Dropout2d>());
    fc1 = register_module("fc1", nn::ModuleHolder<nn::Linear>(320, 50));
    fc2 = register_module("fc2", nn::ModuleHolder<nn::Linear>(50, 10));
  }

  // x [N, 1, 28, 28] -> log-probabilities [N, 10]
  Tensor forward(const Tensor& input) override {
    Tensor x = relu(max_pool2d(conv1(input), /*kernel=*/2, /*stride=*/2));
    x = relu(max_pool2d(conv2_drop(conv2(x)), 2, 2));
    x = x.view({-1, 320});
    x = relu(fc1(x));
    x = dropout(x, /*p=*/0.5f, /*training=*/is_training(), default_rng());
    x = fc2(x);
    return log_softmax(x, /*dim=*/1);
  }

  // Empty until the constructor registers them ({nullptr}: no throwaway Dropout2d drawing a seed).
  nn::ModuleHolder<nn::Conv2d> conv1{nullptr}, conv2{nullptr};
  nn::ModuleHolder<nn::Dropout2d> conv2_drop{nullptr};
  nn::ModuleHolder<nn::Linear> fc1{nullptr}, fc2{nullptr};
};

namespace {

constexpr std::int64_t kTestBatchSize = 1000;
constexpr std::int64_t kLogInterval = 10;

void train_epoch(std::int64_t epoch, Net& model, DataLoader& loader, Optimizer& optimizer) {
  model.train();
  std::int64_t batch_idx = 0, seen = 0;
  for (Batch& batch : loader) {
    optimizer.zero_grad();
    Tensor output = model.forward(batch.images);
    Tensor loss = nll_loss(output, batch.labels);
    loss.backward();
    optimizer.step();
    seen += batch.size;
    if (batch_idx++ % kLogInterval == 0 || seen == loader.dataset_size()) {
      std::printf("\rTrain Epoch: %lld [%5lld/%5lld] Loss: %.4f", static_cast<long long>(epoch),
                  static_cast<long long>(seen), static_cast<long long>(loader.dataset_size()),
                  loss.item<double>());
      std::fflush(stdout);
    }
  }
}

// Returns the accuracy.
double test_epoch(Net& model, DataLoader& loader) {
  NoGradGuard no_grad;
  model.eval();
  double test_loss = 0;
  std::int64_t correct = 0;
  for (const Batch& batch : loader) {
    Tensor output = model.forward(batch.images);
    test_loss += nll_loss(output, batch.labels, Reduction::Sum).item<double>();
    Tensor pred = output.argmax(1);
    correct += pred.eq(Tensor::from_indices(batch.labels)).sum().item<std::int64_t>();
  }
  const auto n = static_cast<double>(loader.dataset_size());
  std::printf("\nTest set: Average loss: %.4f | Accuracy: %.3f\n", test_loss / n,
              static_cast<double>(correct) / n);
  return static_cast<double>(correct) / n;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::int64_t epochs = 10, train_limit = 0, train_batch_size = 64;
    std::string data_dir = "data/mnist";
    std::uint64_t seed = 1;
    for (int i = 1; i < argc; ++i) {
      const std::string_view flag = argv[i];
      if (i + 1 >= argc) throw ValueError(fmt::format("{} needs a value", flag));
      const std::string value = argv[++i];
      if (flag == "--epochs")
        epochs = std::stoll(value);
      else if (flag == "--data-dir")
        data_dir = value;
      else if (flag == "--train-limit")
        train_limit = std::stoll(value);
      else if (flag == "--batch-size")
        train_batch_size = std::stoll(value);
      else if (flag == "--seed")
        seed = std::stoull(value);
      else
        throw ValueError(fmt::format(
            "unknown flag {} (flags: --epochs, --data-dir, --train-limit, --batch-size, --seed)", flag));
    }
    manual_seed(seed);  // the weights' init and the dropout masks

    TensorDataset train_set = load_dataset("mnist", data_dir, Split::Train);
    if (train_limit > 0 && train_limit < train_set.size()) train_set = subset(train_set, 0, train_limit);
    TensorDataset test_set = load_dataset("mnist", data_dir, Split::Test);
    // torchvision's Normalize((0.1307,), (0.3081,)), as the libtorch example.
    normalize(train_set, {0.1307f, 0.3081f});
    normalize(test_set, {0.1307f, 0.3081f});
    DataLoader train_loader(train_set,
                            {.batch_size = train_batch_size, .shuffle = true, .seed = seed, .images = true});
    DataLoader test_loader(test_set, {.batch_size = kTestBatchSize, .images = true});

    Net model;
    optim::SGD optimizer(model.parameters(), optim::SgdOptions{.lr = 0.01, .momentum = 0.5});

    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    double accuracy = 0;
    for (std::int64_t epoch = 1; epoch <= epochs; ++epoch) {
      const auto epoch_start = clock::now();
      train_epoch(epoch, model, train_loader, optimizer);
      // (the training time alone: bench/run.sh compares it with bench/torch_cnn_loop.py's)
      std::printf("\nepoch %lld trained in %.4f s", static_cast<long long>(epoch),
                  std::chrono::duration<double>(clock::now() - epoch_start).count());
      accuracy = test_epoch(model, test_loader);
    }
    const std::chrono::duration<double> seconds = clock::now() - start;
    std::printf("test accuracy %.2f%% after %lld epochs of %lld images (%.1f s)\n", 100 * accuracy,
                static_cast<long long>(epochs), static_cast<long long>(train_set.size()), seconds.count());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mnist_cnn_loop: %s\n", e.what());
    return 1;
  }
}
