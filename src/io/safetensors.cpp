// safetensors reader and writer. The validation rules follow the reference implementation
// (huggingface/safetensors): a header of at most 100,000,000 bytes; tensors that, sorted by their
// data_offsets, tile the data buffer exactly from byte 0 to the end of the file; byte counts that
// match dtype and shape, with element counts checked for overflow. On top of that we refuse
// duplicate JSON keys (a JSON parser would silently keep one of them) and NUL bytes in the header.
#include "bend/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <tuple>
#include <unordered_set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bend/detail/json_error.hpp"
#include "bend/error.hpp"
#include "bend/io/atomic_file.hpp"
#include "bend/io/read_file.hpp"

namespace bend {

// Tensor data is copied between file and memory with memcpy, which is only right on a
// little-endian machine.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");
static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4);

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::size_t kLengthFieldBytes = 8;
// Real headers nest three levels deep; anything far deeper is garbage, and refusing it early keeps
// hostile input from costing much memory.
constexpr int kMaxJsonDepth = 32;

enum class Dtype { F32, F16, BF16, F64 };

struct Entry {
  std::string name;
  std::string dtype_name;
  Dtype dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t numel;
  std::uint64_t begin;  // relative to the start of the data buffer
  std::uint64_t end;
  std::size_t header_position;  // order of appearance in the header, to break ties stably
};

struct Layout {
  std::vector<Entry> entries;  // sorted by offset
  std::map<std::string, std::string> metadata;
};

[[noreturn]] void corrupt(std::string_view file, std::string_view what) {
  throw IoError(fmt::format("safetensors file '{}': {}", file, what));
}

// (fmt::join would do, but with fmt 9 it trips a false -Wstringop-overflow in GCC 12 at -O3.)
std::string join_dims(std::span<const std::int64_t> dims, std::string_view separator) {
  std::string text;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (i > 0) text += separator;
    text += std::to_string(dims[i]);
  }
  return text;
}

std::string shape_text(std::span<const std::int64_t> shape) {
  std::string text = "[";  // built step by step: `"[" + ...` trips a false -Wrestrict in GCC 12
  text += join_dims(shape, ", ");
  text += ']';
  return text;
}

