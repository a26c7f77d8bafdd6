// bend lab cost: forward and backward time per element of every activation in bend's table on this CPU,
// and each one's share of an MNIST MLP epoch (see bend/lab/claims.hpp).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "bend/activations.hpp"
#include "bend/error.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/model_spec.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

// Named, not anonymous: the unity build puts several experiments in one translation unit.
namespace cost_detail {

// ReLU "costs one comparison": its forward + backward time is at most this many times the cheapest entry's.
// At a few tenths of a ns per element the piecewise-linear entries are all bound by loads and stores, and
// the best of a few rounds on a shared machine still varies by ~20%; the transcendental ones cost ≥ 3×.
constexpr double kCheapestSlack = 1.5;
// GELU and SiLU are "slightly costlier": dearer than ReLU, but what they add to an epoch of the MLP below
// is at most this share of the epoch.
constexpr double kSlightShare = 0.05;
// The edge picks (ReLU6, Hardswish, Hardsigmoid) cost no more than the cheaper of GELU and SiLU.
const std::vector<std::string> kEdge = {"relu6", "hardswish", "hardsigmoid"};

struct Settings {
  std::int64_t elements;  // per timed call: in L2 cache, so the arithmetic shows, not memory bandwidth
  int rounds;             // short rounds of kCallsPerRound calls; the fastest is kept (the machine is
                          // shared: a round long enough to be preempted would measure the other load)
  DataLimits data;        // the epoch that is timed
};
constexpr int kCallsPerRound = 4;
Settings settings_for(bool quick) {
  return quick ? Settings{16384, 60, {2000, 200}} : Settings{16384, 400, {10000, 200}};
}

// Seconds per element of `call`: the fastest of the rounds, after one warm-up call.
template <class F>
double per_element(const Settings& s, F&& call) {
  call();
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < s.rounds; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < kCallsPerRound; ++c) call();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::min(best, elapsed / static_cast<double>(kCallsPerRound * s.elements));
  }
  return best;
}

struct Cost {
  std::string name;
  double forward_ns = 0, backward_ns = 0, epoch_share = 0;
  double total() const { return forward_ns + backward_ns; }
};

}  // namespace cost_detail

