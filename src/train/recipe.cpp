// The recipe table (see bend/train/recipe.hpp). The figures in `measured` come from runs of
// `bend train --recipe NAME --seed S --threads T` on MNIST; bench/RECIPES.md has the table.
#include "bend/train/recipe.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::train {

double Recipe::lr_for(std::string_view chosen_optimizer, std::string_view chosen_schedule) const {
  return chosen_optimizer == optimizer && chosen_schedule == schedule ? lr : 0.0;
}

const std::vector<Recipe>& recipe_registry() {
  static const std::vector<Recipe> table = {
      {"default", "Adam lr 2e-3 with cosine decay to 0 over 10 epochs, batch 64",
       "784-256-128-10 ReLU on MNIST: 98.41-98.60% last-epoch test accuracy, seeds 0-4, 1 and 2 threads",
       "adam", 2e-3, "cosine", 10, 64, 0.0f, ""},
      {"plain", "PyTorch's plain loop: Adam at its default lr 1e-3, constant; the same as --schedule none",
       "784-256-128-10 ReLU on MNIST: 97.65-98.24% last-epoch test accuracy (mean 97.80% on 1 thread, "
       "97.97% on 2), seeds 0-4",
       "adam", 0.0, "none", 10, 64, 0.0f, ""},
      {"long",
       "the default recipe on a wider MLP (hidden 512-256) with dropout 0.2 after each hidden activation, "
       "over 20 epochs",
       "784-512-256-10 ReLU on MNIST: 98.63-98.66% last-epoch test accuracy (mean 98.64%), seeds 0-4, 1 "
       "thread",
       "adam", 2e-3, "cosine", 20, 64, 0.2f, "512-256"},
  };
  return table;
}

const Recipe& default_recipe() { return recipe_registry().front(); }

std::string recipe_names() {
  std::string names;
  for (const Recipe& r : recipe_registry()) names += (names.empty() ? "" : ", ") + r.name;
  return names;
}

const Recipe& find_recipe(std::string_view name) {
  for (const Recipe& r : recipe_registry())
    if (r.name == name) return r;
  throw ValueError(fmt::format("unknown recipe '{}' (expected one of: {})", name, recipe_names()));
}

}  // namespace bend::train
