// examples/tasks/mongo_transport.hpp — how the mongo engine talks to a
// server: one admin command at a time, behind a small interface so tests can
// check the exact command documents without a MongoDB server.
//
//     mongo::set_transport_factory([&](const mongo::ConnectSpec& spec) {
//         return std::make_unique<RecordingTransport>(log);      // a test double
//     });
//     ... run quiesce_db / unquiesce_db with engine "mongo" ...
//     mongo::set_transport_factory({});                           // back to libmongoc
//
// Commands are nlohmann::ordered_json: a MongoDB command's name must be its
// FIRST field, and plain json would sort the keys. The libmongoc transport
// converts them to BSON with explicit types (integers that fit are int32 —
// fsyncLockAcquisitionTimeoutMillis must be one).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace taskexec_examples::mongo {

/// A command or reply document, in field order.
using Document = nlohmann::ordered_json;

/// Where and how to connect. `password` is only valid during the factory
/// call (the transport keeps what the driver needs, nothing else).
struct ConnectSpec {
    std::string uri;                      ///< mongodb://... without a password
    std::string user;                     ///< empty: the URI's user, if any
    const char* password = nullptr;       ///< from password_env; nullptr: none
    std::chrono::milliseconds timeout{};  ///< connect / server selection / command bound
};

/// Why a command failed.
enum class failure_kind {
    server,   ///< the server answered with an error: code() is its code
    network,  ///< no answer: unreachable, connection lost, server selection failed
    timeout,  ///< no answer within the socket timeout (the command may still run)
    auth,     ///< authentication failed
    config,   ///< the URI is invalid or holds a password
};

/// A failed command. what() is our own text: driver messages name hosts.
class CommandError : public std::runtime_error {
public:
    CommandError(failure_kind kind, int code, std::string code_name, const std::string& text)
        : std::runtime_error(text), kind_(kind), code_(code), code_name_(std::move(code_name)) {}
    failure_kind kind() const noexcept { return kind_; }
    int code() const noexcept { return code_; }  ///< server code, or the driver's
    const std::string& code_name() const noexcept { return code_name_; }  ///< e.g. "LockTimeout"

private:
    failure_kind kind_;
    int code_;
    std::string code_name_;
};

/// One connection (or client) to one deployment.
class Transport {
public:
    virtual ~Transport() = default;
    /// Runs `command` on the admin database; the reply of a successful
    /// command (ok: 1). Throws CommandError.
    virtual Document run_admin(const Document& command) = 0;
};

/// Makes a transport; may throw CommandError (config, auth, network).
using TransportFactory = std::function<std::unique_ptr<Transport>(const ConnectSpec&)>;

/// Replaces the factory the engine uses (tests); an empty function restores
/// the libmongoc one. Thread-safe; affects quiesce calls that start later.
void set_transport_factory(TransportFactory factory);

/// A transport from the current factory.
std::unique_ptr<Transport> make_transport(const ConnectSpec& spec);

/// The real one: a libmongoc client; commands via mongoc_client_command_simple.
std::unique_ptr<Transport> make_mongoc_transport(const ConnectSpec& spec);

}  // namespace taskexec_examples::mongo
