// check_module: gradients, state dict round trip, modes and steady-step allocations of one module (see
// bend/testing/check_module.hpp for what each check asserts).
#include "bend/testing/check_module.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "bend/autograd.hpp"
#include "bend/detail/memory.hpp"
#include "bend/error.hpp"
#include "bend/nn/serialize.hpp"
#include "bend/ops.hpp"

namespace bend::testing {
namespace {

using ForwardFn = std::function<Tensor(nn::Module&, const std::vector<Tensor>&)>;

class Checker {
 public:
  Checker(const ModuleCase& c, const CheckModuleOptions& o, CheckModuleResult& r)
      : case_(c), options_(o), result_(r) {}

  void run() {
    guarded("construction", [&] {
      if (!case_.make) throw ValueError("the case has no `make` factory");
      if (case_.inputs.empty()) throw ValueError("the case has no example inputs");
      inputs_ = copy_inputs();
      steer_off_kinks();
    });
    if (!result_.ok()) return;
    guarded("gradient", [&] { check_gradients(); });
    guarded("state_dict", [&] { check_state_dict(); });
    guarded("mode", [&] { check_modes(); });
    guarded("memory", [&] { check_steady_step(); });
  }

 private:
  template <class F>
  void guarded(const char* check, F&& body) {
    check_name_ = check;
    try {
      body();
    } catch (const std::exception& e) {
      fail("threw: {}", e.what());
    }
    tape().clear();  // whatever a failed check left recorded
  }

  template <class... Args>
  void fail(fmt::format_string<Args...> format, Args&&... args) {
    result_.failures.push_back(
        fmt::format("[{}] {}", check_name_, fmt::format(format, std::forward<Args>(args)...)));
  }
  void expect(bool condition, const std::string& what) {
    ++result_.checks_run;
    if (!condition) fail("{}", what);
  }

  std::shared_ptr<nn::Module> make(std::uint64_t salt) {
    Rng rng(options_.seed * 1000003u + salt);
    std::shared_ptr<nn::Module> m = case_.make(rng);
    if (!m) throw ValueError("`make` returned null");
    return m;
  }

  Tensor forward(nn::Module& m, const std::vector<Tensor>& xs) const {
    return case_.forward ? case_.forward(m, xs) : m.forward(xs.at(0));
  }
  // The output as plain values, without recording.
  std::vector<float> values(nn::Module& m, const std::vector<Tensor>& xs) const {
    NoGradGuard no_grad;
    return forward(m, xs).to_vector();
  }

  // Copies of the example inputs (the gradient check writes into them), with the same requires_grad.
  std::vector<Tensor> copy_inputs() const {
    std::vector<Tensor> out;
    for (const Tensor& x : case_.inputs) {
      Tensor c = x.detach().clone();
      if (x.requires_grad()) c.requires_grad_();
      out.push_back(c);
    }
    return out;
  }

  // Moves input elements off kinks: where the forward's slopes to the left and right of an element
  // (over a step wider than the gradient check's) disagree by more than curvature explains, or the
  // element is near a declared kink, it is shifted and probed again.
  void steer_off_kinks() {
    auto module = make(0);
    const double rtol = 0.25, atol = 0.1;
    for (std::size_t k = 0; k < inputs_.size(); ++k) {
      Tensor& x = inputs_[k];
      if (!x.requires_grad()) continue;
      double scale = 0.0;
      for (float v : x.span()) scale = std::max(scale, std::abs(static_cast<double>(v)));
      const double h = 2.0 * case_.gradcheck.eps * std::max(1.0, scale);
      for (std::int64_t j = 0; j < x.numel(); ++j) {
        float& xj = x.data()[j];
        const float start = xj;
        bool smooth = false;
        for (int attempt = 0; attempt < 12 && !smooth; ++attempt) {
          if (attempt > 0)  // +2.5h, -2.5h, +5h, -5h, ... around the start
            xj = start + static_cast<float>((attempt % 2 ? 1 : -1) * 2.5 * h * ((attempt + 1) / 2));
          smooth = std::none_of(case_.kinks.begin(), case_.kinks.end(),
                                [&](float kink) { return std::abs(xj - kink) < case_.kink_margin; }) &&
                   slopes_agree(*module, k, j, h, rtol, atol);
        }
        if (!smooth) fail("input {} element {}: no smooth point found near {}", k, j, start);
      }
    }
  }

