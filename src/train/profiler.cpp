// The training profiler (bend/train/profiler.hpp): the Trainer's phase marks become phase and step
// spans; between phases every thread's spans are collected, summed per op for the table and kept for the
// trace.
#include "bend/train/profiler.hpp"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "bend/io/atomic_file.hpp"

namespace bend::train {

namespace {

// The parts' names in the trace (static strings: spans keep the pointer) and what the pool's workers
// name their parts during each.
constexpr const char* kPartNames[] = {"data",      "zero_grad",   "forward",    "backward",
                                      "optimizer", "bookkeeping", "evaluation", "other"};

double seconds(std::int64_t ns) { return static_cast<double>(ns) * 1e-9; }

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string duration_text(double s) {
  if (s >= 1.0) return fmt::format("{:.3f} s", s);
  if (s >= 1e-3) return fmt::format("{:.2f} ms", s * 1e3);
  return fmt::format("{:.1f} us", s * 1e6);
}

}  // namespace

Profiler::Profiler(TrainObserver* next, ProfilerOptions options) : next_(next), options_(options) {}

Profiler::~Profiler() {
  if (recording_) profiler::set_active(false);
}

void Profiler::on_start(Trainer& trainer) {
  if (next_) next_->on_start(trainer);
  if (recording_ || finished_) return;
  profiler::set_active(true);
  recording_ = true;
  start_ns_ = profiler::now_ns();
  current_ = kOther;
  part_begin_ = start_ns_;
  profiler::mark(start_ns_);
  profiler::set_label(kPartNames[kOther]);
}

void Profiler::on_step(const StepProgress& p) {
  if (next_) next_->on_step(p);
}

void Profiler::on_epoch(const EpochMetrics& m) {
  if (next_) next_->on_epoch(m);
  enter(kOther);  // evaluation is over: checkpoints and logging follow
}

void Profiler::on_checkpoint(const std::filesystem::path& path) {
  if (next_) next_->on_checkpoint(path);
}

void Profiler::on_phase(StepPhase phase) {
  if (next_) next_->on_phase(phase);
  switch (phase) {
    case StepPhase::Data:
      return enter(kData);
    case StepPhase::ZeroGrad:
      return enter(kZeroGrad);
    case StepPhase::Forward:
      return enter(kForward);
    case StepPhase::Backward:
      return enter(kBackward);
    case StepPhase::Update:
      return enter(kUpdate);
    case StepPhase::Bookkeeping:
      return enter(kBookkeeping);
    case StepPhase::Evaluate:
      return enter(kEvaluate);
  }
}

void Profiler::enter(Part part) {
  if (!recording_ || part == current_) return;
  const std::int64_t now = profiler::now_ns();
  const Part ended = current_;
  if (ended != kNone) {
    part_ns_[ended] += now - part_begin_;
    profiler::record(kPartNames[ended], profiler::Category::Phase, part_begin_, now);
    if (ended == kForward) step_has_forward_ = true;
  }
  // A step runs from its data to its bookkeeping. (The data mark that finds the epoch's end starts no
  // step: a "step" without a forward pass is not counted.)
  const bool keep = steps_ < options_.trace_steps;  // (before this step, if one ends, is counted)
  if (part == kData || part == kEvaluate || part == kOther || part == kNone) {
    if (step_begin_ >= 0 && step_has_forward_) {
      profiler::record("step", profiler::Category::Step, step_begin_, now);
      ++steps_;
    }
    step_begin_ = -1;
    step_has_forward_ = false;
  }
  if (ended != kNone) collect(ended, keep);
  if (part == kData) {
    if (options_.max_steps > 0 && steps_ >= options_.max_steps) {
      // Enough steps: the rest of the run is not profiled.
      profiler::set_active(false);
      recording_ = false;
      finished_ = true;
      current_ = kNone;
      return;
    }
    step_begin_ = now;
  }
  current_ = part;
  part_begin_ = now;
  profiler::mark(now);
  profiler::set_label(part == kNone ? "idle" : kPartNames[part]);
}

// `keep`: the spans go into the trace too (the first trace_steps steps and what came before them).
void Profiler::collect(Part ended, bool keep) {
  profiler::drain([&](const profiler::ThreadSpans& thread) {
    for (const profiler::Span& s : thread.spans) {
      const std::int64_t d = s.end_ns - s.begin_ns;
      if (s.category == profiler::Category::Forward && ended == kForward) {
        auto it = ops_.find(std::string_view(s.name));
        if (it == ops_.end()) it = ops_.emplace(s.name, OpTotals{}).first;
        it->second.forward_ns += d;
        ++it->second.forward_calls;
        forward_ops_ns_ += d;
      } else if (s.category == profiler::Category::Backward && ended == kBackward) {
        auto it = ops_.find(std::string_view(s.name));
        if (it == ops_.end()) it = ops_.emplace(s.name, OpTotals{}).first;
        it->second.backward_ns += d;
        ++it->second.backward_calls;
        backward_ops_ns_ += d;
      } else if (s.category == profiler::Category::Optimizer && ended == kBackward) {
        optimizer_in_backward_ns_ += d;
      }
    }
    if (keep) {
      TraceThread& t = trace_[thread.thread];
      t.worker = thread.worker;
      t.spans.insert(t.spans.end(), thread.spans.begin(), thread.spans.end());
    }
  });
}

void Profiler::finish() {
  if (finished_) return;
  enter(kNone);
  if (recording_) profiler::set_active(false);
  recording_ = false;
  finished_ = true;
}

ProfileReport Profiler::report() {
  finish();
  ProfileReport r;
  r.steps = steps_;
  for (const auto& [name, t] : ops_)
    r.ops.push_back({name, seconds(t.forward_ns), seconds(t.backward_ns), t.forward_calls, t.backward_calls});
  std::stable_sort(r.ops.begin(), r.ops.end(),
                   [](const OpProfile& a, const OpProfile& b) { return a.seconds() > b.seconds(); });
  const auto part = [&](Part p) { return part_ns_[static_cast<std::size_t>(p)]; };
  r.parts = {
      {"forward, outside ops", seconds(part(kForward) - forward_ops_ns_)},
      {"backward, outside ops", seconds(part(kBackward) - backward_ops_ns_ - optimizer_in_backward_ns_)},
      {"optimizer", seconds(part(kUpdate) + optimizer_in_backward_ns_)},
      {"zero_grad", seconds(part(kZeroGrad))},
      {"data", seconds(part(kData))},
      {"bookkeeping (loss, accuracy, progress)", seconds(part(kBookkeeping))},
      {"evaluation", seconds(part(kEvaluate))},
      {"other (setup, checkpoints, logging)", seconds(part(kOther))},
  };
  for (const OpProfile& op : r.ops) r.total_seconds += op.seconds();
  for (const PartProfile& p : r.parts) r.total_seconds += p.seconds;
  return r;
}

std::string ProfileReport::table() const {
  const auto share = [&](double s) { return total_seconds > 0 ? 100.0 * s / total_seconds : 0.0; };
  std::string out = fmt::format("profile: {} step{}, {} profiled\n", steps, steps == 1 ? "" : "s",
                                duration_text(total_seconds));
  out += fmt::format("{:<40} {:>11} {:>10} {:>11} {:>10} {:>8} {:>7}\n", "Name", "Fwd total", "Fwd avg",
                     "Bwd total", "Bwd avg", "Calls", "Share");
  const std::string rule(40 + 12 + 11 + 12 + 11 + 9 + 8, '-');
  out += rule + "\n";
  const auto avg = [](double s, std::int64_t n) {
    return n > 0 ? duration_text(s / static_cast<double>(n)) : "";
  };
  for (const OpProfile& op : ops)
    out += fmt::format("{:<40} {:>11} {:>10} {:>11} {:>10} {:>8} {:>6.1f}%\n", op.name,
                       duration_text(op.forward_seconds), avg(op.forward_seconds, op.forward_calls),
                       duration_text(op.backward_seconds), avg(op.backward_seconds, op.backward_calls),
                       std::max(op.forward_calls, op.backward_calls), share(op.seconds()));
  out += rule + "\n";
  for (const PartProfile& p : parts)
    out += fmt::format("{:<40} {:>11} {:>10} {:>11} {:>10} {:>8} {:>6.1f}%\n", "[" + p.name + "]",
                       duration_text(p.seconds), "", "", "", "", share(p.seconds));
  out += rule + "\n";
  out += fmt::format("{:<40} {:>11} {:>10} {:>11} {:>10} {:>8} {:>6.1f}%\n", "total",
                     duration_text(total_seconds), "", "", "", "", 100.0);
  out += "(an op's forward time runs from the end of the op before it; evaluation has no op rows)\n";
  return out;
}

void Profiler::write_trace(const std::filesystem::path& path) {
  finish();
  write_file_atomically(path, [&](std::ostream& os) {
    os << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    os << R"({"ph":"M","pid":1,"tid":0,"name":"process_name","args":{"name":"bend"}})";
    for (auto& [tid, t] : trace_) {
      std::vector<profiler::Span>& spans = t.spans;
      // Parents before children: by start, then the longer first.
      std::stable_sort(spans.begin(), spans.end(), [](const profiler::Span& a, const profiler::Span& b) {
        if (a.begin_ns != b.begin_ns) return a.begin_ns < b.begin_ns;
        return a.end_ns - a.begin_ns > b.end_ns - b.begin_ns;
      });
      const bool steps = std::any_of(spans.begin(), spans.end(), [](const profiler::Span& s) {
        return s.category == profiler::Category::Step || s.category == profiler::Category::Phase;
      });
      const std::string name = t.worker >= 0 ? fmt::format("worker {}", t.worker)
                               : steps       ? std::string("main")
                                             : fmt::format("thread {}", tid);
      os << fmt::format(
          ",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_name\",\"args\":{{\"name\":{}}}}}",
          tid + 1, json_string(name));
      os << fmt::format(
          ",\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{}"
          "}}}}",
          tid + 1, t.worker >= 0 ? t.worker + 1 : (steps ? 0 : 1000 + tid));
      std::int64_t step = 0;
      for (const profiler::Span& s : spans) {
        const std::int64_t begin = std::max<std::int64_t>(0, s.begin_ns - start_ns_);
        os << fmt::format(
            ",\n{{\"ph\":\"X\",\"pid\":1,\"tid\":{},\"name\":{},\"cat\":\"{}\",\"ts\":{}.{:03},\"dur\":{}.{:"
            "03}",
            tid + 1, json_string(s.name), profiler::category_name(s.category), begin / 1000, begin % 1000,
            (s.end_ns - s.begin_ns) / 1000, (s.end_ns - s.begin_ns) % 1000);
        if (s.category == profiler::Category::Step) os << fmt::format(",\"args\":{{\"step\":{}}}", ++step);
        os << "}";
      }
    }
    os << "\n]}\n";
  });
}

}  // namespace bend::train
