// Tasks and a workflow every multi_tu target shares. The engine below is
// registered in this header, which several translation units include: it
// must still be registered exactly once.
#pragma once
#include <taskexec/taskexec.hpp>

namespace multi_tu {

struct Where : taskexec::Task<"mt.where"> {};
struct WhereHeader : Where, taskexec::Engine<"header"> {
    taskexec::json execute(const taskexec::json&) { return "header"; }
};
TASKEXEC_ENGINE(WhereHeader);

/// Implemented by engines that live in libraries (static or shared).
struct FromLibrary : taskexec::Task<"mt.from_library"> {};

struct MultiWf : taskexec::Workflow<"mt.wf", Where, FromLibrary> {};
TASKEXEC_WORKFLOW(MultiWf);

}  // namespace multi_tu
