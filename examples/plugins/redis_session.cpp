// examples/plugins/redis_session.cpp — see redis_session.hpp.
#include "redis_session.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <utility>

namespace taskexec_examples::redis {

namespace {

timeval to_timeval(std::int64_t ms) {
    ms = std::max<std::int64_t>(ms, 1);
    timeval tv{};
    tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms / 1000);
    tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms % 1000) * 1000);
    return tv;
}

/// hiredis' error class, for native_code.
std::string io_code(int err) {
    switch (err) {
        case REDIS_ERR_IO: return "REDIS_ERR_IO";
        case REDIS_ERR_EOF: return "REDIS_ERR_EOF";
        case REDIS_ERR_PROTOCOL: return "REDIS_ERR_PROTOCOL";
        case REDIS_ERR_OOM: return "REDIS_ERR_OOM";
        default: return "REDIS_ERR_" + std::to_string(err);
    }
}

/// The kind of an error reply, from its first word (WRONGPASS, NOPERM, ...).
db_error_kind reply_kind(std::string_view code, const db_where& where) {
    if (code == "WRONGPASS" || code == "NOAUTH" || code == "NOPERM")
        return db_error_kind::permission;
    // "ERR AUTH <password> called without any password configured ...":
    // password_env was given for a server that has no password.
    if (where.step == "auth") return db_error_kind::config;
    return db_error_kind::precondition;  // LOADING, BUSY, MASTERDOWN, an unknown command, ...
}

/// Names may hold any printable ASCII except space (Redis refuses the rest
/// with an error that would not say which field was wrong).
bool valid_client_name(const std::string& name) {
    return std::all_of(name.begin(), name.end(), [](char c) { return c > ' ' && c <= '~'; });
}

}  // namespace

void ReplyDeleter::operator()(redisReply* r) const noexcept { freeReplyObject(r); }

std::unique_ptr<Session> Session::connect(const QuiesceParams& p, const db_where& where,
                                          std::int64_t budget_ms) {
    if (p.port < 0 || p.port > 65535)
        throw server::config_error(where, "payload field 'port' must be between 0 and 65535");
    if (!valid_client_name(p.label))
        throw server::config_error(where,
                                   "payload field 'label' must be printable ASCII "
                                   "without spaces (it becomes the Redis client name)");
    if (!p.user.empty() && p.password_env.empty())
        throw server::config_error(where,
                                   "payload field 'user' needs 'password_env' (Redis "
                                   "AUTH takes a user only together with a password)");
    std::unique_ptr<Session> s(new Session());
    s->socket_ = p.socket;
    s->host_ = p.host.empty() ? "127.0.0.1" : p.host;
    s->port_ = p.port == 0 ? 6379 : p.port;
    s->user_ = p.user;
    s->label_ = p.label;
    // Secret is move-constructible only (no assignment that could leave a copy).
    if (std::optional<server::Secret> pw = server::password_from_env(p, where))
        s->password_.emplace(std::move(*pw));
    s->open(where, budget_ms);
    return s;
}

Session::~Session() {
    lift();
    close();
}

void Session::open(const db_where& where, std::int64_t timeout_ms) {
    close();
    const timeval tv = to_timeval(timeout_ms);
    ctx_ = socket_.empty() ? redisConnectWithTimeout(host_.c_str(), port_, tv)
                           : redisConnectUnixWithTimeout(socket_.c_str(), tv);
    if (ctx_ == nullptr)
        throw db_error(db_error_kind::connect, where, "", "cannot allocate a connection", false);
    if (ctx_->err != 0) {
        const std::string code = io_code(ctx_->err);
        const std::string text = redact(ctx_->errstr);
        close();
        throw db_error(db_error_kind::connect, where, code, "cannot connect: " + text, false);
    }
    set_timeout(timeout_ms);
    if (password_) {
        const db_where auth{where.engine, where.task, "auth"};
        // AUTH's arguments are views: no further copy of the password.
        if (user_.empty())
            command({"AUTH", password_->str()}, auth);
        else
            command({"AUTH", user_, password_->str()}, auth);
    }
    if (!label_.empty()) command({"CLIENT", "SETNAME", label_}, where);
    const Reply id = command({"CLIENT", "ID"}, where);
    client_id_ = id->type == REDIS_REPLY_INTEGER ? id->integer : 0;
}

void Session::close() noexcept {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = nullptr;
}

void Session::set_timeout(std::int64_t ms) {
    if (ctx_ != nullptr) redisSetTimeout(ctx_, to_timeval(ms));
}

