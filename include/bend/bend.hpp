#pragma once
// The whole public API of bend: #include <bend/bend.hpp>.
#include "bend/autograd.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/format.hpp"
#include "bend/gradcheck.hpp"
#include "bend/ops.hpp"
#include "bend/pointwise.hpp"
#include "bend/rng.hpp"
#include "bend/shape.hpp"
#include "bend/tensor.hpp"
