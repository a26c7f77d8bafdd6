#pragma once
// The importer's reading of a run of pointwise ONNX nodes (GELU as Div, Erf, Add, Mul, Mul; SiLU as
// Sigmoid, Mul; a lone Relu): the run is evaluated in double on probe points, every attribute honoured,
// and compared with each activation of bend's table. A run that equals none of them is refused, never
// approximated.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <onnx/onnx_pb.h>

#include "bend/activations.hpp"

namespace bend::onnx::detail {

// Ops the run may hold: elementwise on one tensor and scalar constants.
bool is_pointwise(std::string_view op);

struct PointwiseMatch {
  const ActivationInfo* activation = nullptr;  // the table's entry the run equals
  bool affine = false;                         // the run is scale * x + shift
  double scale = 0, shift = 0;
  std::optional<std::string> error;  // an op or attribute the evaluation does not take, named
};

// `run` reads `x` and scalars (`scalar_of` gives a constant's value, or nothing for another value).
PointwiseMatch match_pointwise(const std::vector<const ::onnx::NodeProto*>& run, const std::string& x,
                               const std::function<std::optional<double>(const std::string&)>& scalar_of);

}  // namespace bend::onnx::detail
