#pragma once
// The building blocks of `bend lab`'s experiments, as library calls that return their numbers. The
// table of experiments, their claims and verdicts is bend/lab/claims.hpp (each experiment's measuring
// function is src/lab/<name>.cpp); the larger building blocks have their own headers:
//   collapse     bend/lab/collapse.hpp    a stack of Linear layers is one Linear, and trains like one
//   xor          bend/lab/xor.hpp         a linear model cannot fit XOR; one hidden layer can
//   vanishing    bend/lab/vanishing.hpp   deep sigmoid/tanh nets: gradients shrink layer by layer
//   dying-relu   bend/lab/dying_relu.hpp  a kill event silences units; ReLU's stay dead
// Plus the activation curves for `bend plot activations` (and `bend lab dip`).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bend/activations.hpp"
#include "bend/data/loader.hpp"
#include "bend/nn/init.hpp"
#include "bend/nn/sequential.hpp"
#include "bend/rng.hpp"
#include "bend/train/trainer.hpp"

namespace bend::lab {

// What an experiment varies about training; the rest is train::TrainConfig's defaults (no
// checkpoints, cross-entropy, shuffled mini-batches).
struct TrainSettings {
  std::string optimizer = "adam";  // a name in the optimizer registry
  double lr = 1e-3;
  double momentum = 0.0;  // for optimizers that take it
  std::int64_t batch = 64;
  std::int64_t epochs = 1;
  std::uint64_t seed = 0;  // data order
  int threads = 0;         // bend's threads (0: the default)

  train::TrainConfig config() const;
};

struct TrainOutcome {
  std::vector<double> train_loss;     // per epoch
  std::vector<double> test_accuracy;  // per epoch
  double seconds = 0;
  bool diverged = false;  // the loss became NaN/inf; training stopped there
  double final_test_accuracy() const { return test_accuracy.empty() ? 0.0 : test_accuracy.back(); }
};

// Trains a model built by an experiment with bend's Trainer (the one training loop), on the given data.
// A NaN or infinite loss ends the run with diverged set (and the epochs done so far), not an exception.
// on_epoch (optional) sees each epoch's metrics after the epoch, between optimizer steps (diagnostics
// may run there).
TrainOutcome fit(nn::Module& model, const TensorDataset& train, const TensorDataset& test,
                 const TrainSettings& settings,
                 const std::function<void(const train::EpochMetrics&)>& on_epoch = {});

// collapse: multiplies out a stack of Linear layers (no activations) into W = W_L...W_1 and
// b = W_L(...(W_2 b_1 + b_2)...) + b_L, and compares the stack's output on `inputs` with x·Wᵀ + b.
// Throws ValueError when the model holds anything but Linear layers.
struct CollapseCheck {
  Tensor product_weight;  // [out, in]
  Tensor product_bias;    // [out]
  double max_abs_difference = 0;
  double max_abs_output = 0;
};
CollapseCheck collapse_linear_stack(nn::Sequential& linear_stack, const Tensor& inputs);

// xor: 2 -> hidden -> 2 with `act` (empty: no activation, a linear model), trained by the Trainer with
// full-batch Adam on the cross-entropy of the four XOR points as two classes.
struct XorResult {
  std::string activation;          // empty for linear
  double final_loss = 0;           // mean cross-entropy after training
  double accuracy = 0;             // of the four points
  std::vector<double> outputs;     // P(class 1) for (0,0), (0,1), (1,0), (1,1)
  std::vector<double> loss_curve;  // every kXorCurveStride-th step (bend/lab/xor.hpp)
};
XorResult train_xor(std::string_view act, std::int64_t hidden, std::int64_t steps, double lr,
                    std::uint64_t seed);

// plot activations: f and f' sampled on [lo, hi], with the landmarks worth printing.
struct ActivationCurve {
  std::string name;
  std::vector<double> x, value, derivative;
  double min_value = 0, argmin_value = 0;            // the lowest f on the range and where
  double max_derivative = 0, argmax_derivative = 0;  // the largest f' and where
  double min_derivative = 0;                         // the smallest f' (negative for GELU/SiLU)
  double value_at_zero = 0, derivative_at_zero = 0;
  double derivative_at_lo = 0, derivative_at_hi = 0;  // the tails
};
ActivationCurve sample_activation(const ActivationInfo& info, double lo = -5, double hi = 5,
                                  int points = 2001);

}  // namespace bend::lab
