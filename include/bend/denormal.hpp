#pragma once
// Flush-to-zero for subnormal floats, like torch.set_flush_denormal. Off by default (IEEE semantics, as
// in PyTorch). With it on, results below FLT_MIN (1.2e-38) become zero and such inputs count as zero
// (SSE's FTZ and DAZ bits) on the calling thread and on bend's worker threads.
//
// Why it exists: subnormal arithmetic is slow on many CPUs, and Adam's moments for weights that rarely
// get a gradient (an MNIST border pixel's) decay into that range: exp_avg × 0.9 per step reaches 1e-38
// within an epoch. Flushing them makes such runs faster, and changes results only below 1.2e-38.
namespace bend {

// Returns false (and changes nothing) where the CPU has no such mode.
bool set_flush_denormal(bool on);
bool flush_denormal();

namespace detail {
// Brings the calling thread's floating-point mode in line with set_flush_denormal (bend's workers call
// it before each part; cheap when nothing changed).
void sync_float_mode();
}  // namespace detail

}  // namespace bend
