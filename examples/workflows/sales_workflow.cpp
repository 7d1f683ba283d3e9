// examples/workflows/sales_workflow.cpp — the flagship workflow.
//
//     quiesce_db  ->  snapshot_files  ->  unquiesce_db
//
// Nothing else needs editing to add it: the registration below runs when the
// program (or a plugin holding this file) loads. unquiesce_db is also
// quiesce_db's compensation (db_tasks.hpp), so a failed copy, a timeout or a
// cancelled run still releases the database.
#include <taskexec/taskexec.hpp>

#include "../tasks/db_tasks.hpp"

namespace taskexec_examples {

struct SalesWorkflow : taskexec::Workflow<"sales", QuiesceDb, SnapshotFiles, UnquiesceDb> {};
TASKEXEC_WORKFLOW(SalesWorkflow);

}  // namespace taskexec_examples
