// Embedding, masked softmax, scaled dot-product attention, MultiheadAttention, TransformerEncoderLayer and
// TransformerEncoder: forward, input gradients and parameter gradients against numbers from real PyTorch
// 1.13 (scripts/torch_attention_reference.py, stored in torch_attention_reference.hpp), masks included;
// finite-difference checks; dropout on the attention weights; PyTorch's names and init; errors that name
// the layer and the shapes; no allocation in a steady attention step.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "allocation_counter.hpp"
#include "bend/bend.hpp"
#include "bend/packed_attention.hpp"
#include "reference_inputs.hpp"
#include "support.hpp"
#include "torch_attention_reference.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::nn;
using bend::testing::check_close;
using bend::testing::pattern;
using bend::testing::require_gradcheck;
using bend::testing::seed_for;
using Catch::Matchers::Contains;

namespace {

Tensor leaf(const Tensor& t) { return t.clone().requires_grad_(); }
// The k-th parameter in state_dict order, as the script's param_pattern.
void set_params(Module& m) {
  NoGradGuard no_grad;
  int k = 0;
  for (auto& [name, p] : m.named_parameters()) {
    p.copy_from(pattern(p.shape(), 0.1 + 0.07 * k, 0.3 * k, 0.5));
    ++k;
  }
}

// Float32 against PyTorch's float32: the summation orders differ. Tolerance |d| <= 2e-5 + 1e-4·|ref|.
void check_torch(const Tensor& actual, const std::vector<double>& expected) {
  check_close(actual, expected, 1e-4, 2e-5);
}
// Every parameter's gradient, and the names and order of the parameters, against PyTorch's.
void check_param_grads(Module& m,
                       const std::vector<std::pair<const char*, const std::vector<double>*>>& expected) {
  const NamedTensors params = m.named_parameters();
  REQUIRE(params.size() == expected.size());
  for (std::size_t k = 0; k < params.size(); ++k) {
    INFO("parameter " << params[k].first);
    CHECK(params[k].first == expected[k].first);
    REQUIRE(params[k].second.grad().defined());
    check_torch(params[k].second.grad(), *expected[k].second);
  }
}
constexpr float kInf = std::numeric_limits<float>::infinity();

}  // namespace

// --- ops ---

TEST_CASE("linear on N-d input acts on the last dimension", "[ops][linear][attention]") {
  Rng rng(3);
  Tensor w = bend::testing::random_tensor({4, 5}, rng);
  Tensor b = bend::testing::random_tensor({4}, rng);
  Tensor x = bend::testing::random_tensor({2, 3, 5}, rng);
  Tensor y = linear(x, w, b);
  REQUIRE(y.shape() == Shape{2, 3, 4});
  // The same as the rows [6, 5].
  Tensor rows = linear(x.detach().reshape({6, 5}), w.detach(), b.detach());
  const std::vector<float> row_values = rows.to_vector();
  check_close(y, std::vector<double>(row_values.begin(), row_values.end()), 0, 0);
  require_gradcheck([](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2]); }, {x, w, b});
  Tensor v = bend::testing::random_tensor({5}, rng);
  CHECK(linear(v, w, b).shape() == Shape{4});
  CHECK_THROWS_WITH(linear(Tensor::zeros({2, 3, 6}), w, b), Contains("[2, 3, 6]") && Contains("[4, 5]"));
}

TEST_CASE("embedding matches PyTorch, padding row gets no gradient", "[ops][embedding][attention]") {
  Tensor w = leaf(pattern({6, 3}, 0.7, 0.1));
  Tensor idx = Tensor::from({1, 5, 0, 2, 1, 1}, {2, 3});
  Tensor y = embedding(idx, w, 1);
  REQUIRE(y.shape() == Shape{2, 3, 3});
  y.backward(seed_for(y));
  check_torch(y, kTorch_embedding_y);
  check_torch(w.grad(), kTorch_embedding_dw);
  for (int j = 0; j < 3; ++j) CHECK(w.grad().at({1, j}) == 0.0f);  // padding row
  CHECK(w.grad().at({5, 0}) != 0.0f);
  // padding_idx = -5 is row 1, as in PyTorch.
  Tensor w2 = leaf(pattern({6, 3}, 0.7, 0.1));
  embedding(idx, w2, -5).sum().backward();
  CHECK(w2.grad().at({1, 0}) == 0.0f);
  // The padding row's gradient is zero by definition (not the derivative of the output, which reads the
  // row), so the finite differences are taken without padding_idx.
  require_gradcheck([&](const std::vector<Tensor>& t) { return embedding(idx, t[0]); },
                    {leaf(pattern({6, 3}, 0.7, 0.1))});
}

