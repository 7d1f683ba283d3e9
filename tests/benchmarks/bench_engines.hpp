// The engine every dispatch benchmark calls: it reads two fields of an
// object payload and returns their sum — real work on the payload, and no
// heap allocation (a number result lives inside the json value).
//
// Like the engines a registry exists for, it is defined and registered in a
// file of its own (bench_engines.cpp), so the floor — a direct call of its
// `execute` — is a call, as it is for any caller outside that file. The
// body is here, as add_fields(), only so that one extra benchmark can show
// what a caller gains when the compiler folds the body into its own loop.
#pragma once
#include <cstdint>

#include <taskexec/taskexec.hpp>

namespace bench {

/// The engine's work: a + b from the payload.
inline taskexec::json add_fields(const taskexec::json& p) {
    return p.at("a").get<std::int64_t>() + p.at("b").get<std::int64_t>();
}

struct Add : taskexec::Task<"bench.add"> {};
struct AddLocal : Add, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& p);  // add_fields(), in bench_engines.cpp
};
struct AddWf : taskexec::Workflow<"bench.wf", Add> {};

/// A payload shaped like a real request: a few fields besides the two used.
inline taskexec::json make_payload() {
    return {{"a", 20}, {"b", 22}, {"label", "benchmark"}, {"host", "db1"}, {"port", 5432}};
}

}  // namespace bench
