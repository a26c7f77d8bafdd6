// Training recipes (bend/train/recipe.hpp): the table, when a recipe's learning rate applies, and what
// `bend train` fills in from it (read from the recipe line every run prints).
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <string>

#include "bend/error.hpp"
#include "bend/optim/registry.hpp"
#include "bend/train/recipe.hpp"
#include "bend/train/trainer.hpp"
#include "requirements.hpp"
#include "run_command.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using bend::train::find_recipe;
using bend::train::recipe_registry;

TEST_CASE("the recipe table: default first, unique names, valid optimizers and schedules", "[recipe]") {
  REQUIRE_FALSE(recipe_registry().empty());
  CHECK(recipe_registry().front().name == "default");
  std::set<std::string> names;
  for (const bend::train::Recipe& r : recipe_registry()) {
    INFO(r.name);
    CHECK(names.insert(r.name).second);
    CHECK_NOTHROW(bend::optim::find_optimizer(r.optimizer));
    bend::train::TrainConfig config;
    config.dataset = "mnist";
    config.optimizer = r.optimizer;
    config.schedule = r.schedule;
    config.epochs = r.epochs;
    config.batch = r.batch;
    CHECK_NOTHROW(config.validate());
    CHECK(r.lr >= 0);
    CHECK(r.dropout >= 0);
    CHECK(r.dropout < 1);
    CHECK_FALSE(r.summary.empty());
    CHECK_FALSE(r.measured.empty());
  }
  CHECK(find_recipe("plain").schedule == "none");
  CHECK_THROWS_WITH(find_recipe("fast"),
                    Catch::Contains("'fast'") && Catch::Contains("default, plain, long"));
}

TEST_CASE("a recipe's learning rate applies only with its own optimizer and schedule", "[recipe]") {
  const bend::train::Recipe& r = find_recipe("default");
  CHECK(r.optimizer == "adam");
  CHECK(r.schedule == "cosine");
  CHECK(r.lr_for("adam", "cosine") == Approx(2e-3));
  CHECK(r.lr_for("adam", "none") == 0);   // --schedule none: PyTorch's plain loop at Adam's 1e-3
  CHECK(r.lr_for("sgd", "cosine") == 0);  // SGD's own default, not Adam's tuned rate
}

#ifdef BEND_CLI_PATH
namespace {
bend::testing::CommandResult train_line(const std::string& flags) {
  const std::string data = (std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist").string();
  return bend::testing::run_command(std::string(BEND_CLI_PATH) + " train --data-dir " + data +
                                    " --epochs 1 --steps 1 " + flags +
                                    " --checkpoint-dir '' --train-limit 64 --test-limit 64");
}
}  // namespace

TEST_CASE("bend train fills in the recipe and prints it; flags win", "[recipe][cli]") {
  const std::filesystem::path mnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(std::filesystem::exists(mnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + mnist.string(), "run data/fetch-mnist.sh"))
    return;
  const auto def = train_line("");
  REQUIRE(def.code == 0);
  CHECK_THAT(def.out, Catch::Contains("recipe default: Adam(") && Catch::Contains("lr=0.002") &&
                          Catch::Contains("schedule cosine") && Catch::Contains("batch 64"));
  const auto plain = train_line("--schedule none");
  REQUIRE(plain.code == 0);
  CHECK_THAT(plain.out, Catch::Contains("lr=0.001") && Catch::Contains("schedule none"));
  CHECK(train_line("--recipe plain").out.find("lr=0.001,") != std::string::npos);
  // The long recipe brings its own MLP and dropout; --arch and --dropout win over them.
  const auto long_recipe = train_line("--recipe long");
  CHECK_THAT(long_recipe.out, Catch::Contains("out_features=512") && Catch::Contains("Dropout(p=0.2)") &&
                                  Catch::Contains("recipe long:"));
  const auto long_own = train_line("--recipe long --arch 784-64-10 --dropout 0");
  CHECK_THAT(long_own.out, Catch::Contains("out_features=64") && !Catch::Contains("Dropout("));
  const auto sgd = train_line("--opt sgd");
  CHECK_THAT(sgd.out,
             Catch::Contains("SGD(") && Catch::Contains("lr=0.01,") && Catch::Contains("schedule cosine"));
  CHECK_THAT(train_line("--lr 0.005").out, Catch::Contains("lr=0.005"));
  CHECK_THAT(train_line("--batch 32").out, Catch::Contains("batch 32"));
  const auto bad = train_line("--recipe fast");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.out, Catch::Contains("--recipe") && Catch::Contains("default, plain, long"));
}

TEST_CASE("a resumed run takes what the flags leave out from its checkpoint, not from the recipe",
          "[recipe][cli]") {
  const std::filesystem::path mnist = std::filesystem::path(BEND_SOURCE_DIR) / "data" / "mnist";
  if (!bend::testing::require_available(std::filesystem::exists(mnist / "train-labels-idx1-ubyte"),
                                        "MNIST in " + mnist.string(), "run data/fetch-mnist.sh"))
    return;
  const auto dir = std::filesystem::temp_directory_path() / "bend_test_recipe_resume";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string cli = std::string(BEND_CLI_PATH) + " train --data-dir " + mnist.string() +
                          " --train-limit 640 --test-limit 64 --checkpoint-dir " + dir.string();
  // SGD, batch 32, a cosine schedule over 3 epochs, stopped after 5 steps (a checkpoint mid-epoch).
  const auto first = bend::testing::run_command(cli + " --opt sgd --batch 32 --epochs 3 --steps 5");
  INFO(first.out);
  REQUIRE(first.code == 0);
  const auto resumed =
      bend::testing::run_command(cli + " --resume " + (dir / "checkpoint.safetensors").string());
  INFO(resumed.out);
  CHECK(resumed.code == 0);
  CHECK_THAT(resumed.out, Catch::Contains("SGD(") && Catch::Contains("schedule cosine") &&
                              Catch::Contains("batch 32") && Catch::Contains("3 epochs") &&
                              Catch::Contains("epoch   3"));
  // A flag that contradicts the checkpoint is still refused.
  const auto other = bend::testing::run_command(cli + " --resume " +
                                                (dir / "checkpoint.safetensors").string() + " --epochs 5");
  CHECK(other.code != 0);
  CHECK_THAT(other.out, Catch::Contains("planned over 3 epochs"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("bend help recipes lists every recipe with what it measured", "[recipe][cli]") {
  const auto r = bend::testing::run_command(std::string(BEND_CLI_PATH) + " help recipes");
  REQUIRE(r.code == 0);
  for (const bend::train::Recipe& recipe : recipe_registry()) {
    INFO(recipe.name);
    CHECK_THAT(r.out, Catch::Contains("  " + recipe.name + " ") && Catch::Contains(recipe.summary) &&
                          Catch::Contains(recipe.measured));
  }
}
#endif

}  // namespace BEND_UNITY_ID