TEST_CASE("embedding rejects bad indices, naming the index", "[ops][embedding][attention]") {
  Tensor w = Tensor::zeros({4, 2});
  CHECK_THROWS_WITH(embedding(Tensor::from({0, 4}, {2}), w),
                    Contains("index 4 at position 1") && Contains("[0, 4)"));
  CHECK_THROWS_WITH(embedding(Tensor::from({-1}, {1}), w), Contains("index -1"));
  CHECK_THROWS_WITH(embedding(Tensor::from({1.5f}, {1}), w), Contains("index 1.5"));
  CHECK_THROWS_AS(embedding(Tensor::from({0}, {1}), w, 4), ValueError);
}

TEST_CASE("masked softmax matches PyTorch: additive, boolean and causal masks", "[ops][softmax][attention]") {
  const Tensor x0 = pattern({2, 3, 4}, 0.9, 0.3, 2.0);
  Tensor additive = pattern({3, 4}, 1.3, 0.2);
  additive.at({0, 1}) = -kInf;
  additive.at({2, 3}) = -kInf;
  const Tensor boolean = Tensor::from({1, 0, 0, 1, 0, 0, 1, 0}, {2, 1, 4});
  struct Case {
    AttentionMask mask;
    bool causal;
    const std::vector<double>&y, &dx;
  };
  const Case cases[] = {
      {{additive, MaskType::Additive}, false, kTorch_msoftmax_additive_y, kTorch_msoftmax_additive_dx},
      {{boolean, MaskType::Boolean}, false, kTorch_msoftmax_boolean_y, kTorch_msoftmax_boolean_dx},
      {{}, true, kTorch_msoftmax_causal_y, kTorch_msoftmax_causal_dx}};
  for (const Case& c : cases) {
    Tensor x = leaf(x0);
    Tensor y = masked_softmax(x, c.mask, c.causal);
    y.backward(seed_for(y));
    check_torch(y, c.y);
    check_torch(x.grad(), c.dx);
    require_gradcheck([&](const std::vector<Tensor>& t) { return masked_softmax(t[0], c.mask, c.causal); },
                      {leaf(x0)});
  }
  // A fully masked row is NaN, as in PyTorch.
  Tensor all = Tensor::ones({1, 3});
  CHECK(std::isnan(masked_softmax(Tensor::zeros({2, 3}), {all, MaskType::Boolean}).at({0, 0})));
  CHECK_THROWS_WITH(masked_softmax(x0, {Tensor::zeros({2, 4}), MaskType::Additive}),
                    Contains("mask [2, 4]") && Contains("[1, 2, 3, 4]"));
  CHECK_THROWS_WITH(masked_softmax(x0, {Tensor::full({3, 4}, 0.5f), MaskType::Boolean}),
                    Contains("only 0 and 1"));
}