ClaimOutcome cost_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  using namespace cost_detail;
  const Settings s = settings_for(all.quick);
  Rng rng(all.seed + 25004);
  const auto n = static_cast<std::size_t>(s.elements);
  std::vector<float> x(n), y(n), gy(n), gx(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = rng.uniform(-4.0f, 4.0f);
    gy[i] = rng.uniform(-1.0f, 1.0f);
  }
  std::vector<Cost> costs;
  for (const ActivationInfo& a : activation_table()) {
    Cost c;
    c.name = std::string(a.name);
    c.forward_ns =
        1e9 * per_element(s, [&] { a.kernel.forward(x.data(), y.data(), s.elements, a.defaults); });
    a.kernel.forward(x.data(), y.data(), s.elements, a.defaults);
    c.backward_ns =
        1e9 * per_element(s, [&] {
          a.kernel.backward_write(x.data(), y.data(), gy.data(), gx.data(), s.elements, a.defaults);
        });
    costs.push_back(c);
  }

  // One epoch of the ReLU MLP, timed: what the activations' elements cost is set against it.
  const std::vector<std::int64_t> sizes = {784, 256, 128, 10};
  const LabData data = limit_data(*mnist, s.data);
  Rng init(all.seed);
  nn::Sequential net = nn::build_model(nn::ModelSpec::mlp(sizes, "relu"), nn::init::Scheme::Auto, init);
  TrainSettings t;
  t.seed = all.seed;
  const TrainOutcome epoch = fit(net, data.train, data.test, t);
  const double units = static_cast<double>(sizes[1] + sizes[2]);
  const double per_image_ns = 1e9 * epoch.seconds / static_cast<double>(data.train.size());
  auto find = [&](std::string_view name) -> const Cost& {
    for (const Cost& c : costs)
      if (c.name == name) return c;
    throw ValueError(fmt::format("cost: no activation '{}' in the table", name));
  };
  const double relu_image_ns = units * find("relu").total();
  for (Cost& c : costs) {
    const double act_ns = units * c.total();
    c.epoch_share = act_ns / (per_image_ns - relu_image_ns + act_ns);
  }

  const Cost &relu = find("relu"), &gelu = find("gelu"), &silu = find("silu");
  double cheapest = std::numeric_limits<double>::infinity();
  std::string cheapest_name;
  for (const Cost& c : costs)
    if (c.total() < cheapest) {
      cheapest = c.total();
      cheapest_name = c.name;
    }
  const bool relu_cheapest = relu.total() <= kCheapestSlack * cheapest;
  const bool slight = gelu.total() > relu.total() && silu.total() > relu.total() &&
                      gelu.epoch_share - relu.epoch_share <= kSlightShare &&
                      silu.epoch_share - relu.epoch_share <= kSlightShare;
  bool edge_cheap = true;
  std::string edge_text;
  for (const std::string& e : kEdge) {
    const Cost& c = find(e);
    edge_cheap = edge_cheap && c.total() <= std::min(gelu.total(), silu.total());
    edge_text += fmt::format("{}{} {:.2f}", edge_text.empty() ? "" : ", ", e, c.total());
  }
  ClaimOutcome o;
  for (const Cost& c : costs) {
    o.set(c.name + "_forward_ns", c.forward_ns);
    o.set(c.name + "_backward_ns", c.backward_ns);
    o.set(c.name + "_epoch_share", c.epoch_share);
  }
  o.set("epoch_ns_per_image", per_image_ns);
  o.reproduced = relu_cheapest && slight && edge_cheap;
  o.measured = fmt::format(
      "forward + backward per element: relu {:.2f} ns (cheapest: {} {:.2f} ns), gelu {:.2f} ns ({:.1f}× "
      "relu), silu {:.2f} ns ({:.1f}×); edge picks {} ns; share of an MLP epoch: relu {}, gelu {}, silu {}",
      relu.total(), cheapest_name, cheapest, gelu.total(), gelu.total() / relu.total(), silu.total(),
      silu.total() / relu.total(), edge_text, pct(relu.epoch_share), pct(gelu.epoch_share),
      pct(silu.epoch_share));
  o.threshold = fmt::format(
      "ReLU within {:g}× the cheapest entry; GELU and SiLU dearer than ReLU but adding ≤ {:g} points to "
      "its share of an epoch; ReLU6, Hardswish and Hardsigmoid each no dearer than the cheaper of GELU and "
      "SiLU",
      kCheapestSlack, 100 * kSlightShare);
  o.notes.push_back(fmt::format(
      "bend's float32 kernels (the ones training runs, vectorised for this CPU), {} elements per call (in "
      "cache), the fastest of {} rounds of {} calls; values uniform in [−4, 4]. The epoch: MLP {} with ReLU, "
      "Adam, "
      "batch {}, {} MNIST images, one thread team as `bend train` runs it: {:.0f} ns per image. An "
      "activation's share is (hidden units × its forward + backward time) over that epoch with ReLU's part "
      "swapped for it. Times vary with the CPU and its load; the ratios are the point. The edge picks are "
      "about more than float time: they are piecewise linear, so they quantise to integers without an "
      "exp or erf.",
      s.elements, s.rounds, kCallsPerRound, fmt::join(sizes, "-"), t.batch, data.train.size(), per_image_ns));
  o.header = {"activation", "forward (ns/element)", "backward (ns/element)", "× relu", "share of an epoch"};
  std::vector<Cost> sorted = costs;
  std::sort(sorted.begin(), sorted.end(), [](const Cost& a, const Cost& b) { return a.total() < b.total(); });
  plot::BarChart bars;
  bars.title = "Time per element of each activation (forward and backward)";
  bars.x_label = "activation (cheapest first)";
  bars.y_label = "time per element (ns)";
  bars.bar_labels = {"forward", "backward"};
  for (const Cost& c : sorted) {
    o.rows.push_back({c.name, fmt::format("{:.3f}", c.forward_ns), fmt::format("{:.3f}", c.backward_ns),
                      fmt::format("{:.2f}", c.total() / relu.total()), pct(c.epoch_share)});
    bars.groups.push_back({c.name, {c.forward_ns, c.backward_ns}});
  }
  o.charts.push_back(
      {"time.svg", "forward and backward time per element, on this CPU", plot::render_svg(bars)});
  return o;
}

}  // namespace bend::lab