Reply Session::command(const std::vector<std::string_view>& args, const db_where& where) {
    if (ctx_ == nullptr)
        throw db_error(db_error_kind::session_lost, where, "", "the connection is closed", false);
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (std::string_view a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    errno = 0;
    void* raw = redisCommandArgv(ctx_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    if (raw == nullptr) throw_io_error(where);
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
        const std::string text(reply->str, reply->len);
        const std::size_t space = text.find(' ');
        const std::string code = text.substr(0, space);
        const std::string rest = space == std::string::npos ? "" : text.substr(space + 1);
        throw db_error(reply_kind(code, where), where, code, "Redis replied: " + redact(rest),
                       false);
    }
    return reply;
}

void Session::throw_io_error(const db_where& where) {
    const int saved_errno = errno;
    const std::string code = io_code(ctx_->err);
    const std::string text = redact(ctx_->errstr);
    bool timed_out =
        ctx_->err == REDIS_ERR_IO &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT);
#ifdef REDIS_ERR_TIMEOUT  // hiredis >= 1.0 reports read timeouts as their own class
    timed_out = timed_out || ctx_->err == REDIS_ERR_TIMEOUT;
#endif
    // A hiredis context is unusable after an I/O error; a timed-out reply
    // could otherwise arrive as the answer to the next command.
    close();
    if (timed_out)
        throw db_error(db_error_kind::acquire_timeout, where, code,
                       "no reply in time (acquire_timeout_ms; 5 s for a release): " + text, false);
    throw db_error(db_error_kind::session_lost, where, code, "the connection was lost: " + text,
                   false);
}

Info Session::info(const std::string& section, const db_where& where) {
    const Reply r = command({"INFO", section}, where);
    Info out;
    if (r->type != REDIS_REPLY_STRING) return out;
    const std::string_view text(r->str, r->len);
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const std::size_t colon = line.find(':');
        if (line.empty() || line.front() == '#' || colon == std::string_view::npos) continue;
        out.emplace(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
    }
    return out;
}

std::optional<std::string> Session::config_get(const std::string& name, const db_where& where) {
    const Reply r = command({"CONFIG", "GET", name}, where);
    // A flat [name, value] array (RESP2); empty for a parameter this server lacks.
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
        r->element[1]->type != REDIS_REPLY_STRING)
        return std::nullopt;
    return std::string(r->element[1]->str, r->element[1]->len);
}

void Session::pause(std::int64_t server_timeout_ms, const db_where& where) {
    pausing_ = true;
    try {
        command({"CLIENT", "PAUSE", std::to_string(server_timeout_ms), "WRITE"}, where);
    } catch (const db_error&) {
        // An error reply means the server refused (it did not pause); a lost
        // or timed-out connection (ctx_ closed) leaves it unknown.
        if (ctx_ != nullptr) pausing_ = false;
        throw;
    }
}

std::string Session::unpause(const db_where& where) {
    if (ctx_ != nullptr) {
        set_timeout(release_timeout_ms);
        try {
            command({"CLIENT", "UNPAUSE"}, where);
            pausing_ = false;
            return "holder";
        } catch (const db_error& e) {
            if (e.kind() != db_error_kind::session_lost &&
                e.kind() != db_error_kind::acquire_timeout)
                throw;  // an error reply: retrying elsewhere would get the same
        }
    }
    // The holder is gone, but the pause is the server's: it is still on.
    try {
        open(where, release_timeout_ms);
    } catch (const db_error& e) {
        throw db_error(db_error_kind::release_failed, where, e.native_code(),
                       "the holder connection was lost and a new one failed (" + e.message() +
                           "); the server lifts the pause by itself at its timeout",
                       true);
    }
    const Info server = info("server", where);
    const auto id = server.find("run_id");
    if (id == server.end() || id->second != run_id) {
        pausing_ = false;
        throw db_error(db_error_kind::session_lost, where, "",
                       "the server restarted during the hold (another run_id): the pause "
                       "ended with it, and writes may have landed",
                       false);
    }
    command({"CLIENT", "UNPAUSE"}, where);
    pausing_ = false;
    return "reconnect";
}

taskexec::json Session::release() {
    const db_where where{std::string(engine_name), "unquiesce_db", "release"};
    try {
        return {{"unpaused_via", unpause(where)}};
    } catch (const db_error& e) {
        if (e.kind() == db_error_kind::session_lost || e.kind() == db_error_kind::release_failed)
            throw;
        throw db_error(db_error_kind::release_failed, where, e.native_code(), e.message(), true);
    }
}

bool Session::lift() noexcept {
    if (!pausing_) return true;
    try {
        unpause({std::string(engine_name), "unquiesce_db", "lift"});
    } catch (...) {
        // Nothing more to do here: the CLIENT PAUSE timeout ends it.
    }
    const bool lifted = !pausing_;
    pausing_ = false;
    return lifted;
}

void Session::abandon() noexcept {
    lift();
    close();
}

std::string Session::redact(std::string text) const {
    std::vector<std::string_view> values;
    if (password_ && !password_->str().empty()) values.emplace_back(password_->str());
    for (const std::string* v : {&user_, &host_, &socket_, &label_})
        if (!v->empty()) values.emplace_back(*v);
    // Longest first, so a value containing another is replaced whole.
    std::sort(values.begin(), values.end(),
              [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
    constexpr std::string_view mark = "<redacted>";
    for (std::string_view v : values)
        for (std::size_t at = text.find(v); at != std::string::npos;
             at = text.find(v, at + mark.size()))
            text.replace(at, v.size(), mark);
    return text;
}

}  // namespace taskexec_examples::redis
