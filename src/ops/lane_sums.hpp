#pragma once
// Sums for the normalisation and convolution kernels, in double as PyTorch's CPU kernels accumulate
// float data. A plain `total += x[k]` loop cannot be vectorised (it fixes the order of the additions);
// these keep kLanes independent partial sums, which GCC turns into SIMD lanes, and add them at the end.
#include <cstdint>

namespace bend::detail {

inline constexpr int kLanes = 8;

// Σ x[k]
inline double lane_sum(const float* x, std::int64_t n) {
  double lanes[kLanes] = {};
  std::int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) lanes[j] += static_cast<double>(x[k + j]);
  double total = 0.0;
  for (; k < n; ++k) total += static_cast<double>(x[k]);
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  return total;
}

// Σ (x[k] - shift)²
inline double lane_sum_squared_deviation(const float* x, std::int64_t n, double shift) {
  double lanes[kLanes] = {};
  std::int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const double d = static_cast<double>(x[k + j]) - shift;
      lanes[j] += d * d;
    }
  double total = 0.0;
  for (; k < n; ++k) {
    const double d = static_cast<double>(x[k]) - shift;
    total += d * d;
  }
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  return total;
}

// Σ x[k]·y[k]
inline double lane_dot(const float* x, const float* y, std::int64_t n) {
  double lanes[kLanes] = {};
  std::int64_t k = 0;
  for (; k + kLanes <= n; k += kLanes)
    for (int j = 0; j < kLanes; ++j)
      lanes[j] += static_cast<double>(x[k + j]) * static_cast<double>(y[k + j]);
  double total = 0.0;
  for (; k < n; ++k) total += static_cast<double>(x[k]) * static_cast<double>(y[k]);
  for (int j = 0; j < kLanes; ++j) total += lanes[j];
  return total;
}

}  // namespace bend::detail
