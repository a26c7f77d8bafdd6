// bend lab collapse (see bend/lab/collapse.hpp).
#include "bend/lab/collapse.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "bend/activations.hpp"

namespace bend::lab {

CollapseExperiment run_collapse(const std::vector<std::int64_t>& sizes, std::string_view act,
                                const TrainSettings& settings, const TensorDataset& train,
                                const TensorDataset& test, const TensorDataset& probe,
                                const std::function<void(const CollapseCheck& before)>& on_checked) {
  const std::string act_name(activation(act).name);
  const std::string arch = fmt::format("{}", fmt::join(sizes, "-"));  // as MlpSpec::arch_string
  Rng rng(settings.seed);
  nn::Sequential stack = make_mlp(sizes, "", nn::init::Scheme::Torch, rng);
  CollapseExperiment result;
  result.before = collapse_linear_stack(stack, probe.images);
  if (on_checked) on_checked(result.before);

  struct Model {
    std::string name;
    nn::Sequential net;
  };
  std::vector<Model> models;
  models.push_back({"logistic regression " + fmt::format("{}-{}", sizes.front(), sizes.back()),
                    make_mlp({sizes.front(), sizes.back()}, "", nn::init::Scheme::Torch, rng)});
  models.push_back({"linear stack " + arch, std::move(stack)});
  const std::vector<std::int64_t> one_hidden = {sizes.front(), sizes[1], sizes.back()};
  models.push_back(
      {fmt::format("{}-{}-{} with one {}", one_hidden[0], one_hidden[1], one_hidden[2], act_name),
       make_mlp(one_hidden, act_name, nn::init::Scheme::Auto, rng)});
  for (Model& m : models)
    result.models.push_back({m.name, m.net.num_parameters(), fit(m.net, train, test, settings)});
  result.after = collapse_linear_stack(models[1].net, probe.images);
  return result;
}

}  // namespace bend::lab