  bool slopes_agree(nn::Module& m, std::size_t k, std::int64_t j, double h, double rtol, double atol) {
    float& xj = inputs_[k].data()[j];
    const float centre = xj;
    const std::vector<float> y0 = values(m, inputs_);
    xj = static_cast<float>(centre - h);
    const std::vector<float> left = values(m, inputs_);
    xj = static_cast<float>(centre + h);
    const std::vector<float> right = values(m, inputs_);
    xj = centre;
    double left_norm = 0, right_norm = 0, diff_norm = 0;
    for (std::size_t i = 0; i < y0.size(); ++i) {
      const double sl = (static_cast<double>(y0[i]) - left[i]) / h;
      const double sr = (static_cast<double>(right[i]) - y0[i]) / h;
      left_norm += sl * sl, right_norm += sr * sr, diff_norm += (sr - sl) * (sr - sl);
    }
    if (!std::isfinite(left_norm + right_norm + diff_norm)) return false;
    return std::sqrt(diff_norm) <= atol + rtol * std::sqrt(std::max(left_norm, right_norm));
  }

  bool listed_without_gradient(const std::string& name) const {
    return std::find(case_.no_gradient.begin(), case_.no_gradient.end(), name) != case_.no_gradient.end();
  }

  // One gradcheck per tensor, so that a failure names it and each gradient must be non-zero on its own.
  void gradcheck_each(nn::Module& m, std::vector<Tensor>& xs, const char* mode) {
    // A module may return its input itself (Dropout in eval mode); the copy puts the identity on the tape.
    const GradcheckFn f = [&](const std::vector<Tensor>&) {
      Tensor y = forward(m, xs);
      return y.is_leaf() ? clone(y) : y;
    };
    auto check = [&](const Tensor& t, const std::string& what, bool must_be_nonzero) {
      if (t.numel() == 0) return;
      const GradcheckResult r = gradcheck(f, {t}, case_.gradcheck);
      expect(r.ok, fmt::format("{} ({} mode): {}", what, mode, r.message));
      if (must_be_nonzero)
        expect(r.min_analytic_norm > 1e-6,
               fmt::format("{} ({} mode): the gradient is zero, so the check proved nothing", what, mode));
    };
    for (std::size_t k = 0; k < xs.size(); ++k)
      if (xs[k].requires_grad()) check(xs[k], fmt::format("input {}", k), true);
    for (const auto& [name, p] : m.named_parameters())
      check(p, fmt::format("parameter '{}'", name), !listed_without_gradient(name));
    m.zero_grad();
  }

  void check_gradients() {
    auto m = make(1);
    std::set<std::string> names;
    for (const auto& [name, p] : m->named_parameters()) names.insert(name);
    for (const std::string& name : case_.no_gradient)
      expect(names.contains(name), fmt::format("no_gradient lists '{}', which is not a parameter", name));
    std::vector<Tensor> xs = inputs_;
    gradcheck_each(*m, xs, "training");
    if (case_.mode_dependent) {
      m->eval();
      gradcheck_each(*m, xs, "eval");
    }
  }

  void check_state_dict() {
    auto original = make(2);
    const nn::NamedTensors state = original->state_dict();
    std::vector<std::string> names;
    for (const auto& [name, t] : state) names.push_back(name);
    expect(names == case_.state_names,
           fmt::format("state_dict() names [{}], expected PyTorch's [{}]", fmt::join(names, ", "),
                       fmt::join(case_.state_names, ", ")));
    const nn::NamedTensors params = original->named_parameters(), buffers = original->named_buffers();
    // (a tied weight, e.g. GPT's lm_head.weight, is one tensor under two names: counted once)
    std::set<const detail::TensorImpl*> distinct;
    for (const auto& [name, t] : state) distinct.insert(t.impl());
    expect(params.size() + buffers.size() == distinct.size(),
           fmt::format("state_dict() has {} distinct tensors, but there are {} parameters and {} buffers",
                       state.size(), params.size(), buffers.size()));
    for (const auto& [name, p] : params)
      expect(p.requires_grad(), fmt::format("parameter '{}' does not require grad", name));
    for (const auto& [name, b] : buffers)
      expect(!b.requires_grad(), fmt::format("buffer '{}' requires grad", name));

    // Values no fresh instance has, so that equal outputs after loading prove the load.
    Rng noise(options_.seed + 7);
    for (auto [name, t] : state)
      for (float& v : t.span()) v += noise.uniform(0.05f, 0.15f) * (1.0f + std::abs(v));
    std::int64_t state_elements = 0;
    for (const auto& [name, t] : state) state_elements += t.numel();

    static std::atomic<int> counter{0};
    const std::filesystem::path dir =
        options_.scratch_dir.empty() ? std::filesystem::temp_directory_path() : options_.scratch_dir;
    const std::filesystem::path path =
        dir / fmt::format("bend-check-module-{}-{}.safetensors", ::getpid(), counter++);
    struct Remove {
      std::filesystem::path p;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove(p, ec);
      }
    } remove{path};
    nn::save_tensors(path, state, {{"bend.check_module", case_.name}});
    const nn::NamedTensors loaded = nn::load_tensors(path);
    std::set<std::string> in_file;
    for (const auto& [name, t] : loaded) in_file.insert(name);
    expect(in_file == std::set<std::string>(names.begin(), names.end()),
           fmt::format("the file holds [{}], the state dict [{}]", fmt::join(in_file, ", "),
                       fmt::join(names, ", ")));

