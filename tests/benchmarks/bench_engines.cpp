// The dispatch benchmarks' engine, defined and registered in its own file as
// engines are in real code (see bench_engines.hpp).
#include "bench_engines.hpp"

namespace bench {
taskexec::json AddLocal::execute(const taskexec::json& p) { return add_fields(p); }
}  // namespace bench

TASKEXEC_ENGINE(bench::AddLocal);
TASKEXEC_WORKFLOW(bench::AddWf);
