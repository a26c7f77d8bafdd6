#pragma once
// Optimizer: the base of bend's gradient-descent optimizers (SGD, Adam, AdamW, RMSprop). It holds the
// parameters (leaf tensors; their grad() is filled by backward) and one learning rate, like a
// torch.optim optimizer with a single parameter group. step() updates every parameter that has a
// gradient in place, under NoGradGuard; a parameter whose grad is undefined is skipped (PyTorch skips
// grad None). Per-parameter state (momentum buffers, moment estimates) is allocated once, on the first
// step that needs it, so steady-state steps allocate nothing.
//
// Checkpoints: state_tensors() names each state buffer the way PyTorch's optimizer.state_dict() does,
// "state.<param index>.<key>" ("state.0.exp_avg", "state.3.momentum_buffer", "state.0.step", ...);
// hyperparameters() gives lr, momentum, betas, ... by name. load_state() and set_hyperparameters()
// put them back, so that the steps after a restore are bit-identical to an uninterrupted run.
//
// Adding an optimizer: its Options struct (PyTorch's defaults as member initializers) and its option
// table (one OptionField per option: name, member, help; see below); derive from
// OptimizerWithState<State, Options>, where State holds one parameter's buffers (and `std::int64_t
// step` if it counts steps), list the buffers in state_buffers(), write validate() and update() (one
// parameter's step); then add one entry to src/optim/registry.cpp. step(), backward_and_step(),
// hyperparameters(), set_hyperparameters() and saving and loading the state are done here, the same for
// all, and the registry, the CLI's help and --opt-arg read the option table.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bend/tensor.hpp"

namespace bend::optim {

using OptimizerState = std::vector<std::pair<std::string, Tensor>>;

// One per-parameter state buffer, as checkpoints name it and as the current options use it.
struct StateKey {
  std::string_view key;  // saved as "state.<parameter index>.<key>"
  // Whether the current options use the buffer. One in use is required for every parameter that has
  // state; one not in use is neither saved nor accepted on load (amsgrad off: no max_exp_avg_sq).
  bool in_use = true;
  // Why it is refused when not in use, completing "state entry '<name>' is ...".
  std::string_view unused_because = {};
};

// Validation shared by the optimizers and schedulers: ValueError naming `what` and the value.
void check_non_negative(std::string_view owner, std::string_view what, double value);
void check_finite(std::string_view owner, std::string_view what, double value);
// A boolean hyperparameter given as a double: 0 or 1, ValueError otherwise.
bool hyperparameter_flag(std::string_view owner, std::string_view key, double value);
// ValueError: "<owner>: unknown hyperparameter '<key>' (known: <known>)".
[[noreturn]] void throw_unknown_hyperparameter(std::string_view owner, std::string_view key,
                                               std::string_view known);

class Optimizer {
 public:
  // `params` must be non-empty, defined, distinct leaf tensors (ValueError otherwise).
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter whose grad is defined.
  void step();
  // loss.backward() and step() in one pass, as PyTorch's optimizer-in-backward: each parameter is
  // updated as soon as its gradient is final (every op that uses it has been replayed), while that
  // gradient is still in cache, instead of in a second pass over all parameters. Parameters, gradients
  // and optimizer state end bit-identical to backward() then step(): an update reads only its own
  // parameter, gradient and state, and no op replayed after a parameter's final use reads it. Not for
  // gradients that change between backward and step (clipping, averaging over ranks).
  void backward_and_step(const Tensor& loss);
  // Fills every existing gradient with zeros, keeping its memory (undefined grads stay undefined).
  void zero_grad();

  // The learning rate, kept in double as PyTorch keeps it (a Python float); schedulers set it.
  double lr() const { return lr_; }
  void set_lr(double lr);  // ValueError when negative or NaN

  virtual std::string_view name() const = 0;  // "SGD", "Adam", "AdamW"
  const std::vector<Tensor>& params() const { return params_; }

