// IDX reader: header validation shared by raw and gzip input, a bounded streaming gzip decoder, and
// file loading. Every check happens before the bytes it guards are touched, so malformed input of
// any kind ends in a bend::IoError, never an out-of-bounds read or an absurd allocation.
#include "bend/data/idx.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>

#include "bend/error.hpp"
#include "bend/io/read_file.hpp"

namespace bend {
namespace {

template <typename... Args>
[[noreturn]] void fail(std::string_view name, fmt::format_string<Args...> problem, Args&&... args) {
  throw IoError(fmt::format("{}: {}", name, fmt::format(problem, std::forward<Args>(args)...)));
}

// What the 4 + 4 * ndims header bytes say.
struct IdxHeader {
  std::uint8_t dtype = 0;
  std::vector<std::uint32_t> dims;
  std::size_t header_bytes = 0;
  std::size_t element_count = 0;  // elements are one byte each (only dtype 0x08 gets this far)
  std::size_t total_bytes = 0;    // header_bytes + element_count
};

const char* dtype_name(std::uint8_t dtype) {
  switch (dtype) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

// "60000 items" or "60000x28x28 = 47040000 items".
std::string describe_size(const IdxHeader& header) {
  if (header.dims.size() == 1) return fmt::format("{} items", header.element_count);
  return fmt::format("{} = {} items", fmt::join(header.dims, "x"), header.element_count);
}

// Validates the header at the start of `data`; `what` names the byte source in messages ("file",
// "decompressed data"). Length of the element data is checked separately by check_length.
IdxHeader parse_idx_header(std::span<const std::uint8_t> data, std::string_view name, std::string_view what) {
  if (data.size() < 4)
    fail(name, "truncated header: {} has {} bytes but the IDX magic number needs 4", what, data.size());
  if (data[0] != 0 || data[1] != 0)
    fail(name, "bad magic at offset 0: expected bytes 00 00, found {:02x} {:02x} (not an IDX file)", data[0],
         data[1]);

  IdxHeader header;
  header.dtype = data[2];
  if (dtype_name(header.dtype) == nullptr)
    fail(name, "unknown dtype 0x{:02x} at offset 2 (IDX dtypes are 0x08, 0x09 and 0x0b..0x0e)", header.dtype);
  if (header.dtype != kIdxUnsignedByte)
    fail(name, "unsupported dtype 0x{:02x} ({}) at offset 2; only 0x08 (unsigned byte) is supported",
         header.dtype, dtype_name(header.dtype));

  const std::size_t ndims = data[3];
  if (ndims < 1 || ndims > 4) fail(name, "ndims {} at offset 3 is out of range 1..4", ndims);
  header.header_bytes = 4 + 4 * ndims;
  if (data.size() < header.header_bytes)
    fail(name, "truncated header: {} dimensions need a {}-byte header but {} has {} bytes", ndims,
         header.header_bytes, what, data.size());

  for (std::size_t i = 0; i < ndims; ++i) {
    const std::uint8_t* p = data.data() + 4 + 4 * i;
    header.dims.push_back(std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
                          std::uint32_t{p[3]});
  }
  // Overflow guard: the whole file must fit in a vector (ptrdiff_t range), header included.
  const std::size_t max_elements =
      static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max()) - header.header_bytes;
  const bool any_zero = std::find(header.dims.begin(), header.dims.end(), 0u) != header.dims.end();
  std::size_t count = any_zero ? 0 : 1;
  for (std::uint32_t d : header.dims) {
    if (count != 0 && d > max_elements / count)
      fail(name, "dimensions {} at offset 4 overflow: their product exceeds {} bytes",
           fmt::join(header.dims, "x"), max_elements);
    count *= d;
  }
  header.element_count = count;
  header.total_bytes = header.header_bytes + count;
  return header;
}

void check_length(const IdxHeader& header, std::uint64_t actual_bytes, std::string_view name,
                  std::string_view what) {
  if (actual_bytes < header.total_bytes)
    fail(name, "truncated: header says {} ({} bytes) but {} has {} bytes", describe_size(header),
         header.total_bytes, what, actual_bytes);
  if (actual_bytes > header.total_bytes)
    fail(name, "trailing garbage: header says {} ({} bytes) but {} has {} bytes ({} extra from offset {})",
         describe_size(header), header.total_bytes, what, actual_bytes, actual_bytes - header.total_bytes,
         header.total_bytes);
}

// Streaming gzip decoder over an in-memory buffer. Accepts concatenated gzip members (as gzip(1)
// does) and rejects anything else after the last member. Output is produced on demand, so memory
// stays proportional to what the caller asks for, not to what the header claims.
class GzipStream {
 public:
  GzipStream(std::span<const std::uint8_t> compressed, std::string_view name)
      : compressed_(compressed), name_(name) {
    // 16 + MAX_WBITS: gzip wrapper only; inflate then also verifies the CRC-32 and length trailer.
    if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) fail(name_, "cannot initialise zlib");
  }
  ~GzipStream() { inflateEnd(&stream_); }
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // Appends decompressed bytes to `out` until it holds `target_size` bytes or the data end.
  void read_until(std::vector<std::uint8_t>& out, std::size_t target_size) {
    // Deflate expands at most ~1032:1, so this never reserves more than the data can fill.
    const std::size_t plausible = compressed_.size() * 1040 + 1024;
    out.reserve(std::min(target_size, std::max(out.size(), plausible)));
    while (out.size() < target_size && !finished_) {
      // Buffers grow with the output (64 KiB, then doubling), so input that turns out corrupt after a
      // few bytes costs no megabyte of zeroed memory.
      const std::size_t chunk =
          std::min({target_size - out.size(), chunk_bytes(), std::max(out.size(), kFirstChunkBytes)});
      const std::size_t old_size = out.size();
      out.resize(old_size + chunk);
      out.resize(old_size + inflate_into(out.data() + old_size, chunk));
    }
  }