std::uint64_t read_u64_le(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// Element size in bytes of the dtypes bend can load; an error for the rest.
std::pair<Dtype, std::uint64_t> loadable_dtype(std::string_view file, const std::string& tensor,
                                               const std::string& dtype) {
  if (dtype == "F32") return {Dtype::F32, 4};
  if (dtype == "F16") return {Dtype::F16, 2};
  if (dtype == "BF16") return {Dtype::BF16, 2};
  if (dtype == "F64") return {Dtype::F64, 8};
  static const std::unordered_set<std::string> kOtherDtypes = {
      "BOOL", "U8",  "I8", "I16",     "U16",     "I32",     "U32",     "I64",
      "U64",  "C64", "F4", "F6_E2M3", "F6_E3M2", "F8_E5M2", "F8_E4M3", "F8_E8M0"};
  if (kOtherDtypes.contains(dtype)) {
    corrupt(file, fmt::format("tensor '{}' has dtype {}, which bend cannot load (it reads F32, and "
                              "converts F16, BF16 and F64)",
                              tensor, dtype));
  }
  corrupt(file, fmt::format("tensor '{}' has unknown dtype \"{}\"", tensor, dtype));
}

// A JSON number that is a non-negative integer, or nothing.
std::optional<std::uint64_t> as_count(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

Entry parse_entry(std::string_view file, const std::string& name, const json& value,
                  std::size_t header_position) {
  if (!value.is_object()) {
    corrupt(file, fmt::format("entry '{}' is not a JSON object but {}", name, value.type_name()));
  }
  Entry entry;
  entry.name = name;
  entry.header_position = header_position;

  const auto dtype = value.find("dtype");
  if (dtype == value.end()) corrupt(file, fmt::format("tensor '{}' has no \"dtype\"", name));
  if (!dtype->is_string()) corrupt(file, fmt::format("tensor '{}': \"dtype\" is not a string", name));
  entry.dtype_name = dtype->get<std::string>();
  const auto [dtype_kind, element_bytes] = loadable_dtype(file, name, entry.dtype_name);
  entry.dtype = dtype_kind;

  const auto shape = value.find("shape");
  if (shape == value.end()) corrupt(file, fmt::format("tensor '{}' has no \"shape\"", name));
  if (!shape->is_array()) corrupt(file, fmt::format("tensor '{}': \"shape\" is not an array", name));
  std::uint64_t numel = 1;
  std::int64_t nonzero_product = 1;  // bend's Shape needs this to fit in int64, whatever the order
  for (const json& dim : *shape) {
    const std::optional<std::uint64_t> size = as_count(dim);
    if (!size) {
      corrupt(file, fmt::format("tensor '{}': \"shape\" {} holds {}, not a non-negative integer", name,
                                shape->dump(), dim.dump()));
    }
    if (*size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
        __builtin_mul_overflow(numel, *size, &numel) ||
        (*size != 0 &&
         __builtin_mul_overflow(nonzero_product, static_cast<std::int64_t>(*size), &nonzero_product))) {
      corrupt(file, fmt::format("tensor '{}': \"shape\" {} has more elements than fit in 64 bits", name,
                                shape->dump()));
    }
    entry.shape.push_back(static_cast<std::int64_t>(*size));
  }
  entry.numel = numel;

  const auto offsets = value.find("data_offsets");
  if (offsets == value.end()) corrupt(file, fmt::format("tensor '{}' has no \"data_offsets\"", name));
  const bool two_counts =
      offsets->is_array() && offsets->size() == 2 && as_count((*offsets)[0]) && as_count((*offsets)[1]);
  if (!two_counts) {
    corrupt(file,
            fmt::format("tensor '{}': \"data_offsets\" {} is not two non-negative integers [begin, end]",
                        name, offsets->dump()));
  }
  entry.begin = *as_count((*offsets)[0]);
  entry.end = *as_count((*offsets)[1]);
  if (entry.begin > entry.end) {
    corrupt(file, fmt::format("tensor '{}': data_offsets [{}, {}] end before they begin", name, entry.begin,
                              entry.end));
  }

  std::uint64_t byte_count = 0;
  if (__builtin_mul_overflow(numel, element_bytes, &byte_count)) {
    corrupt(file, fmt::format("tensor '{}': shape {} has more bytes than fit in 64 bits", name,
                              shape_text(entry.shape)));
  }
  if (entry.end - entry.begin != byte_count) {
    corrupt(file, fmt::format("tensor '{}': data_offsets [{}, {}] hold {} bytes, but dtype {} with shape {} "
                              "needs {} bytes",
                              name, entry.begin, entry.end, entry.end - entry.begin, entry.dtype_name,
                              shape_text(entry.shape), byte_count));
  }
  return entry;
}

std::map<std::string, std::string> parse_metadata(std::string_view file, const json& value) {
  std::map<std::string, std::string> metadata;
  if (value.is_null()) return metadata;  // the reference implementation accepts null as "none"
  if (!value.is_object()) {
    corrupt(file, fmt::format("\"__metadata__\" is not a JSON object but {}", value.type_name()));
  }
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      corrupt(file, fmt::format("\"__metadata__\" value for key '{}' is not a string but {}", key,
                                item.type_name()));
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Thrown from the JSON parser callback to stop parsing at the first structural problem.
struct HeaderStructureError {
  std::string message;
};

// Parses and validates the header against a data buffer of `data_size` bytes.
Layout parse_safetensors_header(std::string_view file, std::string_view header, std::uint64_t data_size) {
  // nlohmann's parser takes a NUL byte as the end of the input, which would hide whatever follows.
  if (const std::size_t nul = header.find('\0'); nul != std::string_view::npos) {
    corrupt(file, fmt::format("header contains a NUL byte at file offset {}", kLengthFieldBytes + nul));
  }

  // The callback refuses duplicate keys (nlohmann would keep the last silently) and absurd nesting,
  // and records the top-level keys in file order.
  std::vector<std::unordered_set<std::string>> keys_per_open_object;
  std::vector<std::string> top_level_keys;
  const json::parser_callback_t check_structure = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) {
          throw HeaderStructureError{fmt::format("header JSON nests deeper than {} levels", kMaxJsonDepth)};
        }
        if (event == json::parse_event_t::object_start) keys_per_open_object.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys_per_open_object.pop_back();
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys_per_open_object.back().insert(key).second) {
          throw HeaderStructureError{depth == 1 ? fmt::format("header has duplicate entry '{}'", key)
                                                : fmt::format("header has duplicate key '{}' inside an "
                                                              "object at nesting depth {}",
                                                              key, depth - 1)};
        }
        if (depth == 1) top_level_keys.push_back(key);
        break;
      }
      default:
        break;
    }
    return true;
  };

  json root;
  try {
    root = json::parse(header.begin(), header.end(), check_structure);
  } catch (const json::parse_error& error) {
    corrupt(file, fmt::format("header is not valid JSON (error near file offset {}): {}",
                              kLengthFieldBytes + (error.byte > 0 ? error.byte - 1 : 0),
                              detail::json_error_text(error.what())));
  } catch (const json::exception& error) {  // e.g. out_of_range for a number like 1e400
    corrupt(file, fmt::format("header is not valid JSON: {}", detail::json_error_text(error.what())));
  } catch (const HeaderStructureError& error) {
    corrupt(file, error.message);
  }
  if (!root.is_object()) corrupt(file, fmt::format("header is not a JSON object but {}", root.type_name()));

  Layout layout;
  for (std::size_t position = 0; position < top_level_keys.size(); ++position) {
    const std::string& key = top_level_keys[position];
    const json& value = root.at(key);
    if (key == "__metadata__") {
      layout.metadata = parse_metadata(file, value);
    } else {
      layout.entries.push_back(parse_entry(file, key, value, position));
    }
  }

  // The tensors, in offset order, must tile [0, data_size) exactly.
  std::sort(layout.entries.begin(), layout.entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.begin, a.end, a.header_position) < std::tie(b.begin, b.end, b.header_position);
  });
  std::uint64_t covered_until = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : layout.entries) {
    if (entry.begin < covered_until) {
      corrupt(file, fmt::format(
                        "tensor '{}' (data_offsets [{}, {}]) overlaps tensor '{}' (data_offsets [{}, {}])",
                        entry.name, entry.begin, entry.end, previous->name, previous->begin, previous->end));
    }
    if (entry.begin > covered_until) {
      corrupt(file, fmt::format("bytes [{}, {}) of the data buffer belong to no tensor (a hole before "
                                "tensor '{}')",
                                covered_until, entry.begin, entry.name));
    }
    if (entry.end > data_size) {
      corrupt(file, fmt::format("tensor '{}' (data_offsets [{}, {}]) runs past the end of the {}-byte data "
                                "buffer",
                                entry.name, entry.begin, entry.end, data_size));
    }
    covered_until = entry.end;
    previous = &entry;
  }
  if (covered_until != data_size) {
    corrupt(file, fmt::format("the data buffer is {} bytes but the tensors cover only {}: {} trailing bytes "
                              "belong to no tensor",
                              data_size, covered_until, data_size - covered_until));
  }
  return layout;
}