  // Copies of the state buffers of every parameter that has state, named "state.<index>.<key>" (the
  // step count is a 0-d tensor). Copies, so a snapshot is not changed by later steps.
  virtual OptimizerState state_tensors() const = 0;
  // Replaces the whole state (a parameter not mentioned starts fresh, as if never stepped). Checks
  // everything before changing anything: unknown or repeated names, indices out of range, missing
  // keys -> ValueError; a buffer whose shape differs from its parameter's -> ShapeError.
  virtual void load_state(const OptimizerState& state) = 0;

  // lr and the optimizer's options by name (booleans as 0/1).
  virtual std::map<std::string, double> hyperparameters() const = 0;
  // Sets the named options (any subset of hyperparameters()); unknown names or invalid values ->
  // ValueError, and then nothing is changed.
  virtual void set_hyperparameters(const std::map<std::string, double>& values) = 0;

 protected:
  // Updates parameter `index`, whose gradient is defined and of its shape: step()'s work for one
  // parameter, under NoGradGuard. Each optimizer writes this; step() and backward_and_step() call it.
  virtual void update(std::size_t index) = 0;

  // A checkpoint's per-parameter state, checked against `keys` (plus "step" when `keeps_step`) and
  // not yet applied: every name well-formed, known, in use, given once, of its parameter's shape, and
  // every parameter mentioned complete. The errors are load_state()'s.
  class IncomingState {
   public:
    bool has_state(std::size_t param) const { return has_state_[param]; }
    std::int64_t step(std::size_t param) const { return steps_[param]; }
    const Tensor* buffer(std::size_t param, std::size_t key) const {  // nullptr: not given
      return buffers_[param * keys_per_param_ + key];
    }

   private:
    friend class Optimizer;
    std::size_t keys_per_param_ = 0;
    std::vector<const Tensor*> buffers_;  // [param][key]
    std::vector<std::int64_t> steps_;     // -1 when not given
    std::vector<bool> has_state_;
  };
  IncomingState check_state(const OptimizerState& state, const std::vector<StateKey>& keys,
                            bool keeps_step) const;

  // "state.<index>.<key>".
  static std::string state_name(std::size_t index, std::string_view key);
  // A 0-d float tensor holding a step count.
  static Tensor step_tensor(std::int64_t step);
  static Tensor copy_of(const Tensor& t);
  // Copies `from` into `into` (allocating it if undefined); from == nullptr leaves `into` undefined.
  static void restore_buffer(Tensor& into, const Tensor* from);

  std::vector<Tensor> params_;
  double lr_;

 private:
  // step()'s checks and update of one parameter; false when it has no gradient (skipped).
  bool step_parameter(std::size_t index);
  // The grad-ready hook of backward_and_step(): updates `leaf` if it is one of params().
  static void on_grad_ready(void* self, const Tensor& leaf);

  std::unordered_map<const detail::TensorImpl*, std::size_t> index_of_;  // params_[index_of_[p]] is p
  std::vector<std::uint8_t> updated_;  // per parameter: updated during the current backward_and_step()

