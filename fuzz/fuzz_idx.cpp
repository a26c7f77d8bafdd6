// libFuzzer target: the IDX reader on arbitrary bytes, raw or gzip (chosen by content, 1f 8b).
#include "bend/data/idx.hpp"
#include "fuzz_target.hpp"

namespace {
void parse(std::span<const std::uint8_t> input) {
  const bend::IdxArray array = bend::parse_idx(input, "fuzz.idx");
  BEND_FUZZ_CHECK(array.bytes.size() == array.element_count());
}
}  // namespace

BEND_FUZZ_TARGET(parse)
