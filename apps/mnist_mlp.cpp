// The docs' MLP in C++: build 784-256-128-10 the way the PyTorch snippet does (Sequential of
// Linear/ReLU/GELU), train it with Adam on MNIST with a plain loop, report test accuracy.
//
//   ./build/mnist_mlp [data/mnist] [epochs]
#include <bend/bend.hpp>
#include <bend/optim/adam.hpp>
#include <bend/train/metrics.hpp>

#include <cstdlib>

using namespace bend;

int main(int argc, char** argv) {
  try {
    const std::filesystem::path dir = argc > 1 ? argv[1] : "data/mnist";
    const int epochs = argc > 2 ? std::atoi(argv[2]) : 3;
    TensorDataset train = load_tensor_dataset("mnist", dir, Split::Train);
    TensorDataset test = load_tensor_dataset("mnist", dir, Split::Test);

    manual_seed(0);
    nn::Sequential model{
        nn::Linear(784, 256), nn::ReLU(),  //
        nn::Linear(256, 128), nn::GELU(),  //
        nn::Linear(128, 10),
    };
    fmt::print("{}", model.summary({1, 784}));

    Adam optimizer(model.parameters(), 1e-3);
    Rng rng(0);
    DataLoader loader(train, 64, /*shuffle=*/true, rng);
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      loader.start_epoch();
      Batch batch;
      double loss_sum = 0;
      while (loader.next(batch)) {
        optimizer.zero_grad();
        Tensor loss = cross_entropy(model(batch.images), batch.labels);
        loss.backward();
        optimizer.step();
        loss_sum += loss.item() * static_cast<double>(batch.size);
      }
      const train::EvalResult r = train::evaluate(model, test);
      fmt::print("epoch {}: train loss {:.4f}, test accuracy {:.2f}%\n", epoch, loss_sum / train.size(),
                 100 * r.accuracy);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "mnist_mlp: {}\n", e.what());
    return 1;
  }
}