TEST_CASE("scaled_dot_product_attention matches PyTorch's math, masks and causal included",
          "[ops][attention]") {
  const Tensor q0 = pattern({2, 2, 3, 4}, 0.41, 0.1), k0 = pattern({2, 2, 5, 4}, 0.53, 0.7),
               v0 = pattern({2, 2, 5, 3}, 0.67, 1.3);
  struct Case {
    AttentionOptions options;
    const std::vector<double>&y, &dq, &dk, &dv;
  };
  AttentionOptions none, additive, boolean, causal;
  additive.attn_mask = {pattern({3, 5}, 1.1, 0.4), MaskType::Additive};
  boolean.attn_mask = {Tensor::from({0, 0, 1, 0, 1, 1, 0, 0, 0, 0}, {2, 1, 1, 5}), MaskType::Boolean};
  causal.is_causal = true;
  const Case cases[] = {
      {none, kTorch_sdpa_none_y, kTorch_sdpa_none_dq, kTorch_sdpa_none_dk, kTorch_sdpa_none_dv},
      {additive, kTorch_sdpa_additive_y, kTorch_sdpa_additive_dq, kTorch_sdpa_additive_dk,
       kTorch_sdpa_additive_dv},
      {boolean, kTorch_sdpa_boolean_y, kTorch_sdpa_boolean_dq, kTorch_sdpa_boolean_dk,
       kTorch_sdpa_boolean_dv},
      {causal, kTorch_sdpa_causal_y, kTorch_sdpa_causal_dq, kTorch_sdpa_causal_dk, kTorch_sdpa_causal_dv}};
  for (const Case& c : cases) {
    Tensor q = leaf(q0), k = leaf(k0), v = leaf(v0);
    Tensor y = scaled_dot_product_attention(q, k, v, c.options);
    y.backward(seed_for(y));
    check_torch(y, c.y);
    check_torch(q.grad(), c.dq);
    check_torch(k.grad(), c.dk);
    check_torch(v.grad(), c.dv);
    require_gradcheck(
        [&](const std::vector<Tensor>& t) {
          return scaled_dot_product_attention(t[0], t[1], t[2], c.options);
        },
        {leaf(q0), leaf(k0), leaf(v0)});
  }
  // The same tensor as q, k and v: its gradient is the sum of the three.
  Tensor x = leaf(pattern({1, 2, 3, 4}, 0.41, 0.1));
  require_gradcheck(
      [](const std::vector<Tensor>& t) { return scaled_dot_product_attention(t[0], t[0], t[0]); }, {x});
  CHECK_THROWS_WITH(scaled_dot_product_attention(q0, k0, pattern({2, 2, 4, 3}, 1, 1)),
                    Contains("[2, 2, 3, 4]") && Contains("[2, 2, 5, 4]") && Contains("[2, 2, 4, 3]"));
  AttentionOptions bad;
  bad.attn_mask = {Tensor::zeros({3, 4}), MaskType::Additive};
  CHECK_THROWS_WITH(scaled_dot_product_attention(q0, k0, v0, bad),
                    Contains("attn_mask [3, 4]") && Contains("[2, 2, 3, 5]"));
}

TEST_CASE("attention dropout: seeded, inverted, train only, and its gradient is that of the dropped weights",
          "[ops][attention][dropout]") {
  const Tensor q0 = pattern({2, 3, 4, 4}, 0.41, 0.1), k0 = pattern({2, 3, 6, 4}, 0.53, 0.7),
               v0 = pattern({2, 3, 6, 5}, 0.67, 1.3);
  Rng rng(7);
  Tensor weights;
  AttentionOptions o;
  o.dropout_p = 0.4f;
  o.rng = &rng;
  o.weights = &weights;
  Tensor y = scaled_dot_product_attention(q0, k0, v0, o);
  // Weights are P ⊙ mask / (1 - p): about 40% zeros, the rest P / 0.6.
  Tensor plain_weights;
  AttentionOptions eval = o;
  eval.training = false;
  eval.weights = &plain_weights;
  Tensor y_eval = scaled_dot_product_attention(q0, k0, v0, eval);
  int zeros = 0;
  for (std::int64_t j = 0; j < weights.numel(); ++j) {
    if (weights.data()[j] == 0.0f)
      ++zeros;
    else
      CHECK(weights.data()[j] == Approx(plain_weights.data()[j] / 0.6f).epsilon(1e-6));
  }
  CHECK(zeros > weights.numel() / 4);
  CHECK(zeros < weights.numel() / 2 + weights.numel() / 10);
  CHECK(y.to_vector() != y_eval.to_vector());
  // The same seed gives the same result whatever the thread count.
  set_num_threads(1);
  rng.seed_with(7);
  Tensor y1 = scaled_dot_product_attention(q0, k0, v0, o);
  set_num_threads(0);
  rng.seed_with(7);
  Tensor y2 = scaled_dot_product_attention(q0, k0, v0, o);
  CHECK(y1.to_vector() == y2.to_vector());
  // With a fixed mask (the Rng reseeded each call) the gradient is the finite difference.
  require_gradcheck(
      [&](const std::vector<Tensor>& t) {
        rng.seed_with(9);
        AttentionOptions fixed = o;
        fixed.weights = nullptr;
        return scaled_dot_product_attention(t[0], t[1], t[2], fixed);
      },
      {leaf(q0), leaf(k0), leaf(v0)});
}

