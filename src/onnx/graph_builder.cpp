#include "graph_builder.hpp"

#include <fmt/format.h>

namespace bend::onnx::detail {

std::string GraphBuilder::initializer(const std::string& name, std::span<const float> values,
                                      const std::vector<std::int64_t>& dims) {
  pb::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(pb::TensorProto::FLOAT);
  for (std::int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size_bytes()));
  return name;
}

std::string GraphBuilder::int64_initializer(const std::string& name,
                                            const std::vector<std::int64_t>& values) {
  pb::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(pb::TensorProto::INT64);
  t->add_dims(static_cast<std::int64_t>(values.size()));
  for (std::int64_t v : values) t->add_int64_data(v);
  return name;
}

std::string GraphBuilder::int64_scalar(const std::string& name, std::int64_t value) {
  pb::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(pb::TensorProto::INT64);
  t->add_int64_data(value);
  return name;
}

std::string GraphBuilder::scalar(float value) {
  if (const auto it = scalars_.find(value); it != scalars_.end()) return it->second;
  const std::string name = fmt::format("const_{}", scalars_.size());
  pb::TensorProto* t = graph_.add_initializer();
  t->set_name(name);
  t->set_data_type(pb::TensorProto::FLOAT);
  t->add_float_data(value);
  scalars_.emplace(value, name);
  return name;
}

pb::NodeProto& GraphBuilder::node(std::string_view scope, std::string_view op,
                                  std::initializer_list<std::string> inputs, int outputs) {
  return node(scope, op, std::vector<std::string>(inputs), outputs);
}

pb::NodeProto& GraphBuilder::node(std::string_view scope, std::string_view op,
                                  const std::vector<std::string>& inputs, int outputs) {
  pb::NodeProto* n = graph_.add_node();
  const std::string name = fmt::format("/{}/{}_{}", scope, op, counter_++);
  n->set_name(name);
  n->set_op_type(std::string(op));
  for (const std::string& in : inputs) n->add_input(in);
  for (int i = 0; i < outputs; ++i)
    n->add_output(outputs == 1 ? name + "_output" : fmt::format("{}_output_{}", name, i));
  return *n;
}

std::string GraphBuilder::op(std::string_view scope, std::string_view op,
                             std::initializer_list<std::string> inputs) {
  return node(scope, op, inputs).output(0);
}

void set_attribute(pb::NodeProto& node, const std::string& name, std::int64_t value) {
  pb::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INT);
  a->set_i(value);
}

void set_attribute(pb::NodeProto& node, const std::string& name, float value) {
  pb::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::FLOAT);
  a->set_f(value);
}

void set_attribute(pb::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values) {
  pb::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(pb::AttributeProto::INTS);
  for (std::int64_t v : values) a->add_ints(v);
}

}  // namespace bend::onnx::detail
