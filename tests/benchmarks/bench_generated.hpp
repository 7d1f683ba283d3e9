// The engines a generated translation unit registers in bulk: engine N of
// task "bench.gen" has engine type "g<N>" (N in decimal).
#pragma once
#include <chrono>

#include <taskexec/register.hpp>

namespace bench {

template <int N>
constexpr auto generated_name() {
    constexpr int digits = N < 10 ? 1 : N < 100 ? 2 : N < 1000 ? 3 : N < 10000 ? 4 : 5;
    char text[digits + 2] = {'g'};
    int value = N;
    for (int i = digits; i >= 1; --i, value /= 10) text[i] = static_cast<char>('0' + value % 10);
    text[digits + 1] = '\0';
    return taskexec::fixed_string<digits + 2>(text);
}

struct Gen : taskexec::Task<"bench.gen"> {};
struct GenWf : taskexec::Workflow<"bench.gen_wf", Gen> {};

template <int N>
struct Generated : Gen, taskexec::Engine<generated_name<N>()> {
    taskexec::json execute(const taskexec::json&) { return N; }
};

extern const std::chrono::steady_clock::time_point generated_begin;
extern const std::chrono::steady_clock::time_point generated_end;
extern const int generated_count;

}  // namespace bench
