#pragma once
// Building an ONNX GraphProto node by node, for the exporter: fresh value names, initializers from bend
// tensors, scalar constants (one initializer per value) and attributes.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

namespace bend::onnx::detail {

namespace pb = ::onnx;

class GraphBuilder {
 public:
  explicit GraphBuilder(pb::GraphProto& graph) : graph_(graph) {}

  // A float initializer `name` of shape `dims` holding `values`; returns its name.
  std::string initializer(const std::string& name, std::span<const float> values,
                          const std::vector<std::int64_t>& dims);
  std::string int64_initializer(const std::string& name, const std::vector<std::int64_t>& values);
  // A 0-d int64 initializer `name` holding `value` (Range's bounds are scalars).
  std::string int64_scalar(const std::string& name, std::int64_t value);
  // A 0-d float initializer holding `value`, shared by every use of that value.
  std::string scalar(float value);

  // Appends node `op` (named "<scope>/<op>_<n>") with `inputs`, one output; returns the output's name.
  std::string op(std::string_view scope, std::string_view op, std::initializer_list<std::string> inputs);
  // The same, returning the node to set attributes on; its output is node.output(0).
  pb::NodeProto& node(std::string_view scope, std::string_view op, std::initializer_list<std::string> inputs,
                      int outputs = 1);
  // The same with a list of inputs built at run time (Concat's pieces).
  pb::NodeProto& node(std::string_view scope, std::string_view op, const std::vector<std::string>& inputs,
                      int outputs = 1);

 private:
  pb::GraphProto& graph_;
  std::map<float, std::string> scalars_;
  int counter_ = 0;
};

void set_attribute(pb::NodeProto& node, const std::string& name, std::int64_t value);
void set_attribute(pb::NodeProto& node, const std::string& name, float value);
void set_attribute(pb::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& values);

}  // namespace bend::onnx::detail
