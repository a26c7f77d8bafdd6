// libFuzzer target: the IDX reader behind gzip. The input is gzip-compressed first, so the fuzzer
// mutates the decompressed header and data directly while the gzip path (streamed inflate, length
// checks after decompression) is exercised on every run.
#include <zlib.h>

#include <vector>

#include "bend/data/idx.hpp"
#include "fuzz_target.hpp"

namespace {
std::vector<std::uint8_t> gzip(std::span<const std::uint8_t> input) {
  z_stream stream{};
  // 16 + MAX_WBITS: a gzip wrapper instead of zlib's.
  if (deflateInit2(&stream, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) __builtin_trap();
  std::vector<std::uint8_t> out(deflateBound(&stream, static_cast<uLong>(input.size())));
  stream.next_in = const_cast<Bytef*>(input.data());
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) __builtin_trap();
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

void parse(std::span<const std::uint8_t> input) {
  const std::vector<std::uint8_t> compressed = gzip(input);
  const bend::IdxArray array = bend::parse_idx(compressed, "fuzz.idx.gz");
  BEND_FUZZ_CHECK(array.bytes.size() == array.element_count());
}
}  // namespace

BEND_FUZZ_TARGET(parse)
