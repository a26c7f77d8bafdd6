// Per-run result files of a comparison sweep (bend/lab/compare_run_file.hpp).
#include "bend/lab/compare_run_file.hpp"

#include <fmt/format.h>
#include <cctype>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "bend/detail/json_error.hpp"
#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/read_file.hpp"

namespace bend::lab {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

// JSON has no NaN or infinity; nlohmann would write null and lose which one it was.
json number(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  return x;
}

// The values a run can have: accuracies in [0, 1], losses >= 0 (or NaN/inf: a diverged run), times and
// learning rates finite and >= 0. A value outside was edited or corrupted, and would be averaged into
// the report as if measured.
void check_epoch_ranges(const train::EpochMetrics& e) {
  const auto fraction = [&](const char* key, double v) {
    if (!(v >= 0 && v <= 1))
      throw ValueError(fmt::format("epoch {}: {} {} is not a fraction in [0, 1]", e.epoch, key, v));
  };
  const auto non_negative = [&](const char* key, double v, bool finite) {
    if (v < 0 || (finite && !std::isfinite(v)))
      throw ValueError(
          fmt::format("epoch {}: {} {} is not a {}number >= 0", e.epoch, key, v, finite ? "finite " : ""));
  };
  if (e.epoch < 1 || e.steps < 0)
    throw ValueError(fmt::format("epoch {} with {} steps: both must be positive", e.epoch, e.steps));
  fraction("train_accuracy", e.train_accuracy);
  fraction("test_accuracy", e.test_accuracy);
  non_negative("train_loss", e.train_loss, false);
  non_negative("test_loss", e.test_loss, false);
  non_negative("seconds", e.seconds, true);
  non_negative("lr", e.lr, true);
}

double number_from(const json& j) {
  if (j.is_number()) return j.get<double>();
  const std::string s = j.get<std::string>();
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  throw ValueError(fmt::format("'{}' is not a number", s));
}

json diagnostics_json(const train::Diagnostics& d) {
  json layers = json::array();
  for (const train::LayerDiagnostics& l : d.layers)
    layers.push_back({{"module_index", l.module_index},
                      {"activation", l.activation},
                      {"units", l.units},
                      {"weight_grad_norm", number(l.weight_grad_norm)},
                      {"dead_units", l.dead_units},
                      {"dead_fraction", number(l.dead_fraction)},
                      {"saturated_fraction", number(l.saturated_fraction)},
                      {"pre_mean", number(l.pre_mean)},
                      {"pre_std", number(l.pre_std)},
                      {"act_mean", number(l.act_mean)},
                      {"act_std", number(l.act_std)}});
  return {{"layers", layers},
          {"probe_loss", number(d.probe_loss)},
          {"probe_samples", d.probe_samples},
          {"grad_norm_ratio", number(d.grad_norm_ratio)}};
}

train::Diagnostics diagnostics_from(const json& j) {
  train::Diagnostics d;
  for (const json& l : j.at("layers")) {
    train::LayerDiagnostics layer;
    layer.module_index = l.at("module_index").get<std::size_t>();
    layer.activation = l.at("activation").get<std::string>();
    layer.units = l.at("units").get<std::int64_t>();
    layer.weight_grad_norm = number_from(l.at("weight_grad_norm"));
    layer.dead_units = l.at("dead_units").get<std::int64_t>();
    layer.dead_fraction = number_from(l.at("dead_fraction"));
    layer.saturated_fraction = number_from(l.at("saturated_fraction"));
    layer.pre_mean = number_from(l.at("pre_mean"));
    layer.pre_std = number_from(l.at("pre_std"));
    layer.act_mean = number_from(l.at("act_mean"));
    layer.act_std = number_from(l.at("act_std"));
    d.layers.push_back(std::move(layer));
  }
  d.probe_loss = number_from(j.at("probe_loss"));
  d.probe_samples = j.at("probe_samples").get<std::int64_t>();
  d.grad_norm_ratio = number_from(j.at("grad_norm_ratio"));
  return d;
}

// File names keep to letters, digits, '-', '_' and '.' (activation names already do).
std::string file_safe(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return out;
}

}  // namespace

std::string sweep_fingerprint(const CompareOptions& options) {
  const train::TrainConfig& c = options.base;
  json options_json = json::object();
  for (const auto& [key, value] : c.optimizer_options) options_json[key] = number(value);
  json j = {{"dataset", c.dataset},
            {"arch", options.arch},
            {"norm", options.norm},
            {"dropout", number(options.dropout)},
            {"init", options.init},
            {"optimizer", c.optimizer},
            {"optimizer_options", options_json},
            {"schedule", c.schedule},
            {"warmup_steps", c.warmup_steps},
            {"batch", c.batch},
            {"epochs", c.epochs},
            {"max_steps", c.max_steps},
            {"flush_denormal", c.flush_denormal},
            {"shuffle", c.shuffle},
            {"standardize", c.standardize},
            {"label_smoothing", number(c.label_smoothing)},
            {"train_limit", c.train_limit},
            {"test_limit", c.test_limit},
            {"init_from", c.init_from.string()},
            {"probe_size", options.probe_size}};
  if (options.language_model()) {
    // The GPT, the text (its vocabulary and length: another file of the same name differs) and nanoGPT's
    // loop. Image sweeps keep the fingerprint they always had.
    const nn::GPTConfig& g = options.gpt;
    const TextCorpus& text = *options.corpus;
    j["model"] = "gpt";
    j["gpt"] = {{"n_layer", g.n_layer},       {"n_head", g.n_head}, {"n_embd", g.n_embd},
                {"block_size", g.block_size}, {"bias", g.bias},     {"dropout", number(g.dropout)}};
    j["text"] = {{"name", text.name},
                 {"characters", text.characters},
                 {"vocab", text.vocab_utf8()},
                 {"train", text.train.size()},
                 {"val", text.val.size()}};
    j["text_loop"] = {{"block_size", c.text.block_size},
                      {"eval_interval", c.text.eval_interval},
                      {"eval_iters", c.text.eval_iters},
                      {"min_lr", number(c.text.min_lr)},
                      {"grad_clip", number(c.text.grad_clip)}};
  }
  return j.dump();  // keys sorted: canonical
}