TEST_CASE("split_heads, merge_heads and select_first move heads and their gradients", "[ops][attention]") {
  const Tensor x = pattern({2, 3, 12}, 0.3, 0.1);  // [B, L, 3·H·d] with H = 2, d = 2
  Tensor heads = split_heads(x, 3, 2);
  REQUIRE(heads.shape() == Shape{3, 2, 2, 3, 2});
  // y[p, b, h, l, j] = x[b, l, (p·H + h)·d + j]
  CHECK(heads.at({2, 1, 0, 2, 1}) == x.at({1, 2, 4 * 2 + 1}));
  CHECK(merge_heads(select_first(split_heads(x, 1, 3), 0)).to_vector() == x.to_vector());
  CHECK(merge_heads(select_first(split_heads(x, 1, 3, true), 0), true).to_vector() == x.to_vector());
  require_gradcheck([](const std::vector<Tensor>& t) { return split_heads(t[0], 3, 2, true); }, {leaf(x)});
  require_gradcheck(
      [](const std::vector<Tensor>& t) { return select_first(split_heads(t[0], 3, 2), 1) * 2.0f; },
      {leaf(x)});
  require_gradcheck([](const std::vector<Tensor>& t) { return merge_heads(t[0]); },
                    {leaf(pattern({2, 3, 4, 2}, 0.3, 0.1))});
}

TEST_CASE("packed_self_attention equals split_heads, scaled_dot_product_attention and merge_heads",
          "[ops][attention]") {
  const Tensor x = pattern({2, 5, 24}, 0.4, 0.2);  // [B, L, 3·H·d] with H = 2, d = 4
  Tensor mask = Tensor::zeros({5, 5});
  mask.at({1, 3}) = -kInf;
  mask.at({4, 0}) = 0.5f;
  for (const bool causal : {false, true}) {
    INFO("causal " << causal);
    AttentionOptions o;
    o.is_causal = causal;
    o.attn_mask = {mask, MaskType::Additive};
    const Tensor a = leaf(x), b = leaf(x);
    const Tensor upstream = pattern({2, 5, 8}, 0.3, 0.7);
    const Tensor packed = packed_self_attention(a, 2, o);
    const Tensor heads = split_heads(b, 3, 2);
    const Tensor plain = merge_heads(scaled_dot_product_attention(
        select_first(heads, 0), select_first(heads, 1), select_first(heads, 2), o));
    REQUIRE(packed.shape() == Shape{2, 5, 8});
    check_close(packed, std::vector<double>(plain.span().begin(), plain.span().end()), 1e-6, 1e-7);
    ((packed * upstream).sum() + (plain * upstream).sum()).backward();  // one tape: a and b apart
    check_close(a.grad(), std::vector<double>(b.grad().span().begin(), b.grad().span().end()), 1e-6, 1e-7);
    require_gradcheck([&](const std::vector<Tensor>& t) { return packed_self_attention(t[0], 2, o); },
                      {leaf(x)});
  }
  CHECK_THROWS_WITH(packed_self_attention(x, 5), Contains("packed_self_attention") && Contains("[2, 5, 24]"));
}

// --- modules ---

TEST_CASE("Embedding: PyTorch's init, names and padding", "[nn][embedding][attention]") {
  Rng rng(1);
  Embedding e(1000, 8, 0, rng);
  CHECK(e.state_dict().size() == 1);
  CHECK(e.state_dict()[0].first == "weight");
  double sum = 0, squares = 0;
  for (const float v : e.weight.span()) sum += v, squares += static_cast<double>(v) * v;
  CHECK(std::abs(sum / 8000) < 0.05);
  CHECK(std::abs(squares / 8000 - 1.0) < 0.05);  // N(0, 1)
  for (int j = 0; j < 8; ++j) CHECK(e.weight.at({0, j}) == 0.0f);
  CHECK(e.describe() == "Embedding(1000, 8, padding_idx=0)");
  CHECK(Embedding(5, 2, -1).padding_idx() == 4);
  CHECK_THROWS_AS(Embedding(5, 2, 5), ValueError);
  CHECK(e.forward(Tensor::from({3, 0, 7, 7}, {2, 2})).shape() == Shape{2, 2, 8});
}

