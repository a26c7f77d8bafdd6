// The training loop: learning on MNIST, determinism, resume = uninterrupted, NaN stops cleanly; any
// nn::Module (a functional-style Net with buffers) trains, checkpoints and resumes; checkpoints that do
// not fit the run are refused with the reason.
#include <catch2/catch.hpp>
#include "build_paths.hpp"

#include <filesystem>

#include "bend/bend.hpp"
#include "bend/train/trainer.hpp"

#include "requirements.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

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
  c.batch = 16;
  c.epochs = 3;
  c.seed = 3;
  c.threads = 1;
  c.optimizer_options["lr"] = 1e-2;
  c.schedule =
      "none";  // a constant rate, so that a resume may add epochs (the default recipe's cosine may not)
  return c;
}

ModelSource small_mlp(std::string_view act = "tanh", float dropout = 0.0f) {
  return model_source(nn::ModelSpec::parse("16-32-4", act, "none", dropout), nn::init::Scheme::Torch);
}

// The docs' functional style: Linear layers as members, activations called in forward; plus a buffer
// (a forward counter) so that checkpoints must carry buffers too.
class TinyNet : public nn::Module {
 public:
  explicit TinyNet(Rng& rng, std::int64_t hidden = 24)
      : fc1(register_module("fc1", std::make_shared<nn::Linear>(16, hidden, true, rng))),
        fc2(register_module("fc2", std::make_shared<nn::Linear>(hidden, 4, true, rng))),
        calls(register_buffer("calls", Tensor::zeros(Shape{1}))) {}
  Tensor forward(const Tensor& x) override {
    if (is_training()) calls.data()[0] += 1;
    return (*fc2)(gelu((*fc1)(x)));
  }
  std::string type_name() const override { return "TinyNet"; }
  std::shared_ptr<nn::Linear> fc1, fc2;
  Tensor calls;
};

ModelSource tiny_net(std::int64_t hidden = 24) {
  return ModelSource::from([hidden](Rng& rng) { return std::make_shared<TinyNet>(rng, hidden); }, "TinyNet");
}

std::vector<float> weights_of(Trainer& t) {
  std::vector<float> all;
  for (const Tensor& p : t.model().parameters()) all.insert(all.end(), p.span().begin(), p.span().end());
  return all;
}

}  // namespace

TEST_CASE("a small fixed-seed run learns and is deterministic", "[trainer]") {
  auto [train, test] = synthetic(512, 128);
  Trainer a(small_config(), small_mlp(), train, test);
  const TrainResult ra = a.run();
  REQUIRE(ra.history.size() == 3);
  CHECK(ra.history.back().train_loss < ra.history.front().train_loss);
  CHECK(ra.history.back().test_accuracy > 0.8);
  Trainer b(small_config(), small_mlp(), train, test);
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
    if (std::string(opt) == "sgd") full.optimizer_options["momentum"] = 0.9;
    const ModelSource model = small_mlp("tanh", 0.1f);
    Trainer whole(full, model, train, test);
    const TrainResult rw = whole.run();

    // Epoch boundary: 1 epoch, checkpoint, resume with --epochs 3 for the rest.
    TrainConfig first = full;
    first.epochs = 1;
    first.checkpoint_dir = dir;
    Trainer part1(first, model, train, test);
    part1.run();
    TrainConfig rest = full;
    rest.resume = dir / "checkpoint.safetensors";
    Trainer part2(rest, model, train, test);
    CHECK(part2.epochs_done() == 1);
    const TrainResult r2 = part2.run();
    CHECK(weights_of(part2) == weights_of(whole));
    REQUIRE(r2.history.size() == 3);
    CHECK(r2.history.back().train_loss == rw.history.back().train_loss);

    // Mid-epoch: stop after 7 steps (as --steps does, or Ctrl-C), checkpoint, resume; with a schedule
    // (the same --epochs, so the same cosine horizon).
    full.schedule = "cosine";
    Trainer whole_cosine(full, model, train, test);
    whole_cosine.run();
    TrainConfig stop = full;
    stop.max_steps = 7;
    Trainer part3(stop, model, train, test);
    part3.run();
    part3.save_checkpoint(dir / "mid.safetensors");
    TrainConfig cont = full;
    cont.resume = dir / "mid.safetensors";
    Trainer part4(cont, model, train, test);
    CHECK(part4.steps_done() == 7);
    part4.run();
    CHECK(weights_of(part4) == weights_of(whole_cosine));
  }
  std::filesystem::remove_all(dir);
}

