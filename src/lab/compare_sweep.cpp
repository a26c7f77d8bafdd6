// The activation comparison sweep: one Trainer run per activation and seed, with diagnostics on the
// probe batch at init and after every epoch (see bend/lab/compare.hpp).
#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/lab/compare.hpp"
#include "bend/lab/compare_run_file.hpp"
#include "bend/parallel.hpp"
#include "bend/train/gpt_source.hpp"

namespace bend::lab {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim_spaces(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The sweep's observer, shared by the runs going on at the same time: one call at a time.
class SerializedObserver {
 public:
  explicit SerializedObserver(CompareObserver* outer) : outer_(outer) {}
  template <class F>
  void call(F&& f) {
    if (!outer_) return;
    std::lock_guard lock(mutex_);
    f(*outer_);
  }

 private:
  CompareObserver* outer_;
  std::mutex mutex_;
};

// Feeds the Trainer's events into a RunRecord (diagnostics at start and after every epoch) and on to
// the sweep's observer.
class RunObserver : public train::TrainObserver {
 public:
  RunObserver(RunRecord& record, std::size_t run, std::int64_t probe_size, SerializedObserver& outer,
              train::TrainObserver* also)
      : record_(record), run_(run), probe_size_(probe_size), outer_(outer), also_(also) {}

  void on_start(train::Trainer& t) override {
    if (also_) also_->on_start(t);
    trainer_ = &t;
    if (const TextCorpus* text = t.text()) {
      // A language model's probe: consecutive windows of the val split from its start, fixed for the run.
      const std::int64_t block = t.config().text.block_size;
      const auto available = static_cast<std::int64_t>(text->val.size() - 1) / block;
      const std::int64_t windows = std::max<std::int64_t>(1, std::min(probe_size_, available));
      windows_ = Tensor::empty(Shape{windows, block});
      targets_.clear();
      for (std::int64_t w = 0; w < windows; ++w)
        for (std::int64_t i = 0; i < block; ++i) {
          const auto at = static_cast<std::size_t>(w * block + i);
          windows_.data()[w * block + i] = static_cast<float>(text->val[at]);
          targets_.push_back(text->val[at + 1]);
        }
    } else {
      probe_ = train::probe_batch(t.test_data(), probe_size_);
    }
    record_.initial = measure();
  }
  void on_step(const train::StepProgress& p) override {
    if (also_) also_->on_step(p);
    outer_.call([&](CompareObserver& o) { o.on_step(run_, p); });
  }
  void on_epoch(const train::EpochMetrics& m) override {
    record_.history.push_back(m);
    record_.diagnostics.push_back(measure());
    outer_.call([&](CompareObserver& o) { o.on_epoch(run_, m, record_.diagnostics.back()); });
    if (also_) also_->on_epoch(m);
  }
  void on_phase(train::StepPhase phase) override {
    if (also_) also_->on_phase(phase);
  }
  void on_checkpoint(const std::filesystem::path& path) override {
    if (also_) also_->on_checkpoint(path);
  }

 private:
  train::Diagnostics measure() {
    if (auto* gpt = dynamic_cast<nn::GPT*>(&trainer_->model()))
      return train::diagnose_gpt(*gpt, windows_, targets_);
    return train::diagnose(trainer_->model(), probe_.images, probe_.labels);
  }

  RunRecord& record_;
  std::size_t run_;
  std::int64_t probe_size_;
  SerializedObserver& outer_;
  train::TrainObserver* also_;
  train::Trainer* trainer_ = nullptr;
  TensorDataset probe_;
  Tensor windows_;  // a language model's probe: [windows, block] ids and their next-token targets
  std::vector<std::int32_t> targets_;
};

// Where the runs' errors say they happened: "" in a single process, " on rank 3" in an MPI job.
std::string where(const dist::World& world) {
  return world.size() > 1 ? fmt::format(" on rank {}", world.rank()) : std::string();
}

// The run's Trainer: the GPT on the text with the run's activation, or the model spec on the images.
std::unique_ptr<train::Trainer> make_trainer(const CompareOptions& options, const RunSpec& spec,
                                             const train::TrainConfig& config, const TensorDataset& train,
                                             const TensorDataset& test) {
  if (options.language_model()) {
    nn::GPTConfig gpt = options.gpt;
    gpt.activation = spec.activation;
    return std::make_unique<train::Trainer>(config, train::gpt_source(gpt, options.corpus->vocab_utf8(), options.corpus->vocab_options),
                                            *options.corpus);
  }
  const train::ModelSource model =
      train::model_source(nn::ModelSpec::parse(options.arch, spec.activation, options.norm, options.dropout),
                          nn::init::parse_scheme(options.init));
  // Standardisation normalises the trainer's copy in place, and copies share pixels: give each
  // run its own pixels then.
  return config.standardize ? std::make_unique<train::Trainer>(config, model, subset(train, 0, train.size()),
                                                               subset(test, 0, test.size()))
                            : std::make_unique<train::Trainer>(config, model, train, test);
}

// One run, start to end. Divergence is a result (error set, epochs kept); anything else thrown marks
// the run failed, with what and where.
RunRecord run_one(const CompareOptions& options, const RunSpec& spec, std::size_t runs, int threads,
                  const TensorDataset& train, const TensorDataset& test, SerializedObserver& observer,
                  const dist::World& world) {
  RunRecord record;
  record.activation = spec.activation;
  record.seed = spec.seed;
  observer.call([&](CompareObserver& o) { o.on_run_start(spec.index, runs, spec.activation, spec.seed); });
  const auto run_start = std::chrono::steady_clock::now();
  try {
    train::TrainConfig config = options.base;
    config.threads = threads;
    config.seed = spec.seed;
    config.checkpoint_dir.clear();
    config.save.clear();
    config.resume.clear();
    auto trainer = make_trainer(options, spec, config, train, test);
    RunObserver run_observer(record, spec.index, options.probe_size, observer,
                             options.jobs == 1 ? options.observer : nullptr);
    const train::TrainResult result = trainer->run(&run_observer);
    if (result.stopped) {
      record.failed = true;
      record.error = fmt::format("interrupted{} after {} {}", where(world), record.history.size(),
                                 options.language_model() ? "estimate(s)" : "epoch(s)");
    }
  } catch (const train::TrainingDiverged& e) {
    record.error = e.what();
  } catch (const std::exception& e) {
    record.failed = true;
    record.error = fmt::format("failed{}: {}", where(world), e.what());
  }
  record.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  return record;
}

// Runs specs[i] for every i in `todo`, `jobs` at a time; saves each run that has a result in
// options.run_dir as it ends. Returns the records in the order of `todo`.
std::vector<RunRecord> run_share(const CompareOptions& options, const std::vector<RunSpec>& specs,
                                 const std::vector<std::size_t>& todo, const TensorDataset& train,
                                 const TensorDataset& test, CompareObserver* observer,
                                 const dist::World& world) {
  std::vector<RunRecord> records(todo.size());
  SerializedObserver serialized(observer);
  const std::string fingerprint = options.run_dir.empty() ? std::string() : sweep_fingerprint(options);
  const int jobs = std::max(1, std::min<int>(options.jobs, static_cast<int>(todo.size())));
  // jobs == 1: the calling thread and the shared pool, as a single run; otherwise a pool per run.
  const int threads = jobs == 1 ? options.base.threads
                                : (options.base.threads > 0 ? options.base.threads
                                                            : std::max(1, default_num_threads() / jobs));
  // A run file that cannot be written (a full disk) stops the sweep in one process: no new run starts,
  // the runs under way finish, and the first failure is the one error. Under MPI the other ranks wait
  // for this one's results, so there it is a warning and the report still comes.
  std::mutex save_mutex;
  std::string save_error;
  std::atomic<bool> stop_starting{false};
  auto finish = [&](std::size_t k) {
    RunRecord& r = records[k];
    if (!r.failed && !options.run_dir.empty()) {
      try {
        save_run_record(options.run_dir, r, fingerprint);
      } catch (const Error& e) {
        if (world.size() > 1) {
          // The result is still reported; only a later --resume would run it again.
          std::fprintf(stderr, "bend compare: warning: %s\n", e.what());
        } else {
          const std::lock_guard lock(save_mutex);
          if (save_error.empty()) save_error = e.what();
          stop_starting = true;
        }
      }
    }
    serialized.call([&](CompareObserver& o) { o.on_run_end(specs[todo[k]].index, r); });
  };
  const auto throw_save_error = [&] {
    if (save_error.empty()) return;
    throw IoError(fmt::format(
        "{}; the sweep stopped there: the runs saved before are in {}, and the same command with --resume "
        "continues from them once the disk has room",
        save_error, (options.run_dir / "runs").string()));
  };
  if (jobs == 1) {
    for (std::size_t k = 0; k < todo.size() && !stop_starting; ++k) {
      records[k] = run_one(options, specs[todo[k]], specs.size(), threads, train, test, serialized, world);
      finish(k);
    }
    throw_save_error();
    return records;
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    ThreadBudget budget(threads);
    for (std::size_t k; !stop_starting && (k = next.fetch_add(1)) < todo.size();) {
      records[k] = run_one(options, specs[todo[k]], specs.size(), threads, train, test, serialized, world);
      finish(k);
    }
  };
  std::vector<std::thread> workers;
  for (int j = 1; j < jobs; ++j) workers.emplace_back(worker);
  worker();
  for (std::thread& t : workers) t.join();
  throw_save_error();
  return records;
}

// The records a rank sends to rank 0: a JSON array of {index, record}.
std::string encode_share(const std::vector<std::size_t>& indices, const std::vector<RunRecord>& records) {
  std::string out = "[";
  for (std::size_t k = 0; k < records.size(); ++k)
    out += fmt::format("{}{{\"index\":{},\"record\":{}}}", k ? "," : "", indices[k],
                       run_record_json(records[k], std::string()));
  return out + "]";
}

}  // namespace

std::vector<std::string> parse_activation_list(std::string_view list) {
  std::vector<std::string> out;
  const std::string key = lower(trim_spaces(list));
  if (key.empty())  // (as `train --act relu,` is: an empty name is an error, not a default)
    throw ValueError(
        fmt::format("--acts '{}': no activation named; give a comma list, 'default' or 'all'", list));
  if (key == "default") {
    for (const ActivationInfo& a : activation_table())
      if (a.in_docs_table) out.emplace_back(a.name);
    return out;
  }
  if (key == "all") {
    for (const ActivationInfo& a : activation_table())
      if (!a.learnable || a.name == "prelu") out.emplace_back(a.name);
    return out;
  }
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(',', start), list.size());
    const std::string name = trim_spaces(list.substr(start, end - start));
    if (name.empty()) throw ValueError(fmt::format("--acts '{}': empty name in the list", list));
    // swiglu: the gated feed-forward (a dense hidden layer's or a transformer block's), not a table entry.
    const std::string canonical =
        lower(name) == "swiglu" ? std::string("swiglu") : std::string(activation(name).name);  // throws
    if (std::find(out.begin(), out.end(), canonical) == out.end()) out.push_back(canonical);
    start = end + 1;
  }
  return out;
}

