// The module conformance list: every module bend defines, each with an example input, its PyTorch state
// dict names and a factory, run through bend::testing::check_module (gradients of inputs and parameters,
// the safetensors round trip, train/eval, no allocation in a steady step). A new module must join the
// list: the coverage test scans the sources for Module subclasses and names any that is missing. Every
// activation-table entry is checked through the table, so a new activation is covered automatically.
#include "build_paths.hpp"
#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "allocation_counter.hpp"
#include "bend/bend.hpp"
#include "bend/nn/gpt.hpp"
#include "bend/testing/check_module.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::nn;
using bend::testing::check_module;
using bend::testing::CheckModuleOptions;
using bend::testing::ModuleCase;

namespace {

// A module with a buffer and a child, declared here so that the round trip is proven on buffers and on
// PyTorch's order (own parameters, own buffers, then children): y = proj(x) ⊙ weight + shift.
class ScaleShift : public Module {
 public:
  ScaleShift(std::int64_t in, std::int64_t out, Rng& rng)
      : proj_(std::make_shared<Linear>(in, out, true, rng)) {
    weight_ = register_parameter("weight", Tensor::uniform({out}, 0.5f, 1.5f, rng));
    shift_ = register_buffer("shift", Tensor::uniform({out}, -1.0f, 1.0f, rng));
    register_module("proj", proj_);
  }
  Tensor forward(const Tensor& x) override { return proj_->forward(x) * weight_ + shift_; }
  std::string type_name() const override { return "ScaleShift"; }

