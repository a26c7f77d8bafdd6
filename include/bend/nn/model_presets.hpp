#pragma once
// Named models for `bend train --model NAME`: one table, each entry an --arch string for a dataset's
// sample shape and class count (bend/nn/model_spec.hpp has the grammar).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bend/nn/model_spec.hpp"

namespace bend::nn {

struct ModelPreset {
  std::string_view name;     // "lenet5"
  std::string_view summary;  // one line for help texts
  // The --arch string for samples of shape `input` and `classes` outputs.
  std::string (*arch)(const SampleShape& input, std::int64_t classes);
  std::string_view default_act{};  // --act when not given ("gelu" for vit); empty: the flag's default
  // A linear learning-rate warm-up over this many epochs before the recipe's schedule, when --warmup is
  // not given (1 for vit: Fashion-MNIST 87.5% -> 89.3% at seed 0, bench/VIT_RESULTS.md); 0: none.
  double default_warmup_epochs = 0;
};

// Every preset, in the order help texts list them.
const std::vector<ModelPreset>& model_presets();
// The preset called `name`, or nullptr.
const ModelPreset* find_model_preset(std::string_view name);
// "mlp, lenet5" for messages and help.
std::string model_preset_names();

}  // namespace bend::nn
