// GPT: nanoGPT's model (token and position embeddings, pre-norm causal blocks, final LayerNorm, tied
// head) and sample.py's generation.
#include "bend/nn/gpt.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "bend/activations.hpp"
#include "bend/autograd.hpp"
#include "bend/error.hpp"
#include "bend/nn/adaptive_softmax.hpp"
#include "bend/nn/dropout.hpp"
#include "bend/ops.hpp"
#include "bend/packed_attention.hpp"

namespace bend::nn {

void GPTConfig::validate() const {
  const auto positive = [](std::int64_t v, const char* name) {
    if (v < 1) throw ValueError(fmt::format("GPT: {} must be positive, got {}", name, v));
  };
  positive(block_size, "block_size (--block-size)");
  positive(vocab_size, "vocab_size");
  positive(n_layer, "n_layer (--n-layer)");
  positive(n_head, "n_head (--n-head)");
  positive(n_embd, "n_embd (--n-embd)");
  if (n_embd % n_head != 0)
    throw ValueError(fmt::format("GPT: --n-embd {} must be divisible by --n-head {}", n_embd, n_head));
  if (!(dropout >= 0.0f && dropout < 1.0f))
    throw ValueError(fmt::format("GPT: --dropout must be in [0, 1), got {}", dropout));
  if (activation != "swiglu") bend::activation(activation);  // ValueError listing the names
  if (head != "full" && head != "adaptive")
    throw ValueError(fmt::format("GPT: --head must be full or adaptive, got '{}'", head));
  if (head == "full" && !cutoffs.empty())
    throw ValueError("GPT: --cutoffs split an adaptive head: give --head adaptive with them");
  if (head == "adaptive") {
    bool ok = !cutoffs.empty();
    for (std::size_t i = 0; i < cutoffs.size(); ++i)
      ok = ok && cutoffs[i] >= 1 && cutoffs[i] < vocab_size && (i == 0 || cutoffs[i] > cutoffs[i - 1]);
    if (!ok)
      throw ValueError(fmt::format(
          "GPT: --cutoffs {} must be strictly increasing whole numbers between 1 and the vocabulary size "
          "- 1 = {} (the first is the shortlist's size)",
          cutoffs.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(cutoffs, ",")),
          vocab_size - 1));
    if (!(div_value > 0.0) || !std::isfinite(div_value))
      throw ValueError(fmt::format("GPT: div_value must be positive, got {}", div_value));
  }
}

// The parts (a named namespace: GPT::Parts holds them).
namespace gpt_detail {

// nn.Linear as nanoGPT initialises it: weight N(0, std), bias zeros (or none).
class GptLinear : public Module {
 public:
  GptLinear(std::int64_t in, std::int64_t out, bool bias, float std, Rng& rng) : in_(in), out_(out) {
    weight = register_parameter("weight", Tensor::normal(Shape{out, in}, 0.0f, std, rng));
    if (bias) this->bias = register_parameter("bias", Tensor::zeros(Shape{out}));
  }
  // A head whose weight is `tied` (lm_head: transformer.wte.weight itself).
  explicit GptLinear(Tensor tied) : in_(tied.size(1)), out_(tied.size(0)) {
    weight = register_parameter("weight", std::move(tied));
  }
  Tensor forward(const Tensor& x) override { return linear(x, weight, bias); }
  std::string type_name() const override { return "Linear"; }
  std::string describe() const override {
    return fmt::format("Linear(in_features={}, out_features={}, bias={})", in_, out_,
                       bias.defined() ? "True" : "False");
  }
  Tensor weight, bias;

 private:
  std::int64_t in_, out_;
};

// nanoGPT's LayerNorm: weight ones, bias zeros unless bias=False (torch 1.13's nn.LayerNorm cannot drop it).
class GptLayerNorm : public Module {
 public:
  GptLayerNorm(std::int64_t n, bool bias) : n_(n) {
    weight = register_parameter("weight", Tensor::ones(Shape{n}));
    if (bias) this->bias = register_parameter("bias", Tensor::zeros(Shape{n}));
  }
  Tensor forward(const Tensor& x) override {
    const std::int64_t shape[1] = {n_};
    return layer_norm(x, shape, weight, bias, 1e-5f);
  }
  std::string type_name() const override { return "LayerNorm"; }
  std::string describe() const override {
    return fmt::format("LayerNorm(({},), bias={})", n_, bias.defined() ? "True" : "False");
  }
  Tensor weight, bias;

