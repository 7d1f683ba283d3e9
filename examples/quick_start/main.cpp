// examples/quick_start/main.cpp — the README's first snippet, complete.
//
// One task (`greet`), two engines for it (`english`, `french`), a workflow
// that lists the task, a dispatch through executor(), and what a caller sees
// when a request names something that is not registered.
#include <iostream>
#include <string>

#include <taskexec/taskexec.hpp>

// A task: its name, payload type and result type (json by default).
struct GreetParams {
    std::string name;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GreetParams, name)

struct Greet : taskexec::Task<"greet", GreetParams> {
    static constexpr std::string_view description = "say hello";
};

// Two engines for it; each registers itself where it is defined.
struct GreetEnglish : Greet, taskexec::Engine<"english"> {
    taskexec::json execute(const GreetParams& p) { return {{"text", "Hello, " + p.name + "!"}}; }
};
TASKEXEC_ENGINE(GreetEnglish);

struct GreetFrench : Greet, taskexec::Engine<"french"> {
    taskexec::json execute(const GreetParams& p) { return {{"text", "Bonjour, " + p.name + " !"}}; }
};
TASKEXEC_ENGINE(GreetFrench);

// A workflow: a name and its tasks in order.
struct Welcome : taskexec::Workflow<"welcome", Greet> {};
TASKEXEC_WORKFLOW(Welcome);

int main() {
    std::cout << taskexec::executor("welcome", "greet", "english", {{"name", "Ada"}}).dump() << "\n"
              << taskexec::executor("welcome", "greet", "french", {{"name", "Ada"}}).dump() << "\n";

    // Errors are taskexec::error: a code, a message naming what is
    // registered (never payload values), and JSON for logs.
    try {
        taskexec::executor("welcome", "greet", "englsh", {{"name", "Ada"}});
    } catch (const taskexec::error& e) {
        std::cout << to_string(e.code()) << ": " << e.what() << "\n";
    }
    try {
        taskexec::executor("welcome", "greet", "english", {{"name", 42}});
    } catch (const taskexec::error& e) {
        std::cout << e.to_json().dump() << "\n";  // {"code":"invalid_payload","field":"/name",...}
    }
    return 0;
}
