// Engines compiled into a library (built both static and shared). Nothing in
// the test programs refers to this file's symbols, so in a static library
// the linker drops it unless it is linked whole-archive.
#include "shared_tasks.hpp"

namespace multi_tu {
struct FromLibraryImpl : FromLibrary, taskexec::Engine<"lib"> {
    taskexec::json execute(const taskexec::json& p) { return {{"from", "library"}, {"echo", p}}; }
};
TASKEXEC_ENGINE(FromLibraryImpl);
}  // namespace multi_tu
