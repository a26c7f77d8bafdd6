#pragma once
// gradcheck: compares the tape's gradients of a function with central finite differences.
//
// For f: inputs -> output, bend forms the scalar L = Σ u ⊙ f(inputs) with a random weighting u (so
// every output element matters), runs backward once, and for each input x_k that requires grad and
// each of `directions` random unit directions v compares
//     analytic  = <dL/dx_k, v>
//     numerical = (L(x_k + εv) - L(x_k - εv)) / 2ε       (L evaluated in double from float outputs)
// and passes when |analytic - numerical| <= atol + rtol · max(|analytic|, |numerical|). Checking one
// input at a time means a wrong gradient for one input cannot hide behind another's.
//
// Float32 finite differences carry an error of roughly ε²·|f'''| + |f|·1e-7/ε, so the defaults
// (ε = 1e-2 relative to each input's scale, rtol = 1e-2, atol = 1e-3) suit smooth functions of O(1)
// values. Keep inputs away from kinks (ReLU at 0, clamp edges) by at least ε.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bend/tensor.hpp"

namespace bend {

struct GradcheckOptions {
  double eps = 1e-2;
  double rtol = 1e-2;
  double atol = 1e-3;
  int directions = 3;
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // the first failure, with input index, direction and both values
  double max_abs_error = 0.0;
  double min_analytic_norm = 0.0;  // smallest |dL/dx_k| over the checked inputs: 0 means "proved nothing"
  explicit operator bool() const { return ok; }
};

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

// The inputs are used as given (their values are restored afterwards); those with requires_grad are
// checked. Their .grad is left as it was.
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          GradcheckOptions options = {});

}  // namespace bend
