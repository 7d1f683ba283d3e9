// tests/integration/support/process.cpp — see process.hpp.
#include "process.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <utility>

namespace taskexec_it {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::runtime_error sys_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// The whole environment a child gets. LC_ALL=C keeps initdb and the servers'
// messages stable; PATH covers runuser and the server binaries' helpers.
std::vector<std::string> base_environment() {
    std::vector<std::string> env{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
    if (const char* tmp = std::getenv("TMPDIR")) env.push_back(std::string("TMPDIR=") + tmp);
    return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
    std::vector<char*> out;
    out.reserve(v.size() + 1);
    for (auto& s : v) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/taskexec-" + prefix + ".XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw sys_error("mkdtemp " + pattern);
    path_ = pattern;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;  // a destructor must not throw; a leftover dir is harmless
    fs::remove_all(path_, ec);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

void TempDir::give_to(const std::string& user) const { give_tree_to(path_, user); }

void give_tree_to(const fs::path& path, const std::string& user) {
    if (::geteuid() != 0) return;
    const passwd* pw = ::getpwnam(user.c_str());
    if (pw == nullptr) throw std::runtime_error("no such user: " + user);
    const auto give = [&](const fs::path& p) {
        if (::lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
            throw sys_error("chown " + p.string());
    };
    give(path);
    if (!fs::is_directory(path)) return;
    for (const auto& entry : fs::recursive_directory_iterator(path)) give(entry.path());
}

std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv) {
    if (::geteuid() != 0) return argv;
    argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", user, "--"});
    return argv;
}

Process Process::spawn(const std::vector<std::string>& argv, const fs::path& log,
                       const std::vector<std::string>& extra_env) {
    if (argv.empty()) throw std::invalid_argument("Process::spawn: empty argv");
    std::vector<std::string> args = argv;
    std::vector<std::string> env = base_environment();
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> c_args = c_strings(args);
    std::vector<char*> c_env = c_strings(env);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    // Its own process group: a Ctrl-C meant for the test runner must not
    // reach the server before our destructors have stopped it cleanly.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, c_args[0], &actions, &attr, c_args.data(), c_env.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        errno = rc;
        throw sys_error("spawn " + argv[0]);
    }
    Process p;
    p.pid_ = pid;
    return p;
}

Process::~Process() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), status_(std::exchange(other.status_, std::nullopt)) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        Process dying(std::move(*this));  // kills and reaps our old child, if any
        pid_ = std::exchange(other.pid_, -1);
        status_ = std::exchange(other.status_, std::nullopt);
    }
    return *this;
}

bool Process::running() {
    if (pid_ <= 0 || status_) return false;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) status_ = decode_status(status);
    return !status_;
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (running()) {
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(10ms);
    }
    return status_;
}

void Process::stop(std::chrono::milliseconds grace) {
    if (!running()) return;
    ::kill(pid_, SIGTERM);
    if (wait_for(grace)) return;
    ::kill(pid_, SIGKILL);
    wait_for(10s);
}

int run(const std::vector<std::string>& argv, const fs::path& log,
        std::chrono::milliseconds timeout) {
    Process p = Process::spawn(argv, log);
    if (auto rc = p.wait_for(timeout)) return *rc;
    p.stop(2s);
    throw std::runtime_error(argv[0] + " did not finish within " + std::to_string(timeout.count()) +
                             " ms; log: " + log.string());
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw sys_error("socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const auto err = sys_error("bind/getsockname");
        ::close(fd);
        throw err;
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string tail_of(const fs::path& file, std::size_t max_bytes) {
    std::ifstream in(file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > max_bytes) text.erase(0, text.size() - max_bytes);
    return text;
}

bool pid_alive(pid_t pid) {
    if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return false;
    // A server's postmaster is reparented to PID 1 when pg_ctl exits, and a
    // zombie it has not reaped yet still answers kill(0): read its state.
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
}

}  // namespace taskexec_it
