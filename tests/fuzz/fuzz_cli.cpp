// tests/fuzz/fuzz_cli.cpp — libFuzzer target: the `taskexec` program's
// argument and payload handling, in-process.
//
// Input: ARGS [0xFF DATA]. ARGS is split on NUL into argv[1..] (argv[0] is
// "taskexec"); DATA (0xFF never occurs in UTF-8 text) is what the program
// reads for `--payload -` (stdin) and for `--payload @FILE`, where the
// argument `@FILE` is replaced by a temporary file holding DATA. The fuzzer
// calls taskexec_cli::run_program() — examples/main.cpp compiled with
// TASKEXEC_CLI_NO_MAIN — with the program's real command-line parser,
// payload reader (examples/cli/output.cpp) and commands
// (examples/cli/commands.cpp, signals.cpp), against the test engines below
// instead of the database engines: nothing touches a database or a file the
// fuzzer did not create. `demo` is a stub here (it would build a database).
//
// Inputs with '/' or ".." in an argument are skipped, so that paths stay in
// the working directory: `--plugins DIR` would dlopen() what it finds there,
// and `@NAME` would read it.
//
// What must hold (a violation aborts):
// - run_program() returns one of the documented exit codes and lets no
//   exception escape; nothing reaches its catch-all ("internal_error");
// - exit 0 prints nothing on stderr; any other exit prints exactly one line
//   there (with --json, a JSON object with "code" and "message");
// - "$PW" in the payload (inline, stdin or file) is replaced by a sentinel
//   that must appear nowhere in stdout or stderr — unless "$PW" is also in
//   an argument that is not payload text (names, and the FILE of
//   `--payload @FILE`, are echoed by design).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "cli.hpp"

using taskexec::json;

namespace {

constexpr std::string_view marker = "$PW";
constexpr std::string_view sentinel = "Fc!SENTINEL#pw-41d3";

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_cli: %s\n%s\n", what, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

bool holds(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

}  // namespace

// Named, not anonymous: nlohmann's from_json/to_json of unused types would
// otherwise be -Wunused-function errors.
namespace fc {

// ---- the registry the program sees -----------------------------------------

struct Creds {
    std::string user;
    std::string password;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Creds, user, password)

struct OpenParams {
    std::string path;
    Creds creds;
    std::string mode;  // "", "throw", "throw_int"
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OpenParams, path, creds, mode)

struct OpenResult {
    std::string handle;
    bool opened = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OpenResult, handle, opened)

void act(const std::string& mode) {
    if (mode == "throw") throw std::runtime_error("engine failed on purpose");
    if (mode == "throw_int") throw 42;
}

struct Close : taskexec::Task<"fc.close"> {};
struct Open : taskexec::Task<"fc.open", OpenParams, OpenResult> {
    static constexpr std::string_view description = "open (undone by fc.close)";
    using compensation = Close;
};
struct Copy : taskexec::Task<"fc.copy"> {};
struct Lonely : taskexec::Task<"fc.lonely"> {};
TASKEXEC_TASK(Lonely);

struct MemOpen : Open, taskexec::Engine<"mem"> {
    OpenResult execute(const OpenParams& p) {
        act(p.mode);
        // Never echoes a value: the result is "h<length>".
        return {"h" + std::to_string(p.path.size()), true};
    }
};
struct MemClose : Close, taskexec::Engine<"mem"> {
    json execute(const json& p) {
        act(p.value("close_mode", std::string()));
        return {{"closed", true}};
    }
};
struct AnyCopy : Copy, taskexec::any_engine {
    json execute(const json& p, taskexec::Context& ctx) {
        act(p.value("copy_mode", std::string()));
        return {{"copied_by", ctx.engine()}, {"keys", p.size()}};
    }
};
TASKEXEC_ENGINE(MemOpen);
TASKEXEC_ENGINE(MemClose);
TASKEXEC_ENGINE(AnyCopy);

struct Backup : taskexec::Workflow<"fc.backup", Open, Copy, Close> {};
struct Odd : taskexec::Workflow<"fc.odd", Copy, Lonely> {};
TASKEXEC_WORKFLOW(Backup);
TASKEXEC_WORKFLOW(Odd);

}  // namespace fc

namespace {

// ---- the harness ----------------------------------------------------------

/// The temporary file behind `@FILE`: created once, rewritten per input,
/// removed at exit.
struct TempFile {
    std::string path;
    TempFile() {
        char pattern[] = "/tmp/taskexec-fuzz-cli-XXXXXX";
        const int fd = ::mkstemp(pattern);
        if (fd < 0) fail("mkstemp failed", "");
        ::close(fd);
        path = pattern;
    }
    ~TempFile() { ::unlink(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
};

const std::string& payload_file() {
    static const TempFile file;
    return file.path;
}

bool is_payload_flag(std::string_view arg) { return arg == "--payload"; }

}  // namespace

// `taskexec demo` builds and writes a SQLite database: not run here.
int taskexec_cli::cmd_demo(const Output&, const DemoFlags&) {
    std::cout << "demo: not run by the fuzzer\n";
    return exit_ok;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
    const std::string input(reinterpret_cast<const char*>(bytes), size);
    const std::size_t split = input.find('\xff');
    const std::string args_part = input.substr(0, split);
    std::string data = split == std::string::npos ? std::string() : input.substr(split + 1);
    if (holds(input, sentinel)) return -1;

    std::vector<std::string> args;
    for (std::size_t at = 0;;) {
        const std::size_t nul = args_part.find('\0', at);
        args.push_back(args_part.substr(at, nul == std::string::npos ? nul : nul - at));
        if (nul == std::string::npos) break;
        at = nul + 1;
    }
    if (args.size() > 32) return -1;
    // Which arguments are payloads, and whether the marker is anywhere else.
    bool marker_elsewhere = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (holds(a, "/") || holds(a, "..")) return -1;  // stay in the working directory
        // A payload argument is payload text unless it names a file (@FILE)
        // or stdin: a file name is the program's to show.
        const std::string_view value =
            a.rfind("--payload=", 0) == 0 ? std::string_view(a).substr(10) : std::string_view(a);
        const bool payload_text =
            ((i > 0 && is_payload_flag(args[i - 1])) || a.rfind("--payload=", 0) == 0) &&
            value.rfind('@', 0) != 0;
        if (!payload_text && holds(a, marker)) marker_elsewhere = true;
    }
    for (std::string& a : args) {
        a = replace_all(a, marker, sentinel);
        if (a == "@FILE") a = "@" + payload_file();
        if (a == "--payload=@FILE") a = "--payload=@" + payload_file();
    }
    data = replace_all(data, marker, sentinel);
    {
        std::ofstream file(payload_file(), std::ios::binary | std::ios::trunc);
        file << data;
    }

