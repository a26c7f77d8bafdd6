#pragma once
// What the Trainer trains: a recipe that builds a model (nn::Module) from the run's initialisation
// stream, plus the metadata that describes it in saved files. The Trainer calls build() once; resume
// and --init-from then load weights into what it built, after checking that the file describes the same
// model (its metadata) and has the same tensor names and shapes (load_state_dict).
//
//   ModelSource::of(std::make_shared<Net>())      // a model you built (the Trainer takes it as it is)
//   ModelSource::from([](Rng& rng) { ... })        // a factory: initialised from --seed
//   model_source(ModelSpec::mlp({784, 256, 10}, "relu"), init::Scheme::Torch)  // an MLP
//   model_source(ModelSpec::parse("1x28x28-c6k5-p2-10", "relu"), init::Scheme::Torch)  // what `bend train`
//   builds
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bend/nn/init.hpp"
#include "bend/nn/model_spec.hpp"
#include "bend/nn/module.hpp"
#include "bend/rng.hpp"
#include "bend/train/checkpoint.hpp"

namespace bend::train {

struct ModelSource {
  std::function<std::shared_ptr<nn::Module>(Rng& init_rng)> build;
  // Written into saved models and checkpoints; a checkpoint whose description differs is refused on
  // resume. Keys start with "bend." ("bend.arch", "bend.act", "bend.model", ...).
  Metadata metadata;
  std::string description;  // for messages, e.g. "784-256-128-10 (relu,relu)"
  // Language models: the training and estimate loss of ids [B, T] against their next tokens (B·T ids).
  // Empty: the cross-entropy of the model's [B, T, vocab] output (gpt_source sets GPT::loss, which an
  // adaptive head needs).
  std::function<Tensor(nn::Module&, const Tensor&, std::span<const std::int32_t>)> text_loss;

  // A model that exists already. `name` goes into the metadata as "bend.model" (e.g. "Net").
  static ModelSource of(std::shared_ptr<nn::Module> model, std::string name = {});
  // A factory that initialises from the run's seed.
  static ModelSource from(std::function<std::shared_ptr<nn::Module>(Rng&)> factory, std::string name = {});
};

// Any model spec (`bend train --model/--arch --act --norm --dropout --init`): nn::build_model, described
// by the spec's metadata (bend.arch, bend.act, bend.norm, bend.dropout, bend.layers), so `bend eval`
// rebuilds it from the file alone.
ModelSource model_source(const nn::ModelSpec& spec, nn::init::Scheme scheme);

}  // namespace bend::train
