// The second translation unit of test_conflicts: each class here claims a
// name that test_conflicts.cpp already claims with a different class.
#include "conflicts_shared.hpp"

namespace conflicts {

// engine conflict: (cf.shared, pg) is also claimed in test_conflicts.cpp
struct SharedPgOther : Shared, taskexec::Engine<"pg"> {
    taskexec::json execute(const taskexec::json&) { return "other"; }
};
TASKEXEC_ENGINE(SharedPgOther);

// task conflict: a different Task<> specialisation named "cf.dup"
struct DupOther : taskexec::Task<"cf.dup", taskexec::json, int> {};
struct DupOtherPg : DupOther, taskexec::Engine<"pg"> {
    int execute(const taskexec::json&) { return 2; }
};
TASKEXEC_ENGINE(DupOtherPg);

// workflow conflict: another class named "cf.wf"
struct WfOther : taskexec::Workflow<"cf.wf", Fine> {};
TASKEXEC_WORKFLOW(WfOther);

int other_line_of_wf() { return __LINE__ - 2; }

}  // namespace conflicts
