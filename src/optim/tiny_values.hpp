#pragma once
// Optimizer updates that keep IEEE float results without the cost of denormal arithmetic.
//
// Why: a state that decays while its gradient stays zero (Adam's exp_avg for an MNIST pixel that is
// rarely lit, SGD's momentum buffer, RMSprop's square_avg) shrinks into the denormal range and, under
// round-to-nearest, stays there: 0.9 times the smallest denormal rounds back to it. Intel cores take a
// microcode assist for each float operation on such a value (a multiply costs ~40 times as much), and
// the number of stuck values grows with training: on a Sapphire Rapids-class Xeon the b64 MNIST epoch
// grew from 0.59 s to 0.83 s over three epochs, with Adam at 36% of a one-thread profile. PyTorch keeps
// these values (no flush to zero by default), so bend computes them too.
//
// How: the update runs in blocks of kUpdateBlock elements. A block that held a tiny value after its last
// update runs the same element code in double arithmetic, rounded to float after every operation
// (DoubleRoundedToFloat). Double carries more than 2 x 24 + 2 bits, so an exact-in-double +, -, *, / or
// sqrt rounded to float is the correctly rounded float result (double rounding is then innocuous): the
// bits equal the float loop's, which the optimizer files build without FMA contraction
// (-ffp-contract=off) so that each float operation rounds once, as PyTorch's separate tensor ops do. A
// float denormal is a normal double, and converting between the two takes no assist. The other blocks
// run in float at full vector width. Which arithmetic a block uses changes speed, never results.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "bend/parallel.hpp"

namespace bend::optim_detail {

// Elements per block: a few vectors, so that one stuck value sends few others to the double loop.
inline constexpr std::int64_t kUpdateBlock = 64;

inline std::int64_t update_blocks(std::int64_t n) { return (n + kUpdateBlock - 1) / kUpdateBlock; }

// The arithmetic of a block's next update, learnt from its last one. An update may have chains of
// operations that need double independently (Adam's first moment alone is the common case).
enum BlockArithmetic : std::uint8_t {
  kAllFloat = 0,
  kFirstChainDouble = 1,  // the first chain in double, the rest in float
  kAllDouble = 2,
};

// The magnitude below which x may make x * factor denormal, for each factor that x is multiplied by
// (a zero factor gives a zero product). Returned as the bits of a float, for tiny_bit.
inline std::uint32_t tiny_below(std::initializer_list<float> factors) {
  float smallest = 1.0f;
  for (float f : factors)
    if (f != 0.0f) smallest = std::min(smallest, f < 0.0f ? -f : f);
  return std::bit_cast<std::uint32_t>(std::min(0x1p-60f, 0x1p-125f / smallest));  // one binade of margin
}

// The same for a value that is squared and then scaled by scale: |x| >= 2^-63 / sqrt(scale) keeps
// x^2 * scale normal (and at most 2^-40, so any scale of 2^-46 or more gives the same bound).
inline std::uint32_t tiny_below_squared(float scale) {
  const float limit = std::min(0x1p-40f, 0x1p-63f / std::sqrt(scale > 0.0f ? scale : 1.0f));
  return std::bit_cast<std::uint32_t>(limit);
}

// 1 if 0 < |x| < the float whose bits are limit_bits. Integer operations on the bits, so that the
// check itself takes no assist; vectorises inside the element loops.
template <class Real>
inline std::uint32_t tiny_bit(Real x, std::uint32_t limit_bits) {
  const std::uint32_t magnitude = std::bit_cast<std::uint32_t>(static_cast<float>(x)) & 0x7fffffffu;
  return static_cast<std::uint32_t>(magnitude - 1u < limit_bits - 1u);  // zero wraps to the top
}

// The element code's arithmetic: Real, and operator()(x), the result x of one operation rounded as float
// arithmetic rounds it (element code names the object `rounded`).
struct FloatArithmetic {
  using Real = float;
  float operator()(float x) const { return x; }
};
struct DoubleRoundedToFloat {
  using Real = double;
  // -0.0, read at run time: x + -0.0 == x for every x, but GCC narrows (float)((double)a * (double)b)
  // back to a float multiply when it can see that both operands came from float (by the same theorem),
  // and that float multiply is the one that takes the assist. The addition hides the operands.
  double minus_zero;
  double operator()(double x) const { return static_cast<double>(static_cast<float>(x + minus_zero)); }
};

// A -0.0 the compiler cannot see through (see DoubleRoundedToFloat).
inline volatile double g_minus_zero = -0.0;
inline DoubleRoundedToFloat double_rounded_to_float() { return {g_minus_zero}; }

// True if no numerator[i] / denominator[i] can be denormal or read one: each numerator is zero, or normal
// with an exponent no more than 124 below its denominator's.
inline bool quotients_normal(const float* numerator, const float* denominator, std::int64_t n) {
  std::uint32_t miss = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint32_t num = std::bit_cast<std::uint32_t>(numerator[i]) & 0x7fffffffu;
    const std::uint32_t den = std::bit_cast<std::uint32_t>(denominator[i]) & 0x7fffffffu;
    // Exponent fields; nonzero and below 2^-126 reads as num_exponent 0. Bitwise only, so it vectorises.
    const std::int32_t num_exponent = static_cast<std::int32_t>(num >> 23);
    const std::int32_t den_exponent = static_cast<std::int32_t>(den >> 23);
    const std::uint32_t nonzero = static_cast<std::uint32_t>(num != 0);
    const std::uint32_t risky = static_cast<std::uint32_t>(num_exponent == 0) |
                                static_cast<std::uint32_t>(num_exponent - den_exponent < -124);
    miss |= nonzero & risky;
  }
  return miss == 0;
}