float half_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  return std::bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

// Converts one tensor's bytes (entry.end - entry.begin of them) to floats.
void decode(const Entry& entry, const std::uint8_t* bytes, float* out) {
  const std::size_t count = static_cast<std::size_t>(entry.numel);
  switch (entry.dtype) {
    case Dtype::F32:
      if (count > 0) std::memcpy(out, bytes, count * sizeof(float));
      break;
    case Dtype::F16:
    case Dtype::BF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t half;
        std::memcpy(&half, bytes + 2 * i, 2);
        out[i] = entry.dtype == Dtype::F16 ? half_to_float(half)
                                           : std::bit_cast<float>(static_cast<std::uint32_t>(half) << 16);
      }
      break;
    case Dtype::F64:
      for (std::size_t i = 0; i < count; ++i) {
        double value;
        std::memcpy(&value, bytes + 8 * i, 8);
        out[i] = static_cast<float>(value);
      }
      break;
  }
}

SafetensorsTensor make_tensor(const Entry& entry) {
  SafetensorsTensor tensor;
  tensor.name = entry.name;
  tensor.shape = entry.shape;
  tensor.data.resize(static_cast<std::size_t>(entry.numel));
  return tensor;
}

// --- writing -------------------------------------------------------------------------------------

// The padded header for `tensors`, after checking them. Offsets follow the order given.
std::string build_header(std::span<const SafetensorsView> tensors,
                         const std::map<std::string, std::string>& metadata) {
  std::string header = "{";
  try {
    if (!metadata.empty()) header += "\"__metadata__\":" + json(metadata).dump();
  } catch (const json::type_error& error) {
    throw ValueError(fmt::format("save_safetensors: metadata is not valid UTF-8: {}", error.what()));
  }

  std::unordered_set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const SafetensorsView& tensor : tensors) {
    if (tensor.name == "__metadata__") {
      throw ValueError("save_safetensors: '__metadata__' is reserved and cannot name a tensor");
    }
    if (!names.insert(tensor.name).second) {
      throw ValueError(fmt::format("save_safetensors: two tensors are named '{}'", tensor.name));
    }
    std::uint64_t numel = 1;
    for (const std::int64_t dim : tensor.shape) {
      if (dim < 0) {
        throw ValueError(fmt::format("save_safetensors: tensor '{}' has a negative dimension in shape {}",
                                     tensor.name, shape_text(tensor.shape)));
      }
      if (__builtin_mul_overflow(numel, static_cast<std::uint64_t>(dim), &numel)) {
        throw ValueError(fmt::format("save_safetensors: tensor '{}' shape {} has too many elements",
                                     tensor.name, shape_text(tensor.shape)));
      }
    }
    if (numel > 0 && tensor.data == nullptr) {
      throw ValueError(fmt::format("save_safetensors: tensor '{}' of shape {} has no data", tensor.name,
                                   shape_text(tensor.shape)));
    }
    std::uint64_t byte_count = 0;
    if (__builtin_mul_overflow(numel, sizeof(float), &byte_count) ||
        __builtin_add_overflow(offset, byte_count, &byte_count)) {
      throw ValueError(fmt::format("save_safetensors: tensor '{}' shape {} has too many elements",
                                   tensor.name, shape_text(tensor.shape)));
    }
    std::string quoted_name;
    try {
      quoted_name = json(std::string(tensor.name)).dump();
    } catch (const json::type_error& error) {
      throw ValueError(fmt::format("save_safetensors: a tensor name is not valid UTF-8: {}", error.what()));
    }
    if (header.size() > 1) header += ',';
    header += fmt::format("{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", quoted_name,
                          join_dims(tensor.shape, ","), offset, byte_count);
    offset = byte_count;
  }
  header += '}';
  // Pad with spaces so the data buffer (after the 8-byte length field) starts 8-byte aligned.
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kSafetensorsMaxHeaderBytes) {
    throw ValueError(fmt::format("save_safetensors: the header would be {} bytes, over the {}-byte limit",
                                 header.size(), kSafetensorsMaxHeaderBytes));
  }
  return header;
}

