// The training loop (the only one in bend), checkpoints and resume.
#include "bend/train/trainer.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/data/registry.hpp"
#include "bend/denormal.hpp"
#include "bend/dist/agreement.hpp"
#include "bend/dist/gradient_buckets.hpp"
#include "bend/nn/batch_norm.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"
#include "bend/parallel.hpp"
#include "bend/train/schedule.hpp"

namespace bend::train {

// ---------------------------------------------------------------------------------------------------
// Stop requests

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
  // ("text": a language model's corpus given as a file or a TextCorpus, not a registry name)
  if (!dataset.empty() && dataset != "text" && text_file.empty()) find_dataset(dataset);
  optim::complete_options(optim::find_optimizer(optimizer), optimizer_options);
  find_schedule(schedule);
  if (warmup_steps < 0) throw ValueError("--warmup must be >= 0");
  if (!(warmup_epochs >= 0) || warmup_epochs > 1e6)
    throw ValueError(fmt::format("warmup_epochs must be in [0, 1e6], got {}", warmup_epochs));
  if (batch <= 0) throw ValueError(fmt::format("--batch must be positive, got {}", batch));
  if (epochs <= 0) throw ValueError(fmt::format("--epochs must be positive, got {}", epochs));
  if (max_steps < 0) throw ValueError(fmt::format("--steps must be >= 0, got {}", max_steps));
  if (threads < 0 || threads > bend::kMaxThreads)
    throw ValueError(fmt::format("--threads must be in [0, {}], got {}", bend::kMaxThreads, threads));
  if (!(label_smoothing >= 0 && label_smoothing < 1)) throw ValueError("--label-smoothing must be in [0, 1)");
  if (train_limit < 0 || test_limit < 0) throw ValueError("--train-limit/--test-limit must be >= 0");
  if (bucket_bytes == 0) throw ValueError("--bucket-mb must be positive");
  if (checkpoint_every < 0)
    throw ValueError(
        fmt::format("--checkpoint-every must be >= 0 (0: once per epoch), got {}", checkpoint_every));
}