// --checkpoint-every: the checkpoint written at step 25 (inside epoch 2, dropout and a cosine schedule
// running) is kept aside as a kill at that moment would leave it; resuming it ends where the whole run
// ends, bit for bit, with the same epochs.
TEST_CASE("checkpoint_every: a checkpoint from inside an epoch resumes bit-identically",
          "[trainer][checkpoint]") {
  auto [train, test] = synthetic(300, 64);  // batch 16: 19 steps an epoch
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_checkpoint_every";
  std::filesystem::remove_all(dir);
  TrainConfig config = small_config();
  config.schedule = "cosine";
  config.checkpoint_every = 5;
  config.checkpoint_dir = dir / "run";
  const ModelSource model = small_mlp("tanh", 0.1f);
  struct KeepStep25 : TrainObserver {
    Trainer* trainer = nullptr;
    std::filesystem::path copy;
    int checkpoints = 0;
    void on_start(Trainer& t) override { trainer = &t; }
    void on_checkpoint(const std::filesystem::path& path) override {
      ++checkpoints;
      if (trainer->steps_done() == 25) std::filesystem::copy_file(path, copy);
    }
  } keep;
  keep.copy = dir / "step25.safetensors";
  Trainer whole(config, model, train, test);
  const TrainResult rw = whole.run(&keep);
  // Steps 5, 10, 15, 19 (epoch 1), 20, 25, 30, 35, 38 (epoch 2), 40, 45, 50, 55, 57 (epoch 3).
  CHECK(keep.checkpoints == 14);
  REQUIRE(std::filesystem::exists(keep.copy));
  TrainConfig rest = config;
  rest.resume = keep.copy;
  rest.checkpoint_dir = dir / "resumed";
  Trainer resumed(rest, model, train, test);
  CHECK(resumed.steps_done() == 25);
  CHECK(resumed.epochs_done() == 1);
  const TrainResult rr = resumed.run();
  CHECK(weights_of(resumed) == weights_of(whole));
  REQUIRE(rr.history.size() == rw.history.size());
  for (std::size_t e = 0; e < rw.history.size(); ++e) {
    CHECK(rr.history[e].train_loss == rw.history[e].train_loss);
    CHECK(rr.history[e].test_loss == rw.history[e].test_loss);
  }
  config.checkpoint_every = -1;
  CHECK_THROWS_WITH(config.validate(), Catch::Contains("--checkpoint-every must be >= 0"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a diverging loss stops with a clear error and saves nothing", "[trainer]") {
  auto [train, test] = synthetic(256, 64);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_nan";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TrainConfig c = small_config();
  c.optimizer = "sgd";
  c.optimizer_options["lr"] = 1e30;
  c.save = dir / "model.safetensors";
  Trainer t(c, small_mlp("relu"), train, test);
  CHECK_THROWS_AS(t.run(), TrainingDiverged);
  try {
    Trainer t2(c, small_mlp("relu"), train, test);
    t2.run();
  } catch (const TrainingDiverged& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("at step") && Catch::Contains("learning rate"));
  }
  CHECK_FALSE(std::filesystem::exists(c.save));
  std::filesystem::remove_all(dir);
}

TEST_CASE("config validation names the flag", "[trainer]") {
  TrainConfig c;
  c.optimizer = "lbfgs";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("lbfgs") && Catch::Contains("rmsprop"));
  c = TrainConfig{};
  c.dataset = "cifar";
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("cifar") && Catch::Contains("mnist"));
  c = TrainConfig{};
  c.batch = 0;
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("--batch"));
  c = TrainConfig{};
  c.optimizer_options["momentum"] = 0.9;  // Adam takes no momentum
  CHECK_THROWS_WITH(c.validate(), Catch::Contains("momentum"));
}

TEST_CASE("a model that does not fit the data is refused before training", "[trainer]") {
  auto [train, test] = synthetic(64, 16);
  const auto wide = model_source(nn::ModelSpec::parse("20-8-4", "relu", "none"), nn::init::Scheme::Torch);
  CHECK_THROWS_WITH(Trainer(small_config(), wide, train, test), Catch::Contains("16 features"));
  const auto five = model_source(nn::ModelSpec::parse("16-8-5", "relu", "none"), nn::init::Scheme::Torch);
  CHECK_THROWS_WITH(Trainer(small_config(), five, train, test),
                    Catch::Contains("5 outputs") && Catch::Contains("4 classes"));
}

