// RO_CHECK(ok, message): throw std::invalid_argument (a Python ValueError) with `message` when `ok` is false.
// A macro, so that the message is built only on failure: many checks run once per account, position or
// instrument row, and building a std::string each time costs more than the work they guard.
#pragma once
#include <stdexcept>
#include <string>

#define RO_CHECK(ok, message)                                     \
  do {                                                            \
    if (!(ok)) throw std::invalid_argument(std::string(message)); \
  } while (0)