 private:
  std::shared_ptr<Linear> proj_;
  Tensor weight_, shift_;
};

// One list entry: the classes it covers (the coverage test reads these) and the case to check.
struct Entry {
  std::vector<std::string> covers;
  ModuleCase check;
};

Tensor example(const Shape& shape, std::uint64_t seed, float lo = -2.0f, float hi = 2.0f) {
  Rng rng(seed);
  return Tensor::uniform(shape, lo, hi, rng).requires_grad_();
}

template <class M, class... Args>
std::function<std::shared_ptr<Module>(Rng&)> with_rng(Args... args) {
  return [=](Rng& rng) { return std::make_shared<M>(args..., rng); };
}

// Dropout draws a new mask per call; reseeding before each forward makes the function the gradient
// check differentiates a fixed one. (Walks the children in place: the steady-step check counts every
// allocation, the adapter's included.)
void reseed_dropouts(Module& m) {
  if (auto* d = dynamic_cast<Dropout*>(&m)) d->rng().seed_with(11);
  if (auto* d = dynamic_cast<Dropout2d*>(&m)) d->rng().seed_with(11);
  if (auto* a = dynamic_cast<MultiheadAttention*>(&m)) a->rng().seed_with(13);
  for (const auto& [name, child] : m.children()) reseed_dropouts(*child);
}

Tensor forward_with_fixed_mask(Module& m, const std::vector<Tensor>& xs) {
  reseed_dropouts(m);
  return m.forward(xs.at(0));
}

// Distinct values `spacing` apart, centred on 0, in a random order: no two elements of a max-pooling
// window are within a finite-difference step of each other, so no tie (a kink) is crossed.
Tensor distinct_values(const Shape& shape, std::uint64_t seed, float spacing) {
  Tensor t = Tensor::zeros(shape);
  const std::int64_t n = t.numel();
  float* v = t.data();
  for (std::int64_t i = 0; i < n; ++i)
    v[i] = (static_cast<float>(i) - 0.5f * static_cast<float>(n - 1)) * spacing;
  Rng rng(seed);
  for (std::int64_t i = n - 1; i > 0; --i)
    std::swap(v[i], v[static_cast<std::int64_t>(rng.next_u64() % static_cast<std::uint64_t>(i + 1))]);
  return t.requires_grad_();
}

const std::vector<std::string> kBatchNormState = {"weight", "bias", "running_mean", "running_var",
                                                  "num_batches_tracked"};

// Targets that reach the shortlist and every cluster of AdaptiveLogSoftmaxWithLoss(8, 12, {4, 8}).
const std::vector<std::int32_t> kTargets = {0, 5, 9, 3, 11, 6};

Tensor asm_output(Module& m, const std::vector<Tensor>& xs) {
  return dynamic_cast<AdaptiveLogSoftmaxWithLoss&>(m).forward(xs.at(0), kTargets).output;
}

Entry activation_entry(const ActivationInfo& info, std::string label,
                       std::function<std::shared_ptr<Module>()> make, std::uint64_t seed) {
  Entry e;
  e.covers = {info.learnable ? "PReLU" : "Activation"};
  e.check.name = std::move(label);
  e.check.make = [make](Rng&) { return make(); };
  // Wide enough to reach the corners of hardswish/hardsigmoid (±3); kinks are steered around.
  e.check.inputs = {example({4, 6}, seed, -3.5f, 3.5f)};
  if (info.learnable) e.check.state_names = {"weight"};
  return e;
}

std::vector<Entry> conformance_list() {
  std::vector<Entry> list;
  std::uint64_t seed = 100;

  // Every activation-table entry with PyTorch's defaults, through the table.
  for (const ActivationInfo& info : activation_table())
    list.push_back(activation_entry(
        info, fmt::format("{} ({})", info.module_name, info.name),
        [&info] { return activation_module(info); }, ++seed));
  // Parameters that move the kinks (or make one out of a smooth default).
  auto with_params = [&](const char* name, PointwiseParams params) {
    const ActivationInfo& info = activation(name);
    list.push_back(activation_entry(
        info, fmt::format("{} ({}, a={}, b={})", info.module_name, name, params.a, params.b),
        [&info, params] { return std::make_shared<Activation>(info.name, params); }, ++seed));
  };
  with_params("leaky_relu", {0.2f});
  with_params("elu", {0.5f});  // derivative jumps at 0 unless alpha = 1
  with_params("hardtanh", {-2.0f, 2.0f});
  with_params("softplus", {2.0f, 1.0f});    // switches to x where beta·x > threshold
  with_params("threshold", {0.5f, -1.0f});  // a jump at 0.5
  with_params("hardshrink", {1.0f});
  with_params("softshrink", {0.25f});

  list.push_back({{"PReLU"},
                  {.name = "PReLU(num_parameters=3)",
                   .make = [](Rng&) { return std::make_shared<PReLU>(3, 0.25f); },
                   .inputs = {example({4, 3}, ++seed)},
                   .state_names = {"weight"}}});
  list.push_back({{"Linear"},
                  {.name = "Linear(5, 3)",
                   .make = [](Rng& rng) { return std::make_shared<Linear>(5, 3, true, rng); },
                   .inputs = {example({4, 5}, ++seed)},
                   .state_names = {"weight", "bias"}}});
  list.push_back({{"Linear"},
                  {.name = "Linear(5, 3, bias=False)",
                   .make = [](Rng& rng) { return std::make_shared<Linear>(5, 3, false, rng); },
                   .inputs = {example({4, 5}, ++seed)},
                   .state_names = {"weight"}}});
  list.push_back({{"Dropout"},
                  {.name = "Dropout(0.5)",
                   .make = [](Rng& rng) { return std::make_shared<Dropout>(0.5f, rng.next_u64()); },
                   .inputs = {example({4, 6}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .mode_dependent = true}});
  list.push_back({{"Sequential"},
                  {.name = "Sequential(Linear, Tanh, Dropout, Linear)",
                   .make =
                       [](Rng& rng) {
                         auto net = std::make_shared<Sequential>();
                         net->push_back(Linear(5, 6, true, rng));
                         net->push_back(Tanh());
                         net->push_back(Dropout(0.3f, rng.next_u64()));
                         net->push_back(Linear(6, 3, true, rng));
                         return net;
                       },
                   .inputs = {example({4, 5}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .state_names = {"0.weight", "0.bias", "3.weight", "3.bias"},
                   .mode_dependent = true}});
  list.push_back(
      {{"Sequential"},
       {.name = "Sequential(Linear, ScaleShift) with buffers",
        .make =
            [](Rng& rng) {
              auto net = std::make_shared<Sequential>();
              net->push_back(Linear(5, 4, true, rng));
              net->push_back(ScaleShift(4, 3, rng));
              return net;
            },
        .inputs = {example({4, 5}, ++seed)},
        .state_names = {"0.weight", "0.bias", "1.weight", "1.shift", "1.proj.weight", "1.proj.bias"}}});
  list.push_back({{"Softmax"},
                  {.name = "Softmax(dim=-1)",
                   .make = [](Rng&) { return std::make_shared<Softmax>(-1); },
                   .inputs = {example({4, 5}, ++seed)}}});
  list.push_back({{"Softmax"},
                  {.name = "Softmax(dim=0)",
                   .make = [](Rng&) { return std::make_shared<Softmax>(0); },
                   .inputs = {example({4, 5}, ++seed)}}});
  list.push_back({{"LogSoftmax"},
                  {.name = "LogSoftmax(dim=-1)",
                   .make = [](Rng&) { return std::make_shared<LogSoftmax>(-1); },
                   .inputs = {example({4, 5}, ++seed)}}});
  list.push_back({{"LogSoftmax"},
                  {.name = "LogSoftmax(dim=0)",
                   .make = [](Rng&) { return std::make_shared<LogSoftmax>(0); },
                   .inputs = {example({4, 5}, ++seed)}}});
  list.push_back({{"GLU"},
                  {.name = "GLU(dim=-1)",
                   .make = [](Rng&) { return std::make_shared<GLU>(-1); },
                   .inputs = {example({4, 6}, ++seed)}}});
  list.push_back({{"GLU"},
                  {.name = "GLU(dim=0)",
                   .make = [](Rng&) { return std::make_shared<GLU>(0); },
                   .inputs = {example({4, 3}, ++seed)}}});
  list.push_back({{"SwiGLU"},
                  {.name = "SwiGLU(5, 6)",
                   .make = with_rng<SwiGLU>(std::int64_t{5}, std::int64_t{6}, true),
                   .inputs = {example({4, 5}, ++seed)},
                   .state_names = {"gate_proj.weight", "gate_proj.bias", "up_proj.weight", "up_proj.bias"}}});
  list.push_back({{"SwiGLU"},
                  {.name = "SwiGLU(5, 6, bias=False)",
                   .make = with_rng<SwiGLU>(std::int64_t{5}, std::int64_t{6}, false),
                   .inputs = {example({4, 5}, ++seed)},
                   .state_names = {"gate_proj.weight", "up_proj.weight"}}});
  const std::vector<std::int64_t> cutoffs = {4, 8};
  list.push_back(
      {{"AdaptiveLogSoftmaxWithLoss", "ModuleList"},
       {.name = "AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=2).forward(input, target)",
        .make = with_rng<AdaptiveLogSoftmaxWithLoss>(std::int64_t{8}, std::int64_t{12}, cutoffs, 2.0, false),
        .inputs = {example({6, 8}, ++seed)},
        .forward = asm_output,
        .state_names = {"head.weight", "tail.0.0.weight", "tail.0.1.weight", "tail.1.0.weight",
                        "tail.1.1.weight"}}});
  list.push_back(
      {{"AdaptiveLogSoftmaxWithLoss", "ModuleList"},
       {.name = "AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=2).log_prob",
        .make = with_rng<AdaptiveLogSoftmaxWithLoss>(std::int64_t{8}, std::int64_t{12}, cutoffs, 2.0, false),
        .inputs = {example({6, 8}, ++seed)},
        .state_names = {"head.weight", "tail.0.0.weight", "tail.0.1.weight", "tail.1.0.weight",
                        "tail.1.1.weight"}}});
  // div_value 4: tail 1's hidden size 8 // 16 rounds to 0, so it is built from zero-element layers.
  list.push_back(
      {{"AdaptiveLogSoftmaxWithLoss", "ModuleList", "EmptyLinear"},
       {.name = "AdaptiveLogSoftmaxWithLoss(8, 12, [4, 8], div_value=4, head_bias=True)",
        .make = with_rng<AdaptiveLogSoftmaxWithLoss>(std::int64_t{8}, std::int64_t{12}, cutoffs, 4.0, true),
        .inputs = {example({6, 8}, ++seed)},
        .forward = asm_output,
        .state_names = {"head.weight", "head.bias", "tail.0.0.weight", "tail.0.1.weight", "tail.1.0.weight",
                        "tail.1.1.weight"}}});

  // Convolution and pooling (NCHW).
  list.push_back({{"Conv2d"},
                  {.name = "Conv2d(3, 4, kernel_size=3)",
                   .make = with_rng<Conv2d>(std::int64_t{3}, std::int64_t{4}, Size2d(3), Size2d(1), Size2d(0),
                                            Size2d(1), true),
                   .inputs = {example({2, 3, 5, 5}, ++seed)},
                   .state_names = {"weight", "bias"}}});
  list.push_back(
      {{"Conv2d"},
       {.name =
            "Conv2d(2, 3, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1), bias=False)",
        .make = with_rng<Conv2d>(std::int64_t{2}, std::int64_t{3}, Size2d(3, 2), Size2d(2, 1), Size2d(1, 2),
                                 Size2d(2, 1), false),
        .inputs = {example({2, 2, 7, 6}, ++seed)},
        .state_names = {"weight"}}});
  list.push_back({{"MaxPool2d"},
                  {.name = "MaxPool2d(2)",
                   .make = [](Rng&) { return std::make_shared<MaxPool2d>(2); },
                   .inputs = {distinct_values({2, 2, 4, 4}, ++seed, 0.1f)}}});
  // Overlapping windows (an element can be the maximum of two) and -inf padding.
  list.push_back({{"MaxPool2d"},
                  {.name = "MaxPool2d(3, stride=2, padding=1)",
                   .make = [](Rng&) { return std::make_shared<MaxPool2d>(3, Size2d(2), Size2d(1)); },
                   .inputs = {distinct_values({1, 2, 5, 6}, ++seed, 0.1f)}}});
  list.push_back({{"MaxPool2d"},
                  {.name = "MaxPool2d((2, 3), stride=(1, 2)) on [C, H, W]",
                   .make = [](Rng&) { return std::make_shared<MaxPool2d>(Size2d(2, 3), Size2d(1, 2)); },
                   .inputs = {distinct_values({2, 4, 7}, ++seed, 0.1f)}}});
  list.push_back({{"AvgPool2d"},
                  {.name = "AvgPool2d(2)",
                   .make = [](Rng&) { return std::make_shared<AvgPool2d>(2); },
                   .inputs = {example({2, 3, 4, 4}, ++seed)}}});
  list.push_back({{"AvgPool2d"},
                  {.name = "AvgPool2d(3, stride=2, padding=1)",
                   .make = [](Rng&) { return std::make_shared<AvgPool2d>(3, Size2d(2), Size2d(1)); },
                   .inputs = {example({2, 2, 5, 6}, ++seed)}}});
  list.push_back(
      {{"AvgPool2d"},
       {.name = "AvgPool2d(3, stride=2, padding=1, count_include_pad=False) on [C, H, W]",
        .make = [](Rng&) { return std::make_shared<AvgPool2d>(3, Size2d(2), Size2d(1), false, false); },
        .inputs = {example({2, 5, 6}, ++seed)}}});
  list.push_back({{"Flatten"},
                  {.name = "Flatten()",
                   .make = [](Rng&) { return std::make_shared<Flatten>(); },
                   .inputs = {example({2, 3, 2, 2}, ++seed)}}});
  list.push_back({{"Flatten"},
                  {.name = "Flatten(start_dim=0, end_dim=-2)",
                   .make = [](Rng&) { return std::make_shared<Flatten>(0, -2); },
                   .inputs = {example({2, 3, 4}, ++seed)}}});

  // Normalisation. BatchNorm with running statistics normalises with batch statistics in training mode
  // and with the running ones in eval mode; without them it uses batch statistics in both.
  list.push_back({{"BatchNorm", "BatchNorm1d"},
                  {.name = "BatchNorm1d(3) on [N, C]",
                   .make = [](Rng&) { return std::make_shared<BatchNorm1d>(3); },
                   .inputs = {example({6, 3}, ++seed)},
                   .state_names = kBatchNormState,
                   .mode_dependent = true}});
  list.push_back({{"BatchNorm", "BatchNorm1d"},
                  {.name = "BatchNorm1d(4, momentum=None, affine=False) on [N, C, L]",
                   .make = [](Rng&) { return std::make_shared<BatchNorm1d>(4, 1e-5f, std::nullopt, false); },
                   .inputs = {example({5, 4, 3}, ++seed)},
                   .state_names = {"running_mean", "running_var", "num_batches_tracked"},
                   .mode_dependent = true}});
  list.push_back({{"BatchNorm", "BatchNorm1d"},
                  {.name = "BatchNorm1d(3, track_running_stats=False)",
                   .make = [](Rng&) { return std::make_shared<BatchNorm1d>(3, 1e-5f, 0.1f, true, false); },
                   .inputs = {example({6, 3}, ++seed)},
                   .state_names = {"weight", "bias"}}});
  list.push_back({{"BatchNorm", "BatchNorm2d"},
                  {.name = "BatchNorm2d(3)",
                   .make = [](Rng&) { return std::make_shared<BatchNorm2d>(3); },
                   .inputs = {example({4, 3, 3, 3}, ++seed)},
                   .state_names = kBatchNormState,
                   .mode_dependent = true}});
  list.push_back({{"BatchNorm", "BatchNorm2d"},
                  {.name = "BatchNorm2d(2, eps=1e-3, momentum=0.3, affine=False, track_running_stats=False)",
                   .make = [](Rng&) { return std::make_shared<BatchNorm2d>(2, 1e-3f, 0.3f, false, false); },
                   .inputs = {example({3, 2, 3, 4}, ++seed)}}});
  list.push_back({{"BatchNorm", "BatchNorm2d"},
                  {.name = "BatchNorm2d(3, track_running_stats=False)",
                   .make = [](Rng&) { return std::make_shared<BatchNorm2d>(3, 1e-5f, 0.1f, true, false); },
                   .inputs = {example({2, 3, 3, 2}, ++seed)},
                   .state_names = {"weight", "bias"}}});
  list.push_back({{"LayerNorm"},
                  {.name = "LayerNorm(5)",
                   .make = [](Rng&) { return std::make_shared<LayerNorm>(5); },
                   .inputs = {example({4, 5}, ++seed)},
                   .state_names = {"weight", "bias"}}});
  list.push_back({{"LayerNorm"},
                  {.name = "LayerNorm((3, 4), elementwise_affine=False)",
                   .make =
                       [](Rng&) {
                         return std::make_shared<LayerNorm>(std::vector<std::int64_t>{3, 4}, 1e-5f, false);
                       },
                   .inputs = {example({2, 3, 4}, ++seed)}}});
  list.push_back({{"LayerNorm"},
                  {.name = "LayerNorm((2, 3), eps=1e-3) on [N, L, 2, 3]",
                   .make =
                       [](Rng&) {
                         return std::make_shared<LayerNorm>(std::vector<std::int64_t>{2, 3}, 1e-3f);
                       },
                   .inputs = {example({2, 2, 2, 3}, ++seed)},
                   .state_names = {"weight", "bias"}}});

  list.push_back({{"Dropout2d"},
                  {.name = "Dropout2d(0.5)",
                   .make = [](Rng& rng) { return std::make_shared<Dropout2d>(0.5f, rng.next_u64()); },
                   .inputs = {example({2, 4, 3, 3}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .mode_dependent = true}});
  list.push_back({{"Dropout2d"},
                  {.name = "Dropout2d(0.3) on [N, C, L]",
                   .make = [](Rng& rng) { return std::make_shared<Dropout2d>(0.3f, rng.next_u64()); },
                   .inputs = {example({3, 4, 5}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .mode_dependent = true}});

  // A small CNN: nested parameter and buffer names, modes reaching BatchNorm2d and Dropout2d.
  list.push_back({{"Sequential"},
                  {.name = "Sequential(Conv2d, BatchNorm2d, Tanh, Dropout2d, AvgPool2d, Flatten, Linear)",
                   .make =
                       [](Rng& rng) {
                         auto net = std::make_shared<Sequential>();
                         net->push_back(Conv2d(1, 2, 3, 1, 1, 1, false, rng));  // BatchNorm cancels a bias
                         net->push_back(BatchNorm2d(2));
                         net->push_back(Tanh());
                         net->push_back(Dropout2d(0.25f, rng.next_u64()));
                         net->push_back(AvgPool2d(2));
                         net->push_back(Flatten());
                         net->push_back(Linear(8, 3, true, rng));
                         return net;
                       },
                   .inputs = {example({3, 1, 4, 4}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .state_names = {"0.weight", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                                   "1.num_batches_tracked", "6.weight", "6.bias"},
                   .mode_dependent = true}});

  // Embedding and attention. Indices are float32 whole numbers (no gradient).
  const Tensor indices = Tensor::from({0, 3, 6, 2, 2, 5}, {2, 3});
  list.push_back(
      {{"Embedding"},
       {.name = "Embedding(7, 3)",
        .make = with_rng<Embedding>(std::int64_t{7}, std::int64_t{3}, std::optional<std::int64_t>{}),
        .inputs = {indices},
        .state_names = {"weight"}}});
  list.push_back(
      {{"Embedding"},
       {.name = "Embedding(7, 3, padding_idx=2)",
        .make = with_rng<Embedding>(std::int64_t{7}, std::int64_t{3}, std::optional<std::int64_t>{2}),
        // Row 2 is not looked up: its zero gradient is a definition, not the derivative that finite
        // differences see (tests/test_attention.cpp checks the padding row against PyTorch).
        .inputs = {Tensor::from({0, 3, 6, 1, 4, 5}, {2, 3})},
        .state_names = {"weight"}}});
  // A vision transformer's token modules (the ViT preset's cls, pos and tok0).
  list.push_back({{"ClassToken"},
                  {.name = "ClassToken(4)",
                   .make = with_rng<ClassToken>(std::int64_t{4}),
                   .inputs = {example({2, 3, 4}, ++seed)},
                   .state_names = {"cls_token"}}});
  list.push_back({{"PositionEmbedding"},
                  {.name = "PositionEmbedding(5, 4) on 3 tokens",
                   .make = with_rng<PositionEmbedding>(std::int64_t{5}, std::int64_t{4}),
                   .inputs = {example({2, 3, 4}, ++seed)},
                   .state_names = {"pos_embed"}}});
  list.push_back({{"TakeToken"},
                  {.name = "TakeToken(index=1)",
                   .make = [](Rng&) { return std::make_shared<TakeToken>(1); },
                   .inputs = {example({2, 3, 4}, ++seed)}}});
  const std::vector<std::string> mha_state = {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                              "out_proj.bias"};
  list.push_back({{"MultiheadAttention"},
                  {.name = "MultiheadAttention(8, 2) self-attention",
                   .make = with_rng<MultiheadAttention>(std::int64_t{8}, std::int64_t{2}, 0.0f, true, true),
                   .inputs = {example({2, 3, 8}, ++seed)},
                   .state_names = mha_state}});
  list.push_back({{"MultiheadAttention"},
                  {.name = "MultiheadAttention(8, 2, dropout=0.3, bias=False, batch_first=False)",
                   .make = with_rng<MultiheadAttention>(std::int64_t{8}, std::int64_t{2}, 0.3f, false, false),
                   .inputs = {example({3, 2, 8}, ++seed)},
                   .forward = forward_with_fixed_mask,
                   .state_names = {"in_proj_weight", "out_proj.weight"},
                   .mode_dependent = true}});
  list.push_back(
      {{"MultiheadAttention"},
       {.name = "MultiheadAttention(8, 2) cross-attention, key_padding_mask, additive attn_mask, is_causal",
        .make = with_rng<MultiheadAttention>(std::int64_t{8}, std::int64_t{2}, 0.0f, true, true),
        .inputs = {example({2, 3, 8}, ++seed), example({2, 4, 8}, ++seed)},
        .forward =
            [](Module& m, const std::vector<Tensor>& xs) {
              static const Tensor padding = Tensor::from({0, 0, 0, 1, 0, 1, 0, 0}, {2, 4});
              static const Tensor bias = Tensor::from({0.5f, -1, 0, 2, 0, 0, 1, -0.5f, 1, 0, 0, 0}, {3, 4});
              AttentionCall call;
              call.key_padding_mask = {padding, MaskType::Boolean};
              call.attn_mask = {bias, MaskType::Additive};
              call.is_causal = true;
              call.need_weights = false;
              return dynamic_cast<MultiheadAttention&>(m).forward(xs.at(0), xs.at(1), xs.at(1), call).output;
            },
        .state_names = mha_state}});
  const std::vector<std::string> encoder_state = {"self_attn.in_proj_weight",
                                                  "self_attn.in_proj_bias",
                                                  "self_attn.out_proj.weight",
                                                  "self_attn.out_proj.bias",
                                                  "linear1.weight",
                                                  "linear1.bias",
                                                  "linear2.weight",
                                                  "linear2.bias",
                                                  "norm1.weight",
                                                  "norm1.bias",
                                                  "norm2.weight",
                                                  "norm2.bias"};
  auto encoder_layer = [](TransformerEncoderLayerConfig config) {
    return [config](Rng& rng) { return std::make_shared<TransformerEncoderLayer>(config, rng); };
  };
  list.push_back({{"TransformerEncoderLayer"},
                  {.name = "TransformerEncoderLayer(8, 2, 16, dropout=0, activation=gelu)",
                   .make = encoder_layer({8, 2, 16, 0.0f, "gelu", 1e-5f, true, false}),
                   .inputs = {example({2, 3, 8}, ++seed)},
                   .state_names = encoder_state}});
  list.push_back(
      {{"TransformerEncoderLayer"},
       {.name = "TransformerEncoderLayer(8, 2, 16, dropout=0.2, activation=swiglu, norm_first=True)",
        .make = encoder_layer({8, 2, 16, 0.2f, "swiglu", 1e-5f, true, true}),
        .inputs = {example({2, 3, 8}, ++seed)},
        .forward = forward_with_fixed_mask,
        .state_names = encoder_state,
        .mode_dependent = true}});
  // nanoGPT's GPT (its internal parts are covered with it): token ids in, logits out, nanoGPT's names.
  list.push_back(
      {{"GPT", "Block", "CausalSelfAttention", "Container", "GptEmbedding", "GptLayerNorm", "GptLinear",
        "Mlp"},
       {.name = "GPT(n_layer=1, n_head=2, n_embd=8, block_size=6, vocab_size=5)",
        .make =
            [](Rng& rng) {
              nn::GPTConfig c;
              c.n_layer = 1, c.n_head = 2, c.n_embd = 8, c.block_size = 6, c.vocab_size = 5;
              return std::make_shared<nn::GPT>(c, rng);
            },
        .inputs = {Tensor::from({0, 1, 2, 3, 4, 1, 4, 3, 2, 0}, Shape{2, 5})},
        .state_names = {"transformer.wte.weight", "transformer.wpe.weight", "transformer.h.0.ln_1.weight",
                        "transformer.h.0.ln_1.bias", "transformer.h.0.attn.c_attn.weight",
                        "transformer.h.0.attn.c_attn.bias", "transformer.h.0.attn.c_proj.weight",
                        "transformer.h.0.attn.c_proj.bias", "transformer.h.0.ln_2.weight",
                        "transformer.h.0.ln_2.bias", "transformer.h.0.mlp.c_fc.weight",
                        "transformer.h.0.mlp.c_fc.bias", "transformer.h.0.mlp.c_proj.weight",
                        "transformer.h.0.mlp.c_proj.bias", "transformer.ln_f.weight", "transformer.ln_f.bias",
                        "lm_head.weight"},
        // Finite differences at eps 1e-2 through two LayerNorms and attention are ~2% off in float32.
        .gradcheck = {.rtol = 5e-2}}});
  list.push_back({{"TransformerEncoder"},
                  {.name = "TransformerEncoder(TransformerEncoderLayer(8, 2, 16, dropout=0, "
                           "activation=silu), 2, LayerNorm(8))",
                   .make =
                       [encoder_layer](Rng& rng) {
                         const auto layer = encoder_layer({8, 2, 16, 0.0f, "silu", 1e-5f, true, false})(rng);
                         return std::make_shared<TransformerEncoder>(*layer, 2,
                                                                     std::make_shared<LayerNorm>(8), rng);
                       },
                   .inputs = {example({2, 3, 8}, ++seed)},
                   .state_names =
                       [&] {
                         std::vector<std::string> names;
                         for (const char* prefix : {"layers.0.", "layers.1."})
                           for (const std::string& n : encoder_state) names.push_back(prefix + n);
                         names.push_back("norm.weight");
                         names.push_back("norm.bias");
                         return names;
                       }()}});
  return list;
}

CheckModuleOptions options_with_heap_counter() {
  CheckModuleOptions o;
  o.heap_allocations = bend::testing::heap_allocations;
  return o;
}

// The names X of every `class X [final] : public [bend::][nn::]Module` in `text`. (A small scanner
// rather than std::regex, whose libstdc++ code GCC 12 warns about under ASan.)
std::vector<std::string> module_declarations(const std::string& text) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find("class", pos)) != std::string::npos) {
    std::size_t p = pos + 5;
    const bool starts_word = pos == 0 || !is_word(text[pos - 1]);
    pos = p;
    if (!starts_word || p >= text.size() || !std::isspace(static_cast<unsigned char>(text[p]))) continue;
    auto skip_space = [&] {
      while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
    };
    auto word = [&] {
      skip_space();
      const std::size_t begin = p;
      while (p < text.size() && is_word(text[p])) ++p;
      return text.substr(begin, p - begin);
    };
    auto take = [&](std::string_view token) {
      skip_space();
      if (text.compare(p, token.size(), token) != 0) return false;
      p += token.size();
      return true;
    };
    const std::string name = word();
    if (name.empty()) continue;
    const std::size_t after_name = p;
    if (word() != "final") p = after_name;
    if (!take(":") || word() != "public") continue;
    take("bend::");
    take("nn::");
    if (word() == "Module") out.push_back(name);
  }
  return out;
}

// Class names X of every `class X : public Module` (or nn::Module) in the library's sources.
std::map<std::string, std::string> module_classes_in_sources() {
  const std::filesystem::path root = BEND_SOURCE_DIR;
  std::map<std::string, std::string> found;  // class -> file
  for (const char* dir : {"include", "src"})
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root / dir)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp")) continue;
      std::ifstream in(entry.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      for (const std::string& name : module_declarations(s))
        found.emplace(name, std::filesystem::relative(entry.path(), root).string());
    }
  return found;
}

}  // namespace

TEST_CASE("the source scan finds Module subclasses and nothing else", "[modules]") {
  const std::string text =
      "class A : public Module {};\n"
      "class B final :\n    public nn::Module {};\n"
      "class C : public bend::nn::Module\n{};\n"
      "class D : public ModuleList {};\n"  // not Module
      "subclass E : public Module {};\n"   // not the keyword
      "class F : private Module {};\n"
      "class G;\n";
  CHECK(module_declarations(text) == std::vector<std::string>{"A", "B", "C"});
}

TEST_CASE("every module passes check_module", "[modules]") {
  const CheckModuleOptions options = options_with_heap_counter();
  for (const Entry& e : conformance_list()) {
    const auto result = check_module(e.check, options);
    INFO(result.report());
    CHECK(result.ok());
    CHECK(result.checks_run >= 8);  // every check made assertions
  }
}

TEST_CASE("every Module subclass in the sources is in the conformance list", "[modules]") {
  std::set<std::string> listed;
  for (const Entry& e : conformance_list()) listed.insert(e.covers.begin(), e.covers.end());
  const auto classes = module_classes_in_sources();
  // The scan itself works: it finds the modules the issue names.
  for (const char* known : {"Linear", "Sequential", "Dropout", "Activation", "PReLU", "Softmax", "LogSoftmax",
                            "GLU", "SwiGLU", "AdaptiveLogSoftmaxWithLoss", "Embedding", "MultiheadAttention",
                            "TransformerEncoderLayer", "TransformerEncoder"})
    CHECK(classes.contains(known));
  for (const auto& [name, file] : classes) {
    INFO(name << " (declared in " << file
              << ") is a Module but has no entry in conformance_list() in "
                 "tests/test_modules.cpp: add one");
    CHECK(listed.contains(name));
  }
}

TEST_CASE("every activation-table entry is in the conformance list", "[modules]") {
  std::set<std::string> checked;
  for (const Entry& e : conformance_list()) checked.insert(e.check.name);
  for (const ActivationInfo& info : activation_table()) {
    const std::string name = fmt::format("{} ({})", info.module_name, info.name);
    INFO(name << " is in the activation table but not checked");
    CHECK(checked.contains(name));
  }
}

// --- the harness finds what it is there to find ---

namespace {

// y = x ⊙ w, with a term whose value is 0 but whose gradient is 2x: the input's gradient is wrong.
class WrongGradient : public Module {
 public:
  WrongGradient() { w_ = register_parameter("weight", Tensor::full({3}, 0.7f)); }
  Tensor forward(const Tensor& x) override {
    const Tensor sq = x * x;
    return x * w_ + (sq - sq.detach());
  }
  std::string type_name() const override { return "WrongGradient"; }

 private:
  Tensor w_;
};

// The weight is used detached, so it never receives a gradient.
class DetachedWeight : public Module {
 public:
  DetachedWeight() { w_ = register_parameter("weight", Tensor::full({3}, 0.7f)); }
  Tensor forward(const Tensor& x) override { return x * w_.detach(); }
  std::string type_name() const override { return "DetachedWeight"; }

 private:
  Tensor w_;
};

// "spare" takes no part in the output: it legitimately gets no gradient.
class UnusedParameter : public Module {
 public:
  UnusedParameter() {
    w_ = register_parameter("weight", Tensor::full({3}, 0.7f));
    register_parameter("spare", Tensor::full({3}, 0.1f));
  }
  Tensor forward(const Tensor& x) override { return x * w_; }
  std::string type_name() const override { return "UnusedParameter"; }

 private:
  Tensor w_;
};

// A shift that is neither a parameter nor a buffer, so it is lost on save/load; the weight is named "W".
class UnsavedState : public Module {
 public:
  explicit UnsavedState(Rng& rng) : shift_(Tensor::uniform({3}, -1, 1, rng)) {
    w_ = register_parameter("W", Tensor::full({3}, 0.7f));
  }
  Tensor forward(const Tensor& x) override { return x * w_ + shift_; }
  std::string type_name() const override { return "UnsavedState"; }

 private:
  Tensor w_, shift_;
};

// Allocates a std::vector on every forward.
class AllocatesPerStep : public Module {
 public:
  AllocatesPerStep() { w_ = register_parameter("weight", Tensor::full({3}, 0.7f)); }
  Tensor forward(const Tensor& x) override {
    std::vector<float> scratch(static_cast<std::size_t>(x.numel()) + 1);
    scratch[0] = 1.0f;
    return x * w_ * scratch[0];
  }
  std::string type_name() const override { return "AllocatesPerStep"; }

 private:
  Tensor w_;
};

bool has_failure(const bend::testing::CheckModuleResult& r, const std::string& check,
                 const std::string& text) {
  return std::any_of(r.failures.begin(), r.failures.end(), [&](const std::string& f) {
    return f.starts_with("[" + check + "]") && f.find(text) != std::string::npos;
  });
}

ModuleCase simple_case(std::string name, std::function<std::shared_ptr<Module>(Rng&)> make) {
  return {.name = std::move(name),
          .make = std::move(make),
          .inputs = {example({4, 3}, 7)},
          .state_names = {"weight"}};
}

}  // namespace

TEST_CASE("check_module reports wrong and zero gradients", "[modules]") {
  const auto wrong =
      check_module(simple_case("WrongGradient", [](Rng&) { return std::make_shared<WrongGradient>(); }));
  INFO(wrong.report());
  CHECK(has_failure(wrong, "gradient", "input 0"));
  CHECK_FALSE(has_failure(wrong, "gradient", "parameter 'weight'"));

  const auto detached =
      check_module(simple_case("DetachedWeight", [](Rng&) { return std::make_shared<DetachedWeight>(); }));
  INFO(detached.report());
  CHECK(has_failure(detached, "gradient", "parameter 'weight' (training mode): the gradient is zero"));
  CHECK(has_failure(detached, "gradient", "parameter 'weight' (training mode): gradcheck"));

  ModuleCase unused =
      simple_case("UnusedParameter", [](Rng&) { return std::make_shared<UnusedParameter>(); });
  unused.state_names = {"weight", "spare"};
  const auto flagged = check_module(unused);
  INFO(flagged.report());
  CHECK(has_failure(flagged, "gradient", "parameter 'spare' (training mode): the gradient is zero"));
  unused.no_gradient = {"spare"};
  const auto allowed = check_module(unused);
  INFO(allowed.report());
  CHECK(allowed.ok());
  unused.no_gradient = {"spares"};
  CHECK(
      has_failure(check_module(unused), "gradient", "no_gradient lists 'spares', which is not a parameter"));
}

TEST_CASE("check_module reports wrong names and state lost on save/load", "[modules]") {
  const auto r =
      check_module(simple_case("UnsavedState", [](Rng& rng) { return std::make_shared<UnsavedState>(rng); }));
  INFO(r.report());
  CHECK(has_failure(r, "state_dict", "names [W], expected PyTorch's [weight]"));
  CHECK(has_failure(r, "state_dict", "output differs from the saved one's"));
}

TEST_CASE("check_module reports mode dependence and per-step allocations", "[modules]") {
  ModuleCase dropout{.name = "Dropout without mode_dependent",
                     .make = [](Rng& rng) { return std::make_shared<Dropout>(0.5f, rng.next_u64()); },
                     .inputs = {example({4, 6}, 3)},
                     .forward = forward_with_fixed_mask};
  const auto r = check_module(dropout);
  INFO(r.report());
  CHECK(has_failure(r, "mode", "training and eval outputs differ"));

  ModuleCase softmax{.name = "Softmax declared mode_dependent",
                     .make = [](Rng&) { return std::make_shared<Softmax>(); },
                     .inputs = {example({4, 6}, 3)},
                     .mode_dependent = true};
  CHECK(has_failure(check_module(softmax), "mode", "training and eval outputs are equal"));

  const auto alloc =
      check_module(simple_case("AllocatesPerStep", [](Rng&) { return std::make_shared<AllocatesPerStep>(); }),
                   options_with_heap_counter());
  INFO(alloc.report());
  CHECK(has_failure(alloc, "memory", "5 heap allocations in 5 steady steps"));
  // Without a heap counter only bend's own caches are watched, and this module keeps to them.
  CHECK(check_module(simple_case("AllocatesPerStep", [](Rng&) {
          return std::make_shared<AllocatesPerStep>();
        })).ok());
}

TEST_CASE("check_module moves inputs off kinks and honours declared ones", "[modules]") {
  // Every element of the input sits on ReLU's kink; the check passes only if they are all moved.
  ModuleCase relu{.name = "ReLU at its kink",
                  .make = [](Rng&) { return std::make_shared<Activation>("relu"); },
                  .inputs = {Tensor::zeros({2, 3}).requires_grad_()}};
  relu.inputs[0].data()[0] = 1.0f;  // one element away from the kink keeps the gradient non-zero
  const auto r = check_module(relu);
  INFO(r.report());
  CHECK(r.ok());
  // A kink the check cannot steer around (every value within 100 of it is declared off limits).
  relu.kinks = {0.0f};
  relu.kink_margin = 100.0f;
  CHECK(has_failure(check_module(relu), "construction", "no smooth point found"));
}

}  // namespace BEND_UNITY_ID