 private:
  std::int64_t n_;
};

class GptEmbedding : public Module {
 public:
  GptEmbedding(std::int64_t n, std::int64_t d, Rng& rng) {
    weight = register_parameter("weight", Tensor::normal(Shape{n, d}, 0.0f, 0.02f, rng));
  }
  Tensor forward(const Tensor& idx) override { return embedding(idx, weight); }
  std::string type_name() const override { return "Embedding"; }
  std::string describe() const override {
    return fmt::format("Embedding({}, {})", weight.size(0), weight.size(1));
  }
  Tensor weight;
};

// A named group of modules (nn.ModuleDict / nn.ModuleList): holds names, not a forward.
class Container : public Module {
 public:
  explicit Container(std::string name) : name_(std::move(name)) {}
  template <class M>
  std::shared_ptr<M> add(std::string name, std::shared_ptr<M> child) {
    return register_module(std::move(name), std::move(child));
  }
  Tensor forward(const Tensor&) override {
    throw ValueError(fmt::format("{} holds modules and has no forward of its own", name_));
  }
  std::string type_name() const override { return name_; }

 private:
  std::string name_;
};

class CausalSelfAttention : public Module {
 public:
  CausalSelfAttention(const GPTConfig& c, Rng& rng) : n_head_(c.n_head), dropout_(c.dropout) {
    const float proj_std = 0.02f / std::sqrt(2.0f * static_cast<float>(c.n_layer));
    c_attn_ =
        register_module("c_attn", std::make_shared<GptLinear>(c.n_embd, 3 * c.n_embd, c.bias, 0.02f, rng));
    c_proj_ =
        register_module("c_proj", std::make_shared<GptLinear>(c.n_embd, c.n_embd, c.bias, proj_std, rng));
    attn_dropout_ = register_module("attn_dropout", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
    resid_dropout_ = register_module("resid_dropout", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  }
  Tensor forward(const Tensor& x) override {
    AttentionOptions o;
    o.is_causal = true;
    o.training = is_training();
    o.dropout_p = dropout_;
    o.rng = &attn_dropout_->rng();
    const Tensor y = packed_self_attention(c_attn_->forward(x), n_head_, o);  // [B, T, C], heads merged
    return resid_dropout_->forward(c_proj_->forward(y));
  }
  std::string type_name() const override { return "CausalSelfAttention"; }

 private:
  std::int64_t n_head_;
  float dropout_;
  std::shared_ptr<GptLinear> c_attn_, c_proj_;
  std::shared_ptr<Dropout> attn_dropout_, resid_dropout_;
};

class Mlp : public Module {
 public:
  Mlp(const GPTConfig& c, Rng& rng, std::shared_ptr<const GPT::MlpProbe> probe, std::int64_t index)
      : hidden_(4 * c.n_embd),
        gated_(c.activation == "swiglu"),
        act_(&bend::activation(gated_ ? "silu" : c.activation)),
        probe_(std::move(probe)),
        index_(index) {
    const float proj_std = 0.02f / std::sqrt(2.0f * static_cast<float>(c.n_layer));
    c_fc_ = register_module(
        "c_fc", std::make_shared<GptLinear>(c.n_embd, (gated_ ? 2 : 1) * hidden_, c.bias, 0.02f, rng));
    c_proj_ =
        register_module("c_proj", std::make_shared<GptLinear>(hidden_, c.n_embd, c.bias, proj_std, rng));
    dropout_ = register_module("dropout", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = c_fc_->forward(x);
    if (*probe_) {  // diagnostics: the activation's input and output
      const Tensor pre = gated_ ? narrow(h, -1, 0, hidden_) : h;
      (*probe_)(index_, pre, activate(pre, *act_));
    }
    if (gated_)
      h = mul(activate(narrow(h, -1, 0, hidden_), *act_), narrow(h, -1, hidden_, hidden_));
    else
      h = activate(h, *act_);
    return dropout_->forward(c_proj_->forward(h));
  }
  std::string type_name() const override { return "MLP"; }

 private:
  std::int64_t hidden_;
  bool gated_;
  const ActivationInfo* act_;
  std::shared_ptr<const GPT::MlpProbe> probe_;
  std::int64_t index_;
  std::shared_ptr<GptLinear> c_fc_, c_proj_;
  std::shared_ptr<Dropout> dropout_;
};

class Block : public Module {
 public:
  Block(const GPTConfig& c, Rng& rng, std::shared_ptr<const GPT::MlpProbe> probe, std::int64_t index) {
    ln_1_ = register_module("ln_1", std::make_shared<GptLayerNorm>(c.n_embd, c.bias));
    attn_ = register_module("attn", std::make_shared<CausalSelfAttention>(c, rng));
    ln_2_ = register_module("ln_2", std::make_shared<GptLayerNorm>(c.n_embd, c.bias));
    mlp_ = register_module("mlp", std::make_shared<Mlp>(c, rng, std::move(probe), index));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor h = add(x, attn_->forward(ln_1_->forward(x)));
    return add(h, mlp_->forward(ln_2_->forward(h)));
  }
  std::string type_name() const override { return "Block"; }

 private:
  std::shared_ptr<GptLayerNorm> ln_1_, ln_2_;
  std::shared_ptr<CausalSelfAttention> attn_;
  std::shared_ptr<Mlp> mlp_;
};

}  // namespace gpt_detail

using namespace gpt_detail;

struct GPT::Parts {
  std::shared_ptr<GptEmbedding> wte, wpe;
  std::shared_ptr<Dropout> drop;
  std::vector<std::shared_ptr<Block>> h;
  std::shared_ptr<GptLayerNorm> ln_f;
  std::shared_ptr<AdaptiveLogSoftmaxWithLoss> adaptive;  // head "adaptive" only
  std::shared_ptr<GPT::MlpProbe> mlp_probe = std::make_shared<GPT::MlpProbe>();  // shared with the MLPs
};

GPT::GPT(const GPTConfig& config, Rng& rng) : config_(config), parts_(std::make_shared<Parts>()) {
  config_.validate();
  const GPTConfig& c = config_;
  auto transformer = register_module("transformer", std::make_shared<Container>("ModuleDict"));
  parts_->wte = transformer->add("wte", std::make_shared<GptEmbedding>(c.vocab_size, c.n_embd, rng));
  parts_->wpe = transformer->add("wpe", std::make_shared<GptEmbedding>(c.block_size, c.n_embd, rng));
  parts_->drop = transformer->add("drop", std::make_shared<Dropout>(c.dropout, rng.next_u64()));
  auto h = transformer->add("h", std::make_shared<Container>("ModuleList"));
  for (std::int64_t i = 0; i < c.n_layer; ++i)
    parts_->h.push_back(h->add(std::to_string(i), std::make_shared<Block>(c, rng, parts_->mlp_probe, i)));
  parts_->ln_f = transformer->add("ln_f", std::make_shared<GptLayerNorm>(c.n_embd, c.bias));
  if (c.head == "adaptive") {
    // PyTorch's module, then nanoGPT's _init_weights over its Linears (N(0, 0.02), as self.apply does).
    Rng layout(rng.next_u64());
    parts_->adaptive = std::make_shared<AdaptiveLogSoftmaxWithLoss>(c.n_embd, c.vocab_size, c.cutoffs,
                                                                    c.div_value, false, layout);
    for (Tensor& p : parts_->adaptive->parameters())
      if (p.numel() > 0) p.copy_from(Tensor::normal(p.shape(), 0.0f, 0.02f, rng));
    register_module("lm_head", parts_->adaptive);
  } else {
    register_module("lm_head", std::make_shared<GptLinear>(parts_->wte->weight));
  }
}

Tensor GPT::hidden(const Tensor& idx) {
  if (idx.ndim() != 2)
    throw ShapeError(fmt::format("GPT: expected token ids [batch, time], got {}", idx.shape().str()));
  const std::int64_t t = idx.size(1);
  if (t < 1 || t > config_.block_size)
    throw ShapeError(fmt::format("GPT: cannot forward a sequence of length {}, block size is only {}", t,
                                 config_.block_size));
  const Tensor tok = parts_->wte->forward(idx);             // [B, T, C]
  const Tensor pos = narrow(parts_->wpe->weight, 0, 0, t);  // [T, C]
  Tensor x = parts_->drop->forward(add(tok, pos));
  for (const auto& block : parts_->h) x = block->forward(x);
  return parts_->ln_f->forward(x);
}

Tensor GPT::forward(const Tensor& idx) {
  const Tensor x = hidden(idx);
  if (!parts_->adaptive) return linear(x, parts_->wte->weight);  // lm_head, tied
  const std::int64_t b = x.size(0), t = x.size(1);
  return reshape(parts_->adaptive->log_prob(reshape(x, {b * t, config_.n_embd})), {b, t, config_.vocab_size});
}

Tensor GPT::loss(const Tensor& idx, std::span<const std::int32_t> targets) {
  if (!parts_->adaptive) return cross_entropy(reshape(forward(idx), {-1, config_.vocab_size}), targets);
  const Tensor x = hidden(idx);
  return parts_->adaptive->forward(reshape(x, {-1, config_.n_embd}), targets).loss;
}

std::string GPT::describe() const {
  const GPTConfig& c = config_;
  return fmt::format(
      "GPT(n_layer={}, n_head={}, n_embd={}, block_size={}, vocab_size={}, bias={}, dropout={:g}, act={}{})",
      c.n_layer, c.n_head, c.n_embd, c.block_size, c.vocab_size, c.bias ? "True" : "False", c.dropout,
      c.activation,
      c.head == "adaptive" ? fmt::format(", head=adaptive, cutoffs=[{}], div_value={:g}",
                                         fmt::join(c.cutoffs, ", "), c.div_value)
                           : std::string());
}

std::int64_t GPT::num_non_embedding_parameters() const {
  return num_parameters() - parts_->wpe->weight.numel();
}

std::vector<bool> GPT::decay_mask() const {
  std::vector<bool> out;
  for (const Tensor& p : parameters()) out.push_back(p.ndim() >= 2);
  return out;
}

void GPT::set_mlp_probe(MlpProbe probe) { *parts_->mlp_probe = std::move(probe); }

void generate(GPT& model, std::vector<std::int32_t>& ids, std::int64_t tokens, float temperature,
              std::optional<std::int64_t> top_k, Rng& rng,
              const std::function<void(std::int32_t)>& on_token) {
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    throw ValueError(fmt::format("generate: --temperature must be positive, got {}", temperature));
  if (top_k && *top_k < 1)
    throw ValueError(fmt::format("generate: --top-k must be positive, got {}", *top_k));
  if (ids.empty()) throw ValueError("generate: the prompt is empty (sample.py starts from \"\\n\")");
  NoGradGuard no_grad;
  model.eval();
  const std::int64_t vocab = model.config().vocab_size, block = model.config().block_size;
  std::vector<double> p(static_cast<std::size_t>(vocab));
  std::vector<float> sorted;
  for (std::int64_t n = 0; n < tokens; ++n) {
    const auto len = static_cast<std::int64_t>(ids.size());
    const std::int64_t t = std::min(len, block);
    Tensor context = Tensor::empty(Shape{1, t});
    for (std::int64_t i = 0; i < t; ++i)
      context.data()[i] = static_cast<float>(ids[static_cast<std::size_t>(len - t + i)]);
    const Tensor logits = model.forward(context);
    const float* last = logits.data() + (t - 1) * vocab;
    // logits / temperature; below the k-th largest -> -inf; softmax; one multinomial draw.
    std::vector<float> scaled(last, last + vocab);
    for (float& v : scaled) v /= temperature;
    float cut = -std::numeric_limits<float>::infinity();
    if (top_k && *top_k < vocab) {
      sorted = scaled;
      std::nth_element(sorted.begin(), sorted.begin() + (*top_k - 1), sorted.end(), std::greater<float>());
      cut = sorted[static_cast<std::size_t>(*top_k - 1)];
    }
    const float max = *std::max_element(scaled.begin(), scaled.end());
    double total = 0;
    for (std::int64_t j = 0; j < vocab; ++j) {
      const float v = scaled[static_cast<std::size_t>(j)];
      p[static_cast<std::size_t>(j)] = v < cut ? 0.0 : std::exp(static_cast<double>(v) - max);
      total += p[static_cast<std::size_t>(j)];
    }
    const double u = static_cast<double>(rng.next_u64() >> 11) * 0x1.0p-53 * total;
    std::int64_t next = vocab - 1;
    double acc = 0;
    for (std::int64_t j = 0; j < vocab; ++j) {
      acc += p[static_cast<std::size_t>(j)];
      if (u < acc && p[static_cast<std::size_t>(j)] > 0) {
        next = j;
        break;
      }
    }
    while (p[static_cast<std::size_t>(next)] == 0 && next > 0) --next;  // rounding at the very end
    ids.push_back(static_cast<std::int32_t>(next));
    if (on_token) on_token(static_cast<std::int32_t>(next));
  }
}

}  // namespace bend::nn