TEST_CASE("any nn::Module trains, checkpoints its parameters and buffers, and resumes bit-identically",
          "[trainer][checkpoint]") {
  auto [train, test] = synthetic(320, 64);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_module_resume";
  std::filesystem::remove_all(dir);
  TrainConfig full = small_config();
  Trainer whole(full, tiny_net(), train, test);
  const TrainResult rw = whole.run();
  CHECK(rw.history.back().train_loss < rw.history.front().train_loss);
  const float calls = dynamic_cast<TinyNet&>(whole.model()).calls.data()[0];
  CHECK(calls == 3 * 20);  // 320 / 16 steps per epoch; evaluation runs in eval mode

  // Stopped inside epoch 2 by --steps: the run writes a checkpoint itself, and a resume finishes it.
  TrainConfig first = full;
  first.max_steps = 27;
  first.checkpoint_dir = dir;
  Trainer part1(first, tiny_net(), train, test);
  part1.run();
  REQUIRE(std::filesystem::exists(dir / "checkpoint.safetensors"));
  TrainConfig rest = full;
  rest.resume = dir / "checkpoint.safetensors";
  Trainer part2(rest, tiny_net(), train, test);
  CHECK(part2.steps_done() == 27);
  const TrainResult r2 = part2.run();
  CHECK(weights_of(part2) == weights_of(whole));
  CHECK(dynamic_cast<TinyNet&>(part2.model()).calls.data()[0] == calls);
  CHECK(r2.history.back().train_loss == rw.history.back().train_loss);

  // The saved model holds PyTorch's names for the module's members.
  TrainConfig saving = full;
  saving.epochs = 1;
  saving.save = dir / "net.safetensors";
  Trainer(saving, tiny_net(), train, test).run();
  nn::Metadata metadata;
  const nn::NamedTensors saved = nn::load_tensors(saving.save, &metadata);
  std::vector<std::string> names;
  for (const auto& [name, t] : saved) names.push_back(name);
  CHECK_THAT(names, Catch::UnorderedEquals(std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight",
                                                                    "fc2.bias", "calls"}));
  CHECK(metadata["bend.model"] == "TinyNet");

  // A checkpoint whose names or shapes do not fit the model is refused, naming them.
  TrainConfig other = full;
  other.resume = dir / "checkpoint.safetensors";
  CHECK_THROWS_WITH(Trainer(other, tiny_net(32), train, test),
                    Catch::Contains("fc1.weight") && Catch::Contains("[32, 16]"));
  CHECK_THROWS_WITH(Trainer(other, small_mlp(), train, test), Catch::Contains("--resume"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a resume refuses flags that cannot apply to it", "[trainer][checkpoint]") {
  auto [train, test] = synthetic(128, 32);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_resume_flags";
  std::filesystem::remove_all(dir);
  TrainConfig c = small_config();
  c.epochs = 1;
  c.schedule = "cosine";
  c.checkpoint_dir = dir;
  Trainer(c, small_mlp(), train, test).run();
  TrainConfig resume = c;
  resume.resume = dir / "checkpoint.safetensors";
  resume.epochs = 2;  // the cosine schedule ended at lr 0 after epoch 1
  CHECK_THROWS_WITH(Trainer(resume, small_mlp(), train, test),
                    Catch::Contains("cosine") && Catch::Contains("--epochs 1"));
  resume.epochs = 1;
  resume.optimizer_options["lr"] = 0.5;
  CHECK_THROWS_WITH(Trainer(resume, small_mlp(), train, test), Catch::Contains("lr = 0.5"));
  resume.optimizer_options["lr"] = 1e-2;  // the same value is fine
  CHECK_NOTHROW(Trainer(resume, small_mlp(), train, test));
  resume.batch = 32;
  CHECK_THROWS_WITH(Trainer(resume, small_mlp(), train, test), Catch::Contains("batch 16"));
  resume.batch = 16;
  resume.optimizer = "sgd";
  resume.optimizer_options.clear();
  CHECK_THROWS_WITH(Trainer(resume, small_mlp(), train, test), Catch::Contains("Adam"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("every optimizer in the registry trains through the Trainer and resumes", "[trainer][checkpoint]") {
  auto [train, test] = synthetic(160, 32);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_registry_resume";
  for (const optim::OptimizerEntry& entry : optim::optimizer_registry()) {
    INFO(entry.name);
    std::filesystem::remove_all(dir);
    TrainConfig full = small_config();
    full.optimizer = entry.name;
    full.optimizer_options.clear();
    full.epochs = 2;
    Trainer whole(full, small_mlp(), train, test);
    const TrainResult rw = whole.run();
    CHECK(std::isfinite(rw.history.back().train_loss));
    TrainConfig first = full;
    first.max_steps = 13;
    first.checkpoint_dir = dir;
    Trainer(first, small_mlp(), train, test).run();
    TrainConfig rest = full;
    rest.resume = dir / "checkpoint.safetensors";
    Trainer part2(rest, small_mlp(), train, test);
    part2.run();
    CHECK(weights_of(part2) == weights_of(whole));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint with edited metadata is refused, never run", "[trainer][checkpoint]") {
  auto [train, test] = synthetic(64, 16);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_bad_checkpoint";
  std::filesystem::remove_all(dir);
  TrainConfig c = small_config();
  c.epochs = 1;
  c.max_steps = 2;
  c.checkpoint_dir = dir;
  Trainer(c, small_mlp(), train, test).run();
  nn::Metadata metadata;
  const nn::NamedTensors tensors = nn::load_tensors(dir / "checkpoint.safetensors", &metadata);
  const std::vector<std::pair<std::string, std::string>> edits{{"bend.epochs", "nan"},
                                                               {"bend.epochs", "1e300"},
                                                               {"bend.epochs", "-1000000000000"},
                                                               {"bend.batch_in_epoch", "1e15"},
                                                               {"bend.steps", "2.5"},
                                                               {"bend.partial_seen", "x"},
                                                               {"bend.rng.loader", "zz"},
                                                               {"bend.partial_loss_sum", "inf"},
                                                               {"bend.history", "1 2 3;"},
                                                               {"optim.lr", "nan"}};
  for (const auto& [key, value] : edits) {
    INFO(key << " = " << value);
    nn::Metadata edited = metadata;
    edited[key] = value;
    nn::save_tensors(dir / "edited.safetensors", tensors, edited);
    TrainConfig resume = c;
    resume.checkpoint_dir.clear();
    resume.resume = dir / "edited.safetensors";
    CHECK_THROWS_AS(Trainer(resume, small_mlp(), train, test), Error);
  }
  // Fields that parse but do not fit each other or the run: refused, naming the field and the file. The
  // checkpoint is 2 batches of 16 into an epoch of 64 samples.
  CHECK(metadata.at("bend.batch_in_epoch") == "2");
  CHECK(metadata.at("bend.partial_seen") == "32");
  const std::vector<std::pair<nn::Metadata, std::string>> misfits{
      {{{"bend.partial_seen", "33"}}, "bend.partial_seen"},        // more than 2 batches hold
      {{{"bend.partial_seen", "16"}}, "bend.partial_seen"},        // too few for 2 batches
      {{{"bend.partial_correct", "40"}}, "bend.partial_correct"},  // more than seen
      {{{"bend.batch_in_epoch", "0"}}, "bend.partial_seen"},       // samples without batches
      // Consistent with each other, but a whole epoch (64 samples) or more: not a partial epoch.
      {{{"bend.batch_in_epoch", "4"}, {"bend.partial_seen", "64"}}, "bend.partial_seen"},
      {{{"bend.batch_in_epoch", "1000000"}, {"bend.partial_seen", "16000000"}}, "bend.partial_seen"},
  };
  for (const auto& [changes, field] : misfits) {
    nn::Metadata edited = metadata;
    for (const auto& [key, value] : changes) edited[key] = value;
    INFO(field);
    nn::save_tensors(dir / "edited.safetensors", tensors, edited);
    TrainConfig resume = c;
    resume.resume = dir / "edited.safetensors";
    CHECK_THROWS_WITH(Trainer(resume, small_mlp(), train, test),
                      Catch::Contains(field) && Catch::Contains("edited.safetensors"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a checkpoint's history out of range, or a format version from the future, is refused",
          "[trainer][checkpoint]") {
  auto [train, test] = synthetic(64, 16);
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_checkpoint_ranges";
  std::filesystem::remove_all(dir);
  TrainConfig c = small_config();
  c.epochs = 2;
  c.max_steps = 2;
  c.checkpoint_dir = dir;
  Trainer(c, small_mlp(), train, test).run();
  nn::Metadata metadata;
  const nn::NamedTensors tensors = nn::load_tensors(dir / "checkpoint.safetensors", &metadata);
  const auto resume_with = [&](const nn::Metadata& edited) {
    nn::save_tensors(dir / "edited.safetensors", tensors, edited);
    TrainConfig resume = c;
    resume.checkpoint_dir.clear();
    resume.resume = dir / "edited.safetensors";
    Trainer t(resume, small_mlp(), train, test);
  };
  // One finished epoch: train accuracy 0.5, test accuracy 0.75 (or 5.0, which printed "best 500.00%").
  nn::Metadata edited = metadata;
  edited["bend.epochs"] = "1";
  edited["bend.history"] = "1 0x1p+0 0x1p-1 0x1p+0 0x1.8p-1 0x1p+0 0x1p-10 2;";
  CHECK_NOTHROW(resume_with(edited));
  edited["bend.history"] = "1 0x1p+0 0x1p-1 0x1p+0 0x1.4p+2 0x1p+0 0x1p-10 2;";
  CHECK_THROWS_WITH(resume_with(edited), Catch::Contains("out of range"));
  edited["bend.history"] = "1 -0x1p+0 0x1p-1 0x1p+0 0x1.8p-1 0x1p+0 0x1p-10 2;";  // a negative loss
  CHECK_THROWS_WITH(resume_with(edited), Catch::Contains("out of range"));
  edited = metadata;
  edited["bend.checkpoint"] = "99";
  CHECK_THROWS_WITH(resume_with(edited), Catch::Contains("format version '99'"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("TrainConfig's defaults are bend train's default recipe", "[trainer][recipe]") {
  const TrainConfig defaults;
  const Recipe& recipe = default_recipe();
  CHECK(recipe.name == "default");
  CHECK(defaults.optimizer == "adam");
  CHECK(defaults.schedule == "cosine");
  CHECK(defaults.batch == 64);
  CHECK(defaults.epochs == 10);
  CHECK(defaults.optimizer == recipe.optimizer);
  CHECK(defaults.schedule == recipe.schedule);
  CHECK(defaults.batch == recipe.batch);
  CHECK(defaults.epochs == recipe.epochs);

  auto [train, test] = synthetic(64, 16);
  TrainConfig c = defaults;
  c.dataset.clear();
  c.threads = 1;
  Trainer trained(c, small_mlp(), train, test);
  CHECK(trained.optimizer().name() == "Adam");
  CHECK(trained.optimizer().lr() == 2e-3);  // the recipe's lr for Adam with cosine decay
  CHECK(trained.config().optimizer_options.at("lr") == 2e-3);
  c.schedule = "none";  // PyTorch's plain loop: Adam's own default
  CHECK(Trainer(c, small_mlp(), train, test).optimizer().lr() == 1e-3);
  c.schedule = "cosine";
  c.optimizer_options["lr"] = 0.5;  // an lr given wins
  CHECK(Trainer(c, small_mlp(), train, test).optimizer().lr() == 0.5);
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
  Trainer t(c, model_source(nn::ModelSpec::parse("784-256-128-10", "relu", "none"), nn::init::Scheme::Torch));
  const TrainResult r = t.run();
  // 300 steps of batch 64 (19,200 images) with Adam reach ~93-95%; the floor leaves room for noise.
  REQUIRE_FALSE(r.history.empty());
  CHECK(r.history.back().test_accuracy > 0.90);
  // The same with the C++ API's evaluate() on the whole test subset.
  const EvalResult e = evaluate(t.model(), t.test_data());
  CHECK(e.accuracy == Approx(r.history.back().test_accuracy));
}

TEST_CASE("updating during backward trains bit-identically to stepping after it", "[trainer]") {
  auto [train, test] = synthetic(160, 32);
  for (const optim::OptimizerEntry& entry : optim::optimizer_registry()) {
    for (const bool net : {false, true}) {
      INFO(entry.name << (net ? ", TinyNet" : ", MLP with dropout"));
      TrainConfig during = small_config();
      during.optimizer = entry.name;
      during.optimizer_options.clear();
      during.epochs = 2;
      REQUIRE(during.update_in_backward);  // the default
      TrainConfig after = during;
      after.update_in_backward = false;
      const ModelSource model = net ? tiny_net() : small_mlp("gelu", 0.2f);
      Trainer a(during, model, train, test), b(after, model, train, test);
      const TrainResult ra = a.run(), rb = b.run();
      REQUIRE(ra.history.size() == rb.history.size());
      for (std::size_t k = 0; k < ra.history.size(); ++k) {
        CHECK(ra.history[k].train_loss == rb.history[k].train_loss);
        CHECK(ra.history[k].test_loss == rb.history[k].test_loss);
      }
      CHECK(weights_of(a) == weights_of(b));
    }
  }
}

}  // namespace BEND_UNITY_ID
