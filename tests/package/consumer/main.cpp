// The package consumers' program: dispatches to the registrations linked in
// from a static library and, built with CONSUMER_LOADS_PLUGIN (the
// find_package consumer), loads the plugin argv[1] built with
// taskexec_add_plugin() and dispatches into it. Exit 0 on success.
#include <cstdio>
#include <exception>

#include <taskexec/taskexec.hpp>

namespace {

bool expect(bool ok, const char* what, const taskexec::json& got) {
    if (!ok) std::fprintf(stderr, "package consumer: %s, got %s\n", what, got.dump().c_str());
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const auto result = taskexec::executor("wf", "echo", "local", {{"x", 1}});
        if (!expect(result == taskexec::json{{"x", 1}}, "echo did not echo", result)) return 1;

#ifdef CONSUMER_LOADS_PLUGIN
        if (argc != 2) {
            std::fputs("package consumer: usage: consumer <plugin.so>\n", stderr);
            return 2;
        }
        {
            const auto report = taskexec::load_plugin(argv[1]);
            if (!expect(report.newly_loaded, "plugin not newly loaded", report.to_json())) return 1;
            const auto shouted = taskexec::executor("plugin_wf", "shout", "local", {{"text", "hi"}});
            if (!expect(shouted == taskexec::json{{"text", "HI"}}, "plugin did not shout", shouted))
                return 1;
        }
#else
        (void)argv;
        if (argc != 1) return 2;
#endif
    } catch (const std::exception& e) {
        std::fprintf(stderr, "package consumer: %s\n", e.what());
        return 1;
    }
    std::puts("package consumer: ok");
    return 0;
}