TEST_CASE("MultiheadAttention matches PyTorch: self-attention with masks, cross-attention, causal",
          "[nn][attention]") {
  SECTION("self-attention, additive attn_mask, boolean key_padding_mask, averaged weights") {
    MultiheadAttention m(8, 2);
    set_params(m);
    Tensor x = leaf(pattern({2, 3, 8}, 0.29, 0.6));
    AttentionCall call;
    call.attn_mask = {pattern({3, 3}, 1.7, 0.5, 0.5), MaskType::Additive};
    call.key_padding_mask = {Tensor::from({0, 0, 1, 0, 0, 0}, {2, 3}), MaskType::Boolean};
    auto [y, w] = m.forward(x, x, x, call);
    y.backward(seed_for(y));
    check_torch(y, kTorch_mha_self_y);
    check_torch(w, kTorch_mha_self_w);
    check_torch(x.grad(), kTorch_mha_self_dx);
    check_param_grads(m, kTorch_mha_self_param_grads);
  }
  SECTION("cross-attention, boolean [B·H, L, S] attn_mask, weights per head") {
    MultiheadAttention m(8, 2);
    set_params(m);
    Tensor q = leaf(pattern({2, 3, 8}, 0.29, 0.6)), k = leaf(pattern({2, 4, 8}, 0.37, 1.1)),
           v = leaf(pattern({2, 4, 8}, 0.43, 2.0));
    Tensor mask = Tensor::zeros({4, 3, 4});
    for (std::int64_t i = 0; i < mask.numel(); ++i) mask.data()[i] = (i * 7) % 5 == 0 ? 1.0f : 0.0f;
    AttentionCall call;
    call.attn_mask = {mask, MaskType::Boolean};
    call.average_attn_weights = false;
    auto [y, w] = m.forward(q, k, v, call);
    y.backward(seed_for(y));
    check_torch(y, kTorch_mha_cross_y);
    check_torch(w, kTorch_mha_cross_w);
    check_torch(q.grad(), kTorch_mha_cross_dq);
    check_torch(k.grad(), kTorch_mha_cross_dk);
    check_torch(v.grad(), kTorch_mha_cross_dv);
    check_param_grads(m, kTorch_mha_cross_param_grads);
  }
  SECTION("is_causal, bias=False, batch_first=False ([L, B, E])") {
    MultiheadAttention m(8, 2, 0.0f, false, false);
    set_params(m);
    Tensor x = leaf(pattern({3, 2, 8}, 0.29, 0.6));
    AttentionCall call;
    call.is_causal = true;
    call.need_weights = false;
    Tensor y = m.forward(x, x, x, call).output;
    y.backward(seed_for(y));
    check_torch(y, kTorch_mha_causal_y);
    check_torch(x.grad(), kTorch_mha_causal_dx);
    check_param_grads(m, kTorch_mha_causal_param_grads);
  }
}

TEST_CASE("MultiheadAttention: PyTorch's init and names, unbatched input, bad input named",
          "[nn][attention]") {
  Rng rng(2);
  MultiheadAttention m(64, 4, 0.0f, true, true, rng);
  const NamedTensors state = m.state_dict();
  REQUIRE(state.size() == 4);
  CHECK(state[0].first == "in_proj_weight");
  CHECK(state[1].first == "in_proj_bias");
  CHECK(state[2].first == "out_proj.weight");
  CHECK(state[3].first == "out_proj.bias");
  // xavier_uniform_ on [192, 64]: bound √(6 / 256); Linear's default on out_proj: bound 1/√64; zero biases.
  const float xavier = std::sqrt(6.0f / 256.0f);
  float in_max = 0, out_max = 0;
  for (const float v : m.in_proj_weight.span()) in_max = std::max(in_max, std::abs(v));
  for (const float v : m.out_proj->weight.span()) out_max = std::max(out_max, std::abs(v));
  CHECK(in_max <= xavier);
  CHECK(in_max > 0.95f * xavier);
  CHECK(out_max <= 0.125f);
  CHECK(out_max > 0.95f * 0.125f);
  for (const float v : m.in_proj_bias.span()) CHECK(v == 0.0f);
  for (const float v : m.out_proj->bias.span()) CHECK(v == 0.0f);
  // Unbatched [L, E] gives the batch of one.
  MultiheadAttention small(8, 2, 0.0f, true, true, rng);
  Tensor x = pattern({3, 8}, 0.29, 0.6);
  auto [y, w] = small.forward(x, x, x);
  auto [yb, wb] = small.forward(x.reshape({1, 3, 8}), x.reshape({1, 3, 8}), x.reshape({1, 3, 8}));
  CHECK(y.shape() == Shape{3, 8});
  CHECK(w.shape() == Shape{3, 3});
  check_close(y, std::vector<double>(yb.span().begin(), yb.span().end()), 1e-6, 1e-7);
  // Errors name the layer and the shapes.
  CHECK_THROWS_WITH(MultiheadAttention(10, 3),
                    Contains("embed_dim=10, num_heads=3") && Contains("divisible"));
  AttentionCall bad;
  bad.attn_mask = {Tensor::zeros({3, 4}), MaskType::Additive};
  Tensor xb = pattern({2, 3, 8}, 0.29, 0.6);
  CHECK_THROWS_WITH(small.forward(xb, xb, xb, bad),
                    Contains("MultiheadAttention(embed_dim=8, num_heads=2)") &&
                        Contains("attn_mask [3, 4]") && Contains("[3, 3]") && Contains("[4, 3, 3]"));
  AttentionCall bad_kpm;
  bad_kpm.key_padding_mask = {Tensor::zeros({3, 2}), MaskType::Boolean};
  CHECK_THROWS_WITH(small.forward(xb, xb, xb, bad_kpm),
                    Contains("key_padding_mask [3, 2]") && Contains("expected [2, 3]"));
  CHECK_THROWS_WITH(small(pattern({2, 3, 6}, 1, 1)), Contains("[2, 3, 6]") && Contains("E = 8"));
}

