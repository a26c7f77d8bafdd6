#pragma once
// torch.nn.utils.clip_grad_norm_ (norm_type 2): scales every gradient by
// min(1, max_norm / (total_norm + 1e-6)), where total_norm is the 2-norm of all the gradients together,
// and returns total_norm. Parameters without a gradient are skipped. ValueError for a max_norm that is
// not positive; a non-finite total norm is returned as it is (the gradients are then scaled by NaN or 0,
// as PyTorch 1.13 does with error_if_nonfinite=False).
#include <vector>

#include "bend/tensor.hpp"

namespace bend::nn {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm);

}  // namespace bend::nn