  // Splits "state.<index>.<key>" into index and key; ValueError when malformed or out of range.
  std::pair<std::size_t, std::string> parse_state_name(const std::string& name) const;
  // The step count a 0-d tensor holds (ValueError unless a non-negative integer).
  std::int64_t step_from_tensor(const std::string& name, const Tensor& t) const;
  // ShapeError unless `t` has the shape of params()[index].
  void check_state_shape(const std::string& name, const Tensor& t, std::size_t index) const;
};

// One buffer of an optimizer's per-parameter `State`: its checkpoint key and where it is kept.
template <class State>
struct StateBuffer {
  std::string_view key;
  Tensor State::*member;
  bool in_use = true;                    // see StateKey
  std::string_view unused_because = {};  // see StateKey
};

// The values an option takes (PyTorch's checks); every option is checked before an optimizer's own
// checks of combinations (validate()).
enum class OptionRange {
  kNonNegative,   // >= 0 (rejects NaN)
  kFinite,        // any finite value
  kUnitInterval,  // in [0, 1) (Adam's betas)
  kFlag,          // 0 or 1 (a bool member)
};

// One option of an optimizer: its name (PyTorch's keyword; the key of hyperparameters(), of checkpoints'
// "optim.<name>", of the registry and of --opt-arg NAME=VALUE), the member of the Options struct that
// holds it, one line of help, and its range. Its default is the member's in the table's `defaults`.
// Flags (bool members) read and write as 0 and 1. Made by option<&Options::member>(...) below.
template <class Options>
struct OptionField {
  std::string_view name;
  std::string_view help;
  OptionRange range;
  double (*get)(const Options&);
  void (*set)(Options&, double);
  bool is_flag() const { return range == OptionRange::kFlag; }
};

// ValueError "<owner>: invalid <name> <value> (must be ...)" unless `value` is in `range`.
void check_option_range(std::string_view owner, std::string_view name, OptionRange range, double value);

namespace option_detail {
template <class Member>
struct MemberOf;
template <class Class, class Type>
struct MemberOf<Type Class::*> {
  using Options = Class;
  using Value = Type;
};
}  // namespace option_detail

// The option kept in `kMember`, a double member (in `range`) or a bool member (a flag).
template <auto kMember>
constexpr auto option(std::string_view name, std::string_view help,
                      OptionRange range = OptionRange::kNonNegative) {
  using Options = typename option_detail::MemberOf<decltype(kMember)>::Options;
  using Value = typename option_detail::MemberOf<decltype(kMember)>::Value;
  static_assert(std::is_same_v<Value, double> || std::is_same_v<Value, bool>,
                "an option is a double or a bool");
  return OptionField<Options>{name, help, std::is_same_v<Value, bool> ? OptionRange::kFlag : range,
                              [](const Options& o) { return static_cast<double>(o.*kMember); },
                              [](Options& o, double v) { o.*kMember = static_cast<Value>(v); }};
}
// The option kept in element kIndex of the pair `kMember` (Adam's betas: beta1, beta2).
template <auto kMember, std::size_t kIndex>
constexpr auto option(std::string_view name, std::string_view help, OptionRange range) {
  using Options = typename option_detail::MemberOf<decltype(kMember)>::Options;
  return OptionField<Options>{name, help, range,
                              [](const Options& o) { return std::get<kIndex>(o.*kMember); },
                              [](Options& o, double v) { std::get<kIndex>(o.*kMember) = v; }};
}

// An optimizer's options: every field ("lr" first, then PyTorch's keyword order) and the defaults.
template <class Options>
struct OptionTable {
  std::vector<OptionField<Options>> fields;
  Options defaults;  // PyTorch's (SGD's lr, which PyTorch requires, is bend's 0.01)

  const OptionField<Options>* find(std::string_view option_name) const {
    for (const OptionField<Options>& f : fields)
      if (f.name == option_name) return &f;
    return nullptr;
  }
  // "lr, momentum, dampening, ...", in table order.
  std::string names() const {
    std::string out;
    for (const OptionField<Options>& f : fields) out += (out.empty() ? "" : ", ") + std::string(f.name);
    return out;
  }
  // Every option of `o` by name.
  std::map<std::string, double> values(const Options& o) const {
    std::map<std::string, double> out;
    for (const OptionField<Options>& f : fields) out.emplace(f.name, f.get(o));
    return out;
  }
  // `o` with the named `values` set. ValueError ("<owner>: ...") for a name not in the table or a flag
  // other than 0 or 1; the optimizer's validate() checks the rest.
  Options with(Options o, const std::map<std::string, double>& values, std::string_view owner) const {
    for (const auto& [key, value] : values) {
      const OptionField<Options>* f = find(key);
      if (!f) throw_unknown_hyperparameter(owner, key, names());
      f->set(o, f->is_flag() ? static_cast<double>(hyperparameter_flag(owner, key, value)) : value);
    }
    return o;
  }
  // ValueError naming the first option of `o` outside its range.
  void check_ranges(const Options& o, std::string_view owner) const {
    for (const OptionField<Options>& f : fields) check_option_range(owner, f.name, f.range, f.get(o));
  }
};

// An optimizer whose options are an `Options` struct described by an OptionTable, and whose
// per-parameter state is a `State` of Tensor buffers (undefined until the parameter's first step), plus
// a step count if State has a `std::int64_t step` (saved as "state.<i>.step"). It lists its buffers in
// state_buffers(); saving and loading them, and reading and setting the options by name, are done here.
template <class State, class Options>
class OptimizerWithState : public Optimizer {
 public:
  // The options in force (lr is the current learning rate, which a scheduler may have changed).
  Options options() const {
    Options o = options_;
    o.lr = lr_;
    return o;
  }
  // The table of this optimizer's options (names, members, help, defaults).
  virtual const OptionTable<Options>& option_table() const = 0;