    auto fresh = make(3);
    original->eval();
    fresh->eval();
    const std::vector<float> expected = values(*original, inputs_);
    if (state_elements > 0)
      expect(
          values(*fresh, inputs_) != expected,
          "a fresh instance gives the perturbed instance's output before loading: the check proves nothing");
    fresh->load_state_dict(loaded);
    const nn::NamedTensors reloaded = fresh->state_dict();
    for (std::size_t i = 0; i < std::min(reloaded.size(), state.size()); ++i) {
      const Tensor &a = state[i].second, &b = reloaded[i].second;
      expect(a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0,
             fmt::format("'{}' differs after the save/load round trip", state[i].first));
    }
    expect(values(*fresh, inputs_) == expected, "the loaded instance's output differs from the saved one's");
  }

  void check_modes() {
    auto m = make(4);
    auto all_in_mode = [&](bool training) {
      for (const auto& [prefix, sub] : all_modules(*m))
        expect(sub->is_training() == training,
               fmt::format("module '{}' ({}) is in {} mode after {}()", prefix.empty() ? "<root>" : prefix,
                           sub->type_name(), training ? "eval" : "training", training ? "train" : "eval"));
    };
    expect(m->is_training(), "a new module is not in training mode");
    m->eval();
    all_in_mode(false);
    const std::vector<float> eval_out = values(*m, inputs_);
    expect(values(*m, inputs_) == eval_out, "two eval-mode forwards give different outputs");
    m->train();
    all_in_mode(true);
    const std::vector<float> train_out = values(*m, inputs_);
    if (case_.mode_dependent)
      expect(train_out != eval_out, "mode_dependent, but training and eval outputs are equal");
    else
      expect(train_out == eval_out, "training and eval outputs differ (set mode_dependent if intended)");
  }

  void check_steady_step() {
    auto m = make(5);
    std::vector<Tensor> xs = inputs_;
    auto step = [&] {
      m->zero_grad();
      for (Tensor& x : xs)
        if (x.requires_grad()) x.zero_grad();
      sum(forward(*m, xs)).backward();
    };
    for (int i = 0; i < options_.warmup_steps; ++i) step();
    const MemoryStats before = memory_stats();
    const std::uint64_t heap_before = options_.heap_allocations ? options_.heap_allocations() : 0;
    for (int i = 0; i < options_.measured_steps; ++i) step();
    const std::uint64_t heap_after = options_.heap_allocations ? options_.heap_allocations() : 0;
    const MemoryStats after = memory_stats();
    expect(after.buffers_created == before.buffers_created,
           fmt::format("{} tensor buffers created in {} steady steps",
                       after.buffers_created - before.buffers_created, options_.measured_steps));
    expect(after.objects_created == before.objects_created,
           fmt::format("{} tensor objects created in {} steady steps",
                       after.objects_created - before.objects_created, options_.measured_steps));
    if (options_.heap_allocations)
      expect(heap_after == heap_before, fmt::format("{} heap allocations in {} steady steps",
                                                    heap_after - heap_before, options_.measured_steps));
  }

  const ModuleCase& case_;
  const CheckModuleOptions& options_;
  CheckModuleResult& result_;
  const char* check_name_ = "";
  std::vector<Tensor> inputs_;  // the example inputs, moved off kinks
};

void collect_modules(const std::string& prefix, nn::Module& m,
                     std::vector<std::pair<std::string, nn::Module*>>& out) {
  out.emplace_back(prefix, &m);
  for (const auto& [name, child] : m.children()) collect_modules(prefix + name + ".", *child, out);
}

}  // namespace

std::vector<std::pair<std::string, nn::Module*>> all_modules(nn::Module& root) {
  std::vector<std::pair<std::string, nn::Module*>> out;
  collect_modules("", root, out);
  return out;
}

std::string CheckModuleResult::report() const {
  if (ok()) return fmt::format("{}: {} checks passed", name, checks_run);
  return fmt::format("{}: {} failure(s) in {} checks\n  {}", name, failures.size(), checks_run,
                     fmt::join(failures, "\n  "));
}

CheckModuleResult check_module(const ModuleCase& module_case, const CheckModuleOptions& options) {
  CheckModuleResult result;
  result.name = module_case.name;
  Checker(module_case, options, result).run();
  return result;
}

}  // namespace bend::testing
