// examples/tasks/unique_fd.hpp — a file descriptor that closes itself.
//
//     UniqueFd dir(::open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
//     if (!dir) ...                      // errno says why
//     ::openat(dir.get(), "name", ...);
#pragma once

#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace taskexec_examples {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return fd_; }
    /// Gives the descriptor up (to fdopendir, say) without closing it.
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    explicit operator bool() const noexcept { return fd_ >= 0; }

    /// Closes now and reports the error close() may carry (NFS, quotas) as
    /// std::system_error(`what`).
    void close_checked(const char* what) {
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) throw std::system_error(errno, std::generic_category(), what);
    }

private:
    void reset() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }
    int fd_ = -1;
};

}  // namespace taskexec_examples