  std::map<std::string, double> hyperparameters() const final { return option_table().values(options()); }
  void set_hyperparameters(const std::map<std::string, double>& values) final {
    const Options o = option_table().with(options(), values, name());
    check(o);  // nothing changes unless every value is valid
    lr_ = o.lr;
    options_ = o;
  }

  // Per parameter that has state: "step" (if counted), then each buffer in use, in list order.
  OptimizerState state_tensors() const final {
    const std::vector<StateBuffer<State>> buffers = state_buffers();
    OptimizerState out;
    for (std::size_t i = 0; i < state_.size(); ++i) {
      const State& s = state_[i];
      if (!(s.*buffers.front().member).defined()) continue;  // the parameter has not stepped yet
      if constexpr (kKeepsStep) out.emplace_back(state_name(i, "step"), step_tensor(s.step));
      for (const StateBuffer<State>& b : buffers)
        if (b.in_use && (s.*b.member).defined()) out.emplace_back(state_name(i, b.key), copy_of(s.*b.member));
    }
    return out;
  }

  void load_state(const OptimizerState& state) final {
    const std::vector<StateBuffer<State>> buffers = state_buffers();
    std::vector<StateKey> keys;
    for (const StateBuffer<State>& b : buffers) keys.push_back({b.key, b.in_use, b.unused_because});
    // Everything is checked before anything changes, so a bad checkpoint leaves the optimizer as it was.
    const IncomingState incoming = check_state(state, keys, kKeepsStep);
    for (std::size_t i = 0; i < state_.size(); ++i) {
      State& s = state_[i];
      if (!incoming.has_state(i)) {
        s = State{};  // not mentioned: starts fresh
        continue;
      }
      if constexpr (kKeepsStep) s.step = incoming.step(i);
      for (std::size_t k = 0; k < buffers.size(); ++k)
        restore_buffer(s.*buffers[k].member, incoming.buffer(i, k));
    }
  }

 public:
  // The state of parameter i (PyTorch's optimizer.state[p]); std::out_of_range past the last.
  const State& state(std::size_t param) const { return state_.at(param); }

 protected:
  OptimizerWithState(std::vector<Tensor> params, const Options& options)
      : Optimizer(std::move(params), options.lr), options_(options), state_(params_.size()) {}

  // ValueError for an option outside its range (the table's), then for an invalid combination
  // (validate()). Constructors call it.
  void check(const Options& o) const {
    option_table().check_ranges(o, name());
    validate(o);
  }
  // The optimizer's own checks of combinations of valid values (SGD: Nesterov needs momentum).
  virtual void validate(const Options&) const {}

  // The buffers in checkpoint order, each marked with whether the current options use it. The first
  // is always in use, and is defined exactly when the parameter has state.
  virtual std::vector<StateBuffer<State>> state_buffers() const = 0;

  Options options_;           // options_.lr is unused: the rate in force is lr_
  std::vector<State> state_;  // by parameter index

 private:
  static constexpr bool kKeepsStep = requires(State s) { s.step; };
};

}  // namespace bend::optim

namespace bend {
// The optimizers' names in bend:: as well, as before bend::optim (for code not yet migrated).
using optim::Optimizer;
using optim::OptimizerState;
using optim::OptimizerWithState;
using optim::StateBuffer;
using optim::StateKey;
}  // namespace bend