TEST_CASE("TransformerEncoderLayer matches PyTorch: post-norm relu with masks, pre-norm gelu causal, swiglu",
          "[nn][attention][transformer]") {
  const Tensor kpm = Tensor::from({0, 0, 1, 0, 0, 0}, {2, 3});
  struct Case {
    TransformerEncoderLayerConfig config;
    EncoderMasks masks;
    const std::vector<double>&y, &dx;
    const std::vector<std::pair<const char*, const std::vector<double>*>>& grads;
  };
  const Case cases[] = {
      {{8, 2, 16, 0.0f, "relu", 1e-5f, true, false},
       {{pattern({3, 3}, 1.7, 0.5, 0.5), MaskType::Additive}, {kpm, MaskType::Boolean}, false},
       kTorch_enc_relu_y,
       kTorch_enc_relu_dx,
       kTorch_enc_relu_param_grads},
      {{8, 2, 16, 0.0f, "gelu", 1e-5f, true, true},
       {{}, {}, true},
       kTorch_enc_gelu_norm_first_y,
       kTorch_enc_gelu_norm_first_dx,
       kTorch_enc_gelu_norm_first_param_grads},
      {{8, 2, 16, 0.0f, "swiglu", 1e-5f, true, false},
       {{}, {kpm, MaskType::Boolean}, false},
       kTorch_enc_swiglu_y,
       kTorch_enc_swiglu_dx,
       kTorch_enc_swiglu_param_grads},
  };
  for (const Case& c : cases) {
    INFO("activation " << c.config.activation);
    Rng rng(4);
    TransformerEncoderLayer layer(c.config, rng);
    set_params(layer);
    Tensor x = leaf(pattern({2, 3, 8}, 0.29, 0.6));
    Tensor y = layer.forward(x, c.masks);
    y.backward(seed_for(y));
    check_torch(y, c.y);
    check_torch(x.grad(), c.dx);
    check_param_grads(layer, c.grads);
  }
}