  // Decompresses and discards what is left; returns its length.
  std::uint64_t skip_rest() {
    std::vector<std::uint8_t> scratch(std::min(chunk_bytes(), kFirstChunkBytes));
    std::uint64_t skipped = 0;
    while (!finished_) skipped += inflate_into(scratch.data(), scratch.size());
    return skipped;
  }

 private:
  static constexpr std::size_t kChunkBytes = std::size_t{1} << 20;
  static constexpr std::size_t kFirstChunkBytes = std::size_t{64} << 10;

  std::size_t compressed_offset() const { return consumed_ - stream_.avail_in; }

  // A buffer size for the next inflate: kChunkBytes, or less when the compressed bytes left cannot
  // expand to that much (~1032:1 at most), so that a small file costs no megabyte-sized buffer.
  // Only speed depends on it: the callers loop until the data end.
  std::size_t chunk_bytes() const {
    const std::size_t left = compressed_.size() - compressed_offset();
    return std::min(kChunkBytes, left * 1040 + 4096);
  }

  // Fills up to `capacity` (<= kChunkBytes) bytes at `dst`; fewer only at the end of the data.
  std::size_t inflate_into(std::uint8_t* dst, std::size_t capacity) {
    stream_.next_out = dst;
    stream_.avail_out = static_cast<uInt>(capacity);
    while (stream_.avail_out > 0 && !finished_) {
      if (stream_.avail_in == 0 && consumed_ < compressed_.size()) {
        // zlib counts input in uInt; feed large buffers piecewise.
        const std::size_t feed = std::min<std::size_t>(compressed_.size() - consumed_, kChunkBytes);
        stream_.next_in = const_cast<Bytef*>(compressed_.data() + consumed_);
        stream_.avail_in = static_cast<uInt>(feed);
        consumed_ += feed;
      }
      const int rc = inflate(&stream_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        start_next_member();
      } else if (rc == Z_BUF_ERROR) {
        // No progress with output space left: the input ran out mid-stream.
        fail(name_, "truncated gzip data: the compressed file ends at byte {} before the end of the stream",
             compressed_.size());
      } else if (rc != Z_OK) {
        fail(name_, "corrupt gzip data near compressed byte offset {}: {}", compressed_offset(),
             stream_.msg != nullptr ? stream_.msg : zError(rc));
      }
    }
    return capacity - stream_.avail_out;
  }