namespace {

// Every stochastic module (Dropout) in module-tree order: their streams travel in checkpoints.
void collect_dropouts(nn::Module& m, std::vector<nn::Dropout*>& out) {
  if (auto* d = dynamic_cast<nn::Dropout*>(&m)) out.push_back(d);
  for (const auto& [name, child] : m.children()) collect_dropouts(*child, out);
}
std::vector<nn::Dropout*> dropouts_of(nn::Module& model) {
  std::vector<nn::Dropout*> out;
  collect_dropouts(model, out);
  return out;
}

// The keys two descriptions disagree on, as "key: file 'a', run 'b'".
std::string description_mismatch(const Metadata& file, const Metadata& run) {
  std::vector<std::string> out;
  for (const auto& [key, value] : run) {
    auto it = file.find(key);
    if (it != file.end() && it->second != value)
      out.push_back(fmt::format("{}: file '{}', run '{}'", key, it->second, value));
  }
  return fmt::format("{}", fmt::join(out, "; "));
}

// "65 characters" or "20000 words": the vocabulary a file's metadata holds (bend.vocab, bend.vocab.kind).
std::string saved_vocab_summary(const Metadata& m) {
  auto kind = m.find("bend.vocab.kind");
  const std::string k = kind == m.end() ? "char" : kind->second;
  return fmt::format("{} {}", saved_vocab_size(k, m.at("bend.vocab"), "bend.vocab"),
                     k == "word" ? "words" : "characters");
}

// Keeps the "model." tensors of a checkpoint (without the prefix), or all tensors of a model file.
nn::NamedTensors model_tensors(nn::NamedTensors tensors) {
  const bool checkpoint = std::any_of(tensors.begin(), tensors.end(),
                                      [](const auto& t) { return t.first.starts_with("model."); });
  if (!checkpoint) return tensors;
  nn::NamedTensors out;
  for (auto& [name, t] : tensors)
    if (name.starts_with("model.")) out.emplace_back(name.substr(6), std::move(t));
  return out;
}

bool has_batch_norm(nn::Module& m) {
  if (dynamic_cast<nn::BatchNorm*>(&m) != nullptr) return true;
  for (const auto& [name, child] : m.children())
    if (has_batch_norm(*child)) return true;
  return false;
}

// The fewest rows any rank gets of a batch of `rows` split over `ranks` (shard_of's split).
std::int64_t smallest_shard(std::int64_t rows, int ranks) {
  std::int64_t fewest = rows;
  for (int r = 0; r < ranks; ++r) fewest = std::min(fewest, rows * (r + 1) / ranks - rows * r / ranks);
  return fewest;
}

// BatchNorm in training needs two rows or more per rank. A last batch that would give some rank one row
// is dropped, as PyTorch users do with DataLoader(drop_last=True) for that case.
bool drops_last_batch(nn::Module& model, std::int64_t samples, std::int64_t batch, int ranks) {
  const std::int64_t last = samples % batch;
  return last != 0 && samples > batch && smallest_shard(last, ranks) == 1 && has_batch_norm(model);
}

// Refuses a run in which every batch (or the only one) gives some rank a single row under BatchNorm.
void check_batch_norm_rows(nn::Module& model, std::int64_t samples, std::int64_t batch, int ranks) {
  if (!has_batch_norm(model)) return;
  const std::int64_t rows = std::min(samples, batch);
  if (smallest_shard(rows, ranks) != 1) return;
  if (ranks == 1)
    throw ValueError(fmt::format("BatchNorm needs at least 2 samples per batch in training, but {}: raise {}",
                                 samples < batch || samples == 1
                                     ? fmt::format("the training set has {} (--train-limit)", samples)
                                     : fmt::format("--batch is {}", batch),
                                 samples == 1 ? "--train-limit" : "--batch"));
  throw ValueError(fmt::format(
      "BatchNorm needs at least 2 rows per rank in training, but a batch of {} over {} data-parallel ranks "
      "gives one rank a single row: use --batch {} or more{}",
      rows, ranks, 2 * ranks, samples < batch ? " (and --train-limit at least as large)" : ""));
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Construction

struct Trainer::Schedule {
  std::unique_ptr<optim::LrScheduler> schedule;  // make_lr_schedule's: the epoch schedule under the warm-up
};

Trainer::Trainer(TrainConfig config, ModelSource model)
    : config_(std::move(config)), source_(std::move(model)) {
  config_.validate();
  if (!config_.text_file.empty()) {
    text_ = std::make_shared<TextCorpus>(load_text_file(config_.text_file, config_.text.vocab));
    config_.dataset = "text";
    setup();
    return;
  }
  if (config_.dataset.empty()) throw ValueError("Trainer: name a dataset (config.dataset) or give the data");
  if (find_dataset(config_.dataset).is_text()) {
    text_ = std::make_shared<TextCorpus>(
        load_text_dataset(config_.dataset, config_.data_dir, config_.text.vocab));
    setup();
    return;
  }
  train_ = load_dataset(config_.dataset, config_.data_dir, Split::Train);
  test_ = load_dataset(config_.dataset, config_.data_dir, Split::Test);
  setup();
}

Trainer::Trainer(TrainConfig config, ModelSource model, TensorDataset train, TensorDataset test)
    : config_(std::move(config)),
      source_(std::move(model)),
      train_(std::move(train)),
      test_(std::move(test)) {
  config_.validate();
  // Data given without a registry name are named by themselves ("xor", "mnist/train", ...).
  if (config_.dataset.empty()) config_.dataset = train_.name.empty() ? "data" : train_.name;
  setup();
}

Trainer::Trainer(TrainConfig config, ModelSource model, TextCorpus corpus)
    : config_(std::move(config)),
      source_(std::move(model)),
      text_(std::make_shared<TextCorpus>(std::move(corpus))) {
  config_.validate();
  if (config_.dataset.empty() || !config_.text_file.empty()) config_.dataset = "text";
  setup();
}

Trainer::~Trainer() = default;

void Trainer::setup() {
  if (text_) return setup_text();
  // The default recipe's lr for its optimizer and schedule, as `bend train` applies it (a resumed run
  // continues with the checkpoint's).
  if (config_.resume.empty() && !config_.optimizer_options.contains("lr"))
    if (const double lr = default_recipe().lr_for(config_.optimizer, config_.schedule); lr > 0)
      config_.optimizer_options["lr"] = lr;
  if (!source_.build) throw ValueError("Trainer: the ModelSource has no build function");
  if (config_.train_limit > 0 && config_.train_limit < train_.size())
    train_ = subset(train_, 0, config_.train_limit);
  if (config_.test_limit > 0 && config_.test_limit < test_.size())
    test_ = subset(test_, 0, config_.test_limit);
  if (train_.size() == 0) throw ValueError(fmt::format("{}: the training set is empty", config_.dataset));
  if (config_.standardize) {
    const Normalization n = compute_normalization(train_);
    normalize(train_, n);
    normalize(test_, n);
    normalization_ = n;
  }
  // bend's pool splits each product and loop that is large enough to pay (bend/parallel.hpp).
  set_num_threads(config_.threads);
  set_flush_denormal(config_.flush_denormal);

  // Separate streams: weights, then data order; each seeded from the one seed.
  init_rng_.seed_with(config_.seed);
  loader_rng_.seed_with(config_.seed ^ 0x5DEECE66DULL);
  model_ = source_.build(init_rng_);
  if (!model_) throw ValueError(fmt::format("Trainer: building {} gave no model", source_.description));
  check_model_fits_data();
  check_batch_norm_rows(*model_, train_.size(), config_.batch, 1);
  // A warm-up longer than the whole run trains at a fraction of the learning rate throughout.
  const std::int64_t batches_per_epoch = (train_.size() + config_.batch - 1) / config_.batch -
                                         (drops_last_batch(*model_, train_.size(), config_.batch, 1) ? 1 : 0);
  if (config_.warmup_steps == 0 && config_.warmup_epochs > 0 && !text_)
    config_.warmup_steps = std::llround(config_.warmup_epochs * static_cast<double>(batches_per_epoch));
  if (config_.warmup_steps > batches_per_epoch * config_.epochs)
    throw ValueError(fmt::format(
        "--warmup {} is longer than the whole run ({} epochs x {} batches = {} steps): the learning rate "
        "would never reach its value",
        config_.warmup_steps, config_.epochs, batches_per_epoch, batches_per_epoch * config_.epochs));
  apply_init_from();
  optimizer_ = optim::make_optimizer(config_.optimizer, model_->parameters(), config_.optimizer_options);
  make_schedule();
  if (!config_.resume.empty()) load_checkpoint(config_.resume);
  if (config_.data_parallel) setup_data_parallel();
}

void Trainer::make_schedule() {
  schedule_ = std::make_unique<Schedule>();
  schedule_->schedule =
      make_lr_schedule(config_.schedule, *optimizer_, config_.epochs, text_ ? 0 : config_.warmup_steps);
}

// --init-from: the file's weights, once it is known to describe the model the run builds.
void Trainer::apply_init_from() {
  if (config_.init_from.empty()) return;
  nn::Metadata file_metadata;
  nn::NamedTensors tensors = nn::load_tensors(config_.init_from, &file_metadata);
  if (auto diff = description_mismatch(model_description(file_metadata), source_.metadata); !diff.empty())
    throw ValueError(fmt::format("--init-from {}: the file holds another model than the run builds ({})",
                                 config_.init_from.string(), diff));
  try {
    model_->load_state_dict(model_tensors(std::move(tensors)));
  } catch (const ValueError& e) {
    throw ValueError(fmt::format("--init-from {}: {}", config_.init_from.string(), e.what()));
  }
}

// Every rank built the same run (same seed, files and data); rank 0's parameters and buffers are
// broadcast anyway, so that nothing else (a file that changed between two ranks' reads) can make them
// start apart.
void Trainer::setup_data_parallel() {
  const dist::World world = dist::world();
  if (world.size() == 1) return;
  const int ranks = world.size(), rank = world.rank();
  // Every rank has built its run when it gets here; a rank that failed earlier meets the others in this
  // agreement (dist::report_failure) instead of leaving them in the broadcasts below.
  dist::agree(world, [&] {
    if (config_.batch < ranks)
      throw ValueError(
          fmt::format("--batch {} is split over {} data-parallel ranks: every rank needs at least one "
                      "row of each batch, so --batch must be at least {}",
                      config_.batch, ranks, ranks));
    const std::int64_t last_batch = train_.size() % config_.batch;
    if (last_batch != 0 && last_batch < ranks)
      throw ValueError(
          fmt::format("the last batch of each epoch has {} samples ({} training samples, --batch {}), "
                      "fewer than the {} data-parallel ranks; change --batch or --train-limit",
                      last_batch, train_.size(), config_.batch, ranks));
    check_batch_norm_rows(*model_, train_.size(), config_.batch, ranks);
  });
  world_ = world;
  std::vector<Tensor> parameters = model_->parameters();
  for (auto& [name, buffer] : model_->named_buffers()) buffers_.push_back(buffer);
  dist::broadcast_tensors(*world_, parameters);
  dist::broadcast_tensors(*world_, buffers_);
  buckets_ = std::make_unique<dist::GradientBuckets>(*world_, std::move(parameters), config_.bucket_bytes);
  const std::int64_t n = test_.size(), first = n * rank / ranks, last = n * (rank + 1) / ranks;
  test_shard_ = subset(test_, first, last - first);
}

// One sample through the model (eval mode, no tape): the model must take the dataset's inputs and give
// one score per class.
void Trainer::check_model_fits_data() {
  NoGradGuard no_grad;
  const bool was_training = model_->is_training();
  model_->eval();
  Tensor out;
  try {
    out = model_->forward(subset(train_, 0, 1).images);
  } catch (const Error& e) {
    model_->train(was_training);
    throw ValueError(fmt::format("{} does not take {}'s inputs ({} features per sample): {}",
                                 source_.description, config_.dataset, train_.features(), e.what()));
  }
  model_->train(was_training);
  if (out.ndim() != 2 || out.shape()[0] != 1 || out.shape()[1] != train_.num_classes)
    throw ValueError(fmt::format(
        "{} gives {} per sample but {} has {} classes (the model must output one "
        "score per class)",
        source_.description,
        out.ndim() == 2 ? fmt::format("{} outputs", out.shape()[1]) : "shape " + out.shape().str(),
        config_.dataset, train_.num_classes));
}

std::string Trainer::recipe() const {
  if (text_) {
    std::string options;
    for (const auto& [key, value] : optimizer_->hyperparameters())
      if (key != "lr") options += fmt::format("{}{}={:g}", options.empty() ? "" : ", ", key, value);
    return fmt::format(
        "nanoGPT's loop: {}(lr={:g}, {}; weight decay on 2-d weights only), warm-up {} steps then cosine to "
        "{:g} at step {}, clip {:g}, batch {} x block {}, estimate every {} steps over {} batches, seed {}, "
        "{} thread{}",
        optimizer_->name(), base_lr_, options, config_.warmup_steps, text_settings().at("min_lr"),
        config_.max_steps, config_.text.grad_clip, config_.batch, config_.text.block_size,
        config_.text.eval_interval, config_.text.eval_iters, config_.seed, num_threads(),
        num_threads() == 1 ? "" : "s");
  }
  std::string options;
  for (const auto& [key, value] : optimizer_->hyperparameters())
    options += fmt::format("{}{}={:g}", options.empty() ? "" : ", ", key, value);
  std::string recipe =
      fmt::format("{}({}), schedule {}{}, batch {}, {} epochs, seed {}, {} thread{}", optimizer_->name(),
                  options, config_.schedule,
                  config_.warmup_steps ? fmt::format(" after {} warm-up steps", config_.warmup_steps) : "",
                  config_.batch, config_.epochs, config_.seed, num_threads(), num_threads() == 1 ? "" : "s");
  if (buckets_)
    recipe += fmt::format(
        "; data-parallel over {} ranks ({} rows of each batch per rank, gradients averaged in "
        "{} bucket{} of {:.2f} MB per step)",
        ranks(), config_.batch / ranks(), buckets_->bucket_count(), buckets_->bucket_count() == 1 ? "" : "s",
        static_cast<double>(buckets_->numel()) * sizeof(float) / 1e6);
  if (drops_last_batch(*model_, train_.size(), config_.batch, ranks()))
    recipe += fmt::format(
        "; the last batch of each epoch ({} of {} samples) is left out, as with PyTorch's drop_last: "
        "BatchNorm needs 2 or more samples{} in training",
        train_.size() % config_.batch, train_.size(), ranks() > 1 ? " per rank" : "");
  return recipe;
}

// ---------------------------------------------------------------------------------------------------
// The loop

EpochMetrics Trainer::finish_epoch_metrics(std::int64_t epoch, double seconds, double loss_sum,
                                           std::int64_t correct, std::int64_t seen) {
  EpochMetrics m;
  m.epoch = epoch;
  m.seconds = seconds;
  m.train_loss = seen ? loss_sum / static_cast<double>(seen) : 0.0;
  m.train_accuracy = seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
  const EvalResult test = evaluate_test();
  m.test_loss = test.loss;
  m.test_accuracy = test.accuracy;
  m.lr = optimizer_->lr();
  m.steps = step_;
  return m;
}

// The test set's loss and accuracy; data-parallel, each rank evaluates its share and the sums are reduced
// (the same numbers as one process, up to the order of the loss sum).
EvalResult Trainer::evaluate_test() {
  if (!buckets_) return evaluate(*model_, test_);
  dist::broadcast_tensors(*world_, buffers_);  // rank 0's running statistics, as the saved model has
  EvalResult mine;
  if (test_shard_.size() > 0) mine = evaluate(*model_, test_shard_);
  std::array<double, 3> sums = {mine.loss * static_cast<double>(mine.samples),
                                std::round(mine.accuracy * static_cast<double>(mine.samples)),
                                static_cast<double>(mine.samples)};
  world_->allreduce_sum(sums);
  EvalResult all;
  all.samples = static_cast<std::int64_t>(sums[2]);
  all.num_classes = test_.num_classes;
  if (all.samples > 0) {
    all.loss = sums[0] / sums[2];
    all.accuracy = sums[1] / sums[2];
  }
  return all;
}

// One optimizer step on `batch`. Data-parallel, this rank computes its rows, the gradients are averaged
// over the ranks while backward runs, and one small allreduce agrees on the batch's loss and accuracy and
// on stopping (a NaN anywhere, a stop request anywhere); one process checks its loss before backward, so
// a NaN never reaches the parameters. Returns whether to stop after this step.
bool Trainer::train_step(const Batch& batch, std::span<std::int32_t> predicted, EpochProgress& progress,
                         TrainObserver& watch, std::int64_t epoch_number) {
  const bool parallel = buckets_ != nullptr;
  const auto diverged = [&](double loss, int ranks_with_nan) {
    const std::string where = parallel ? fmt::format(" on {} of {} data-parallel ranks; every rank stopped",
                                                     ranks_with_nan, ranks())
                                       : "; training stopped";
    return TrainingDiverged(
        fmt::format("the loss became {} at step {} (epoch {}, batch {}){} before saving anything over the "
                    "last good checkpoint or model. Try a lower learning rate",
                    loss, step_ + 1, epoch_number, batch.index + 1, where));
  };
  watch.on_phase(StepPhase::Forward);
  Batch shard;  // data-parallel: this rank's rows (a view)
  if (parallel) {
    if (!buffers_.empty()) dist::broadcast_tensors(*world_, buffers_);  // as DDP's broadcast_buffers=True
    shard = shard_of(batch, world_->rank(), world_->size());
  }
  const Batch& mine = parallel ? shard : batch;
  Tensor logits = (*model_)(mine.images);
  Tensor loss = cross_entropy(logits, mine.labels, Reduction::Mean, config_.label_smoothing);
  const float loss_value = loss.item();
  if (!parallel && !std::isfinite(loss_value)) {
    tape().clear();
    throw diverged(loss_value, 1);
  }

  watch.on_phase(StepPhase::Backward);
  const bool update_in_backward = !parallel && config_.update_in_backward;
  if (parallel) {
    buckets_->begin(static_cast<float>(mine.size) / static_cast<float>(batch.size));
    {
      GradReadyHookScope hook(buckets_->hook());
      loss.backward();
    }
    buckets_->finish();  // the update waits for the ranks' agreement below
  } else {
    if (update_in_backward) {
      optimizer_->backward_and_step(loss);  // (the Update phase is inside Backward then)
    } else {
      loss.backward();
      watch.on_phase(StepPhase::Update);
      optimizer_->step();
    }
    watch.on_phase(StepPhase::Bookkeeping);
  }

  argmax_rows(logits, predicted.data());
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < mine.size; ++i)
    correct += predicted[static_cast<std::size_t>(i)] == mine.labels[static_cast<std::size_t>(i)];
  // The batch's loss sum, correct count, ranks whose loss is not finite, and stop requests: this
  // process's, or every rank's summed.
  std::array<double, 4> batch_sums = {static_cast<double>(loss_value) * static_cast<double>(mine.size),
                                      static_cast<double>(correct), std::isfinite(loss_value) ? 0.0 : 1.0,
                                      stop_requested() ? 1.0 : 0.0};
  if (parallel) {
    // The ranks agree before anyone steps: a NaN on any rank stops every rank with the same weights.
    world_->allreduce_sum(batch_sums);
    if (batch_sums[2] > 0)
      throw diverged(batch_sums[0] / static_cast<double>(batch.size), static_cast<int>(batch_sums[2]));
    watch.on_phase(StepPhase::Update);
    optimizer_->step();
    watch.on_phase(StepPhase::Bookkeeping);
  }
  ++step_;
  ++progress.batch;
  progress.loss_sum += batch_sums[0];
  progress.correct += static_cast<std::int64_t>(batch_sums[1]);
  progress.seen += batch.size;
  return batch_sums[3] > 0;
}

TrainResult Trainer::run(TrainObserver* observer) {
  using clock = std::chrono::steady_clock;
  TrainObserver silent;
  TrainObserver& watch = observer ? *observer : silent;
  TrainResult result;
  watch.on_start(*this);
  if (text_) {
    const auto start = std::chrono::steady_clock::now();
    run_text(watch, result);
    if (!result.stopped && !config_.save.empty()) save_model(config_.save);
    result.history = history_;
    result.steps = step_;
    result.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
  }
  DataLoader loader(train_, config_.batch, config_.shuffle, loader_rng_,
                    drops_last_batch(*model_, train_.size(), config_.batch, ranks()));
  if (progress_.batch >= loader.batches_per_epoch())
    throw ValueError(
        fmt::format("the checkpoint's position (batch {} of the epoch) is past the end of an epoch "
                    "of {} batches",
                    progress_.batch, loader.batches_per_epoch()));
  // A batch is never larger than the training set (a huge --batch on a small set allocates nothing big).
  std::vector<std::int32_t> predicted(
      static_cast<std::size_t>(std::min<std::int64_t>(loader.batch_size(), train_.size())));
  const auto run_start = clock::now();
  model_->train();
  auto checkpoint_path = [&] {
    const auto dir = config_.checkpoint_dir.empty() ? std::filesystem::path(".") : config_.checkpoint_dir;
    return dir / "checkpoint.safetensors";
  };
  // Rank 0 writes the files; data-parallel, every rank hears whether that worked (a full disk on rank 0
  // must not leave the others waiting in the next step's collectives).
  const auto write_on_root = [&](const std::function<void()>& write) {
    if (!world_) return write();
    dist::agree(*world_, [&] {
      if (is_root()) write();
    });
  };

  while (epoch_ < config_.epochs && !(config_.max_steps > 0 && step_ >= config_.max_steps)) {
    const std::int64_t epoch_number = epoch_ + 1;
    // The loader's stream at the epoch start is saved so that a mid-epoch checkpoint can replay the order.
    if (progress_.batch == 0)
      epoch_start_rng_ = loader_rng_.state();
    else
      loader_rng_.set_state(epoch_start_rng_);
    loader.start_epoch();
    Batch batch;
    for (std::int64_t skip = 0; skip < progress_.batch; ++skip) loader.next(batch);

    const auto epoch_start = clock::now();
    // This epoch so far: where a resume left it, or all zero.
    EpochProgress progress = progress_;
    const auto epoch_seconds = [&] {
      return progress_.seconds + std::chrono::duration<double>(clock::now() - epoch_start).count();
    };
    bool interrupted = false;
    for (;;) {
      watch.on_phase(StepPhase::Data);
      if (!loader.next(batch)) break;
      schedule_->schedule->before_step(step_);
      watch.on_phase(StepPhase::ZeroGrad);
      optimizer_->zero_grad();
      const bool stop = train_step(batch, predicted, progress, watch, epoch_number);

      const double elapsed = std::chrono::duration<double>(clock::now() - epoch_start).count();
      const double done =
          static_cast<double>(progress.batch) / static_cast<double>(loader.batches_per_epoch());
      const double rate = elapsed > 0 ? static_cast<double>(progress.seen - progress_.seen) / elapsed : 0.0;
      watch.on_step({epoch_number, config_.epochs, progress.batch, loader.batches_per_epoch(), step_,
                     progress.loss_sum / static_cast<double>(progress.seen), rate,
                     done > 0 ? elapsed * (1 - done) / done : 0.0});
      const bool out_of_steps = config_.max_steps > 0 && step_ >= config_.max_steps;
      if (stop || (out_of_steps && progress.batch < loader.batches_per_epoch())) {
        // Keep the partial epoch so that a resume continues exactly here.
        progress.seconds = epoch_seconds();
        progress_ = progress;
        interrupted = true;
        result.stopped = stop;
        break;
      }
      // --checkpoint-every: the position inside the epoch (an epoch's last step checkpoints below).
      if (config_.checkpoint_every > 0 && !config_.checkpoint_dir.empty() &&
          step_ % config_.checkpoint_every == 0 && progress.batch < loader.batches_per_epoch()) {
        EpochProgress partial = progress;
        partial.seconds = epoch_seconds();
        const auto path = checkpoint_path();
        write_on_root([&] { save_checkpoint(path, partial); });
        watch.on_checkpoint(path);
      }
    }
    if (interrupted) {
      if (!result.stopped) {
        // --steps ran out inside an epoch: report the partial epoch (evaluated).
        watch.on_phase(StepPhase::Evaluate);
        const EpochMetrics m = finish_epoch_metrics(epoch_number, progress_.seconds, progress_.loss_sum,
                                                    progress_.correct, progress_.seen);
        result.history.push_back(m);
        watch.on_epoch(m);
      }
      // Either way the position is checkpointed, so a resume continues exactly here.
      if (result.stopped || !config_.checkpoint_dir.empty()) {
        const auto path = checkpoint_path();
        write_on_root([&] { save_checkpoint(path); });  // (data-parallel: the ranks hold the same state)
        if (result.stopped) result.stop_checkpoint = path;
        watch.on_checkpoint(path);
      }
      break;
    }

    watch.on_phase(StepPhase::Evaluate);
    const EpochMetrics m = finish_epoch_metrics(epoch_number, epoch_seconds(), progress.loss_sum,
                                                progress.correct, progress.seen);
    history_.push_back(m);
    ++epoch_;
    progress_ = EpochProgress{};
    schedule_->schedule->step(m.test_loss);  // (only a plateau schedule reads it)
    watch.on_epoch(m);
    if (!config_.checkpoint_dir.empty()) {
      const auto path = checkpoint_path();
      write_on_root([&] { save_checkpoint(path); });
      watch.on_checkpoint(path);
    }
  }

  if (!result.stopped && !config_.save.empty()) write_on_root([&] { save_model(config_.save); });
  result.history.insert(result.history.begin(), history_.begin(), history_.end());
  result.steps = step_;
  result.total_seconds = std::chrono::duration<double>(clock::now() - run_start).count();
  for (const EpochMetrics& m : result.history)
    result.best_test_accuracy = std::max(result.best_test_accuracy, m.test_accuracy);
  if (!result.history.empty()) result.last_test_accuracy = result.history.back().test_accuracy;
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Saved files

void Trainer::save_model(const std::filesystem::path& path) const {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  nn::Metadata m = source_.metadata;
  m["format"] = "pt";
  m["bend.epochs"] = std::to_string(epoch_);
  m["bend.steps"] = std::to_string(step_);
  m["bend.dataset"] = config_.dataset;
  m["bend.optimizer"] = std::string(optimizer_->name());
  if (text_ && !history_.empty()) m["bend.val_loss"] = fmt::format("{:.6f}", history_.back().test_loss);
  if (!text_ && !history_.empty())
    m["bend.test_accuracy"] = fmt::format("{:.6f}", history_.back().test_accuracy);
  if (normalization_) write_normalization(m, *normalization_);
  nn::save_tensors(path, model_->state_dict(), m);
}

void Trainer::save_checkpoint(const std::filesystem::path& path) const { save_checkpoint(path, progress_); }

void Trainer::save_checkpoint(const std::filesystem::path& path, const EpochProgress& partial) const {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  CheckpointState s;
  s.model = model_->state_dict();
  s.optimizer = optimizer_->state_tensors();
  s.model_metadata = source_.metadata;
  s.dataset = config_.dataset;
  s.optimizer_name = std::string(optimizer_->name());
  s.optimizer_hyperparameters = optimizer_->hyperparameters();
  s.optimizer_config =
      optim::complete_options(optim::find_optimizer(config_.optimizer), config_.optimizer_options);
  s.schedule = config_.schedule;
  s.planned_epochs = config_.epochs;
  s.warmup_steps = config_.warmup_steps;
  s.schedule_state = text_ ? text_settings() : schedule_->schedule->state();
  s.batch = config_.batch;
  s.seed = config_.seed;
  s.epochs_done = epoch_;
  s.steps_done = step_;
  s.partial = partial;
  s.loader_rng = loader_rng_.state();
  s.epoch_start_rng = epoch_start_rng_;
  for (nn::Dropout* d : dropouts_of(*model_)) s.module_rngs.push_back(d->rng().state());
  s.history = history_;
  s.normalization = normalization_;
  write_checkpoint(path, s);
}

void Trainer::load_checkpoint(const std::filesystem::path& path) {
  CheckpointState s = read_checkpoint(path);
  const std::string where = fmt::format("--resume {}", path.string());
  if (text_) {
    // The vocabulary first: with another one, every token id would mean another character.
    auto it = s.model_metadata.find("bend.vocab");
    if (it != s.model_metadata.end() && it->second != text_->vocab_utf8())
      throw ValueError(fmt::format(
          "{}: the checkpoint's vocabulary ({}) is not {}'s ({} {}): its token ids would mean other {}. "
          "Resume on the text it was trained on, with the same --vocab, --vocab-size and --min-count",
          where, saved_vocab_summary(s.model_metadata), text_->name, text_->vocab_size(), text_->unit(),
          text_->unit()));
    if (s.steps_done > config_.max_steps)
      throw ValueError(fmt::format("{}: the checkpoint has done {} steps, more than --steps {}", where,
                                   s.steps_done, config_.max_steps));
    if (s.optimizer_config.contains("lr")) base_lr_ = s.optimizer_config.at("lr");
    const auto mine = text_settings();
    for (const auto& [key, value] : mine) {
      auto saved = s.schedule_state.find(key);
      if (saved != s.schedule_state.end() && saved->second != value)
        throw ValueError(
            fmt::format("{}: the checkpoint's run has {} = {:g} but this run asks for {:g}; a "
                        "resumed run keeps the loop's settings (start a new run with --init-from)",
                        where, key, saved->second, value));
    }
  }
  if (auto diff = description_mismatch(s.model_metadata, source_.metadata); !diff.empty())
    throw ValueError(
        fmt::format("{}: the checkpoint holds another model than the run builds ({})", where, diff));
  if (s.dataset != config_.dataset)
    throw ValueError(fmt::format("{}: the checkpoint was trained on {} but the run asks for {}", where,
                                 s.dataset, config_.dataset));
  if (s.optimizer_name != optimizer_->name())
    throw ValueError(fmt::format("{}: the checkpoint was trained with {} but the run asks for {}", where,
                                 s.optimizer_name, optimizer_->name()));
  if (s.batch != config_.batch)
    throw ValueError(
        fmt::format("{}: the checkpoint was trained at batch {} but the run asks for batch {}; the "
                    "position in the epoch depends on it",
                    where, s.batch, config_.batch));
  if (s.schedule != config_.schedule)
    throw ValueError(fmt::format("{}: the checkpoint's schedule is {} but the run asks for {}", where,
                                 s.schedule, config_.schedule));
  if (!text_ && s.warmup_steps && *s.warmup_steps != config_.warmup_steps)
    throw ValueError(
        fmt::format("{}: the checkpoint's run warmed up over {} steps but the run asks for {}; "
                    "resume with --warmup {}",
                    where, *s.warmup_steps, config_.warmup_steps, *s.warmup_steps));
  if (find_schedule(s.schedule).planned_over_epochs && s.planned_epochs != config_.epochs)
    throw ValueError(
        fmt::format("{}: the {} schedule was planned over {} epochs; resuming with --epochs {} would "
                    "not follow it (a cosine schedule ends at learning rate 0). Resume with --epochs "
                    "{}, or start a new run with --init-from",
                    where, s.schedule, s.planned_epochs, config_.epochs, s.planned_epochs));
  // Options given for this run must be those the checkpoint's run was configured with (older
  // checkpoints only have the current values).
  const auto& configured = s.optimizer_config.empty() ? s.optimizer_hyperparameters : s.optimizer_config;
  for (const auto& [key, value] : config_.optimizer_options) {
    auto it = configured.find(key);
    if (it != configured.end() && it->second != value)
      throw ValueError(
          fmt::format("{}: {} = {:g} does not apply to a resumed run: the checkpoint's run was "
                      "configured with {} = {:g}, and its optimizer state continues. Start a new "
                      "run with --init-from to change it",
                      where, key, value, key, it->second));
  }
  if (s.normalization.has_value() != normalization_.has_value())
    throw ValueError(fmt::format("{}: the checkpoint was trained {} --standardize", where,
                                 s.normalization ? "with" : "without"));
  auto drops = dropouts_of(*model_);
  if (s.module_rngs.size() != drops.size())
    throw ValueError(
        fmt::format("{}: the checkpoint has {} dropout streams but the model has {} Dropout modules", where,
                    s.module_rngs.size(), drops.size()));
  if (!text_ && s.epochs_done > config_.epochs)
    throw ValueError(fmt::format("{}: the checkpoint has done {} epochs, more than --epochs {}", where,
                                 s.epochs_done, config_.epochs));
  if (!text_ && s.partial.seen >= train_.size())
    throw ValueError(
        fmt::format("{}: the checkpoint's bend.partial_seen = {} is not inside an epoch of {} "
                    "training samples",
                    where, s.partial.seen, train_.size()));
  try {
    model_->load_state_dict(s.model);
    optimizer_->load_state(s.optimizer);
    optimizer_->set_hyperparameters(s.optimizer_hyperparameters);
    if (!text_) schedule_->schedule->load_state(s.schedule_state);
  } catch (const Error& e) {
    throw ValueError(fmt::format("{}: {}", where, e.what()));
  }
  epoch_ = s.epochs_done;
  step_ = s.steps_done;
  progress_ = s.partial;
  loader_rng_.set_state(s.loader_rng);
  epoch_start_rng_ = s.epoch_start_rng;
  for (std::size_t k = 0; k < drops.size(); ++k) drops[k]->rng().set_state(s.module_rngs[k]);
  history_ = std::move(s.history);
}

}  // namespace bend::train
