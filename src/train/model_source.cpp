// Model sources for the Trainer (see bend/train/model_source.hpp).
#include "bend/train/model_source.hpp"

#include <fmt/format.h>

#include "bend/error.hpp"

namespace bend::train {

ModelSource ModelSource::of(std::shared_ptr<nn::Module> model, std::string name) {
  if (!model) throw ValueError("ModelSource::of: the model is null");
  ModelSource s;
  s.description = name.empty() ? model->type_name() : name;
  if (!name.empty()) s.metadata["bend.model"] = name;
  s.build = [model = std::move(model)](Rng&) { return model; };
  return s;
}

ModelSource ModelSource::from(std::function<std::shared_ptr<nn::Module>(Rng&)> factory, std::string name) {
  if (!factory) throw ValueError("ModelSource::from: the factory is empty");
  ModelSource s;
  s.description = name.empty() ? "model" : name;
  if (!name.empty()) s.metadata["bend.model"] = name;
  s.build = std::move(factory);
  return s;
}

ModelSource model_source(const nn::ModelSpec& spec, nn::init::Scheme scheme) {
  ModelSource s;
  s.metadata = spec.to_metadata();
  s.description = fmt::format("{} ({}{})", spec.arch_string(), spec.act_string(),
                              spec.norm == "none" ? "" : ", norm " + spec.norm);
  s.build = [spec, scheme](Rng& rng) {
    return std::make_shared<nn::Sequential>(nn::build_model(spec, scheme, rng));
  };
  return s;
}

}  // namespace bend::train
