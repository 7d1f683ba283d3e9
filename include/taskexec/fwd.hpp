// taskexec/fwd.hpp — names of taskexec's types without their definitions.
//
// Include this in headers that only pass taskexec types around; include
// <taskexec/taskexec.hpp> where they are used.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/fixed_string.hpp>

namespace taskexec {
inline namespace v2 {

/// The JSON type of every payload, result, report and event.
using json = nlohmann::json;

template <fixed_string Name, class Payload, class Result>
struct Task;
template <fixed_string Type>
struct Engine;
template <fixed_string Name, class... Tasks>
struct Workflow;

class Context;
class error;
enum class errc;
class Route;
class TaskEngineMap;
class WorkflowRegistry;

struct RunOptions;
struct StepReport;
struct RunReport;
enum class step_status;
struct PluginReport;

}  // namespace v2
}  // namespace taskexec
