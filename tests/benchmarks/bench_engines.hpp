// The engine every dispatch benchmark calls: it reads two fields of an
// object payload and returns their sum — real work on the payload, and no
// heap allocation (a number result lives inside the json value).
//
// Written as the examples write engines: `execute` inside the class, so a
// caller that calls it directly (the floor) sees its body and the compiler
// may inline it there. It is registered in a file of its own
// (bench_engines.cpp), as the examples register theirs — see the notes on
// target 3 in scripts/benchmark_notes.md for why that matters.
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
struct AddWf : taskexec::Workflow<"bench.wf", Add> {};

/// A payload shaped like a real request: a few fields besides the two used.
inline taskexec::json make_payload() {
    return {{"a", 20}, {"b", 22}, {"label", "benchmark"}, {"host", "db1"}, {"port", 5432}};
}

}  // namespace bench