  // After a member ends: stop at the end of input, continue into another member, reject anything else.
  void start_next_member() {
    const std::size_t offset = compressed_offset();
    if (offset == compressed_.size()) {
      finished_ = true;
      return;
    }
    const std::size_t left = compressed_.size() - offset;
    if (left < 2 || compressed_[offset] != 0x1f || compressed_[offset + 1] != 0x8b)
      fail(name_, "trailing garbage after the gzip stream: {} bytes from compressed byte offset {}", left,
           offset);
    inflateReset(&stream_);
  }

  z_stream stream_{};
  std::span<const std::uint8_t> compressed_;
  std::size_t consumed_ = 0;  // bytes of compressed_ handed to zlib so far
  std::string name_;
  bool finished_ = false;
};

IdxArray parse_gzip_idx(std::span<const std::uint8_t> compressed, std::string_view name) {
  constexpr std::string_view what = "the decompressed data";
  GzipStream gzip(compressed, name);
  std::vector<std::uint8_t> header_bytes;
  gzip.read_until(header_bytes, 4);
  if (header_bytes.size() == 4 && header_bytes[3] >= 1 && header_bytes[3] <= 4)
    gzip.read_until(header_bytes, 4 + 4 * std::size_t{header_bytes[3]});
  IdxHeader header = parse_idx_header(header_bytes, name, what);
  // The declared size against the limits, before anything is inflated (a 19 MB file whose header
  // claimed 0xFFFFFFFF images took 4.1 GB before "truncated"): deflate expands at most ~1032:1, and the
  // array must fit in this machine's memory.
  const std::uint64_t most = static_cast<std::uint64_t>(compressed.size()) * 1040 + 1024;
  if (header.total_bytes > most)
    fail(name, "truncated: header says {} ({} bytes) but {} bytes of gzip data can hold at most {} bytes",
         describe_size(header), header.total_bytes, compressed.size(), most);
  const long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0 &&
      header.total_bytes / static_cast<std::uint64_t>(page_size) > static_cast<std::uint64_t>(pages))
    fail(name, "header says {} ({} bytes), more than this machine's memory ({} bytes)", describe_size(header),
         header.total_bytes, static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size));

  IdxArray array;
  gzip.read_until(array.bytes, header.element_count);
  check_length(header, header.header_bytes + array.bytes.size() + gzip.skip_rest(), name, what);
  array.dims = std::move(header.dims);
  array.dtype = header.dtype;
  return array;
}

// Header of raw (uncompressed) IDX data, with the data length checked against it.
IdxHeader checked_raw_header(std::span<const std::uint8_t> data, std::string_view name) {
  constexpr std::string_view what = "file";
  IdxHeader header = parse_idx_header(data, name, what);
  check_length(header, data.size(), name, what);
  return header;
}

bool is_gzip(std::span<const std::uint8_t> data) {
  return data.size() >= 2 && data[0] == 0x1f && data[1] == 0x8b;
}

// parse_idx for a buffer the caller gives away: raw data are reused in place instead of copied.
IdxArray parse_owned_idx(std::vector<std::uint8_t>&& data, std::string_view name) {
  if (is_gzip(data)) return parse_gzip_idx(data, name);
  IdxHeader header = checked_raw_header(data, name);
  IdxArray array;
  array.dims = std::move(header.dims);
  array.dtype = header.dtype;
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(header.header_bytes));
  array.bytes = std::move(data);
  return array;
}

}  // namespace

IdxArray parse_idx(std::span<const std::uint8_t> data, std::string_view name_for_errors) {
  if (is_gzip(data)) return parse_gzip_idx(data, name_for_errors);
  IdxHeader header = checked_raw_header(data, name_for_errors);
  IdxArray array;
  array.dims = std::move(header.dims);
  array.dtype = header.dtype;
  array.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(header.header_bytes), data.end());
  return array;
}

IdxArray read_idx(const std::filesystem::path& path) {
  return parse_owned_idx(read_regular_file(path, "an IDX file"), path.string());
}

}  // namespace bend
