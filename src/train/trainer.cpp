// The training loop, checkpoints and resume.
#include "bend/train/trainer.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/data/mnist.hpp"
#include "bend/denormal.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/sgd.hpp"
#include "bend/parallel.hpp"
#include "bend/train/schedule.hpp"

namespace bend::train {

// ---------------------------------------------------------------------------------------------------
// Stop requests and threads

namespace {
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_stop must be async-signal-safe");
}  // namespace

void request_stop() { g_stop.store(true, std::memory_order_relaxed); }
bool stop_requested() { return g_stop.load(std::memory_order_relaxed); }
void clear_stop_request() { g_stop.store(false, std::memory_order_relaxed); }

// ---------------------------------------------------------------------------------------------------
// Configuration

void TrainConfig::validate() const {
  if (dataset != "mnist" && dataset != "fashion")
    throw ValueError(fmt::format("--dataset '{}': expected mnist or fashion", dataset));
  nn::MlpSpec::parse(arch, act, dropout);
  nn::init::parse_scheme(init);
  if (optimizer != "sgd" && optimizer != "adam" && optimizer != "adamw")
    throw ValueError(fmt::format("--opt '{}': expected sgd, adam or adamw", optimizer));
  if (lr && !(*lr > 0 && std::isfinite(*lr)))
    throw ValueError(fmt::format("--lr must be positive, got {}", *lr));
  if (!(momentum >= 0 && momentum < 1))
    throw ValueError(fmt::format("--momentum must be in [0, 1), got {}", momentum));
  if (nesterov && (optimizer != "sgd" || momentum <= 0))
    throw ValueError("--nesterov needs --opt sgd and a --momentum above 0");
  if (weight_decay && !(*weight_decay >= 0)) throw ValueError("--weight-decay must be >= 0");
  if (schedule != "none" && schedule != "step" && schedule != "cosine" && schedule != "plateau")
    throw ValueError(fmt::format("--schedule '{}': expected none, step, cosine or plateau", schedule));
  if (warmup_steps < 0) throw ValueError("--warmup must be >= 0");
  if (batch <= 0) throw ValueError(fmt::format("--batch must be positive, got {}", batch));
  if (epochs <= 0) throw ValueError(fmt::format("--epochs must be positive, got {}", epochs));
  if (max_steps < 0) throw ValueError(fmt::format("--steps must be >= 0, got {}", max_steps));
  if (threads < 0) throw ValueError(fmt::format("--threads must be >= 0, got {}", threads));
  if (!(label_smoothing >= 0 && label_smoothing < 1)) throw ValueError("--label-smoothing must be in [0, 1)");
  if (train_limit < 0 || test_limit < 0) throw ValueError("--train-limit/--test-limit must be >= 0");
}

// ---------------------------------------------------------------------------------------------------
// Checkpoint metadata encoding: doubles in hex-float text so they round-trip exactly.

namespace {

std::string exact(double v) { return fmt::format("{:a}", v); }
double parse_double(const nn::Metadata& m, const std::string& key, const std::filesystem::path& file) {
  auto it = m.find(key);
  if (it == m.end()) throw IoError(fmt::format("{}: checkpoint metadata lacks '{}'", file.string(), key));
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0')
    throw IoError(
        fmt::format("{}: checkpoint metadata '{}' = '{}' is not a number", file.string(), key, it->second));
  return v;
}
std::int64_t parse_int(const nn::Metadata& m, const std::string& key, const std::filesystem::path& file) {
  return static_cast<std::int64_t>(parse_double(m, key, file));
}
std::string encode_rng(const Rng::State& s) {
  return fmt::format("{:016x} {:016x} {:016x} {:016x} {} {}", s.s[0], s.s[1], s.s[2], s.s[3],
                     s.has_spare ? 1 : 0, exact(s.spare));
}
Rng::State decode_rng(const nn::Metadata& m, const std::string& key, const std::filesystem::path& file) {
  auto it = m.find(key);
  if (it == m.end()) throw IoError(fmt::format("{}: checkpoint metadata lacks '{}'", file.string(), key));
  Rng::State s{};
  char spare[64] = {};
  int has_spare = 0;
  unsigned long long w[4];
  if (std::sscanf(it->second.c_str(), "%llx %llx %llx %llx %d %63s", &w[0], &w[1], &w[2], &w[3], &has_spare,
                  spare) != 6)
    throw IoError(fmt::format("{}: checkpoint metadata '{}' is not an RNG state", file.string(), key));
  for (int k = 0; k < 4; ++k) s.s[static_cast<std::size_t>(k)] = w[k];
  s.has_spare = has_spare != 0;
  s.spare = std::strtod(spare, nullptr);
  return s;
}

std::vector<nn::Dropout*> dropouts_of(nn::Sequential& model) {
  std::vector<nn::Dropout*> out;
  for (std::size_t i = 0; i < model.size(); ++i)
    if (auto* d = model.get_if<nn::Dropout>(i)) out.push_back(d);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Construction

struct Trainer::Schedule {
  std::unique_ptr<LrSchedule> schedule;
};

Trainer::Trainer(TrainConfig config) : config_(std::move(config)) {
  config_.validate();
  const auto dir = config_.data_dir.empty() ? default_data_dir(config_.dataset) : config_.data_dir;
  train_ = load_tensor_dataset(config_.dataset, dir, Split::Train);
  test_ = load_tensor_dataset(config_.dataset, dir, Split::Test);
  setup();
}

Trainer::Trainer(TrainConfig config, TensorDataset train, TensorDataset test)
    : config_(std::move(config)), train_(std::move(train)), test_(std::move(test)) {
  config_.validate();
  setup();
}

Trainer::~Trainer() = default;

void Trainer::setup() {
  if (config_.train_limit > 0 && config_.train_limit < train_.size())
    train_ = subset(train_, 0, config_.train_limit);
  if (config_.test_limit > 0 && config_.test_limit < test_.size())
    test_ = subset(test_, 0, config_.test_limit);
  if (config_.standardize) {
    const Normalization n = compute_normalization(train_);
    normalize(train_, n);
    normalize(test_, n);
    normalization_ = n;
  }
  spec_ = nn::MlpSpec::parse(config_.arch, config_.act, config_.dropout);
  if (spec_.sizes.front() != train_.features())
    throw ValueError(fmt::format("--arch {} takes {} inputs but {} images have {} pixels",
                                 spec_.arch_string(), spec_.sizes.front(), config_.dataset,
                                 train_.features()));
  if (spec_.sizes.back() != train_.num_classes)
    throw ValueError(fmt::format("--arch {} has {} outputs but {} has {} classes", spec_.arch_string(),
                                 spec_.sizes.back(), config_.dataset, train_.num_classes));
  // bend's pool splits each product and loop that is large enough to pay (bend/parallel.hpp).
  set_num_threads(config_.threads);
  set_flush_denormal(config_.flush_denormal);

  // Separate streams: weights, then data order; each seeded from the one seed.
  init_rng_.seed_with(config_.seed);
  loader_rng_.seed_with(config_.seed ^ 0x5DEECE66DULL);
  model_ = nn::build_mlp(spec_, nn::init::parse_scheme(config_.init), init_rng_);
  if (!config_.init_from.empty()) {
    nn::LoadedMlp loaded = nn::load_mlp(config_.init_from, spec_);
    if (loaded.spec.arch_string() != spec_.arch_string() || loaded.spec.act_string() != spec_.act_string())
      throw ValueError(fmt::format("--init-from {}: the file holds {} ({}) but the run asks for {} ({})",
                                   config_.init_from.string(), loaded.spec.arch_string(),
                                   loaded.spec.act_string(), spec_.arch_string(), spec_.act_string()));
    model_.load_state_dict(loaded.model.state_dict());
  }

  const double lr = config_.lr.value_or(config_.optimizer == "sgd" ? 0.01 : 1e-3);
  if (config_.optimizer == "sgd")
    optimizer_ = std::make_unique<SGD>(model_.parameters(), lr, config_.momentum, 0.0, config_.nesterov,
                                       config_.weight_decay.value_or(0.0));
  else if (config_.optimizer == "adam")
    optimizer_ = std::make_unique<Adam>(model_.parameters(), lr, std::pair{0.9, 0.999}, 1e-8,
                                        config_.weight_decay.value_or(0.0));
  else
    optimizer_ = std::make_unique<AdamW>(model_.parameters(), lr, std::pair{0.9, 0.999}, 1e-8,
                                         config_.weight_decay.value_or(1e-2));
  schedule_ = std::make_unique<Schedule>();
  schedule_->schedule = make_lr_schedule(config_.schedule, *optimizer_, config_.epochs, config_.warmup_steps);
  if (!config_.resume.empty()) load_checkpoint(config_.resume);
}

double Trainer::current_lr() const { return optimizer_->lr(); }

// ---------------------------------------------------------------------------------------------------
// The loop

TrainResult Trainer::run(TrainObserver* observer) {
  using clock = std::chrono::steady_clock;
  TrainResult result;
  if (observer) observer->on_start(*this);
  DataLoader loader(train_, config_.batch, config_.shuffle, loader_rng_);
  std::vector<std::int32_t> predicted(static_cast<std::size_t>(config_.batch));
  const auto run_start = clock::now();
  model_.train();

  while (epoch_ < config_.epochs && !(config_.max_steps > 0 && step_ >= config_.max_steps)) {
    const std::int64_t epoch_number = epoch_ + 1;
    // The loader's stream at the epoch start is saved so that a mid-epoch checkpoint can replay the order.
    if (batch_in_epoch_ == 0)
      epoch_start_rng_ = loader_rng_.state();
    else
      loader_rng_.set_state(epoch_start_rng_);
    loader.start_epoch();
    Batch batch;
    for (std::int64_t skip = 0; skip < batch_in_epoch_; ++skip) loader.next(batch);

    const auto epoch_start = clock::now();
    double loss_sum = partial_loss_sum_;
    std::int64_t correct = partial_correct_, seen = partial_seen_;
    const double seconds_before = partial_seconds_;
    bool stopped = false;
    while (loader.next(batch)) {
      schedule_->schedule->before_step(*optimizer_, step_);
      optimizer_->zero_grad();
      Tensor logits = model_(batch.images);
      Tensor loss = cross_entropy(logits, batch.labels, Reduction::Mean, config_.label_smoothing);
      const float loss_value = loss.item();
      if (!std::isfinite(loss_value)) {
        tape().clear();
        throw TrainingDiverged(
            fmt::format("the loss became {} at step {} (epoch {}, batch {}); training stopped before saving "
                        "anything over the "
                        "last good checkpoint or model. Try a lower --lr",
                        loss_value, step_ + 1, epoch_number, batch.index + 1));
      }
      loss.backward();
      optimizer_->step();
      ++step_;
      ++batch_in_epoch_;

      argmax_rows(logits, predicted.data());
      for (std::int64_t i = 0; i < batch.size; ++i)
        correct += predicted[static_cast<std::size_t>(i)] == batch.labels[static_cast<std::size_t>(i)];
      loss_sum += static_cast<double>(loss_value) * static_cast<double>(batch.size);
      seen += batch.size;

      if (observer) {
        const double elapsed = std::chrono::duration<double>(clock::now() - epoch_start).count();
        const double done =
            static_cast<double>(batch_in_epoch_) / static_cast<double>(loader.batches_per_epoch());
        const double rate = elapsed > 0 ? static_cast<double>(seen - partial_seen_) / elapsed : 0.0;
        observer->on_step({epoch_number, config_.epochs, batch_in_epoch_, loader.batches_per_epoch(), step_,
                           loss_sum / static_cast<double>(seen), rate,
                           done > 0 ? elapsed * (1 - done) / done : 0.0});
      }
      const bool out_of_steps = config_.max_steps > 0 && step_ >= config_.max_steps;
      if (stop_requested() || (out_of_steps && batch_in_epoch_ < loader.batches_per_epoch())) {
        // Keep the partial epoch so a resume continues exactly here.
        partial_loss_sum_ = loss_sum;
        partial_correct_ = correct;
        partial_seen_ = seen;
        partial_seconds_ = seconds_before + std::chrono::duration<double>(clock::now() - epoch_start).count();
        stopped = true;
        break;
      }
    }
    if (stopped && !stop_requested()) {
      // --steps ran out inside an epoch: report the partial epoch (evaluated), keep the position so a
      // resume continues exactly here.
      EpochMetrics m;
      m.epoch = epoch_number;
      m.seconds = partial_seconds_;
      m.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
      m.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
      const EvalResult test = evaluate(model_, test_);
      m.test_loss = test.loss;
      m.test_accuracy = test.accuracy;
      m.lr = current_lr();
      m.steps = step_;
      result.history.push_back(m);
      if (observer) observer->on_epoch(m);
      break;
    }
    if (stopped) {
      result.stopped = stop_requested();
      if (result.stopped) {
        const auto dir = config_.checkpoint_dir.empty() ? std::filesystem::path(".") : config_.checkpoint_dir;
        result.stop_checkpoint = dir / "checkpoint.safetensors";
        save_checkpoint(result.stop_checkpoint);
        if (observer) observer->on_checkpoint(result.stop_checkpoint);
      }
      break;
    }

    EpochMetrics m;
    m.epoch = epoch_number;
    m.seconds = seconds_before + std::chrono::duration<double>(clock::now() - epoch_start).count();
    m.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
    m.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
    const EvalResult test = evaluate(model_, test_);
    m.test_loss = test.loss;
    m.test_accuracy = test.accuracy;
    m.lr = current_lr();
    m.steps = step_;
    history_.push_back(m);
    ++epoch_;
    batch_in_epoch_ = 0;
    partial_loss_sum_ = 0;
    partial_correct_ = partial_seen_ = 0;
    partial_seconds_ = 0;
    schedule_->schedule->after_epoch(*optimizer_, epoch_, m.test_loss);
    if (observer) observer->on_epoch(m);
    if (!config_.checkpoint_dir.empty()) {
      const auto path = config_.checkpoint_dir / "checkpoint.safetensors";
      save_checkpoint(path);
      if (observer) observer->on_checkpoint(path);
    }
  }

  if (!result.stopped && !config_.save.empty()) save_model(config_.save);
  result.history.insert(result.history.begin(), history_.begin(), history_.end());
  result.steps = step_;
  result.total_seconds = std::chrono::duration<double>(clock::now() - run_start).count();
  for (const EpochMetrics& m : result.history)
    result.best_test_accuracy = std::max(result.best_test_accuracy, m.test_accuracy);
  if (!result.history.empty()) result.last_test_accuracy = result.history.back().test_accuracy;
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Checkpoints: one .safetensors file with "model.*" and "optim.*" tensors and the rest as metadata.

void Trainer::save_model(const std::filesystem::path& path) const {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  nn::Metadata extra{{"bend.epochs", std::to_string(epoch_)},
                     {"bend.steps", std::to_string(step_)},
                     {"bend.dataset", config_.dataset},
                     {"bend.optimizer", std::string(optimizer_->name())}};
  if (!history_.empty()) extra["bend.test_accuracy"] = fmt::format("{:.6f}", history_.back().test_accuracy);
  if (normalization_) {
    extra["bend.input_mean"] = fmt::format("{:.9g}", normalization_->mean);
    extra["bend.input_std"] = fmt::format("{:.9g}", normalization_->std);
  }
  nn::save_mlp(path, model_, spec_, extra);
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  nn::NamedTensors tensors;
  for (auto& [name, t] : model_.state_dict()) tensors.emplace_back("model." + name, t);
  for (auto& [name, t] : optimizer_->state_tensors()) tensors.emplace_back("optim." + name, t);
  nn::Metadata m = spec_.to_metadata();
  m["format"] = "pt";
  m["bend.checkpoint"] = "1";
  m["bend.dataset"] = config_.dataset;
  m["bend.optimizer"] = std::string(optimizer_->name());
  m["bend.batch"] = std::to_string(config_.batch);
  m["bend.seed"] = std::to_string(config_.seed);
  m["bend.epochs"] = std::to_string(epoch_);
  m["bend.steps"] = std::to_string(step_);
  m["bend.batch_in_epoch"] = std::to_string(batch_in_epoch_);
  m["bend.partial_loss_sum"] = exact(partial_loss_sum_);
  m["bend.partial_correct"] = std::to_string(partial_correct_);
  m["bend.partial_seen"] = std::to_string(partial_seen_);
  m["bend.partial_seconds"] = exact(partial_seconds_);
  m["bend.rng.loader"] = encode_rng(loader_rng_.state());
  m["bend.rng.epoch_start"] = encode_rng(epoch_start_rng_);
  auto drops = dropouts_of(const_cast<nn::Sequential&>(model_));
  for (std::size_t k = 0; k < drops.size(); ++k)
    m[fmt::format("bend.rng.dropout.{}", k)] = encode_rng(drops[k]->rng().state());
  for (auto& [key, value] : optimizer_->hyperparameters()) m["optim." + key] = exact(value);
  for (auto& [key, value] : schedule_->schedule->state()) m["schedule." + key] = exact(value);
  std::string history;
  for (const EpochMetrics& e : history_)
    history +=
        fmt::format("{} {} {} {} {} {} {} {};", e.epoch, exact(e.train_loss), exact(e.train_accuracy),
                    exact(e.test_loss), exact(e.test_accuracy), exact(e.seconds), exact(e.lr), e.steps);
  m["bend.history"] = history;
  if (normalization_) {
    m["bend.input_mean"] = fmt::format("{:.9g}", normalization_->mean);
    m["bend.input_std"] = fmt::format("{:.9g}", normalization_->std);
  }
  nn::save_tensors(path, tensors, m);
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  nn::Metadata m;
  nn::NamedTensors tensors = nn::load_tensors(path, &m);
  if (!m.contains("bend.checkpoint"))
    throw IoError(fmt::format(
        "{}: not a bend checkpoint (it has no training state; use --init-from for weights)", path.string()));
  const nn::MlpSpec saved = nn::MlpSpec::from_metadata(m);
  if (saved.arch_string() != spec_.arch_string() || saved.act_string() != spec_.act_string())
    throw ValueError(fmt::format("--resume {}: the checkpoint is {} ({}) but the run asks for {} ({})",
                                 path.string(), saved.arch_string(), saved.act_string(), spec_.arch_string(),
                                 spec_.act_string()));
  if (m["bend.optimizer"] != optimizer_->name())
    throw ValueError(fmt::format("--resume {}: the checkpoint was trained with {} but the run asks for {}",
                                 path.string(), m["bend.optimizer"], optimizer_->name()));
  nn::NamedTensors model_state, optim_state;
  for (auto& [name, t] : tensors) {
    if (name.starts_with("model."))
      model_state.emplace_back(name.substr(6), t);
    else if (name.starts_with("optim."))
      optim_state.emplace_back(name.substr(6), t);
  }
  model_.load_state_dict(model_state);
  optimizer_->load_state(optim_state);
  std::map<std::string, double> hyper, sched;
  for (auto& [key, value] : m) {
    if (key.starts_with("optim.")) hyper[key.substr(6)] = parse_double(m, key, path);
    if (key.starts_with("schedule.")) sched[key.substr(9)] = parse_double(m, key, path);
  }
  optimizer_->set_hyperparameters(hyper);
  schedule_->schedule->load_state(sched);
  epoch_ = parse_int(m, "bend.epochs", path);
  step_ = parse_int(m, "bend.steps", path);
  batch_in_epoch_ = parse_int(m, "bend.batch_in_epoch", path);
  partial_loss_sum_ = parse_double(m, "bend.partial_loss_sum", path);
  partial_correct_ = parse_int(m, "bend.partial_correct", path);
  partial_seen_ = parse_int(m, "bend.partial_seen", path);
  partial_seconds_ = parse_double(m, "bend.partial_seconds", path);
  loader_rng_.set_state(decode_rng(m, "bend.rng.loader", path));
  epoch_start_rng_ = decode_rng(m, "bend.rng.epoch_start", path);
  auto drops = dropouts_of(model_);
  for (std::size_t k = 0; k < drops.size(); ++k)
    drops[k]->rng().set_state(decode_rng(m, fmt::format("bend.rng.dropout.{}", k), path));
  history_.clear();
  std::string_view rest = m["bend.history"];
  while (!rest.empty()) {
    const auto end = rest.find(';');
    const std::string item(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    EpochMetrics e;
    char f[7][64];
    long long epoch = 0, steps = 0;
    if (std::sscanf(item.c_str(), "%lld %63s %63s %63s %63s %63s %63s %lld", &epoch, f[0], f[1], f[2], f[3],
                    f[4], f[5], &steps) != 8)
      throw IoError(fmt::format("{}: checkpoint history entry '{}' is malformed", path.string(), item));
    e.epoch = epoch;
    e.steps = steps;
    double* fields[6] = {&e.train_loss, &e.train_accuracy, &e.test_loss, &e.test_accuracy, &e.seconds, &e.lr};
    for (int k = 0; k < 6; ++k) *fields[k] = std::strtod(f[k], nullptr);
    history_.push_back(e);
  }
}

}  // namespace bend::train
