// Compile-time baseline (target 7): what any JSON-speaking C++ file pays
// already — nlohmann/json and fmt, and nothing else.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
