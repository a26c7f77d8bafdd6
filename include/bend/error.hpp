#pragma once
// bend's exceptions. Every message says what was wrong and where (op, shapes, file, offset).
#include <stdexcept>
#include <string>

namespace bend {

// Base of every error bend throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Incompatible shapes given to an op ("matmul: [2, 3] x [4, 5]: inner dimensions 3 and 4 differ").
class ShapeError : public Error {
 public:
  using Error::Error;
};

// Misuse of the autograd tape (backward twice, backward on a non-scalar without a gradient, ...).
class AutogradError : public Error {
 public:
  using Error::Error;
};

// A file that cannot be read or written, or whose contents are malformed. Messages name the file
// and, where it helps, the byte offset.
class IoError : public Error {
 public:
  using Error::Error;
};

// A bad argument value (unknown activation name, negative learning rate, ...).
class ValueError : public Error {
 public:
  using Error::Error;
};

}  // namespace bend
