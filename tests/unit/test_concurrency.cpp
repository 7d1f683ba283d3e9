// Concurrency: dispatch from several threads while another thread registers.
// Run under the tsan preset, where a data race fails the test.
#include "taskexec_catch.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <taskexec/taskexec.hpp>

using taskexec::json;

namespace {

struct Count : taskexec::Task<"cc.count"> {};
struct CountLocal : Count, taskexec::Engine<"local"> {
    json execute(const json& p) { return p.get<int>() + 1; }
};
TASKEXEC_ENGINE(CountLocal);
// Reads the Context it is handed. A Route hands all its callers one Context
// (executor.hpp), so concurrent calls read one object: TSan watches that.
struct CountNamed : Count, taskexec::Engine<"named"> {
    json execute(const json& p, taskexec::Context& ctx) {
        return {{"n", p.get<int>() + 1},
                {"where", std::string(ctx.workflow()) + "/" + std::string(ctx.task()) + "/" +
                              std::string(ctx.engine())}};
    }
};
TASKEXEC_ENGINE(CountNamed);
struct CountWf : taskexec::Workflow<"cc.wf", Count> {};
TASKEXEC_WORKFLOW(CountWf);

// "e000" ... "e199": one engine type per number, built at compile time.
template <int N>
constexpr taskexec::fixed_string<5> engine_name() {
    taskexec::fixed_string<5> name("e000");
    name.value[1] = static_cast<char>('0' + N / 100);
    name.value[2] = static_cast<char>('0' + N / 10 % 10);
    name.value[3] = static_cast<char>('0' + N % 10);
    return name;
}

// Engines registered at run time, while dispatch goes on — the same entry
// point a plugin load uses.
template <int N>
struct LateEngine : Count, taskexec::Engine<engine_name<N>()> {
    json execute(const json&) { return N; }
};

constexpr int late_count = 200;

// What a registrar owns: the inbox node its record waits in.
taskexec::detail::PendingRecord late_nodes[late_count];

template <std::size_t... I>
void register_late(std::index_sequence<I...>) {
    (taskexec::detail::register_engine<LateEngine<static_cast<int>(I)>>(
         taskexec::detail::Site{__FILE__, __LINE__}, late_nodes[I]),
     ...);
}

}  // namespace

TEST_CASE("dispatch from several threads while registering") {
    std::atomic<bool> registering_done{false};
    std::atomic<int> failures{0};
    std::atomic<long> calls{0};

    std::vector<std::thread> dispatchers;
    for (int t = 0; t < 3; ++t) {
        dispatchers.emplace_back([&, t] {
            const taskexec::Route route = taskexec::resolve("cc.wf", "cc.count", "local");
            int i = 0;
            while (!registering_done.load() || i < 2000) {
                const json via_executor = taskexec::executor("cc.wf", "cc.count", "local", i);
                const json via_route = route(i);
                if (via_executor != i + 1 || via_route != i + 1) ++failures;
                // Describe and the map views race with registration too.
                if (i % 200 == t) {
                    (void)taskexec::describe();
                    (void)taskexec::TaskEngineMap::instance().engines("cc.count");
                }
                ++i;
                ++calls;
            }
        });
    }
    std::thread registrar([&] {
        register_late(std::make_index_sequence<late_count>{});
        registering_done = true;
    });
    registrar.join();
    for (auto& d : dispatchers) d.join();

    CHECK(failures.load() == 0);
    CHECK(calls.load() >= 6000);
    const auto engines = taskexec::TaskEngineMap::instance().engines("cc.count");
    CHECK(engines.size() == static_cast<std::size_t>(late_count) + 2);  // + local, named
    CHECK(taskexec::executor("cc.wf", "cc.count", "e123", 0) == 123);
    CHECK(taskexec::executor("cc.wf", "cc.count", "e000", 0) == 0);
}

TEST_CASE("many threads dispatch the same request at once") {
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 500; ++i)
                if (taskexec::executor("cc.wf", "cc.count", "local", i) != i + 1) ++wrong;
        });
    for (auto& t : threads) t.join();
    CHECK(wrong.load() == 0);
}

TEST_CASE("one Route and its copies called from several threads at once") {
    const taskexec::Route shared = taskexec::resolve("cc.wf", "cc.count", "named");
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            // Half the threads call the shared Route, half a copy made here
            // (a copy re-points its Context at its own buffer).
            const taskexec::Route copy = shared;
            const taskexec::Route& route = t % 2 == 0 ? shared : copy;
            for (int i = 0; i < 500; ++i) {
                const json r = route(i);
                if (r.at("n") != i + 1 || r.at("where") != "cc.wf/cc.count/named") ++wrong;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(wrong.load() == 0);
    CHECK(shared(41).at("n") == 42);
}