    std::vector<char*> argv;
    std::string program = "taskexec";
    argv.push_back(program.data());
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    // Capture everything the program prints: std::cout, std::cerr (errors)
    // and C stderr (progress lines), and feed DATA as std::cin.
    std::ostringstream out, err;
    std::istringstream in(data);
    std::streambuf* const old_out = std::cout.rdbuf(out.rdbuf());
    std::streambuf* const old_err = std::cerr.rdbuf(err.rdbuf());
    std::streambuf* const old_in = std::cin.rdbuf(in.rdbuf());
    std::cin.clear();
    char* progress_text = nullptr;
    std::size_t progress_size = 0;
    FILE* const old_stderr = stderr;
    FILE* const progress = ::open_memstream(&progress_text, &progress_size);
    if (progress == nullptr) fail("open_memstream failed", "");
    stderr = progress;

    int rc = -1;
    std::string escaped;
    try {
        rc = taskexec_cli::run_program(static_cast<int>(argv.size() - 1), argv.data());
    } catch (const std::exception& e) {
        escaped = e.what();
    } catch (...) {
        escaped = "(not a std::exception)";
    }

    stderr = old_stderr;
    std::fclose(progress);
    const std::string progress_lines(progress_text, progress_size);
    std::free(progress_text);
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
    std::cin.rdbuf(old_in);
    std::cin.clear();

    std::string command_line;
    for (const std::string& a : args) command_line += "[" + a + "] ";
    if (rc == -1) fail("an exception escaped run_program()", escaped + "\n" + command_line);
    if (rc != 0 && rc != 2 && rc != 3 && rc != 4 && rc != 5 && rc != 6)
        fail("an undocumented exit code", std::to_string(rc) + "\n" + command_line);

    const std::string e = err.str();
    if (rc == 0 && !e.empty()) fail("exit 0 with an error line", e + "\n" + command_line);
    // main.cpp's catch-all is for the program's own I/O or memory failures;
    // with these engines nothing may reach it.
    const json e_json = json::parse(e, nullptr, false);
    if (e.rfind("taskexec: internal_error: ", 0) == 0 ||
        (e_json.is_object() && e_json.value("code", json()) == "internal_error"))
        fail("an exception other than taskexec::error reached the program's catch-all",
             e + "\n" + command_line);
    if (rc != 0) {
        if (e.empty() || e.back() != '\n' || e.find('\n') != e.size() - 1)
            fail("an error is not exactly one line", e + "\n" + command_line);
        bool json_errors = false;
        for (const std::string& a : args) json_errors = json_errors || a == "--json";
        if (json_errors && e.rfind("taskexec: ", 0) != 0 &&
            (!e_json.is_object() || !e_json.contains("code") || !e_json.contains("message")))
            fail("a --json error is not a JSON object with code and message",
                 e + "\n" + command_line);
    }
    if (!marker_elsewhere) {
        if (holds(out.str(), sentinel))
            fail("a payload value reached stdout", out.str() + "\n" + command_line);
        if (holds(e, sentinel)) fail("a payload value reached stderr", e + "\n" + command_line);
        if (holds(progress_lines, sentinel))
            fail("a payload value reached the progress lines",
                 progress_lines + "\n" + command_line);
    }
    return 0;
}
