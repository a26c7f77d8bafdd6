// The docs' MLP in C++: build 784-256-128-10 the way the PyTorch snippet does (Sequential of
// Linear/ReLU/GELU) and train it on MNIST with bend's Trainer (Adam 2e-3, cosine, batch 64), reporting test
// accuracy after every epoch. apps/mnist_net.cpp shows the functional style with checkpoints and resume.
//
//   ./build/mnist_mlp [--epochs 3] [--data-dir data/mnist] [--train-limit N] [--seed 0]
//                     [--checkpoint-dir DIR] [--save mlp.safetensors]
#include <bend/bend.hpp>

#include <cstdio>
#include <string>
#include <string_view>

using namespace bend;

namespace {

constexpr const char* kUsage =
    "usage: mnist_mlp [--epochs 3] [--data-dir data/mnist] [--train-limit N] [--seed 0]\n"
    "                 [--checkpoint-dir DIR] [--save FILE]\n"
    "Trains the docs' 784-256-128-10 MLP (ReLU, GELU) on MNIST with the default recipe.\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    train::TrainConfig config;  // MNIST, the default recipe: Adam 2e-3, cosine, batch 64
    config.epochs = 3;
    for (int i = 1; i < argc; ++i) {
      const std::string_view flag = argv[i];
      if (flag == "--help" || flag == "-h") {
        std::fputs(kUsage, stdout);
        return 0;
      }
      if (flag.rfind("--", 0) != 0)
        throw ValueError(fmt::format("unexpected argument '{}' (flags only; --help lists them)", flag));
      if (i + 1 >= argc) throw ValueError(fmt::format("{} needs a value", flag));
      const std::string value = argv[++i];
      if (flag == "--epochs")
        config.epochs = std::stoll(value);
      else if (flag == "--data-dir")
        config.data_dir = value;
      else if (flag == "--train-limit")
        config.train_limit = std::stoll(value);
      else if (flag == "--seed")
        config.seed = std::stoull(value);
      else if (flag == "--checkpoint-dir")
        config.checkpoint_dir = value;
      else if (flag == "--save")
        config.save = value;
      else
        throw ValueError(fmt::format("unknown flag {} (--help lists them)", flag));
    }

    manual_seed(config.seed);
    auto model = std::make_shared<nn::Sequential>(nn::Sequential{
        nn::Linear(784, 256),
        nn::ReLU(),  //
        nn::Linear(256, 128),
        nn::GELU(),  //
        nn::Linear(128, 10),
    });
    fmt::print("{}", model->summary({1, 784}));

    struct Printer : train::TrainObserver {
      void on_epoch(const train::EpochMetrics& m) override {
        fmt::print("epoch {}: train loss {:.4f}, test accuracy {:.2f}%\n", m.epoch, m.train_loss,
                   100 * m.test_accuracy);
      }
    } printer;
    train::Trainer trainer(config, train::ModelSource::of(model));
    const train::TrainResult result = trainer.run(&printer);
    fmt::print("test accuracy {:.2f}%{}{}\n", 100 * result.last_test_accuracy,
               config.save.empty() ? "" : "; model saved to ", config.save.string());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mnist_mlp: {}\n", e.what());
    return 1;
  }
}