TEST_CASE("TransformerEncoderLayer: defaults, names, activations from the table, bad input",
          "[nn][attention][transformer]") {
  TransformerEncoderLayer layer(16, 4);
  const auto& c = layer.config();
  CHECK(c.dim_feedforward == 2048);
  CHECK(c.dropout == 0.1f);
  CHECK(c.activation == "relu");
  CHECK(c.layer_norm_eps == 1e-5f);
  CHECK(c.batch_first);
  CHECK_FALSE(c.norm_first);
  std::vector<std::string> names;
  for (const auto& [name, t] : layer.state_dict()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"self_attn.in_proj_weight", "self_attn.in_proj_bias",
                                          "self_attn.out_proj.weight", "self_attn.out_proj.bias",
                                          "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
                                          "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"});
  CHECK(TransformerEncoderLayer(8, 2, 16, 0.1f, "swiglu").linear1->weight.shape() == Shape{32, 8});
  // Every entry of the activation table builds and runs; a learnable one adds its parameter.
  Tensor x = pattern({2, 3, 8}, 0.29, 0.6);
  for (const ActivationInfo& info : activation_table()) {
    TransformerEncoderLayer l(8, 2, 16, 0.0f, std::string(info.name));
    CHECK(l.forward(x).shape() == Shape{2, 3, 8});
    CHECK(l.state_dict().size() == (info.learnable ? 13u : 12u));
  }
  CHECK_THROWS_WITH(TransformerEncoderLayer(8, 3), Contains("d_model=8, nhead=3") && Contains("divisible"));
  CHECK_THROWS_AS(TransformerEncoderLayer(8, 2, 16, 0.1f, "nope"), ValueError);
  CHECK_THROWS_WITH(layer(pattern({2, 3, 8}, 1, 1)), Contains("d_model=16") && Contains("[2, 3, 8]"));
  EncoderMasks bad;
  bad.src_key_padding_mask = {Tensor::zeros({2, 4}), MaskType::Boolean};
  CHECK_THROWS_WITH(
      layer.forward(pattern({2, 3, 16}, 1, 1), bad),
      Contains("MultiheadAttention(embed_dim=16, num_heads=4)") && Contains("key_padding_mask [2, 4]"));
}

TEST_CASE("TransformerEncoder matches PyTorch; its layers start as copies of the given layer",
          "[nn][attention][transformer]") {
  TransformerEncoderLayer layer(8, 2, 16, 0.0f);
  TransformerEncoder encoder(layer, 2, std::make_shared<LayerNorm>(8));
  const NamedTensors state = encoder.state_dict();
  CHECK(state.front().first == "layers.0.self_attn.in_proj_weight");
  CHECK(state[12].first == "layers.1.self_attn.in_proj_weight");
  CHECK(state.back().first == "norm.bias");
  CHECK(state.size() == 26);
  CHECK(state[0].second.to_vector() == state[12].second.to_vector());
  CHECK(state[0].second.to_vector() == layer.self_attn->in_proj_weight.to_vector());
  CHECK_FALSE(state[0].second.same_as(state[12].second));

  set_params(encoder);
  Tensor x = leaf(pattern({2, 3, 8}, 0.29, 0.6));
  EncoderMasks masks;
  masks.src_key_padding_mask = {Tensor::from({0, 0, 1, 0, 0, 0}, {2, 3}), MaskType::Boolean};
  Tensor y = encoder.forward(x, masks);
  y.backward(seed_for(y));
  check_torch(y, kTorch_encoder_y);
  check_torch(x.grad(), kTorch_encoder_dx);
  std::map<std::string, Tensor> params;
  for (const auto& [name, p] : encoder.named_parameters()) params[name] = p;
  check_torch(params["layers.0.self_attn.in_proj_weight"].grad(),
              kTorch_encoder_d_layers_0_self_attn_in_proj_weight);
  check_torch(params["layers.1.linear2.weight"].grad(), kTorch_encoder_d_layers_1_linear2_weight);
  check_torch(params["norm.weight"].grad(), kTorch_encoder_d_norm_weight);
}

TEST_CASE("a steady transformer training step makes no heap allocation", "[attention][memory]") {
  Rng rng(8);
  TransformerEncoderLayer layer({16, 4, 32, 0.1f, "gelu", 1e-5f, true, true}, rng);
  Tensor x = Tensor::uniform({4, 5, 16}, -1, 1, rng);
  EncoderMasks masks;
  masks.src_key_padding_mask = {
      Tensor::from({0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, {4, 5}), MaskType::Boolean};
  masks.src_mask = {Tensor::zeros({5, 5}), MaskType::Additive};
  auto step = [&] {
    layer.zero_grad();
    Tensor loss = mean(layer.forward(x, masks) * layer.forward(x, masks));
    loss.backward();
  };
  for (int i = 0; i < 3; ++i) step();
  const MemoryStats before = memory_stats();
  const std::uint64_t heap_before = bend::testing::heap_allocations();
  for (int i = 0; i < 5; ++i) step();
  CHECK(bend::testing::heap_allocations() - heap_before == 0);
  CHECK(memory_stats().buffers_created == before.buffers_created);
  CHECK(memory_stats().objects_created == before.objects_created);
}

}  // namespace BEND_UNITY_ID
