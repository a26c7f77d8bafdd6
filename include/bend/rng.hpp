#pragma once
// Rng: bend's seeded random number generator. xoshiro256** seeded through splitmix64, so a seed gives
// the same stream on every platform and compiler (unlike std::normal_distribution, whose algorithm is
// implementation-defined). Its full state can be saved in a checkpoint and restored.
#include <array>
#include <cstdint>

namespace bend {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { seed_with(seed); }
  void seed_with(std::uint64_t seed);

  std::uint64_t next_u64();
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(next_u64() >> 32); }
  // Uniform in [0, 1) with 24 random bits (every float32 in the grid is reachable).
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n) without modulo bias.
  std::uint64_t below(std::uint64_t n);
  // Standard normal (Box-Muller in double; the second value of each pair is kept for the next call).
  float normal();
  float normal(float mean, float stddev) { return mean + stddev * normal(); }

  // The complete state, for checkpoints: restoring it continues the stream exactly.
  struct State {
    std::array<std::uint64_t, 4> s;
    bool has_spare;
    double spare;
  };
  State state() const { return {s_, has_spare_, spare_}; }
  void set_state(const State& st) {
    s_ = st.s;
    has_spare_ = st.has_spare;
    spare_ = st.spare;
  }

 private:
  std::array<std::uint64_t, 4> s_{};
  bool has_spare_ = false;
  double spare_ = 0.0;
};

// The generator layers use when none is given (like torch's default generator); manual_seed resets it.
Rng& default_rng();
void manual_seed(std::uint64_t seed);

}  // namespace bend
