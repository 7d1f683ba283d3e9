// The engines the dispatch benchmarks call: each reads two fields of an
// object payload and returns their sum — real work on the payload, and no
// heap allocation (a number result lives inside the json value).
//
// Written as the quick-start example writes engines: `execute` inside the
// class, in view of a caller that calls it directly (the floor), where the
// compiler may inline it. AddLocal is registered in bench_dispatch.cpp, the
// file that calls it, as the quick start does; AddApart, the same body, is
// registered from a file of its own (bench_engines.cpp) to show what that
// changes (see the notes on target 3 in scripts/benchmark_notes.md).
#pragma once
#include <cstdint>

#include <taskexec/taskexec.hpp>

namespace bench {

struct Add : taskexec::Task<"bench.add"> {};
struct AddLocal : Add, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& p) {
        return p.at("a").get<std::int64_t>() + p.at("b").get<std::int64_t>();
    }
};
struct AddApart : Add, taskexec::Engine<"apart"> {
    taskexec::json execute(const taskexec::json& p) {
        return p.at("a").get<std::int64_t>() + p.at("b").get<std::int64_t>();
    }
};
struct AddWf : taskexec::Workflow<"bench.wf", Add> {};

/// A payload shaped like a real request: a few fields besides the two used.
inline taskexec::json make_payload() {
    return {{"a", 20}, {"b", 22}, {"label", "benchmark"}, {"host", "db1"}, {"port", 5432}};
}

}  // namespace bench
