// A plugin built by the find_package consumer with taskexec_add_plugin().
#include <cctype>
#include <string>

#include <taskexec/taskexec.hpp>

struct Shout : taskexec::Task<"shout"> {};

struct ShoutLocal : Shout, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& p) {
        std::string text = p.at("text").get<std::string>();
        for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return {{"text", text}};
    }
};
TASKEXEC_ENGINE(ShoutLocal);

struct PluginWf : taskexec::Workflow<"plugin_wf", Shout> {};
TASKEXEC_WORKFLOW(PluginWf);
