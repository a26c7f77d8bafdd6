// The checkpoint format (see bend/train/checkpoint.hpp): writing, and reading with every field
// validated before use.
#include "bend/train/checkpoint.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string_view>

#include <fmt/format.h>

#include "bend/error.hpp"
#include "bend/nn/serialize.hpp"

namespace bend::train {

namespace {

// Doubles travel as hex-float text so they round-trip exactly.
std::string exact(double v) { return fmt::format("{:a}", v); }

class MetadataReader {
 public:
  MetadataReader(const Metadata& m, const std::filesystem::path& file) : m_(m), file_(file) {}

  const std::string& text(const std::string& key) const {
    auto it = m_.find(key);
    if (it == m_.end()) throw IoError(fmt::format("{}: checkpoint metadata lacks '{}'", file_.string(), key));
    return it->second;
  }
  bool has(const std::string& key) const { return m_.contains(key); }

  // A finite double (hex-float or decimal text).
  double real(const std::string& key) const { return parse_real(key, text(key)); }
  double parse_real(const std::string& key, const std::string& value) const {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v))
      throw IoError(fmt::format("{}: checkpoint metadata '{}' = '{}' is not a finite number", file_.string(),
                                key, value));
    return v;
  }
  // A whole number in [lo, hi], written in decimal digits (no sign tricks, no exponent, no NaN).
  std::int64_t integer(const std::string& key, std::int64_t lo, std::int64_t hi) const {
    const std::string& value = text(key);
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size() || v < lo || v > hi)
      throw IoError(fmt::format("{}: checkpoint metadata '{}' = '{}' is not a whole number in [{}, {}]",
                                file_.string(), key, value, lo, hi));
    return v;
  }
  std::uint64_t unsigned_integer(const std::string& key) const {
    const std::string& value = text(key);
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size())
      throw IoError(fmt::format("{}: checkpoint metadata '{}' = '{}' is not a whole number", file_.string(),
                                key, value));
    return v;
  }
  Rng::State rng(const std::string& key) const {
    const std::string& value = text(key);
    Rng::State s{};
    char spare[64] = {};
    int has_spare = 0;
    unsigned long long w[4];
    int consumed = 0;
    if (std::sscanf(value.c_str(), "%llx %llx %llx %llx %d %63s%n", &w[0], &w[1], &w[2], &w[3], &has_spare,
                    spare, &consumed) != 6 ||
        static_cast<std::size_t>(consumed) != value.size() || (has_spare != 0 && has_spare != 1) ||
        (w[0] | w[1] | w[2] | w[3]) == 0)
      throw IoError(fmt::format("{}: checkpoint metadata '{}' is not an RNG state", file_.string(), key));
    for (std::size_t k = 0; k < 4; ++k) s.s[k] = w[k];
    s.has_spare = has_spare != 0;
    s.spare = parse_real(key, spare);
    return s;
  }

 private:
  const Metadata& m_;
  const std::filesystem::path& file_;
};

std::string encode_rng(const Rng::State& s) {
  return fmt::format("{:016x} {:016x} {:016x} {:016x} {} {}", s.s[0], s.s[1], s.s[2], s.s[3],
                     s.has_spare ? 1 : 0, exact(s.spare));
}

constexpr std::int64_t kMaxCount = std::int64_t{1} << 53;  // counts a double holds exactly

}  // namespace

Metadata model_description(const Metadata& metadata) {
  Metadata out;
  auto keys = metadata.find("bend.model_keys");
  if (keys != metadata.end()) {
    std::string_view rest = keys->second;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string key(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (auto it = metadata.find(key); it != metadata.end()) out.insert(*it);
    }
    return out;
  }
  for (const char* key : {"bend.arch", "bend.act", "bend.dropout", "bend.model"})
    if (auto it = metadata.find(key); it != metadata.end()) out.insert(*it);
  return out;
}

std::optional<Normalization> read_normalization(const Metadata& metadata, const std::filesystem::path& file) {
  auto mean = metadata.find("bend.input_mean"), std = metadata.find("bend.input_std");
  if (mean == metadata.end() && std == metadata.end()) return std::nullopt;
  if (mean == metadata.end() || std == metadata.end())
    throw IoError(
        fmt::format("{}: metadata has only one of bend.input_mean and bend.input_std", file.string()));
  auto parse = [&](const std::string& key, const std::string& value) {
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) ||
        std::fabs(v) > std::numeric_limits<float>::max())
      throw IoError(
          fmt::format("{}: metadata '{}' = '{}' is not a finite number", file.string(), key, value));
    return static_cast<float>(v);
  };
  Normalization n;
  n.mean = parse("bend.input_mean", mean->second);
  n.std = parse("bend.input_std", std->second);
  if (!(n.std > 0))
    throw IoError(
        fmt::format("{}: metadata 'bend.input_std' = '{}' must be positive", file.string(), std->second));
  return n;
}

void write_normalization(Metadata& metadata, const Normalization& n) {
  metadata["bend.input_mean"] = fmt::format("{:.9g}", n.mean);
  metadata["bend.input_std"] = fmt::format("{:.9g}", n.std);
}