// Inside a kernel: next = block(begin, end, arithmetic) for each block of [begin, end), where begin is
// a block boundary and arithmetic[k] is the entry of the block at k * kUpdateBlock.
template <class Block>
inline void for_each_block(std::int64_t begin, std::int64_t end, std::uint8_t* arithmetic, Block&& block) {
  for (std::int64_t b = begin; b < end; b += kUpdateBlock) {
    std::uint8_t& entry = arithmetic[b / kUpdateBlock];
    entry = block(b, std::min(end, b + kUpdateBlock), static_cast<BlockArithmetic>(entry));
  }
}

// The gradient an update starts from: grad, plus weight_decay * param with weight decay on (PyTorch's
// grad.add(param, alpha=weight_decay)). Adds the tiny flags of both inputs to tiny.
template <bool kWeightDecay, class Rounded>
inline typename Rounded::Real decayed_gradient(Rounded rounded, typename Rounded::Real param, float grad,
                                               float weight_decay, std::uint32_t tiny_gradient,
                                               std::uint32_t tiny_param, std::uint32_t& tiny) {
  using Real = typename Rounded::Real;
  tiny |= tiny_bit(grad, tiny_gradient) | tiny_bit(param, tiny_param);
  Real g = grad;
  if constexpr (kWeightDecay) g = rounded(g + rounded(Real{weight_decay} * param));
  return g;
}

// Inside a kernel whose update is one chain: element(rounded, i) updates element i, with rounded one of
// the two arithmetics (Real, and rounded(x) for each operation's result), and returns nonzero if it saw
// a tiny value, which sends the element's block to double for its next update.
template <class Element>
inline void for_each_element_one_chain(std::int64_t begin, std::int64_t end, std::uint8_t* arithmetic,
                                       Element&& element) {
  const DoubleRoundedToFloat in_double = double_rounded_to_float();
  const auto block_in = [&](const auto rounded, std::int64_t b, std::int64_t e) {
    std::uint32_t tiny = 0;
    for (std::int64_t i = b; i < e; ++i) tiny |= element(rounded, i);
    return tiny;
  };
  for_each_block(begin, end, arithmetic, [&](std::int64_t b, std::int64_t e, BlockArithmetic last) {
    const std::uint32_t tiny =
        last == kAllFloat ? block_in(FloatArithmetic{}, b, e) : block_in(in_double, b, e);
    return tiny ? kAllDouble : kAllFloat;
  });
}

// Runs update_block(begin, end, arithmetic) for every block of [0, n), split over bend's threads on
// block boundaries; update_block returns the arithmetic for the block's next update. arithmetic holds
// one entry per block (update_blocks(n)): sized, zeroed, on the first call, and reset whenever the
// parameter's size changes (a loaded state starts from all-float: its first update may be slow, never
// wrong).
template <class UpdateBlock>
void update_in_blocks(std::int64_t n, std::vector<std::uint8_t>& arithmetic, UpdateBlock&& update_block) {
  const std::int64_t blocks = update_blocks(n);
  if (static_cast<std::int64_t>(arithmetic.size()) != blocks) arithmetic.assign(blocks, kAllFloat);
  std::uint8_t* next = arithmetic.data();
  parallel_for(parts_for_elementwise(n), [&](int part, int parts) {
    const auto [first, last] = split_range(blocks, part, parts);
    update_block(first * kUpdateBlock, std::min(n, last * kUpdateBlock), next);
  });
}

}  // namespace bend::optim_detail
