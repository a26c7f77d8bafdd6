// The activation comparison sweep: one Trainer run per activation and seed, with diagnostics on the
// probe batch at init and after every epoch (see bend/lab/compare.hpp).
#include <fmt/format.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/lab/compare.hpp"

namespace bend::lab {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Feeds the Trainer's events into a RunRecord (diagnostics at start and after every epoch) and on to
// the sweep's observer.
class RunObserver : public train::TrainObserver {
 public:
  RunObserver(RunRecord& record, std::int64_t probe_size, CompareObserver* outer)
      : record_(record), probe_size_(probe_size), outer_(outer) {}

  void on_start(train::Trainer& t) override {
    trainer_ = &t;
    probe_ = train::probe_batch(t.test_data(), probe_size_);
    record_.initial = measure();
  }
  void on_step(const train::StepProgress& p) override {
    if (outer_) outer_->on_step(p);
  }
  void on_epoch(const train::EpochMetrics& m) override {
    record_.history.push_back(m);
    record_.diagnostics.push_back(measure());
    if (outer_) outer_->on_epoch(m, record_.diagnostics.back());
  }

 private:
  train::Diagnostics measure() { return train::diagnose(trainer_->model(), probe_.images, probe_.labels); }

  RunRecord& record_;
  std::int64_t probe_size_;
  CompareObserver* outer_;
  train::Trainer* trainer_ = nullptr;
  TensorDataset probe_;
};

}  // namespace

std::vector<std::string> parse_activation_list(std::string_view list) {
  std::vector<std::string> out;
  const std::string key = lower(trim(list));
  if (key.empty() || key == "default") {
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
    const std::string name = trim(list.substr(start, end - start));
    if (name.empty()) throw ValueError(fmt::format("--acts '{}': empty name in the list", list));
    const std::string canonical(activation(name).name);  // throws with the valid names
    if (std::find(out.begin(), out.end(), canonical) == out.end()) out.push_back(canonical);
    start = end + 1;
  }
  return out;
}

CompareResult run_compare(const CompareOptions& options, const TensorDataset& train,
                          const TensorDataset& test, CompareObserver* observer) {
  if (options.activations.empty()) throw ValueError("compare: no activations to compare");
  if (options.seeds < 1) throw ValueError(fmt::format("--seeds must be >= 1, got {}", options.seeds));
  const auto start = std::chrono::steady_clock::now();
  CompareResult result;
  const std::size_t total = options.activations.size() * static_cast<std::size_t>(options.seeds);
  for (const std::string& act : options.activations) {
    for (int k = 0; k < options.seeds; ++k) {
      train::TrainConfig config = options.base;
      const train::ModelSource model =
          train::model_source(nn::ModelSpec::parse(options.arch, act, options.norm, options.dropout),
                              nn::init::parse_scheme(options.init));
      config.seed = options.base.seed + static_cast<std::uint64_t>(k);
      config.checkpoint_dir.clear();
      config.save.clear();
      config.resume.clear();
      RunRecord record;
      record.activation = act;
      record.seed = config.seed;
      if (observer) observer->on_run_start(result.runs.size(), total, act, config.seed);
      const auto run_start = std::chrono::steady_clock::now();
      try {
        // Standardisation normalises the trainer's copy in place, and copies share pixels: give each
        // run its own pixels then.
        auto trainer = config.standardize
                           ? std::make_unique<train::Trainer>(config, model, subset(train, 0, train.size()),
                                                              subset(test, 0, test.size()))
                           : std::make_unique<train::Trainer>(config, model, train, test);
        RunObserver run_observer(record, options.probe_size, observer);
        trainer->run(&run_observer);
      } catch (const train::TrainingDiverged& e) {
        record.error = e.what();
      }
      record.total_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      result.runs.push_back(std::move(record));
      if (observer) observer->on_run_end(result.runs.back());
    }
  }
  result.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summarize(result);
  return result;
}

}  // namespace bend::lab