void write_checkpoint(const std::filesystem::path& path, const CheckpointState& s) {
  nn::NamedTensors tensors;
  for (const auto& [name, t] : s.model) tensors.emplace_back("model." + name, t);
  for (const auto& [name, t] : s.optimizer) tensors.emplace_back("optim." + name, t);
  Metadata m = s.model_metadata;
  std::string model_keys;
  for (const auto& [key, value] : s.model_metadata) model_keys += (model_keys.empty() ? "" : ",") + key;
  m["bend.model_keys"] = model_keys;
  m["format"] = "pt";
  m["bend.checkpoint"] = "2";
  m["bend.dataset"] = s.dataset;
  m["bend.optimizer"] = s.optimizer_name;
  m["bend.schedule"] = s.schedule;
  m["bend.planned_epochs"] = std::to_string(s.planned_epochs);
  if (s.warmup_steps) m["bend.warmup_steps"] = std::to_string(*s.warmup_steps);
  m["bend.batch"] = std::to_string(s.batch);
  m["bend.seed"] = std::to_string(s.seed);
  m["bend.epochs"] = std::to_string(s.epochs_done);
  m["bend.steps"] = std::to_string(s.steps_done);
  m["bend.batch_in_epoch"] = std::to_string(s.partial.batch);
  m["bend.partial_loss_sum"] = exact(s.partial.loss_sum);
  m["bend.partial_correct"] = std::to_string(s.partial.correct);
  m["bend.partial_seen"] = std::to_string(s.partial.seen);
  m["bend.partial_seconds"] = exact(s.partial.seconds);
  m["bend.rng.loader"] = encode_rng(s.loader_rng);
  m["bend.rng.epoch_start"] = encode_rng(s.epoch_start_rng);
  m["bend.rng.modules"] = std::to_string(s.module_rngs.size());
  for (std::size_t k = 0; k < s.module_rngs.size(); ++k)
    m[fmt::format("bend.rng.dropout.{}", k)] = encode_rng(s.module_rngs[k]);
  for (const auto& [key, value] : s.optimizer_hyperparameters) m["optim." + key] = exact(value);
  for (const auto& [key, value] : s.optimizer_config) m["bend.opt." + key] = exact(value);
  for (const auto& [key, value] : s.schedule_state) m["schedule." + key] = exact(value);
  std::string history;
  for (const EpochMetrics& e : s.history)
    history +=
        fmt::format("{} {} {} {} {} {} {} {};", e.epoch, exact(e.train_loss), exact(e.train_accuracy),
                    exact(e.test_loss), exact(e.test_accuracy), exact(e.seconds), exact(e.lr), e.steps);
  m["bend.history"] = history;
  if (s.normalization) write_normalization(m, *s.normalization);
  nn::save_tensors(path, tensors, m);
}

namespace {

// The partial epoch's fields, each checked against the others: no more samples seen than the batches
// done hold (batch_size each), no more correct than seen, no sums without batches, no negative sums.
EpochProgress read_epoch_progress(const MetadataReader& r, const std::filesystem::path& path,
                                  std::int64_t batch_size) {
  EpochProgress p;
  p.batch = r.integer("bend.batch_in_epoch", 0, kMaxCount);
  p.seen = r.integer("bend.partial_seen", 0, kMaxCount);
  p.correct = r.integer("bend.partial_correct", 0, kMaxCount);
  p.loss_sum = r.real("bend.partial_loss_sum");
  p.seconds = r.real("bend.partial_seconds");
  const auto bad = [&](std::string_view key, std::string why) {
    return IoError(fmt::format("{}: checkpoint metadata '{}' {}", path.string(), key, why));
  };
  // Every batch done held batch_size samples but the last, which held at least one. (Divisions, not
  // products, so that no count up to kMaxCount overflows.)
  const std::int64_t batches_for_seen = (p.seen + batch_size - 1) / batch_size;  // the fewest that hold them
  if (batches_for_seen > p.batch)
    throw bad(
        "bend.partial_seen",
        fmt::format("= {} is more than the {} batches done hold (bend.batch_in_epoch = {}, bend.batch = {})",
                    p.seen, p.batch, p.batch, batch_size));
  if (batches_for_seen < p.batch)
    throw bad("bend.partial_seen", fmt::format("= {} is too few for the {} batches done (bend.batch = {})",
                                               p.seen, p.batch, batch_size));
  if (p.correct > p.seen)
    throw bad("bend.partial_correct",
              fmt::format("= {} is more than bend.partial_seen = {}", p.correct, p.seen));
  if (p.loss_sum < 0 || (p.seen == 0 && p.loss_sum != 0))
    throw bad("bend.partial_loss_sum", fmt::format("= {} does not fit {} samples seen", p.loss_sum, p.seen));
  if (p.seconds < 0) throw bad("bend.partial_seconds", fmt::format("= {} is negative", p.seconds));
  return p;
}

}  // namespace

