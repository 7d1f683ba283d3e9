// examples/tasks/file_copy.cpp — see file_copy.hpp.
#include "file_copy.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

namespace taskexec_examples {
namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// A file descriptor that closes itself.
class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    /// Closes now and reports the error close() may carry (NFS, quotas).
    void close_checked(const char* what) {
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) throw_errno(what);
    }

private:
    int fd_;
};

/// An incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
public:
    Sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
            throw std::runtime_error("SHA-256: OpenSSL digest initialisation failed");
    }
    void update(const unsigned char* data, std::size_t size) {
        if (EVP_DigestUpdate(ctx_.get(), data, size) != 1)
            throw std::runtime_error("SHA-256: OpenSSL digest update failed");
    }
    std::string hex() {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        if (EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1)
            throw std::runtime_error("SHA-256: OpenSSL digest finalisation failed");
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        out.reserve(2 * length);
        for (unsigned int i = 0; i < length; ++i) {
            out += digits[digest[i] >> 4];
            out += digits[digest[i] & 0x0f];
        }
        return out;
    }

private:
    struct Free {
        void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
    };
    std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

constexpr std::size_t chunk_size = 1 << 20;

/// Sleeps until `bytes` are within the rate, waking early on a stop request.
void throttle(const CopyLimits& limits, std::uint64_t bytes,
              std::chrono::steady_clock::time_point start) {
    if (limits.max_bytes_per_s <= 0) return;
    const auto due =
        start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(static_cast<double>(bytes) /
                                                  static_cast<double>(limits.max_bytes_per_s)));
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    std::stop_token stop = limits.stop;
    cv.wait_until(lock, stop, due, [] { return false; });
}

}  // namespace

CopiedFile copy_file_hashed(const std::filesystem::path& from, const std::filesystem::path& to,
                            const CopyLimits& limits) {
    Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) throw_errno("snapshot_files: cannot open a source file");
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) throw_errno("snapshot_files: cannot stat a source file");
    // O_EXCL: never overwrite, never follow a symlink planted at the target.
    Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777));
    if (out.get() < 0) throw_errno("snapshot_files: cannot create a snapshot file");

    try {
        Sha256 hash;
        std::vector<unsigned char> buffer(chunk_size);
        CopiedFile copied;
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            if (limits.stop.stop_requested()) throw copy_stopped();
            const ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw_errno("snapshot_files: cannot read a source file");
            if (got == 0) break;
            const auto size = static_cast<std::size_t>(got);
            for (std::size_t written = 0; written < size;) {
                const ssize_t put = ::write(out.get(), buffer.data() + written, size - written);
                if (put < 0 && errno == EINTR) continue;
                if (put < 0) throw_errno("snapshot_files: cannot write a snapshot file");
                written += static_cast<std::size_t>(put);
            }
            hash.update(buffer.data(), size);
            copied.size += size;
            throttle(limits, copied.size, start);
        }
        if (::fsync(out.get()) != 0) throw_errno("snapshot_files: cannot sync a snapshot file");
        out.close_checked("snapshot_files: cannot close a snapshot file");
        copied.sha256 = hash.hex();
        return copied;
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(to, ignored);  // no half-written file that looks like a snapshot
        throw;
    }
}

std::string sha256_file(const std::filesystem::path& file) {
    Fd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) throw_errno("sha256: cannot open a file");
    Sha256 hash;
    std::vector<unsigned char> buffer(chunk_size);
    for (;;) {
        const ssize_t got = ::read(in.get(), buffer.data(), buffer.size());
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw_errno("sha256: cannot read a file");
        if (got == 0) break;
        hash.update(buffer.data(), static_cast<std::size_t>(got));
    }
    return hash.hex();
}

}  // namespace taskexec_examples
