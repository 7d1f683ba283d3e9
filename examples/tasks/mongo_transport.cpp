// examples/tasks/mongo_transport.cpp — the transport factory and the
// libmongoc transport.
#include "mongo_transport.hpp"

#include <mongoc/mongoc.h>

#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>

namespace taskexec_examples::mongo {

namespace {

std::mutex& factory_mutex() {
    static auto* m = new std::mutex;  // never destroyed: usable from exit-time releases
    return *m;
}
TransportFactory& factory_slot() {
    static auto* f = new TransportFactory;
    return *f;
}

void mongoc_init_once() {
    // mongoc_cleanup() is deliberately never called: a lease may still send
    // its fsyncUnlock at process exit, after static destructors.
    static const bool done = [] {
        mongoc_init();
        return true;
    }();
    (void)done;
}

// --- ordered_json <-> BSON, with explicit types ---------------------------

void append(bson_t* doc, const std::string& key, const Document& value);

void append_object(bson_t* doc, const Document& object) {
    for (auto it = object.begin(); it != object.end(); ++it) append(doc, it.key(), it.value());
}

void append(bson_t* doc, const std::string& key, const Document& v) {
    const char* k = key.c_str();
    const int len = static_cast<int>(key.size());
    if (v.is_boolean()) {
        bson_append_bool(doc, k, len, v.get<bool>());
    } else if (v.is_number_integer()) {
        // MongoDB is strict about some integer fields being int32
        // (fsyncLockAcquisitionTimeoutMillis): use the smallest that fits.
        const std::int64_t n = v.get<std::int64_t>();
        if (n >= std::numeric_limits<std::int32_t>::min() &&
            n <= std::numeric_limits<std::int32_t>::max())
            bson_append_int32(doc, k, len, static_cast<std::int32_t>(n));
        else
            bson_append_int64(doc, k, len, n);
    } else if (v.is_number_float()) {
        bson_append_double(doc, k, len, v.get<double>());
    } else if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        bson_append_utf8(doc, k, len, s.c_str(), static_cast<int>(s.size()));
    } else if (v.is_object()) {
        bson_t child;
        bson_append_document_begin(doc, k, len, &child);
        append_object(&child, v);
        bson_append_document_end(doc, &child);
    } else if (v.is_array()) {
        bson_t child;
        bson_append_array_begin(doc, k, len, &child);
        for (std::size_t i = 0; i < v.size(); ++i) append(&child, std::to_string(i), v[i]);
        bson_append_array_end(doc, &child);
    } else {
        bson_append_null(doc, k, len);
    }
}

Document to_document(const bson_t* reply) {
    std::size_t length = 0;
    char* text = bson_as_relaxed_extended_json(reply, &length);
    if (text == nullptr) return Document::object();
    Document out = Document::parse(std::string(text, length), nullptr, false);
    bson_free(text);
    return out.is_discarded() ? Document::object() : out;
}

class MongocTransport final : public Transport {
public:
    explicit MongocTransport(const ConnectSpec& spec) {
        mongoc_init_once();
        bson_error_t error;
        uri_ = mongoc_uri_new_with_error(spec.uri.c_str(), &error);
        if (uri_ == nullptr)
            throw CommandError(failure_kind::config, 0, "",
                               "payload field 'uri' is not a valid "
                               "MongoDB connection string");
        if (mongoc_uri_get_password(uri_) != nullptr) {
            mongoc_uri_destroy(uri_);
            throw CommandError(failure_kind::config, 0, "",
                               "payload field 'uri' must not hold a password; use password_env");
        }
        if (!spec.user.empty()) mongoc_uri_set_username(uri_, spec.user.c_str());
        if (spec.password != nullptr) mongoc_uri_set_password(uri_, spec.password);
        const auto ms = static_cast<std::int32_t>(std::min<std::int64_t>(
            spec.timeout.count(), std::numeric_limits<std::int32_t>::max() - 10000));
        mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_CONNECTTIMEOUTMS, ms);
        mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
        // Longer than the server-side fsyncLockAcquisitionTimeoutMillis, so
        // the server's own LockTimeout normally answers first.
        mongoc_uri_set_option_as_int32(uri_, MONGOC_URI_SOCKETTIMEOUTMS, ms + 5000);
        mongoc_uri_set_appname(uri_, "taskexec");
        client_ = mongoc_client_new_from_uri(uri_);
        if (client_ == nullptr) {
            mongoc_uri_destroy(uri_);
            throw CommandError(failure_kind::config, 0, "", "cannot create a MongoDB client");
        }
        mongoc_client_set_error_api(client_, MONGOC_ERROR_API_VERSION_2);
    }
    ~MongocTransport() override {
        mongoc_client_destroy(client_);
        mongoc_uri_destroy(uri_);
    }
    MongocTransport(const MongocTransport&) = delete;
    MongocTransport& operator=(const MongocTransport&) = delete;

    Document run_admin(const Document& command) override {
        bson_t cmd = BSON_INITIALIZER;
        append_object(&cmd, command);
        bson_t reply;
        bson_error_t error;
        const bool ok =
            mongoc_client_command_simple(client_, "admin", &cmd, nullptr, &reply, &error);
        bson_destroy(&cmd);
        Document doc = to_document(&reply);
        bson_destroy(&reply);
        if (ok) return doc;
        const int code = static_cast<int>(error.code);
        switch (error.domain) {
            case MONGOC_ERROR_SERVER:
            case MONGOC_ERROR_WRITE_CONCERN:
                throw CommandError(failure_kind::server, code, doc.value("codeName", ""),
                                   "the server refused the command");
            case MONGOC_ERROR_CLIENT:
                if (error.code == MONGOC_ERROR_CLIENT_AUTHENTICATE)
                    throw CommandError(failure_kind::auth, code, "",
                                       "authentication failed (check user and the variable "
                                       "named by password_env)");
                break;
            case MONGOC_ERROR_STREAM:
                // Sent but no answer: the command may still have run.
                throw CommandError(failure_kind::timeout, code, "",
                                   "no answer from the server (socket error or timeout)");
            case MONGOC_ERROR_SERVER_SELECTION:
                throw CommandError(failure_kind::network, code, "",
                                   "no suitable server reachable (server selection failed)");
            default: break;
        }
        throw CommandError(failure_kind::network, code, "", "the driver could not run the command");
    }

private:
    mongoc_uri_t* uri_ = nullptr;
    mongoc_client_t* client_ = nullptr;
};

}  // namespace

void set_transport_factory(TransportFactory factory) {
    std::lock_guard lock(factory_mutex());
    factory_slot() = std::move(factory);
}

std::unique_ptr<Transport> make_transport(const ConnectSpec& spec) {
    TransportFactory f;
    {
        std::lock_guard lock(factory_mutex());
        f = factory_slot();
    }
    return f ? f(spec) : make_mongoc_transport(spec);
}

std::unique_ptr<Transport> make_mongoc_transport(const ConnectSpec& spec) {
    return std::make_unique<MongocTransport>(spec);
}

}  // namespace taskexec_examples::mongo
