// The docs' MLP in C++: build 784-256-128-10 the way the PyTorch snippet does (Sequential of
// Linear/ReLU/GELU) and train it on MNIST with bend's Trainer (Adam 2e-3, cosine, batch 64), reporting test
// accuracy after every epoch. apps/mnist_net.cpp shows the functional style with checkpoints and resume.
//
//   ./build/mnist_mlp [data/mnist] [epochs]
#include <bend/bend.hpp>

#include <cstdlib>

using namespace bend;

int main(int argc, char** argv) {
  try {
    train::TrainConfig config;  // MNIST, the default recipe: Adam 2e-3, cosine, batch 64
    config.data_dir = argc > 1 ? argv[1] : "data/mnist";
    config.epochs = argc > 2 ? std::atoi(argv[2]) : 3;

    manual_seed(0);
    auto model = std::make_shared<nn::Sequential>(nn::Sequential{
        nn::Linear(784, 256), nn::ReLU(),  //
        nn::Linear(256, 128), nn::GELU(),  //
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
    trainer.run(&printer);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mnist_mlp: {}\n", e.what());
    return 1;
  }
}
