// tests/integration/redis_test_server.hpp — a throwaway redis-server and a
// plain hiredis client, for test_redis_plugin.cpp.
//
//     taskexec_it::RedisServer server;                  // fresh temp dir, random port
//     taskexec_it::RedisClient(server.port()).cmd({"SET", "k", "v"});
//     taskexec_it::RedisServer restored(snapshot_dir);  // serve a copied data directory
//
// The server runs with the support library's fixed environment (so it never
// sees a test's sentinel password), AOF on, RDB save points off, listening on
// 127.0.0.1 and a private unix socket; its output goes to a log file.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"

namespace taskexec_it {

/// A plain hiredis connection for the test's own reads and writes.
class RedisClient {
public:
    explicit RedisClient(int port, const std::string& password = "") {
        ctx_ = redisConnectWithTimeout("127.0.0.1", port, timeval{5, 0});
        if (ctx_ == nullptr || ctx_->err != 0) {
            if (ctx_ != nullptr) redisFree(ctx_);  // no destructor runs for a throwing constructor
            throw std::runtime_error("cannot connect to redis");
        }
        redisSetTimeout(ctx_, timeval{20, 0});  // longer than any pause a test takes
        if (!password.empty()) cmd({"AUTH", password});
    }
    ~RedisClient() { redisFree(ctx_); }
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    /// A string, status or integer reply as text; "(nil)" for nil. Throws
    /// std::runtime_error with an error reply's text.
    std::string cmd(const std::vector<std::string>& args) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const std::string& a : args) {
            argv.push_back(a.c_str());
            lengths.push_back(a.size());
        }
        const std::unique_ptr<redisReply, void (*)(void*)> r(
            static_cast<redisReply*>(
                redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data())),
            freeReplyObject);
        if (!r) throw std::runtime_error(std::string("redis I/O: ") + ctx_->errstr);
        std::string out = r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                          : r->type == REDIS_REPLY_NIL   ? "(nil)"
                                                       : std::string(r->str ? r->str : "", r->len);
        if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error(out);
        return out;
    }

private:
    redisContext* ctx_ = nullptr;
};

/// redis-server in a temp dir: AOF on, RDB save points off, loopback only.
/// `data_dir` given: serve that directory (a restored snapshot), else a fresh one.
class RedisServer {
public:
    explicit RedisServer(std::optional<std::filesystem::path> data_dir = std::nullopt)
        : work_("redis"), port_(free_port()) {
        data_dir_ = data_dir ? *data_dir : work_ / "data";
        std::filesystem::create_directories(data_dir_);
        process_ = Process::spawn(
            {"/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1",
             "--unixsocket", socket().string(), "--unixsocketperm", "700", "--dir",
             data_dir_.string(), "--save", "", "--appendonly", "yes", "--daemonize", "no"},
            log_file());
        for (int i = 0; i < 500; ++i) {
            try {
                RedisClient(port_).cmd({"PING"});
                return;
            } catch (const std::exception&) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        throw std::runtime_error("redis-server did not start: " + tail_of(log_file()));
    }
    ~RedisServer() { process_.stop(std::chrono::seconds(10)); }

    int port() const noexcept { return port_; }
    const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
    std::filesystem::path socket() const { return work_ / "redis.sock"; }
    std::filesystem::path log_file() const { return work_ / "server.log"; }

private:
    TempDir work_;
    int port_;
    std::filesystem::path data_dir_;
    Process process_;
};

}  // namespace taskexec_it