std::string length_field(std::uint64_t header_size) {
  std::string field(kLengthFieldBytes, '\0');
  for (std::size_t i = 0; i < kLengthFieldBytes; ++i)
    field[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  return field;
}

std::size_t byte_count(const SafetensorsView& tensor) {
  std::size_t numel = 1;
  for (const std::int64_t dim : tensor.shape) numel *= static_cast<std::size_t>(dim);
  return numel * sizeof(float);
}

}  // namespace

std::string serialize_safetensors(std::span<const SafetensorsView> tensors,
                                  const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(tensors, metadata);
  std::size_t total = kLengthFieldBytes + header.size();
  for (const auto& tensor : tensors) total += byte_count(tensor);
  std::string bytes;
  bytes.reserve(total);
  bytes += length_field(header.size());
  bytes += header;
  for (const auto& tensor : tensors) {
    bytes.append(reinterpret_cast<const char*>(tensor.data), byte_count(tensor));
  }
  return bytes;
}

void save_safetensors(const fs::path& path, std::span<const SafetensorsView> tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::string header = build_header(tensors, metadata);  // throws ValueError before any I/O
  write_file_atomically(path, [&](std::ostream& out) {
    out << length_field(header.size()) << header;
    for (const auto& tensor : tensors) {
      out.write(reinterpret_cast<const char*>(tensor.data), static_cast<std::streamsize>(byte_count(tensor)));
    }
  });
}

