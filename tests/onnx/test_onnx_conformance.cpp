// ONNX's own node tests (Debian's libonnx-testdata: a model, inputs and expected outputs for each op and
// attribute set) through bend's importer: every test whose graph the importer accepts runs in bend and
// must give ONNX's expected output; what it refuses is "unsupported", with the reason naming the op or
// attribute. The report: pass, fail and unsupported per op.
#if BEND_HAVE_ONNX
#include "build_paths.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "bend/error.hpp"
#include "bend/onnx/chain.hpp"
#include "bend/ops.hpp"
#include "requirements.hpp"

namespace BEND_UNITY_ID {

namespace fs = std::filesystem;
namespace pb = ::onnx;

namespace {

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A float TensorProto as a bend tensor; nullopt for other types.
std::optional<bend::Tensor> to_tensor(const pb::TensorProto& t) {
  if (t.data_type() != pb::TensorProto::FLOAT) return std::nullopt;
  std::vector<std::int64_t> dims(t.dims().begin(), t.dims().end());
  std::int64_t n = 1;
  for (std::int64_t d : dims) n *= d;
  std::vector<float> values(static_cast<std::size_t>(n));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != values.size() * 4) return std::nullopt;
    std::memcpy(values.data(), t.raw_data().data(), t.raw_data().size());
  } else {
    if (t.float_data_size() != n) return std::nullopt;
    std::copy(t.float_data().begin(), t.float_data().end(), values.begin());
  }
  if (dims.empty()) return bend::Tensor::scalar(values.empty() ? 0.0f : values[0]);
  return bend::Tensor::from(std::span<const float>(values), bend::Shape(std::span<const std::int64_t>(dims)));
}

struct Tally {
  int pass = 0, fail = 0, unsupported = 0;
  std::string reason;  // the first unsupported's reason
  std::vector<std::string> failures;
};

// Runs one node test; "" on pass, "unsupported: ..." or "fail: ...".
std::string run_node_test(const fs::path& dir) {
  pb::ModelProto model;
  const std::string bytes = read_bytes(dir / "model.onnx");
  if (!model.ParseFromString(bytes)) return "fail: model.onnx does not parse";
  // The node's other inputs (weights in a model) become initializers with the test's values.
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().starts_with("test_data_set_"))
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "unsupported: no test data";
  pb::GraphProto& g = *model.mutable_graph();
  for (int k = g.input_size() - 1; k >= 1; --k) {
    pb::TensorProto t;
    if (!t.ParseFromString(read_bytes(sets.front() / fmt::format("input_{}.pb", k))))
      return "unsupported: input " + std::to_string(k) + " has no test data";
    t.set_name(g.input(k).name());
    *g.add_initializer() = t;
    g.mutable_input()->DeleteSubrange(k, 1);
  }
  std::string edited;
  model.SerializeToString(&edited);
  bend::onnx::Chain chain;
  try {
    chain =
        bend::onnx::read_chain(std::span(reinterpret_cast<const std::uint8_t*>(edited.data()), edited.size()),
                               dir.filename().string());
  } catch (const bend::ValueError& e) {
    return std::string("unsupported: ") + e.what();
  }
  bend::nn::Sequential net = bend::onnx::build_chain(chain);
  for (const fs::path& set : sets) {
    pb::TensorProto in, out;
    in.ParseFromString(read_bytes(set / "input_0.pb"));
    out.ParseFromString(read_bytes(set / "output_0.pb"));
    const auto x = to_tensor(in), expected = to_tensor(out);
    if (!x || !expected) return "unsupported: the test data is not float";
    if (set !=
        sets.front()) {  // other data sets may hold other weights: only the first set's are in the model
      bool same = true;
      for (int k = 1; fs::exists(set / fmt::format("input_{}.pb", k)); ++k)
        same = same && read_bytes(set / fmt::format("input_{}.pb", k)) ==
                           read_bytes(sets.front() / fmt::format("input_{}.pb", k));
      if (!same) continue;
    }
    bend::Tensor y;
    try {
      y = net.forward(*x);
      if (chain.softmax_output) y = bend::softmax(y, 1);
    } catch (const bend::Error& e) {
      return std::string("fail: bend refused at run time: ") + e.what();
    }
    if (y.numel() != expected->numel())
      return fmt::format("fail: {} values, expected {}", y.numel(), expected->numel());
    const std::span<const float> a = y.span(), b = expected->span();
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!(std::abs(a[i] - b[i]) <= 1e-6 + 1e-3 * std::abs(b[i])) && !(std::isnan(a[i]) && std::isnan(b[i])))
        return fmt::format("fail: value {} is {}, expected {} ({})", i, a[i], b[i], set.filename().string());
  }
  return "";
}

}  // namespace

TEST_CASE("ONNX's node tests through the importer: every accepted test passes", "[onnx][conformance]") {
  if (!bend::testing::require_available(
          fs::is_directory(kNodeTests), "ONNX's node tests in " + kNodeTests.string(),
          "apt-get install libonnx-testdata (scripts/install-deps.sh --test does)"))
    return;
  std::map<std::string, Tally> by_op;
  int pass = 0, fail = 0, unsupported = 0;
  std::vector<fs::path> tests;
  for (const auto& e : fs::directory_iterator(kNodeTests))
    if (fs::exists(e.path() / "model.onnx")) tests.push_back(e.path());
  std::sort(tests.begin(), tests.end());
  for (const fs::path& dir : tests) {
    pb::ModelProto model;
    model.ParseFromString(read_bytes(dir / "model.onnx"));
    std::string op =
        model.graph().node_size() == 1 ? model.graph().node(0).op_type() : "(graphs of several nodes)";
    const std::string result = run_node_test(dir);
    Tally& t = by_op[op];
    if (result.empty()) {
      ++t.pass;
      ++pass;
    } else if (result.starts_with("unsupported")) {
      ++t.unsupported;
      ++unsupported;
      if (t.reason.empty()) t.reason = result.substr(13);
    } else {
      ++t.fail;
      ++fail;
      t.failures.push_back(dir.filename().string() + ": " + result);
    }
  }
  std::string report =
      fmt::format("ONNX node tests through bend import: {} pass, {} fail, {} unsupported of {}\n", pass, fail,
                  unsupported, tests.size());
  for (const auto& [op, t] : by_op)
    if (t.pass + t.fail > 0 || op == "(graphs of several nodes)")
      report += fmt::format("  {:<26} pass {:>3}  fail {:>2}  unsupported {:>3}{}\n", op, t.pass, t.fail,
                            t.unsupported, t.unsupported ? "  (e.g. " + t.reason.substr(0, 150) + ")" : "");
  int ops_unsupported = 0;
  for (const auto& [op, t] : by_op) ops_unsupported += t.pass + t.fail == 0;
  report += fmt::format(
      "  and {} ops with every test unsupported (no bend layer, or attributes bend cannot honour)\n",
      ops_unsupported);
  std::cout << report;
  for (const auto& [op, t] : by_op)
    for (const std::string& f : t.failures) FAIL_CHECK(f);
  CHECK(fail == 0);
  CHECK(pass >= 40);
}

}  // namespace BEND_UNITY_ID
#endif
