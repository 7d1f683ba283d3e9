// examples/cli/signals.hpp — SIGINT/SIGTERM cancel a run instead of killing
// the process, so its compensations (unquiesce_db) still run.
//
//     CancelOnSignal cancel;                  // installs the handlers
//     options.stop = cancel.token();
//     auto report = taskexec::run_workflow(..., options);
//     if (cancel.signal() != 0) ...           // which signal stopped it
//
// A signal handler may only do async-signal-safe things, and
// std::stop_source::request_stop() is not one of them (it takes locks and
// runs callbacks). So the handler only writes a byte to a pipe; a small
// watcher thread reads it and requests the stop. A second signal restores
// the default action and re-raises it: the user insisted, the process ends
// at once (the database server or the OS then drops the locks).
#pragma once

#include <stop_token>
#include <thread>

namespace taskexec_cli {

/// Installs SIGINT/SIGTERM handlers for its lifetime (one instance at a time).
class CancelOnSignal {
public:
    CancelOnSignal();
    ~CancelOnSignal();
    CancelOnSignal(const CancelOnSignal&) = delete;
    CancelOnSignal& operator=(const CancelOnSignal&) = delete;

    /// Signalled when SIGINT or SIGTERM arrives.
    std::stop_token token() const noexcept { return source_.get_token(); }
    /// The signal that arrived, or 0.
    int signal() const noexcept;

private:
    void watch();

    std::stop_source source_;
    std::thread watcher_;
};

}  // namespace taskexec_cli
