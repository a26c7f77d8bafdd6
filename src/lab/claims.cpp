// The table of `bend lab`'s experiments, their verdict lines and the page of `bend lab all`
// (see bend/lab/claims.hpp).
#include "bend/lab/claims.hpp"

#include <fmt/format.h>

#include <chrono>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/nn/linear.hpp"
#include "bend/ops.hpp"
#include "bend/plot/html_report.hpp"
#include "bend/plot/svg_chart.hpp"

namespace bend::lab {

namespace {

// A plain array: adding an entry changes no count.
constexpr Experiment kExperiments[] = {
    {"collapse",
     "Linear layers without a bend fold flat: W3(W2(W1x)) = (W3W2W1)x = Wx, so a deep linear stack "
     "reaches only a linear model's accuracy",
     "a stack of Linear layers equals one matrix and trains like logistic regression", true, &collapse_claim},
    {"xor", "A linear model cannot fit XOR; one hidden layer with a bend (any nonlinearity) solves it",
     "a linear model cannot fit XOR; one hidden layer with a nonlinearity can", false, &xor_claim},
    {"vanishing",
     "Sigmoid's derivative is at most 0.25, so a 20-layer product is at most 0.25^20 ≈ 9.1e-13 ≤ 1e-12: "
     "gradients vanish with depth in sigmoid nets (tanh is the lesser evil), not in ReLU nets",
     "sigmoid's bound, and the per-layer gradient decay of sigmoid, tanh and ReLU at depth 20 and 50", true,
     &vanishing_claim},
    {"dying-relu",
     "A large step or an unlucky init kills ReLU units for good (zero gradient on every input); Leaky "
     "ReLU, ELU and GELU keep a gradient for negative inputs, so their units recover",
     "a bad bias init kills units; ReLU's stay dead, leaky/ELU/GELU recover", true, &dying_relu_claim},
    {"dip",
     "GELU is slightly non-monotonic: a soft dip to ≈ −0.17 near x ≈ −0.75 (\"near −1\"); SiLU "
     "(x·σ(x)) is non-monotone too",
     "the minima of GELU and SiLU, from bend's activation table", false, &dip_claim},
    {"init",
     "Match the init to the activation (He for the ReLU family): He keeps signals and gradients alive "
     "through depth, a smaller mismatched init lets them shrink layer by layer",
     "He against LeCun and PyTorch's default init in deep ReLU / Leaky ReLU nets", true, &init_claim},
    {"batchnorm",
     "Normalising pre-activations is a remedy for vanishing gradients: a 20-layer sigmoid MLP that does "
     "not learn learns with BatchNorm1d before each sigmoid, as a ReLU net does",
     "a 20-layer sigmoid MLP with and without BatchNorm1d, next to ReLU", true, &batchnorm_claim},
    // Issue 25, claims 1-7.
    {"relu-sparsity", "ReLU's \"induced sparsity (about half the units silent per input)\"",
     "share of ReLU units at 0 per input, at init and after training", true, &relu_sparsity_claim},
    {"gelu-noise",
     "GELU is \"x·Φ(x), which is the expected value of ReLU under Gaussian noise on the input\"",
     "Monte Carlo of E[x·1[x+ε>0]] and E[ReLU(x+ε)] against GELU", false, &gelu_noise_claim},
    {"silu-twin", "\"SiLU/Swish, x·σ(x), is a near-twin\" of GELU",
     "largest gap of SiLU and of x·σ(1.702x) to GELU", false, &silu_twin_claim},
    {"cost",
     "ReLU \"costs one comparison\"; GELU / SiLU are \"slightly costlier\"; ReLU6, Hardswish, Hardsigmoid "
     "for \"mobile / edge inference\"",
     "forward/backward ns per element of every activation, share of an epoch", true, &cost_claim},
    {"zero-centred",
     "\"Zero-centered outputs (Tanh) reduce zig-zag gradient updates; non-zero-centered (ReLU, Sigmoid) can "
     "slow convergence\"",
     "sigmoid vs sigmoid − 0.5 vs tanh over seeds; gradient sign agreement", true, &zero_centred_claim},
    {"explode",
     "\"Bounded outputs (Sigmoid, Tanh) constrain values but may saturate; unbounded (ReLU) can explode\"",
     "activations and gradients through depth at 2× the matched init", false, &explode_claim},
    {"universal-approx",
     "\"With enough width, a two-layer network with a non-linear activation can approximate any continuous "
     "function on a compact domain\"",
     "sin, |x| and a step fitted by one hidden layer of width 1..256 vs a line", false, &approximation_claim},
    {"transformer",
     "GELU/SiLU for transformers; SwiGLU is the current refinement in LLM feed-forward blocks: each trains a "
     "transformer better than ReLU",
     "ReLU, GELU, SiLU and SwiGLU feed-forwards in a small ViT on MNIST and in a char GPT on the fortunes "
     "corpus (val loss), paired tests over seeds",
     true, &transformer_claim},
    // Issue 25, claims 8-12.
    {"selu",
     "Self-normalizing networks: SELU. A deep SELU MLP (LeCun-normal init) keeps each layer's activations "
     "near mean 0 and variance 1 and trains without normalisation layers, where the same depth of ReLU "
     "without BatchNorm does worse (Klambauer et al., 2017)",
     "a 32-layer SELU MLP (AlphaDropout) against ReLU: per-layer mean/variance and accuracy", true,
     &selu_claim},
    {"softplus-variance",
     "Variance / positive params: Softplus. A softplus variance head trains a Gaussian-NLL regression "
     "without the overflows and NaNs of an exp head, to an NLL at least as good",
     "mean-and-variance regression on gaussian_nll_loss: softplus head against exp head", false,
     &softplus_variance_claim},
    {"sparse-codes",
     "Sparse representations: Hardshrink, Softshrink. They give a code with many exact zeros at no cost in "
     "reconstruction error",
     "exact zeros in an MNIST autoencoder's code: hardshrink, softshrink, relu, tanh", true,
     &sparse_codes_claim},
    {"output-activations",
     "Binary output: Sigmoid; multi-class output: Softmax. Sigmoid's \"output is a probability — fine as a "
     "final gate\", but \"never use in hidden layers\"",
     "a binary MNIST task with sigmoid + BCE against a 2-class softmax; sigmoid hidden layers against ReLU",
     true, &output_activations_claim},
    {"large-step",
     "\"A large step … can kill a noticeable fraction of a layer permanently\": the large learning-rate "
     "route to dead ReLUs",
     "one too-large SGD step: the share of ReLU units it kills and whether they come back", true,
     &large_step_claim},
    // Issue 25, claim 14 (issue 24's large vocabulary).
    {"large-vocab",
     "Large vocabulary NLP: AdaptiveLogSoftmax. For a language model with a vocabulary of 20,000 words it "
     "makes a training step much cheaper than a full softmax, at about the same perplexity",
     "a word-level GPT on fortunes (20,000 words): adaptive against full softmax head, step time and val "
     "perplexity",
     false, &large_vocab_claim},
};

}  // namespace

double ClaimOutcome::number(std::string_view name) const {
  for (const auto& [key, value] : numbers)
    if (key == name) return value;
  throw ValueError(fmt::format("lab: the outcome has no number called '{}'", name));
}

void ClaimOutcome::not_settled(int seed_count, int needed) {
  settled = false;
  reproduced = false;
  seeds = seed_count;
  seeds_needed = needed;
}

LabSettings quick_settings() {
  LabSettings s;
  s.quick = true;
  s.collapse.data = {6000, 1000};
  s.collapse.train.epochs = 6;
  s.xor_.steps = 1500;
  s.vanishing.depths = {20, 50};
  s.vanishing.width = 32;
  s.vanishing.probe = 256;
  s.dying_relu.sizes = {784, 128, 64, 10};
  s.dying_relu.data = {4000, 1000};
  s.dying_relu.measure = 4000;
  s.dying_relu.train.batch = 32;
  s.dying_relu.train.lr = 3e-3;
  s.dying_relu.train.epochs = 4;
  s.dip.points = 20001;
  s.init.width = 64;
  s.init.acts = {"relu"};
  s.init.probe = 256;
  s.init.data = {2000, 1000};
  s.batchnorm.width = 32;
  s.batchnorm.probe = 256;
  s.batchnorm.data = {3000, 1000};
  s.transformer.arch = "1x28x28-patch7d16:patch_embed-cls-pos-tf1h2f32:blocks-tok0-ln:norm-10:head";
  s.transformer.seeds = 3;
  s.transformer.train_limit = 2000;
  s.transformer.test_limit = 1000;
  s.transformer.epochs = 1;
  s.transformer.threads = 1;
  s.transformer.text.n_layer = 1;
  s.transformer.text.n_embd = 32;
  s.transformer.text.block_size = 32;
  s.transformer.text.batch = 8;
  s.transformer.text.steps = 60;
  s.transformer.text.warmup = 6;
  s.transformer.text.eval_iters = 4;
  s.transformer.text.lr = 3e-3;
  s.transformer.text.seeds = 3;
  s.selu.width = 32;  // depth stays 32: the claim is about deep nets
  s.selu.probe = 256;
  s.selu.data = {2000, 1000};
  s.softplus_variance.points = 1000;
  s.softplus_variance.test_points = 500;
  s.softplus_variance.hidden = 32;
  s.softplus_variance.epochs = 15;
  s.softplus_variance.lrs = {1e-2, 3e-2};
  s.softplus_variance.seeds = 1;
  s.sparse_codes.sizes = {784, 64, 16};
  s.sparse_codes.data = {2000, 500};
  s.sparse_codes.epochs = 3;
  s.output_activations.hidden = 32;
  s.output_activations.hidden_sizes = {64, 64};
  s.output_activations.data = {3000, 1000};
  s.output_activations.epochs = 2;
  s.large_step.sizes = {784, 128, 64, 10};
  s.large_step.data = {2000, 500};
  s.large_step.measure = 2000;
  s.large_step.multipliers = {1, 100};
  return s;
}

void LabSettings::override_data(std::int64_t train_limit, std::int64_t epochs) {
  for (DataLimits* d : {&collapse.data, &dying_relu.data, &init.data, &batchnorm.data})
    if (train_limit > 0) d->train = train_limit;
  if (train_limit > 0) dying_relu.measure = std::min(dying_relu.measure, train_limit);
  for (TrainSettings* t : {&collapse.train, &dying_relu.train, &init.train, &batchnorm.train}) {
    if (epochs > 0) t->epochs = epochs;
  }
  if (train_limit > 0) transformer.train_limit = train_limit;
  if (epochs > 0) transformer.epochs = epochs;
  for (DataLimits* d : {&selu.data, &sparse_codes.data, &output_activations.data, &large_step.data})
    if (train_limit > 0) d->train = train_limit;
  if (train_limit > 0) large_step.measure = std::min(large_step.measure, train_limit);
  if (epochs > 0) {
    selu.train.epochs = epochs;
    sparse_codes.epochs = epochs;
    output_activations.epochs = epochs;
  }
}

std::span<const Experiment> experiments() { return kExperiments; }

const Experiment& find_experiment(std::string_view name) {
  std::string names;
  for (const Experiment& e : kExperiments) {
    if (e.name == name) return e;
    names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  throw ValueError(fmt::format("unknown experiment '{}' (one of: {}, all)", name, names));
}

std::string verdict_text(const ClaimOutcome& o) {
  if (!o.settled)
    return o.seeds_needed > 0
               ? fmt::format("not settled at {} seeds (a paired test would need about {})", o.seeds,
                             o.seeds_needed)
               : fmt::format(
                     "not settled at {} seeds (no number of seeds would: the measured gap is 0 or "
                     "too small)",
                     o.seeds);
  return o.reproduced ? "reproduced" : "not reproduced";
}

std::string verdict_line(const Experiment& e, const ClaimOutcome& o) {
  return fmt::format("claim: {} measured: {} → {}", e.claim, o.measured, verdict_text(o));
}

LabResult run_experiment(const Experiment& e, const LabSettings& settings, const LabData* data) {
  if (e.needs_data && !data) throw ValueError(fmt::format("lab {}: needs the MNIST data", e.name));
  const auto start = std::chrono::steady_clock::now();
  LabResult r{&e, e.run(settings, data)};
  r.outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

std::vector<std::filesystem::path> write_lab_page(std::span<const LabResult> results,
                                                  const std::filesystem::path& dir, std::string_view title) {
  std::vector<std::filesystem::path> written;
  plot::HtmlReport page{std::string(title)};
  int reproduced = 0;
  std::vector<std::vector<std::string>> rows;
  for (const LabResult& r : results) {
    reproduced += r.outcome.reproduced ? 1 : 0;
    rows.push_back({std::string(r.experiment->name), std::string(r.experiment->claim), r.outcome.measured,
                    r.outcome.threshold, verdict_text(r.outcome), fmt::format("{:.1f}s", r.outcome.seconds)});
  }
  page.paragraph(fmt::format(
      "Each claim of the activation docs, measured by `bend lab`: {} of {} reproduced. The verdict comes "
      "from the measurement and the stated rule.",
      reproduced, results.size()));
  page.table({"experiment", "claim", "measured", "rule", "verdict", "time"}, rows);
  for (const LabResult& r : results) {
    const ClaimOutcome& o = r.outcome;
    page.heading(fmt::format("{}: {}", r.experiment->name, verdict_text(o)));
    page.paragraph(fmt::format("Claim: {}.", r.experiment->claim));
    page.paragraph(fmt::format("Measured: {}.", o.measured));
    page.paragraph(fmt::format("Rule: {}.", o.threshold));
    for (const auto& n : o.notes) page.paragraph(n);
    if (!o.header.empty()) page.table(o.header, o.rows);
    for (const Chart& c : o.charts) {
      const std::string file = fmt::format("{}-{}", r.experiment->name, c.file);
      plot::save_svg(dir / file, c.svg);
      written.push_back(dir / file);
      page.image(file, c.caption);
    }
  }
  page.save(dir / "index.html");
  written.push_back(dir / "index.html");
  // The same table as Markdown (the README's, which scripts/regenerate-tables.sh --lab copies in).
  auto cell = [](std::string text) {
    std::string out;
    for (const char c : text) {
      if (c == '|') out += '\\';
      out += c == '\n' ? ' ' : c;
    }
    return out;
  };
  std::string md = "| experiment | the docs' claim | measured | verdict |\n|---|---|---|---|\n";
  for (const LabResult& r : results)
    md += fmt::format("| `{}` | {} | {} | {} |\n", r.experiment->name, cell(std::string(r.experiment->claim)),
                      cell(r.outcome.measured), r.outcome.reproduced ? "reproduced" : "not reproduced");
  write_file_atomically(dir / "table.md", md);
  written.push_back(dir / "table.md");
  return written;
}

LabData limit_data(const LabData& data, const DataLimits& limits) {
  LabData d;
  d.train =
      limits.train > 0 && limits.train < data.train.size() ? subset(data.train, 0, limits.train) : data.train;
  d.test = limits.test > 0 && limits.test < data.test.size() ? subset(data.test, 0, limits.test) : data.test;
  return d;
}

std::vector<double> linear_grad_norms(nn::Sequential& net, const Tensor& images,
                                      std::span<const std::int32_t> labels, bool training) {
  const bool was_training = net.is_training();
  net.train(training);
  net.zero_grad();
  {
    Tensor loss = cross_entropy(net.forward(images), labels);
    loss.backward();
  }
  std::vector<double> norms;
  for (std::size_t i = 0; i < net.size(); ++i)
    if (auto* l = net.get_if<nn::Linear>(i)) {
      double sum = 0;
      const Tensor g = l->weight.grad();
      if (g.defined())
        for (float v : g.span()) sum += static_cast<double>(v) * v;
      norms.push_back(std::sqrt(sum));
    }
  net.zero_grad();
  net.train(was_training);
  return norms;
}

double per_layer_factor(const std::vector<double>& norms) {
  if (norms.size() < 2 || !(norms.back() > 0)) return std::nan("");
  return std::pow(norms.front() / norms.back(), 1.0 / static_cast<double>(norms.size() - 1));
}

}  // namespace bend::lab
