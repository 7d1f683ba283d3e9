// examples/tasks/file_copy.cpp — see file_copy.hpp.
#include "file_copy.hpp"
#include "unique_fd.hpp"

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

/// Throws the error errno holds now, so call it right after the failing call.
[[noreturn]] void throw_last_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

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

/// Opens the source and creates the destination with the source's
/// permission bits. The source: never through a link (O_NOFOLLOW), never
/// blocking the open (O_NONBLOCK: a FIFO swapped in fails below instead of
/// hanging; cleared again for the reads), and a regular file. The
/// destination: O_EXCL, so never overwritten, and never a link planted there.
struct CopyFiles {
    CopyFiles(const FileAt& from, const FileAt& to)
        : in(open_source(from)), out(create_like(in, to)) {}
    UniqueFd in;
    UniqueFd out;

private:
    static UniqueFd open_source(const FileAt& from) {
        UniqueFd fd(::openat(from.dir, from.name.c_str(),
                             O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
        if (!fd) throw_last_errno("snapshot_files: cannot open a source file");
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0)
            throw_last_errno("snapshot_files: cannot stat a source file");
        if (!S_ISREG(st.st_mode))
            throw std::system_error(EINVAL, std::generic_category(),
                                    "snapshot_files: a source file is no longer a regular file");
        const int flags = ::fcntl(fd.get(), F_GETFL);
        if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0)
            throw_last_errno("snapshot_files: cannot open a source file");
        return fd;
    }
    static UniqueFd create_like(const UniqueFd& source, const FileAt& to) {
        struct stat st {};
        if (::fstat(source.get(), &st) != 0)
            throw_last_errno("snapshot_files: cannot stat a source file");
        UniqueFd fd(::openat(to.dir, to.name.c_str(),
                             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                             st.st_mode & 07777));
        if (!fd) throw_last_errno("snapshot_files: cannot create a snapshot file");
        return fd;
    }
};

/// Device, inode, link count and type of an open file (size and sha256 left empty).
CopiedFile identity_of(int fd, const char* what) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw_last_errno(what);
    CopiedFile id;
    id.device = static_cast<std::uint64_t>(st.st_dev);
    id.inode = static_cast<std::uint64_t>(st.st_ino);
    id.links = static_cast<std::uint64_t>(st.st_nlink);
    id.regular = S_ISREG(st.st_mode);
    return id;
}

/// Runs `copy`; on any exception removes `to` (no half-written file that
/// looks like a snapshot) and rethrows.
template <class Copy>
auto removing_on_failure(const FileAt& to, Copy&& copy) {
    try {
        return copy();
    } catch (...) {
        ::unlinkat(to.dir, to.name.c_str(), 0);
        throw;
    }
}

void write_all(int fd, const unsigned char* data, std::size_t size) {
    for (std::size_t written = 0; written < size;) {
        const ssize_t put = ::write(fd, data + written, size - written);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0) throw_last_errno("snapshot_files: cannot write a snapshot file");
        written += static_cast<std::size_t>(put);
    }
}

/// read() that retries EINTR; 0 at the end of the file.
std::size_t read_some(int fd, unsigned char* buffer, std::size_t size, const char* what) {
    for (;;) {
        const ssize_t got = ::read(fd, buffer, size);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw_last_errno(what);
        return static_cast<std::size_t>(got);
    }
}

}  // namespace

CopiedFile copy_file_hashed(const FileAt& from, const FileAt& to, const CopyLimits& limits) {
    CopyFiles files(from, to);
    return removing_on_failure(to, [&] {
        Sha256 hash;
        std::vector<unsigned char> buffer(chunk_size);
        CopiedFile copied;
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            if (limits.stop.stop_requested()) throw copy_stopped();
            const std::size_t size = read_some(files.in.get(), buffer.data(), buffer.size(),
                                               "snapshot_files: cannot read a source file");
            if (size == 0) break;
            write_all(files.out.get(), buffer.data(), size);
            hash.update(buffer.data(), size);
            copied.size += size;
            throttle(limits, copied.size, start);
        }
        if (::fsync(files.out.get()) != 0)
            throw_last_errno("snapshot_files: cannot sync a snapshot file");
        files.out.close_checked("snapshot_files: cannot close a snapshot file");
        copied.sha256 = hash.hex();
        return copied;
    });
}

CopiedFile copy_file_fast(const FileAt& from, const FileAt& to, const CopyLimits& limits) {
    // Unthrottled, large steps: fewer system calls. Throttled, 1 MiB steps
    // keep the rate smooth. Either way the stop token is checked per step.
    const std::size_t step = limits.max_bytes_per_s > 0 ? chunk_size : 16 * chunk_size;
    CopyFiles files(from, to);
    return removing_on_failure(to, [&] {
        std::uint64_t copied = 0;
        bool in_kernel = true;
        std::vector<unsigned char> buffer;  // only for the read/write fallback
        const auto start = std::chrono::steady_clock::now();
        for (;;) {
            if (limits.stop.stop_requested()) throw copy_stopped();
            std::size_t size = 0;
            if (in_kernel) {
                const ssize_t got =
                    ::copy_file_range(files.in.get(), nullptr, files.out.get(), nullptr, step, 0);
                if (got < 0 && errno == EINTR) continue;
                if (got < 0 &&
                    (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                     errno == EPERM) &&
                    copied == 0) {
                    in_kernel = false;  // e.g. across file systems on older kernels
                    continue;
                }
                if (got < 0) throw_last_errno("snapshot_files: cannot copy a source file");
                size = static_cast<std::size_t>(got);
            } else {
                buffer.resize(chunk_size);
                size = read_some(files.in.get(), buffer.data(), buffer.size(),
                                 "snapshot_files: cannot read a source file");
                write_all(files.out.get(), buffer.data(), size);
            }
            if (size == 0) break;
            copied += size;
            throttle(limits, copied, start);
        }
        CopiedFile result =
            identity_of(files.out.get(), "snapshot_files: cannot stat a snapshot file");
        result.size = copied;
        files.out.close_checked("snapshot_files: cannot close a snapshot file");
        return result;
    });
}

CopiedFile seal_file(const std::filesystem::path& file, std::stop_token stop) {
    UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (in.get() < 0) throw_last_errno("snapshot seal: cannot open a snapshot file");
    CopiedFile sealed = identity_of(in.get(), "snapshot seal: cannot stat a snapshot file");
    if (!sealed.regular)
        throw std::system_error(EINVAL, std::generic_category(),
                                "snapshot seal: a snapshot file is not a regular file");
    Sha256 hash;
    std::vector<unsigned char> buffer(chunk_size);
    for (;;) {
        if (stop.stop_requested()) throw copy_stopped();  // before each file and each MiB
        const std::size_t got = read_some(in.get(), buffer.data(), buffer.size(),
                                          "snapshot seal: cannot read a snapshot file");
        if (got == 0) break;
        hash.update(buffer.data(), got);
        sealed.size += got;
    }
    if (::fsync(in.get()) != 0) throw_last_errno("snapshot seal: cannot sync a snapshot file");
    sealed.sha256 = hash.hex();
    return sealed;
}

std::string sha256_file(const std::filesystem::path& file) {
    UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) throw_last_errno("sha256: cannot open a file");
    Sha256 hash;
    std::vector<unsigned char> buffer(chunk_size);
    while (const std::size_t got =
               read_some(in.get(), buffer.data(), buffer.size(), "sha256: cannot read a file"))
        hash.update(buffer.data(), got);
    return hash.hex();
}

}  // namespace taskexec_examples
