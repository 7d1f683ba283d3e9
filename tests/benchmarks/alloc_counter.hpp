// Counts heap allocations in the benchmark binary: the global operator new
// is replaced (in alloc_counter.cpp) to bump a thread-local counter.
#pragma once
#include <cstdint>

namespace bench {
/// Allocations made by the calling thread so far.
std::uint64_t allocations() noexcept;
}  // namespace bench
