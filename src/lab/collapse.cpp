// bend lab collapse (see bend/lab/collapse.hpp).
#include "bend/lab/collapse.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/activations.hpp"
#include "bend/lab/claims.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/train/diagnostics.hpp"
#include "claim_charts.hpp"

namespace bend::lab {

CollapseExperiment run_collapse(const std::vector<std::int64_t>& sizes, std::string_view act,
                                const TrainSettings& settings, const TensorDataset& train,
                                const TensorDataset& test, const TensorDataset& probe,
                                const std::function<void(const CollapseCheck& before)>& on_checked) {
  const std::string act_name(activation(act).name);
  const std::string arch = fmt::format("{}", fmt::join(sizes, "-"));  // as ModelSpec::arch_string
  Rng rng(settings.seed);
  nn::Sequential stack = nn::build_model(nn::ModelSpec::mlp(sizes, "none"), nn::init::Scheme::Torch, rng);
  CollapseExperiment result;
  result.before = collapse_linear_stack(stack, probe.images);
  if (on_checked) on_checked(result.before);

  struct Model {
    std::string name;
    nn::Sequential net;
  };
  std::vector<Model> models;
  models.push_back({"logistic regression " + fmt::format("{}-{}", sizes.front(), sizes.back()),
                    nn::build_model(nn::ModelSpec::mlp({sizes.front(), sizes.back()}, "none"),
                                    nn::init::Scheme::Torch, rng)});
  models.push_back({"linear stack " + arch, std::move(stack)});
  const std::vector<std::int64_t> one_hidden = {sizes.front(), sizes[1], sizes.back()};
  models.push_back(
      {fmt::format("{}-{}-{} with one {}", one_hidden[0], one_hidden[1], one_hidden[2], act_name),
       nn::build_model(nn::ModelSpec::mlp(one_hidden, act_name), nn::init::Scheme::Auto, rng)});
  for (Model& m : models)
    result.models.push_back({m.name, m.net.num_parameters(), fit(m.net, train, test, settings)});
  result.after = collapse_linear_stack(models[1].net, probe.images);
  return result;
}

}  // namespace bend::lab

// ---------------------------------------------------------------------------------------------------
// The claim (bend/lab/claims.hpp).

namespace bend::lab {

ClaimOutcome collapse_claim(const LabSettings& all, const LabData* mnist) {
  using namespace detail;
  const CollapseSettings& s = all.collapse;
  const LabData data = limit_data(*mnist, s.data);
  TrainSettings train = s.train;
  train.seed = all.seed;
  const TensorDataset probe = train::probe_batch(data.test, 512);
  const CollapseExperiment e = run_collapse(s.sizes, s.act, train, data.train, data.test, probe);
  const double logistic = e.models[0].outcome.final_test_accuracy();
  const double stack = e.models[1].outcome.final_test_accuracy();
  const double bent = e.models[2].outcome.final_test_accuracy();
  const double difference = std::max(e.before.max_abs_difference, e.after.max_abs_difference);

  ClaimOutcome o;
  o.set("max_difference_init", e.before.max_abs_difference);
  o.set("max_difference_trained", e.after.max_abs_difference);
  o.set("max_output", e.before.max_abs_output);
  o.set("logistic_accuracy", logistic);
  o.set("stack_accuracy", stack);
  o.set("bent_accuracy", bent);
  // "W3W2W1x" for the docs' three layers; "W5…W1x" for deeper stacks.
  const std::size_t layers = s.sizes.size() - 1;
  std::string product;
  if (layers <= 4)
    for (std::size_t k = layers; k >= 1; --k) product += fmt::format("W{}", k);
  else
    product = fmt::format("W{}…W1", layers);
  o.measured = fmt::format(
      "max |{}x − Wx| = {:.1e} at init, {:.1e} after training (outputs up to {:.2f}); test accuracy: "
      "linear stack {}, logistic regression {}, one hidden {} layer {}",
      product, e.before.max_abs_difference, e.after.max_abs_difference, e.before.max_abs_output, pct(stack),
      pct(logistic), s.act, pct(bent));
  o.threshold = fmt::format(
      "max difference ≤ {:g} (float32 rounding), the stack within {:g} points of logistic regression, and "
      "the net with one {} at least {:g} point(s) above the stack",
      kCollapseMaxDifference, kCollapseAccuracyPoints, s.act, kCollapseBendGainPoints);
  o.reproduced = difference <= kCollapseMaxDifference &&
                 std::fabs(stack - logistic) * 100 <= kCollapseAccuracyPoints &&
                 (bent - stack) * 100 >= kCollapseBendGainPoints;
  o.notes.push_back(fmt::format("MNIST, {} training / {} test images, Adam lr {:g}, batch {}, {} epoch(s).",
                                data.train.size(), data.test.size(), train.lr, train.batch, train.epochs));
  o.header = {"model", "parameters", "test accuracy", "final train loss"};
  for (const CollapseModel& m : e.models)
    o.rows.push_back({m.name, fmt::format("{}", m.parameters), pct(m.outcome.final_test_accuracy()),
                      fmt::format("{:.4f}", m.outcome.train_loss.back())});
  plot::LineChart c =
      chart(fmt::format("Depth without a bend buys nothing (MNIST, {} train images)", data.train.size()),
            "epoch", "test accuracy (%)");
  for (std::size_t i = 0; i < e.models.size(); ++i)
    c.series.push_back(series(e.models[i].name, one_to(e.models[i].outcome.test_accuracy.size()),
                              percent(e.models[i].outcome.test_accuracy), i));
  o.charts.push_back(svg_chart("accuracy.svg", "test accuracy per epoch of the three models", c));
  return o;
}

}  // namespace bend::lab
