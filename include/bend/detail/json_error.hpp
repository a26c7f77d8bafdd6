#pragma once
// nlohmann::json's messages start with its own id ("[json.exception.type_error.304] cannot use at() with
// number"); a user reading a file's error needs neither the id nor the library's call names.
#include <string>
#include <string_view>

namespace bend::detail {

inline std::string json_error_text(std::string_view what) {
  const bool library_id = what.starts_with("[json.exception.");
  const auto close = what.find("] ");
  if (library_id && what.find("type_error") != std::string_view::npos)
    return "a value has the wrong type (a number where text belongs, or the other way round)";
  if (library_id && close != std::string_view::npos) what.remove_prefix(close + 2);
  return std::string(what);
}

}  // namespace bend::detail
