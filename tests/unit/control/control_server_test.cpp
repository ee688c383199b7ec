// controlplane/control_server: the request checks and their exact error texts
// (handle_line), then the socket itself: mode, framing, limits, and what is at
// its path.
#include "control_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "control_test_util.hpp"

namespace egress::controlplane {
namespace {

using testing_util::temp_path;

// A server with four small commands (registered out of order: the error lists them sorted).
class control_server_test : public ::testing::Test {
protected:
    void SetUp() override {
        server.add("quiet", {}, [](const request_args&) { return json::object(); });
        server.add("echo", {"text", "n"}, [](const request_args& a) {
            json j;
            j["text"] = a.get_string("text").value_or("-");
            j["n"] = a.get_uint("n", 1, 10, 5);
            return j;
        });
        server.add("fail", {}, [](const request_args&) -> json { throw request_error("fail: not today"); });
        server.add("boom", {}, [](const request_args&) -> json { throw std::runtime_error("disk on fire"); });
    }
    std::string call(std::string_view line) { return server.handle_line(line); }
    static std::string error(std::string_view message) {
        return R"({"ok":false,"error":)" + json(message).dump() + "}";
    }

    temp_path socket{"ctl.sock"};
    control_server server{socket.path};
};

TEST_F(control_server_test, answers_a_request_with_its_fields) {
    EXPECT_EQ(call(R"({"cmd":"echo","text":"hi","n":3})"), R"({"ok":true,"text":"hi","n":3})");
    EXPECT_EQ(call(R"({"n":10,"cmd":"echo"})"), R"({"ok":true,"text":"-","n":10})");
    EXPECT_EQ(call(R"(  {"cmd":"quiet"}  )"), R"({"ok":true})");
}

TEST_F(control_server_test, a_line_that_is_not_json) {
    EXPECT_EQ(call("hello"), error("malformed request: not JSON (error at byte 1)"));
    EXPECT_EQ(call(R"({"cmd":"quiet")"), error("malformed request: not JSON (error at byte 15)"));
    EXPECT_EQ(call(R"({"cmd":"quiet"} x)"), error("malformed request: not JSON (error at byte 17)"));
}

TEST_F(control_server_test, a_json_value_that_is_not_an_object) {
    EXPECT_EQ(call("[1,2]"), error(R"(expected a JSON object like {"cmd":"status"}, got [1,2])"));
    EXPECT_EQ(call(R"("status")"), error(R"(expected a JSON object like {"cmd":"status"}, got "status")"));
}

TEST_F(control_server_test, a_missing_or_unknown_command_lists_the_commands_sorted) {
    EXPECT_EQ(call("{}"), error("cmd: expected one of boom, echo, fail or quiet, got nothing"));
    EXPECT_EQ(call(R"({"cmd":5})"), error("cmd: expected one of boom, echo, fail or quiet, got 5"));
    EXPECT_EQ(call(R"({"cmd":"Echo"})"), error(R"(cmd: expected one of boom, echo, fail or quiet, got "Echo")"));
}

TEST_F(control_server_test, a_long_value_is_cut_in_the_error) {
    const std::string name(100, 'a');
    EXPECT_EQ(call(R"({"cmd":")" + name + R"("})"),
              error(R"(cmd: expected one of boom, echo, fail or quiet, got ")" + std::string(76, 'a') + "..."));
}

TEST_F(control_server_test, a_long_value_is_cut_between_utf8_characters) {
    std::string name = "a";
    for (int i = 0; i < 60; ++i) name += "\xc3\xa9"; // é: two bytes each
    std::string shown = "a";
    for (int i = 0; i < 37; ++i) shown += "\xc3\xa9";
    EXPECT_EQ(call(R"({"cmd":")" + name + R"("})"),
              error(R"(cmd: expected one of boom, echo, fail or quiet, got ")" + shown + "..."));
}

TEST_F(control_server_test, an_unknown_argument) {
    EXPECT_EQ(call(R"({"cmd":"quiet","verbose":true})"), error(R"(quiet: unknown argument "verbose" (it takes none))"));
    EXPECT_EQ(call(R"({"cmd":"echo","txt":"hi"})"), error(R"(echo: unknown argument "txt" (expected text or n))"));
}

TEST_F(control_server_test, an_argument_of_the_wrong_type_or_out_of_range) {
    const auto n = [&](std::string_view value) { return call(R"({"cmd":"echo","n":)" + std::string(value) + "}"); };
    EXPECT_EQ(n(R"("x")"), error(R"(echo: n: expected an integer from 1 to 10, got "x")"));
    EXPECT_EQ(n("-1"), error("echo: n: expected an integer from 1 to 10, got -1"));
    EXPECT_EQ(n("2.5"), error("echo: n: expected an integer from 1 to 10, got 2.5"));
    EXPECT_EQ(n("3.0"), error("echo: n: expected an integer from 1 to 10, got 3.0"));
    EXPECT_EQ(n("0"), error("echo: n: expected an integer from 1 to 10, got 0"));
    EXPECT_EQ(n("11"), error("echo: n: expected an integer from 1 to 10, got 11"));
    EXPECT_EQ(n("true"), error("echo: n: expected an integer from 1 to 10, got true"));
    EXPECT_EQ(n("null"), error("echo: n: expected an integer from 1 to 10, got null"));
    EXPECT_EQ(n("18446744073709551616"), error("echo: n: expected an integer from 1 to 10, got 1.8446744073709552e+19"));
    EXPECT_EQ(call(R"({"cmd":"echo","text":["hi"]})"), error(R"(echo: text: expected a string, got ["hi"])"));
    EXPECT_EQ(call(R"({"cmd":"echo","text":{"a":1}})"), error(R"(echo: text: expected a string, got {"a":1})"));
}

TEST_F(control_server_test, a_failing_command) {
    EXPECT_EQ(call(R"({"cmd":"fail"})"), error("fail: not today"));
    EXPECT_EQ(call(R"({"cmd":"boom"})"), error("boom: failed: disk on fire"));
}

TEST_F(control_server_test, invalid_utf8_from_a_command_is_replaced) {
    server.add("latin1", {}, [](const request_args&) {
        json j;
        j["name"] = "caf\xe9";
        return j;
    });
    server.add("latin1_error", {}, [](const request_args&) -> json { throw std::runtime_error("caf\xe9"); });
    EXPECT_EQ(call(R"({"cmd":"latin1"})"), "{\"ok\":true,\"name\":\"caf\xef\xbf\xbd\"}");
    EXPECT_EQ(call(R"({"cmd":"latin1_error"})"), error("latin1_error: failed: caf\xef\xbf\xbd"));
}

// ---- over the socket --------------------------------------------------------

// Polls the server on its own thread, as the control thread does, until destroyed.
class serving {
public:
    explicit serving(control_server& s) : thread_([&s, this] {
        while (!stop_.load()) s.poll(10);
    }) {}
    ~serving() {
        stop_ = true;
        thread_.join();
    }

private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// A plain AF_UNIX stream client; reads give up after 5 s.
class client {
public:
    explicit client(const std::string& path) : fd_(::socket(AF_UNIX, SOCK_STREAM, 0)) {
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.c_str(), sizeof(a.sun_path) - 1);
        if (::connect(fd_, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0)
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        const timeval timeout{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    }
    ~client() { ::close(fd_); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // Sends as much as the peer takes (it may close early).
    void send(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // The next line without its '\n'; nullopt when the connection ends first.
    std::optional<std::string> line() {
        while (in_.find('\n') == std::string::npos)
            if (!fill()) return std::nullopt;
        std::string l = in_.substr(0, in_.find('\n'));
        in_.erase(0, l.size() + 1);
        return l;
    }
    // The server closed the connection (end of stream or reset) and sent nothing more.
    bool closed_by_peer() {
        char c;
        const ssize_t n = ::recv(fd_, &c, 1, 0);
        return in_.empty() && (n == 0 || (n < 0 && errno == ECONNRESET));
    }

private:
    bool fill() {
        char buf[4096];
        const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n <= 0) return false;
        in_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int fd_;
    std::string in_;
};

TEST_F(control_server_test, the_socket_is_private_to_its_owner) {
    struct stat st{};
    ASSERT_EQ(::stat(socket.path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(server.path(), socket.path);
}

TEST_F(control_server_test, requests_and_responses_over_the_socket) {
    serving s(server);
    client c(socket.path);
    c.send(R"({"cmd":"echo","text":"one"})" "\n" R"({"cmd":"echo","n":7})" "\r\n");
    EXPECT_EQ(c.line(), R"({"ok":true,"text":"one","n":5})");
    EXPECT_EQ(c.line(), R"({"ok":true,"text":"-","n":7})");
    // Empty lines are skipped; an error leaves the connection open; a request may
    // arrive in pieces.
    c.send("\n\nnot json\n{\"cmd\":");
    EXPECT_EQ(c.line(), error("malformed request: not JSON (error at byte 2)"));
    c.send("\"quiet\"}\n");
    EXPECT_EQ(c.line(), R"({"ok":true})");
}

TEST_F(control_server_test, a_line_of_max_line_bytes_is_served) {
    serving s(server);
    client c(socket.path);
    std::string request = R"({"cmd":"quiet"})";
    request.resize(control_server::max_line, ' ');
    c.send(request + "\n");
    EXPECT_EQ(c.line(), R"({"ok":true})");
}

TEST_F(control_server_test, a_longer_line_is_refused_and_the_connection_closed) {
    serving s(server);
    client c(socket.path);
    c.send(std::string(control_server::max_line + 1, ' ') + "\n");
    EXPECT_EQ(c.line(), error("request line longer than 65536 bytes"));
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(control_server_test, a_longer_line_without_its_end_is_refused_too) {
    serving s(server);
    client c(socket.path);
    c.send(std::string(control_server::max_line + 100, 'x'));
    EXPECT_EQ(c.line(), error("request line longer than 65536 bytes"));
    EXPECT_TRUE(c.closed_by_peer());
    client next(socket.path); // the server goes on
    next.send("{\"cmd\":\"quiet\"}\n");
    EXPECT_EQ(next.line(), R"({"ok":true})");
}

TEST_F(control_server_test, at_most_max_clients_connections) {
    serving s(server);
    std::vector<std::unique_ptr<client>> clients;
    for (std::size_t i = 0; i < control_server::max_clients; ++i) {
        clients.push_back(std::make_unique<client>(socket.path));
        clients.back()->send("{\"cmd\":\"quiet\"}\n");
        ASSERT_EQ(clients.back()->line(), R"({"ok":true})") << i;
    }
    client refused(socket.path);
    EXPECT_EQ(refused.line(), error("too many connections (at most 16)"));
    EXPECT_TRUE(refused.closed_by_peer());
    clients.pop_back();
    client next(socket.path);
    next.send("{\"cmd\":\"quiet\"}\n");
    EXPECT_EQ(next.line(), R"({"ok":true})");
}

TEST_F(control_server_test, a_live_socket_belongs_to_its_server) {
    try {
        control_server second(socket.path);
        FAIL() << "a second server took over the socket";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(e.what(), "control.socket: " + socket.path + ": in use by another process");
    }
    struct stat st{};
    EXPECT_EQ(::stat(socket.path.c_str(), &st), 0); // still there
}

TEST(control_server, refuses_a_path_that_is_not_a_socket) {
    temp_path file("ctl.sock");
    testing_util::write_file(file.path, "not a socket\n");
    try {
        control_server server(file.path);
        FAIL() << "no exception";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(e.what(), "control.socket: " + file.path + ": exists and is not a socket");
    }
    EXPECT_EQ(testing_util::read_lines(file.path), (std::vector<std::string>{"not a socket"}));
}

TEST(control_server, refuses_an_empty_or_too_long_path) {
    const std::string long_path = "/tmp/" + std::string(120, 'p');
    for (const std::string& path : {std::string(), long_path}) {
        try {
            control_server server(path);
            FAIL() << "no exception for " << path;
        } catch (const std::runtime_error& e) {
            EXPECT_EQ(e.what(), "control.socket: " + path + ": path too long or empty");
        }
    }
}

TEST(control_server, replaces_a_stale_socket_and_removes_its_own) {
    temp_path path("ctl.sock");
    { // a socket file nobody listens on any more
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strncpy(a.sun_path, path.path.c_str(), sizeof(a.sun_path) - 1);
        ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)), 0);
        ::close(fd);
    }
    {
        control_server server(path.path);
        server.add("quiet", {}, [](const request_args&) { return json::object(); });
        serving s(server);
        client c(path.path);
        c.send("{\"cmd\":\"quiet\"}\n");
        EXPECT_EQ(c.line(), R"({"ok":true})");
    }
    struct stat st{};
    EXPECT_NE(::stat(path.path.c_str(), &st), 0);
    EXPECT_EQ(errno, ENOENT);
}

} // namespace
} // namespace egress::controlplane
