// examples/cli/signals.cpp — see signals.hpp.
#include "signals.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace taskexec_cli {
namespace {

int wake_pipe[2] = {-1, -1};
std::atomic<int> received{0};
std::atomic<int> count{0};
struct sigaction previous_int {};
struct sigaction previous_term {};

extern "C" void on_signal(int sig) {
    const int saved_errno = errno;
    received.store(sig);
    if (count.fetch_add(1) > 0) {
        // Second signal: stop waiting for compensations.
        ::signal(sig, SIG_DFL);
        ::raise(sig);
    }
    const char byte = 's';
    [[maybe_unused]] const ssize_t ignored = ::write(wake_pipe[1], &byte, 1);
    errno = saved_errno;
}

const char* signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

}  // namespace

CancelOnSignal::CancelOnSignal() {
    if (::pipe2(wake_pipe, O_CLOEXEC) != 0)
        throw std::system_error(errno, std::generic_category(), "taskexec: pipe");
    received = 0;
    count = 0;
    watcher_ = std::thread([this] { watch(); });
    struct sigaction action {};
    action.sa_handler = &on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, &previous_int);
    sigaction(SIGTERM, &action, &previous_term);
}

CancelOnSignal::~CancelOnSignal() {
    sigaction(SIGINT, &previous_int, nullptr);
    sigaction(SIGTERM, &previous_term, nullptr);
    const char quit = 'q';
    [[maybe_unused]] const ssize_t ignored = ::write(wake_pipe[1], &quit, 1);
    watcher_.join();
    ::close(wake_pipe[0]);
    ::close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
}

int CancelOnSignal::signal() const noexcept { return received.load(); }

void CancelOnSignal::watch() {
    for (;;) {
        char byte = 0;
        const ssize_t got = ::read(wake_pipe[0], &byte, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || byte == 'q') return;
        if (!source_.stop_requested()) {
            std::fprintf(stderr,
                         "taskexec: %s received: cancelling the run; its compensations run "
                         "before exit (send it again to abort at once)\n",
                         signal_name(received.load()));
            source_.request_stop();
        }
    }
}

}  // namespace taskexec_cli