CheckpointState read_checkpoint(const std::filesystem::path& path) {
  Metadata m;
  nn::NamedTensors tensors = nn::load_tensors(path, &m);
  if (!m.contains("bend.checkpoint"))
    throw IoError(fmt::format(
        "{}: not a bend checkpoint (it has no training state; use --init-from for weights)", path.string()));
  const MetadataReader r(m, path);
  // Version 1 (no module-stream count) and 2 read; a later format is not guessed at.
  if (const std::string& version = r.text("bend.checkpoint"); version != "1" && version != "2")
    throw IoError(fmt::format("{}: checkpoint format version '{}' is not one this bend reads (1 or 2)",
                              path.string(), version));
  CheckpointState s;
  for (auto& [name, t] : tensors) {
    if (name.starts_with("model."))
      s.model.emplace_back(name.substr(6), std::move(t));
    else if (name.starts_with("optim."))
      s.optimizer.emplace_back(name.substr(6), std::move(t));
    else
      throw IoError(
          fmt::format("{}: checkpoint tensor '{}' is neither model.* nor optim.*", path.string(), name));
  }
  s.model_metadata = model_description(m);
  s.dataset = r.text("bend.dataset");
  s.optimizer_name = r.text("bend.optimizer");
  s.schedule = r.has("bend.schedule") ? r.text("bend.schedule") : "none";
  s.batch = r.integer("bend.batch", 1, kMaxCount);
  s.seed = r.unsigned_integer("bend.seed");
  s.epochs_done = r.integer("bend.epochs", 0, kMaxCount);
  s.planned_epochs = r.has("bend.planned_epochs") ? r.integer("bend.planned_epochs", 0, kMaxCount) : 0;
  s.steps_done = r.integer("bend.steps", 0, kMaxCount);
  if (r.has("bend.warmup_steps")) s.warmup_steps = r.integer("bend.warmup_steps", 0, kMaxCount);
  s.partial = read_epoch_progress(r, path, s.batch);
  s.loader_rng = r.rng("bend.rng.loader");
  s.epoch_start_rng = r.rng("bend.rng.epoch_start");
  // Version-1 checkpoints did not count the module streams; they are the dropout.<k> keys in order.
  const std::int64_t streams = r.has("bend.rng.modules") ? r.integer("bend.rng.modules", 0, 1 << 20) : -1;
  for (std::int64_t k = 0; streams < 0 ? r.has(fmt::format("bend.rng.dropout.{}", k)) : k < streams; ++k)
    s.module_rngs.push_back(r.rng(fmt::format("bend.rng.dropout.{}", k)));
  for (const auto& [key, value] : m) {
    if (key.starts_with("optim.")) s.optimizer_hyperparameters[key.substr(6)] = r.parse_real(key, value);
    if (key.starts_with("bend.opt.")) s.optimizer_config[key.substr(9)] = r.parse_real(key, value);
    if (key.starts_with("schedule.")) s.schedule_state[key.substr(9)] = r.parse_real(key, value);
  }
  std::string_view rest = r.text("bend.history");
  while (!rest.empty()) {
    const auto end = rest.find(';');
    const std::string item(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    EpochMetrics e;
    char f[6][64];
    long long epoch = 0, steps = 0;
    int consumed = 0;
    if (std::sscanf(item.c_str(), "%lld %63s %63s %63s %63s %63s %63s %lld%n", &epoch, f[0], f[1], f[2], f[3],
                    f[4], f[5], &steps, &consumed) != 8 ||
        static_cast<std::size_t>(consumed) != item.size() || epoch < 1 || epoch > s.epochs_done + 1 ||
        steps < 0 || steps > s.steps_done)
      throw IoError(fmt::format("{}: checkpoint history entry '{}' is malformed", path.string(), item));
    e.epoch = epoch;
    e.steps = steps;
    double* fields[6] = {&e.train_loss, &e.train_accuracy, &e.test_loss, &e.test_accuracy, &e.seconds, &e.lr};
    for (std::size_t k = 0; k < 6; ++k) *fields[k] = r.parse_real("bend.history", f[k]);
    // Accuracies are fractions, the rest cannot be negative: anything else was edited or corrupted,
    // and would be printed ("best 500.00%") as if measured.
    if (!(e.train_accuracy >= 0 && e.train_accuracy <= 1 && e.test_accuracy >= 0 && e.test_accuracy <= 1) ||
        e.train_loss < 0 || e.test_loss < 0 || e.seconds < 0 || e.lr < 0)
      throw IoError(
          fmt::format("{}: checkpoint history entry '{}' is out of range (accuracies must be in [0, 1], "
                      "losses, seconds and learning rates >= 0)",
                      path.string(), item));
    s.history.push_back(e);
  }
  if (static_cast<std::int64_t>(s.history.size()) != s.epochs_done)
    throw IoError(fmt::format("{}: checkpoint says {} epochs are done but its history has {}", path.string(),
                              s.epochs_done, s.history.size()));
  s.normalization = read_normalization(m, path);
  return s;
}

}  // namespace bend::train