SafetensorsFile parse_safetensors(std::span<const std::uint8_t> bytes, std::string_view name_for_errors) {
  const std::string_view file = name_for_errors;
  if (bytes.size() < kLengthFieldBytes) {
    corrupt(file, fmt::format("the file is {} bytes, too short for the 8-byte header length", bytes.size()));
  }
  const std::uint64_t header_size = read_u64_le(bytes.data());
  if (header_size > kSafetensorsMaxHeaderBytes) {
    corrupt(file,
            fmt::format("header length {} is over the {}-byte limit (corrupt, or not a safetensors file)",
                        header_size, kSafetensorsMaxHeaderBytes));
  }
  if (header_size > bytes.size() - kLengthFieldBytes) {
    corrupt(file,
            fmt::format("header length {} runs past the end of the {}-byte file", header_size, bytes.size()));
  }
  const std::size_t data_start = kLengthFieldBytes + static_cast<std::size_t>(header_size);
  const std::string_view header(reinterpret_cast<const char*>(bytes.data()) + kLengthFieldBytes,
                                static_cast<std::size_t>(header_size));
  Layout layout = parse_safetensors_header(file, header, bytes.size() - data_start);

  SafetensorsFile result;
  result.metadata = std::move(layout.metadata);
  result.tensors.reserve(layout.entries.size());
  for (const Entry& entry : layout.entries) {
    SafetensorsTensor tensor = make_tensor(entry);
    decode(entry, bytes.data() + data_start + entry.begin, tensor.data.data());
    result.tensors.push_back(std::move(tensor));
  }
  return result;
}

SafetensorsFile load_safetensors(const fs::path& path) {
  const std::string file = path.string();
  RegularFile opened;
  try {
    opened = open_regular_file(path, "a safetensors file");
  } catch (const IoError& error) {
    throw IoError(fmt::format("cannot open safetensors file '{}': {}", file,
                              std::string_view(error.what()).substr(file.size() + 2)));
  }
  std::FILE* in = opened.file.get();
  const std::uint64_t file_size = opened.size;
  // Reads exactly `count` bytes or fails naming the offset (the file may shrink while we read).
  const auto read_exactly = [&](void* destination, std::uint64_t offset, std::uint64_t count) {
    if (count == 0) return;
    if (std::fread(destination, 1, static_cast<std::size_t>(count), in) != count) {
      corrupt(file, fmt::format("unexpected end of file reading {} bytes at offset {}", count, offset));
    }
  };

  if (file_size < kLengthFieldBytes) {
    corrupt(file, fmt::format("the file is {} bytes, too short for the 8-byte header length", file_size));
  }
  std::uint8_t field[kLengthFieldBytes];
  read_exactly(field, 0, kLengthFieldBytes);
  const std::uint64_t header_size = read_u64_le(field);
  if (header_size > kSafetensorsMaxHeaderBytes) {
    corrupt(file,
            fmt::format("header length {} is over the {}-byte limit (corrupt, or not a safetensors file)",
                        header_size, kSafetensorsMaxHeaderBytes));
  }
  if (header_size > file_size - kLengthFieldBytes) {
    corrupt(file,
            fmt::format("header length {} runs past the end of the {}-byte file", header_size, file_size));
  }
  std::string header(static_cast<std::size_t>(header_size), '\0');
  read_exactly(header.data(), kLengthFieldBytes, header_size);
  const std::uint64_t data_start = kLengthFieldBytes + header_size;
  Layout layout = parse_safetensors_header(file, header, file_size - data_start);

  // The entries tile the data buffer in order, so one sequential pass reads them all.
  SafetensorsFile result;
  result.metadata = std::move(layout.metadata);
  result.tensors.reserve(layout.entries.size());
  std::vector<std::uint8_t> scratch;
  for (const Entry& entry : layout.entries) {
    SafetensorsTensor tensor = make_tensor(entry);
    const std::uint64_t count = entry.end - entry.begin;
    if (entry.dtype == Dtype::F32) {
      read_exactly(tensor.data.data(), data_start + entry.begin, count);
    } else {
      scratch.resize(static_cast<std::size_t>(count));
      read_exactly(scratch.data(), data_start + entry.begin, count);
      decode(entry, scratch.data(), tensor.data.data());
    }
    result.tensors.push_back(std::move(tensor));
  }
  return result;
}

}  // namespace bend
