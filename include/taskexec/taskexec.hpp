// taskexec/taskexec.hpp — the whole library.
//
//     #include <taskexec/taskexec.hpp>
//
//     struct Greet : taskexec::Task<"greet"> {};
//     struct GreetLocal : Greet, taskexec::Engine<"local"> {
//         taskexec::json execute(const taskexec::json& p) { return {{"hello", p.at("name")}}; }
//     };
//     TASKEXEC_ENGINE(GreetLocal);
//     struct Hello : taskexec::Workflow<"hello", Greet> {};
//     TASKEXEC_WORKFLOW(Hello);
//
//     taskexec::executor("hello", "greet", "local", {{"name", "ada"}});
#pragma once

#include <taskexec/context.hpp>
#include <taskexec/describe.hpp>
#include <taskexec/engine.hpp>
#include <taskexec/error.hpp>
#include <taskexec/executor.hpp>
#include <taskexec/fixed_string.hpp>
#include <taskexec/fwd.hpp>
#include <taskexec/lease.hpp>
#include <taskexec/plugin.hpp>
#include <taskexec/register.hpp>
#include <taskexec/run.hpp>
#include <taskexec/task.hpp>
#include <taskexec/task_engine_map.hpp>
#include <taskexec/version.hpp>
#include <taskexec/workflow.hpp>
#include <taskexec/workflow_registry.hpp>
