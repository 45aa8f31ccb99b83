// The data-parallel rendezvous store: it listens only on the address it is given, admits only
// ranks that know the job's token, and a stranger's stalled or garbled connection delays nobody.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "train/rendezvous_store.h"

using Catch::Matchers::Contains;

namespace {

seqlab::RendezvousOptions server_options(const std::string& token = "secret") {
  seqlab::RendezvousOptions options;
  options.address = "127.0.0.1";
  options.port = 0;  // the system picks a free port
  options.is_server = true;
  options.token = token;
  options.timeout = std::chrono::seconds(5);
  return options;
}

seqlab::RendezvousOptions client_options(int port, const std::string& token = "secret") {
  seqlab::RendezvousOptions options;
  options.address = "127.0.0.1";
  options.port = port;
  options.token = token;
  options.timeout = std::chrono::seconds(5);
  return options;
}

// A raw TCP connection to the store, as a stranger would open one.
int connect_raw(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// The local addresses (hex, as /proc/net/tcp writes them) of the sockets listening on `port`.
std::vector<std::string> listening_addresses(int port) {
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (state == "0A" && std::stoi(local.substr(colon + 1), nullptr, 16) == port)
        out.push_back(local.substr(0, colon));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the store listens on the address it is given, not on every interface") {
  seqlab::RendezvousStore server(server_options());
  const auto addresses = listening_addresses(server.port());
  REQUIRE(addresses.size() == 1);
  CHECK(addresses[0] ==
        "0100007F");  // 127.0.0.1, little-endian hex; every interface would be 00000000
}

TEST_CASE("the store keeps keys, counts, waits for a key another rank sets, and compare-sets") {
  seqlab::RendezvousStore server(server_options());
  seqlab::RendezvousStore client(client_options(server.port()));
  server.set("a", {1, 2, 3});
  CHECK(client.get("a") == std::vector<uint8_t>{1, 2, 3});
  CHECK(client.add("n", 2) == 2);
  CHECK(server.add("n", 3) == 5);
  CHECK(client.check({"a", "n"}));
  CHECK_FALSE(client.check({"a", "missing"}));
  CHECK(client.getNumKeys() == 2);
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server.set("late", {7});
  });
  CHECK(client.get("late") == std::vector<uint8_t>{7});  // waited for it
  later.join();
  CHECK(client.compareSet("a", {1, 2, 3}, {9}) == std::vector<uint8_t>{9});
  CHECK(client.compareSet("a", {1}, {8}) == std::vector<uint8_t>{9});
  CHECK(client.deleteKey("a"));
  CHECK_FALSE(client.deleteKey("a"));
  CHECK_THROWS_AS(client.wait({"never"}, std::chrono::milliseconds(300)), seqlab::Error);
}

TEST_CASE("a rank with another token is refused") {
  seqlab::RendezvousStore server(server_options("right"));
  CHECK_THROWS_WITH(seqlab::RendezvousStore(client_options(server.port(), "wrong")),
                    Contains("refused"));
}

TEST_CASE("a stalled or garbled connection delays nobody and is dropped alone") {
  seqlab::RendezvousStore server(server_options());
  const int silent = connect_raw(server.port());  // connects and says nothing
  const int half = connect_raw(server.port());    // sends half a frame
  REQUIRE(::send(half, "\x10\0\0\0seql", 8, 0) == 8);
  const int garbage = connect_raw(server.port());  // announces a 4 GB frame
  REQUIRE(::send(garbage, "\xff\xff\xff\xff", 4, 0) == 4);
  const auto started = std::chrono::steady_clock::now();
  seqlab::RendezvousStore client(client_options(server.port()));
  client.set("k", {1});
  CHECK(server.get("k") == std::vector<uint8_t>{1});
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  char byte;
  CHECK(::recv(garbage, &byte, 1, 0) == 0);  // the server closed the garbled one
  ::close(silent);
  ::close(half);
  ::close(garbage);
}

TEST_CASE("store requests are parsed with every length checked") {
  seqlab::StoreRequest request;
  auto body = [](uint8_t op, std::vector<std::string> fields) {
    std::string out(1, static_cast<char>(op));
    auto put = [&](uint32_t v) {
      for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
    };
    put(static_cast<uint32_t>(fields.size()));
    for (const auto& f : fields) {
      put(static_cast<uint32_t>(f.size()));
      out += f;
    }
    return out;
  };
  CHECK(seqlab::parse_store_request(body(1, {"key", "value"}), request));
  CHECK(request.fields == std::vector<std::string>{"key", "value"});
  CHECK_FALSE(seqlab::parse_store_request(body(1, {"key"}), request));   // SET takes two fields
  CHECK_FALSE(seqlab::parse_store_request(body(42, {"key"}), request));  // no such operation
  std::string cut = body(1, {"key", "value"});
  CHECK_FALSE(seqlab::parse_store_request(cut.substr(0, cut.size() - 1), request));
  CHECK_FALSE(seqlab::parse_store_request(cut + "x", request));
  std::string lying = body(2, {"k"});
  lying[5] = '\xff';  // the field announces far more bytes than follow
  CHECK_FALSE(seqlab::parse_store_request(lying, request));
  CHECK_FALSE(seqlab::parse_store_request("", request));
}
