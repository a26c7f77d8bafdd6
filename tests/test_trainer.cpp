// The training loop: learning on MNIST, determinism, resume = uninterrupted, NaN stops cleanly.
#include <catch2/catch.hpp>

#include <filesystem>

#include "bend/bend.hpp"
#include "bend/train/trainer.hpp"

#include "requirements.hpp"

using namespace bend;
using namespace bend::train;

namespace {

const std::filesystem::path kMnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
bool have_mnist() { return std::filesystem::exists(kMnist / "train-labels-idx1-ubyte"); }

// A small synthetic 4-class problem shaped like MNIST's first layer (16 "pixels").
std::pair<TensorDataset, TensorDataset> synthetic(std::int64_t n_train, std::int64_t n_test) {
  auto make = [](std::int64_t n, std::uint64_t seed) {
    Rng rng(seed);
    TensorDataset d;
    d.rows = 4;
    d.cols = 4;
    d.num_classes = 4;
    d.images = Tensor::uniform({n, 16}, 0, 1, rng);
    for (std::int64_t i = 0; i < n; ++i) {
      const float* row = d.images.data() + i * 16;
      const int cls = (row[0] > 0.5f ? 1 : 0) + (row[5] > 0.5f ? 2 : 0);
      d.labels.push_back(cls);
    }
    return d;
  };
  return {make(n_train, 1), make(n_test, 2)};
}

TrainConfig small_config() {
  TrainConfig c;
  c.arch = "16-32-4";
  c.act = "tanh";
  c.batch = 16;
  c.epochs = 3;
  c.seed = 3;
  c.threads = 1;
  c.lr = 1e-2;
  return c;
}

std::vector<float> weights_of(Trainer& t) {
  std::vector<float> all;
  for (const Tensor& p : t.model().parameters()) all.insert(all.end(), p.span().begin(), p.span().end());
  return all;
}

}  // namespace

TEST_CASE("a small fixed-seed run learns and is deterministic", "[trainer]") {
  auto [train, test] = synthetic(512, 128);
  Trainer a(small_config(), train, test);
  const TrainResult ra = a.run();
  REQUIRE(ra.history.size() == 3);
  CHECK(ra.history.back().train_loss < ra.history.front().train_loss);
  CHECK(ra.history.back().test_accuracy > 0.8);
  Trainer b(small_config(), train, test);
  const TrainResult rb = b.run();
  for (std::size_t k = 0; k < ra.history.size(); ++k)
    CHECK(ra.history[k].train_loss == rb.history[k].train_loss);
  CHECK(weights_of(a) == weights_of(b));
}

TEST_CASE("resuming a checkpoint continues bit-identically", "[trainer][checkpoint]") {
  auto [train, test] = synthetic(300, 64);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_resume";
  std::filesystem::remove_all(dir);
  for (const char* opt : {"adam", "sgd"}) {
    INFO(opt);
    TrainConfig full = small_config();
    full.optimizer = opt;
    full.momentum = std::string(opt) == "sgd" ? 0.9 : 0.0;
    full.dropout = 0.1f;
    Trainer whole(full, train, test);
    const TrainResult rw = whole.run();

    // Epoch boundary: 1 epoch, checkpoint, resume with --epochs 3 for the rest.
    TrainConfig first = full;
    first.epochs = 1;
    first.checkpoint_dir = dir;
    Trainer part1(first, train, test);
    part1.run();
    TrainConfig rest = full;
    rest.resume = dir / "checkpoint.safetensors";
    Trainer part2(rest, train, test);
    CHECK(part2.epochs_done() == 1);
    const TrainResult r2 = part2.run();
    CHECK(weights_of(part2) == weights_of(whole));
    REQUIRE(r2.history.size() == 3);
    CHECK(r2.history.back().train_loss == rw.history.back().train_loss);

    // Mid-epoch: stop after 7 steps (as --steps does, or Ctrl-C), checkpoint, resume; with a schedule
    // (the same --epochs, so the same cosine horizon).
    full.schedule = "cosine";
    Trainer whole_cosine(full, train, test);
    whole_cosine.run();
    TrainConfig stop = full;
    stop.max_steps = 7;
    Trainer part3(stop, train, test);
    part3.run();
    part3.save_checkpoint(dir / "mid.safetensors");
    TrainConfig cont = full;
    cont.resume = dir / "mid.safetensors";
    Trainer part4(cont, train, test);
    CHECK(part4.steps_done() == 7);
    part4.run();
    CHECK(weights_of(part4) == weights_of(whole_cosine));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a diverging loss stops with a clear error and saves nothing", "[trainer]") {
  auto [train, test] = synthetic(256, 64);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_nan";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TrainConfig c = small_config();
  c.optimizer = "sgd";
  c.lr = 1e30;
  c.act = "relu";
  c.save = dir / "model.safetensors";
  Trainer t(c, train, test);
  CHECK_THROWS_AS(t.run(), TrainingDiverged);
  try {
    Trainer t2(c, train, test);
    t2.run();
  } catch (const TrainingDiverged& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("at step") && Catch::Contains("--lr"));
  }
  CHECK_FALSE(std::filesystem::exists(c.save));
  std::filesystem::remove_all(dir);
}

TEST_CASE("config validation names the flag", "[trainer]") {
  TrainConfig c;
  c.optimizer = "rmsprop";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("--opt"));
  c = TrainConfig{};
  c.act = "bogus";
  CHECK_THROWS_AS(c.validate(), ValueError);
  c = TrainConfig{};
  c.batch = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("--batch"));
  c = TrainConfig{};
  c.nesterov = true;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("--nesterov"));
}

TEST_CASE("a short MNIST run passes an accuracy floor", "[trainer][mnist]") {
  if (!bend::testing::require_available(have_mnist(), "MNIST in " + kMnist.string(),
                                        "run data/fetch-mnist.sh"))
    return;
  TrainConfig c;
  c.data_dir = kMnist;
  c.epochs = 1;
  c.max_steps = 300;
  c.train_limit = 20000;
  c.test_limit = 2000;
  c.seed = 1;
  Trainer t(c);
  const TrainResult r = t.run();
  // 300 steps of batch 64 (19,200 images) with Adam reach ~93-95%; the floor leaves room for noise.
  REQUIRE_FALSE(r.history.empty());
  CHECK(r.history.back().test_accuracy > 0.90);
  // The same with the C++ API's evaluate() on the whole test subset.
  const EvalResult e = evaluate(t.model(), t.test_data());
  CHECK(e.accuracy == Approx(r.history.back().test_accuracy));
}