std::filesystem::path run_file_path(const std::filesystem::path& dir, const std::string& activation,
                                    std::uint64_t seed) {
  return dir / "runs" / fmt::format("{}-seed{}.json", file_safe(activation), seed);
}

std::string run_record_json(const RunRecord& r, const std::string& fingerprint) {
  json history = json::array();
  for (const train::EpochMetrics& m : r.history)
    history.push_back({{"epoch", m.epoch},
                       {"train_loss", number(m.train_loss)},
                       {"train_accuracy", number(m.train_accuracy)},
                       {"test_loss", number(m.test_loss)},
                       {"test_accuracy", number(m.test_accuracy)},
                       {"seconds", number(m.seconds)},
                       {"lr", number(m.lr)},
                       {"steps", m.steps}});
  json diagnostics = json::array();
  for (const train::Diagnostics& d : r.diagnostics) diagnostics.push_back(diagnostics_json(d));
  const json j = {{"format", "bend-compare-run"},
                  {"version", kFormatVersion},
                  {"sweep", fingerprint},
                  {"activation", r.activation},
                  {"seed", r.seed},
                  {"error", r.error},
                  {"failed", r.failed},
                  {"total_seconds", number(r.total_seconds)},
                  {"initial", diagnostics_json(r.initial)},
                  {"history", history},
                  {"diagnostics", diagnostics}};
  return j.dump(1);
}

RunRecord parse_run_record(std::string_view text, const std::string& source, std::string* fingerprint) {
  try {
    const json j = json::parse(text);
    if (j.at("format") != "bend-compare-run")
      throw ValueError("not a bend compare run file (\"format\" is not \"bend-compare-run\")");
    if (j.at("version") != kFormatVersion)
      throw ValueError(
          fmt::format("version {} (this bend reads {})", j.at("version").dump(), kFormatVersion));
    RunRecord r;
    if (fingerprint) *fingerprint = j.at("sweep").get<std::string>();
    r.activation = j.at("activation").get<std::string>();
    r.seed = j.at("seed").get<std::uint64_t>();
    r.error = j.at("error").get<std::string>();
    r.failed = j.at("failed").get<bool>();
    r.total_seconds = number_from(j.at("total_seconds"));
    r.initial = diagnostics_from(j.at("initial"));
    for (const json& m : j.at("history")) {
      train::EpochMetrics e;
      e.epoch = m.at("epoch").get<std::int64_t>();
      e.train_loss = number_from(m.at("train_loss"));
      e.train_accuracy = number_from(m.at("train_accuracy"));
      e.test_loss = number_from(m.at("test_loss"));
      e.test_accuracy = number_from(m.at("test_accuracy"));
      e.seconds = number_from(m.at("seconds"));
      e.lr = number_from(m.at("lr"));
      e.steps = m.at("steps").get<std::int64_t>();
      check_epoch_ranges(e);
      r.history.push_back(e);
    }
    for (const json& d : j.at("diagnostics")) r.diagnostics.push_back(diagnostics_from(d));
    if (r.diagnostics.size() != r.history.size())
      throw ValueError(fmt::format("{} epochs but {} diagnostics", r.history.size(), r.diagnostics.size()));
    return r;
  } catch (const json::exception& e) {
    throw IoError(
        fmt::format("{}: malformed run record: {}", source, bend::detail::json_error_text(e.what())));
  } catch (const ValueError& e) {
    throw IoError(fmt::format("{}: malformed run record: {}", source, e.what()));
  }
}

void save_run_record(const std::filesystem::path& dir, const RunRecord& record,
                     const std::string& fingerprint) {
  const std::filesystem::path path = run_file_path(dir, record.activation, record.seed);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);  // a failure shows in the write's error
  write_file_atomically(path, run_record_json(record, fingerprint));
}

std::optional<RunRecord> load_run_record(const std::filesystem::path& dir, const std::string& activation,
                                         std::uint64_t seed, const std::string& fingerprint) {
  const std::filesystem::path path = run_file_path(dir, activation, seed);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const std::vector<std::uint8_t> bytes = read_regular_file(path, "compare run record");
  std::string found;
  RunRecord r = parse_run_record(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                                 path.string(), &found);
  if (found != fingerprint) {
    // Name the settings that differ, not the whole fingerprint.
    std::string differences;
    try {
      const json there = json::parse(found), now = json::parse(fingerprint);
      for (const auto& [key, value] : now.items())
        if (!there.contains(key) || there.at(key) != value)
          differences += fmt::format("{}{} {} there, {} now", differences.empty() ? "" : "; ", key,
                                     there.contains(key) ? there.at(key).dump() : "missing", value.dump());
    } catch (const json::exception&) {
      differences = "unreadable settings";
    }
    throw ValueError(
        fmt::format("--resume: {} was written by a sweep with other settings ({}); use another --out "
                    "or remove that directory",
                    path.string(), differences));
  }
  if (r.activation != activation || r.seed != seed)
    throw IoError(fmt::format("{}: holds {} seed {}, not {} seed {}", path.string(), r.activation, r.seed,
                              activation, seed));
  return r;
}

}  // namespace bend::lab
