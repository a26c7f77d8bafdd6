// bend lab sparse-codes: the share of exact zeros in an autoencoder's code with Hardshrink, Softshrink,
// ReLU and tanh as the code's activation, next to each one's reconstruction error (see
// bend/lab/claims.hpp).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "bend/autograd.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/activation.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/optim/adam.hpp"
#include "claim_charts.hpp"
#include "claim_training.hpp"

namespace bend::lab {

namespace {

// The verdict: Hardshrink and Softshrink codes are at least kSparseCodeShare exact zeros on the test images,
// at a reconstruction error (test MSE) at most kSparseErrorRatio times the dense tanh code's ("equal error").
constexpr double kSparseCodeShare = 0.5;
constexpr double kSparseErrorRatio = 1.25;

struct SparseCodeRun {
  std::string act;
  std::vector<double> zeros, mse;  // per epoch, on the test images
  double dead_units = 0;           // share of code units that are 0 on every test image
};

// The code (the activation after the encoder) of `images`, in eval mode, and the reconstruction MSE.
std::pair<Tensor, double> sparse_encode(nn::Sequential& net, std::size_t code_index, const Tensor& images) {
  NoGradGuard no_grad;
  Tensor x = images, code;
  for (std::size_t i = 0; i < net.size(); ++i) {
    x = net[i].forward(x);
    if (i == code_index) code = x;
  }
  return {code, mse_loss(x, images).item()};
}

}  // namespace

ClaimOutcome sparse_codes_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const SparseCodesSettings& s = all.sparse_codes;
  const LabData data = limit_data(*mnist, s.data);
  // encoder sizes, then the mirror: 784-128-32-128-784.
  std::vector<std::int64_t> sizes = s.sizes;
  for (auto it = s.sizes.rbegin() + 1; it != s.sizes.rend(); ++it) sizes.push_back(*it);
  const std::size_t code_layer = s.sizes.size() - 2;  // the hidden layer that is the code

  std::vector<SparseCodeRun> runs;
  for (const std::string& act : s.acts) {
    std::string acts;
    for (std::size_t h = 0; h + 2 < sizes.size(); ++h)
      acts += (h ? "," : "") + (h == code_layer ? act : "relu");
    Rng rng(all.seed);
    nn::Sequential net =
        nn::build_model(nn::ModelSpec::parse(fmt::format("{}", fmt::join(sizes, "-")), acts, "none"),
                        nn::init::Scheme::Auto, rng);
    std::size_t code_index = 0;
    for (std::size_t i = 0, seen = 0; i < net.size(); ++i)
      if (net.get_if<nn::Activation>(i) && seen++ == code_layer) code_index = i;
    optim::Adam opt(net.parameters(), s.lr);
    Rng order(all.seed + 1);
    SparseCodeRun run{act, {}, {}, 0};
    for (std::int64_t e = 0; e < s.epochs; ++e) {
      detail::train_epoch(opt, data.train.size(), s.batch, order, [&](std::span<const std::int64_t> rows) {
        const Tensor x = index_select_rows(data.train.images, rows);
        return mse_loss(net.forward(x), x);
      });
      const auto [code, mse] = sparse_encode(net, code_index, data.test.images);
      std::int64_t zeros = 0;
      for (float v : code.span()) zeros += v == 0.0f ? 1 : 0;
      run.zeros.push_back(static_cast<double>(zeros) / static_cast<double>(code.numel()));
      run.mse.push_back(mse);
      if (e + 1 == s.epochs) {
        const std::int64_t n = code.size(0), u = code.size(1);
        std::int64_t dead = 0;
        for (std::int64_t k = 0; k < u; ++k) {
          bool any = false;
          for (std::int64_t r = 0; r < n && !any; ++r) any = code.data()[r * u + k] != 0.0f;
          dead += any ? 0 : 1;
        }
        run.dead_units = static_cast<double>(dead) / static_cast<double>(u);
      }
    }
    runs.push_back(std::move(run));
  }

  ClaimOutcome o;
  o.header = {"code activation", "exact zeros in the code", "code units 0 on every image", "test MSE",
              "MSE ÷ tanh's"};
  const SparseCodeRun* tanh_run = nullptr;
  for (const SparseCodeRun& r : runs)
    if (r.act == "tanh") tanh_run = r.mse.empty() ? nullptr : &r;
  plot::LineChart zeros =
      chart("Exact zeros in the autoencoder's code", "epoch", "code entries exactly 0 (%)");
  zeros.y_min = 0;
  zeros.y_max = 100;
  plot::LineChart error = chart("Reconstruction error", "epoch", "test MSE per pixel (log scale)");
  error.y_scale = plot::Scale::Log10;
  bool shrinks_sparse = true;
  int shrinks = 0;
  std::string text;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const SparseCodeRun& r = runs[i];
    const double ratio = tanh_run ? r.mse.back() / tanh_run->mse.back() : std::nan("");
    o.set(r.act + "_zeros", r.zeros.back());
    o.set(r.act + "_dead_units", r.dead_units);
    o.set(r.act + "_mse", r.mse.back());
    o.rows.push_back({r.act, pct(r.zeros.back()), pct(r.dead_units), fmt::format("{:.4f}", r.mse.back()),
                      fmt::format("{:.2f}", ratio)});
    text += fmt::format("{}{} {} zeros at MSE {:.4f}", text.empty() ? "" : "; ", r.act, pct(r.zeros.back()),
                        r.mse.back());
    if (r.act == "hardshrink" || r.act == "softshrink") {
      ++shrinks;
      shrinks_sparse = shrinks_sparse && r.zeros.back() >= kSparseCodeShare && ratio <= kSparseErrorRatio;
    }
    zeros.series.push_back(series(r.act, one_to(r.zeros.size()), percent(r.zeros), i));
    error.series.push_back(series(r.act, one_to(r.mse.size()), r.mse, i));
  }
  o.measured = text;
  o.threshold = fmt::format(
      "Hardshrink and Softshrink codes ≥ {} exact zeros on the test images, at a test MSE ≤ {:g}× the dense "
      "tanh code's",
      pct(kSparseCodeShare), kSparseErrorRatio);
  o.reproduced = shrinks == 2 && tanh_run && shrinks_sparse;
  double relu = -1, sparsest_shrink = 0;
  for (const SparseCodeRun& r : runs) {
    if (r.act == "relu") relu = r.zeros.back();
    if (r.act == "hardshrink" || r.act == "softshrink")
      sparsest_shrink = std::max(sparsest_shrink, r.zeros.back());
  }
  if (relu >= sparsest_shrink && relu >= 0)
    o.notes.push_back(
        fmt::format("ReLU's code is as sparse or sparser ({} exact zeros): the shrinks are one way to sparse "
                    "codes, not the "
                    "only one the table should name.",
                    pct(relu)));
  o.notes.push_back(fmt::format(
      "Autoencoder {} (ReLU elsewhere, linear output), trained on the MSE of {} MNIST images with Adam lr "
      "{:g}, "
      "batch {}, {} epochs; the code is the {}-unit layer, measured on {} test images in eval mode. "
      "Hardshrink and Softshrink at PyTorch's default λ = 0.5.",
      fmt::format("{}", fmt::join(sizes, "-")), data.train.size(), s.lr, s.batch, s.epochs, s.sizes.back(),
      data.test.size()));
  o.charts.push_back(svg_chart("zeros.svg", "exact zeros in the code per epoch", zeros));
  o.charts.push_back(svg_chart("error.svg", "reconstruction error per epoch", error));
  return o;
}

}  // namespace bend::lab
