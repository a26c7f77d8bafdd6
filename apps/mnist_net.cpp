// The docs' functional style in C++: a Net with fc1, fc2, fc3 and relu/gelu called in forward, as
//
//   def forward(self, x):
//       x = F.relu(self.fc1(x))
//       x = F.gelu(self.fc2(x))
//       return self.fc3(x)
//
// trained by bend's Trainer: a progress line, per-epoch metrics, a checkpoint after every epoch,
// Ctrl-C that checkpoints and stops, and --resume that continues bit-identically. The saved file holds
// fc1.weight, fc1.bias, ... so PyTorch loads it into the same nn.Module (scripts/torch_load_net.py).
//
//   ./build/mnist_net [--epochs 3] [--data-dir data/mnist] [--checkpoint-dir checkpoints/net]
//                     [--resume checkpoints/net/checkpoint.safetensors] [--save net.safetensors]
//                     [--metrics net.csv] [--steps N] [--train-limit N] [--seed 0]
#include <bend/bend.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace bend;

class Net : public nn::Module {
 public:
  explicit Net(Rng& rng)
      : fc1(register_module("fc1", std::make_shared<nn::Linear>(784, 256, true, rng))),
        fc2(register_module("fc2", std::make_shared<nn::Linear>(256, 128, true, rng))),
        fc3(register_module("fc3", std::make_shared<nn::Linear>(128, 10, true, rng))) {}

  Tensor forward(const Tensor& input) override {
    Tensor x = relu((*fc1)(input));
    x = gelu((*fc2)(x));
    return (*fc3)(x);
  }
  std::string type_name() const override { return "Net"; }

  std::shared_ptr<nn::Linear> fc1, fc2, fc3;
};

namespace {

extern "C" void on_sigint(int) { train::request_stop(); }

// Prints one line per epoch and where checkpoints go.
struct Printer : train::TrainObserver {
  void on_start(train::Trainer& t) override {
    std::printf("%s with %lld parameters; %s\n", t.model().type_name().c_str(),
                static_cast<long long>(t.model().num_parameters()), t.recipe().c_str());
    if (t.epochs_done() >= t.config().epochs)
      std::printf("the checkpoint holds a finished run (%lld of %lld epochs): nothing left to train\n",
                  static_cast<long long>(t.epochs_done()), static_cast<long long>(t.config().epochs));
    else if (t.epochs_done() > 0 || t.steps_done() > 0)
      std::printf("resumed at epoch %lld, step %lld\n", static_cast<long long>(t.epochs_done() + 1),
                  static_cast<long long>(t.steps_done()));
  }
  void on_epoch(const train::EpochMetrics& m) override {
    std::printf("epoch %lld: train loss %.4f, test accuracy %.2f%% (%.2fs)\n", static_cast<long long>(m.epoch),
                m.train_loss, 100 * m.test_accuracy, m.seconds);
    std::fflush(stdout);
  }
  void on_checkpoint(const std::filesystem::path& path) override { last_checkpoint = path; }
  std::filesystem::path last_checkpoint;
};

void write_metrics(const std::filesystem::path& path, const std::vector<train::EpochMetrics>& history) {
  std::string csv = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds\n";
  for (const auto& m : history)
    csv += fmt::format("{},{:.9g},{:.9g},{:.9g},{:.9g},{:.6f}\n", m.epoch, m.train_loss, m.train_accuracy,
                       m.test_loss, m.test_accuracy, m.seconds);
  write_file_atomically(path, csv);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    train::TrainConfig config;  // MNIST, the default recipe: Adam 2e-3, cosine, batch 64
    config.epochs = 3;
    config.checkpoint_dir = "checkpoints/net";
    std::filesystem::path metrics;
    for (int i = 1; i < argc; ++i) {
      const std::string_view flag = argv[i];
      if (i + 1 >= argc) throw ValueError(fmt::format("{} needs a value", flag));
      const std::string value = argv[++i];
      if (flag == "--epochs") config.epochs = std::stoll(value);
      else if (flag == "--data-dir") config.data_dir = value;
      else if (flag == "--checkpoint-dir") config.checkpoint_dir = value;
      else if (flag == "--resume") config.resume = value;
      else if (flag == "--save") config.save = value;
      else if (flag == "--metrics") metrics = value;
      else if (flag == "--steps") config.max_steps = std::stoll(value);
      else if (flag == "--train-limit") config.train_limit = std::stoll(value);
      else if (flag == "--seed") config.seed = std::stoull(value);
      else throw ValueError(fmt::format("unknown flag {}", flag));
    }

    // A factory, so that the weights come from --seed; "Net" goes into the files' metadata, and a
    // checkpoint of another model is refused on --resume.
    const auto source = train::ModelSource::from([](Rng& rng) { return std::make_shared<Net>(rng); }, "Net");
    train::Trainer trainer(config, source);
    Printer printer;
    std::signal(SIGINT, on_sigint);
    const train::TrainResult result = trainer.run(&printer);
    std::signal(SIGINT, SIG_DFL);
    if (!metrics.empty()) write_metrics(metrics, result.history);
    if (result.stopped) {
      std::printf("interrupted: checkpoint written to %s; continue with --resume %s\n",
                  result.stop_checkpoint.c_str(), result.stop_checkpoint.c_str());
      return 130;
    }
    std::printf("test accuracy %.2f%%%s%s\n", 100 * result.last_test_accuracy,
                config.save.empty() ? "" : "; model saved to ", config.save.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mnist_net: %s\n", e.what());
    return 1;
  }
}
