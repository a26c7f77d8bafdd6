#pragma once
// Training recipes: the named defaults of `bend train` and `bend compare` (--recipe NAME). A recipe
// fills in what the command line leaves out; every flag given explicitly wins. The "default" recipe is
// also the library's: TrainConfig's optimizer, schedule, batch and epochs start at its values, and the
// Trainer applies its lr_for() when the config gives no lr, so a C++ program trains as `bend train` does.
//
//   default  Adam, lr 2e-3, cosine decay to 0 over 10 epochs, batch 64
//   plain    PyTorch's plain loop: Adam at its default lr 1e-3, constant (the same as --schedule none)
//   long     a wider MLP (hidden 512-256) with dropout 0.2 after each hidden activation, over 20 epochs
//
// Adding a recipe is one entry in src/train/recipe.cpp; help texts and the tests read the table.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bend::train {

struct Recipe {
  std::string name;
  std::string summary;    // one line for help texts
  std::string measured;   // what it reached, where measured (for `bend help recipes` and the README)
  std::string optimizer;  // an optimizer registry name
  double lr = 0;          // 0: the optimizer's default
  std::string schedule;   // a name in schedule_registry() (bend/train/schedule.hpp)
  std::int64_t epochs = 10;
  std::int64_t batch = 64;
  float dropout = 0;  // for MLPs whose --dropout is not given
  std::string
      hidden;  // hidden layer sizes ("512-256") when neither --arch nor --model is given; "": the MLP's

  // The learning rate the recipe applies for `optimizer` and `schedule` as finally chosen: its own lr
  // when both are the recipe's, else 0 (the optimizer's default). A recipe's lr is tuned for its
  // optimizer and schedule; `--schedule none` must give PyTorch's plain loop at the optimizer's default.
  double lr_for(std::string_view chosen_optimizer, std::string_view chosen_schedule) const;
};

// Every recipe, "default" first.
const std::vector<Recipe>& recipe_registry();
// recipe_registry().front(): `bend train`'s defaults and TrainConfig's.
const Recipe& default_recipe();
// The recipe called `name`; bend::ValueError naming it and listing the valid names otherwise.
const Recipe& find_recipe(std::string_view name);
// "default, plain, long" for messages and flag help.
std::string recipe_names();

}  // namespace bend::train