std::vector<RunSpec> sweep_runs(const CompareOptions& options) {
  std::vector<RunSpec> specs;
  for (const std::string& act : options.activations)
    for (int k = 0; k < options.seeds; ++k)
      specs.push_back({specs.size(), act, options.base.seed + static_cast<std::uint64_t>(k)});
  return specs;
}

CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, CompareObserver* observer) {
  return run_compare(options, train, test, dist::self(), observer);
}

CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, const dist::World& world, CompareObserver* observer) {
  if (options.activations.empty()) throw ValueError("compare: no activations to compare");
  if (options.seeds < 1) throw ValueError(fmt::format("--seeds must be >= 1, got {}", options.seeds));
  if (options.jobs < 1) throw ValueError(fmt::format("--jobs must be >= 1, got {}", options.jobs));
  if (options.language_model()) {
    for (const std::string& act : options.activations) {  // every run's GPT config, before any run
      nn::GPTConfig gpt = options.gpt;
      gpt.activation = act;
      gpt.vocab_size = options.corpus->vocab_size();
      gpt.validate();
    }
    check_block_fits(*options.corpus, options.gpt.block_size);
    if (options.base.text.block_size != options.gpt.block_size)
      throw ValueError(fmt::format("compare: the loop's block size {} is not the GPT's {}",
                                   options.base.text.block_size, options.gpt.block_size));
  }
  const auto start = std::chrono::steady_clock::now();
  const std::vector<RunSpec> specs = sweep_runs(options);
  std::vector<std::optional<RunRecord>> slots(specs.size());

  // Resume: rank 0 loads the runs already done and tells every rank which ones they are. A file from
  // another sweep stops every rank with the same error (after the broadcast, so nobody waits).
  CompareResult result;
  if (options.resume && !options.run_dir.empty()) {
    std::string done(specs.size(), '0');
    std::string error;
    if (world.is_root()) {
      try {
        const std::string fingerprint = sweep_fingerprint(options);
        for (const RunSpec& spec : specs)
          if ((slots[spec.index] = load_run_record(options.run_dir, spec.activation, spec.seed, fingerprint)))
            done[spec.index] = '1';
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    std::string message = error.empty() ? done : "E" + error;
    world.broadcast(message);
    if (message.size() != specs.size() || message.find_first_not_of("01") != std::string::npos)
      throw ValueError(message.substr(1));
    done = message;
    for (std::size_t i = 0; i < specs.size(); ++i) result.resumed_runs += done[i] == '1';
    if (!world.is_root())
      for (std::size_t i = 0; i < specs.size(); ++i)
        if (done[i] == '1') slots[i] = RunRecord{};  // a placeholder: only rank 0 keeps records
  }

  // The runs still to do, round-robin over the ranks.
  std::vector<std::size_t> todo, mine;
  for (std::size_t i = 0; i < specs.size(); ++i)
    if (!slots[i]) todo.push_back(i);
  for (std::size_t k = 0; k < todo.size(); ++k)
    if (static_cast<int>(k % static_cast<std::size_t>(world.size())) == world.rank()) mine.push_back(todo[k]);
  std::vector<RunRecord> records = run_share(options, specs, mine, train, test, observer, world);

  const std::vector<std::string> shares = world.gather(encode_share(mine, records));
  result.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!world.is_root()) {
    result.runs = std::move(records);
    result.complete = false;
    return result;
  }
  const std::string fingerprint = options.run_dir.empty() ? std::string() : sweep_fingerprint(options);
  for (std::size_t rank = 0; rank < shares.size(); ++rank) {
    const nlohmann::json share = nlohmann::json::parse(shares[rank]);
    for (const nlohmann::json& entry : share) {
      const std::size_t index = entry.at("index").get<std::size_t>();
      RunRecord r = parse_run_record(entry.at("record").dump(), fmt::format("rank {}'s results", rank));
      // Another host's files may not be in this rank's directory: keep a copy of every result here.
      if (rank != 0 && !r.failed && !options.run_dir.empty() &&
          !std::filesystem::exists(run_file_path(options.run_dir, r.activation, r.seed))) {
        try {
          save_run_record(options.run_dir, r, fingerprint);
        } catch (const Error& e) {
          std::fprintf(stderr, "bend compare: warning: %s\n", e.what());
        }
      }
      slots.at(index) = std::move(r);
    }
  }
  for (const RunSpec& spec : specs) {
    if (slots[spec.index]) {
      result.runs.push_back(std::move(*slots[spec.index]));
    } else {
      RunRecord missing;
      missing.activation = spec.activation;
      missing.seed = spec.seed;
      missing.failed = true;
      missing.error = "no result came back from the rank that ran it";
      result.runs.push_back(std::move(missing));
    }
  }
  result.metric = options.metric();
  summarize(result);
  return result;
}

}  // namespace bend::lab
