// The key-value store the ranks of a data-parallel job meet through (c10d's Store interface, which
// ProcessGroupGloo exchanges its addresses over). LibTorch 1.13's TCPStore listens on every
// interface with no way to say otherwise, and any connection counts: a stranger who connects first
// or a connection that stalls makes the job fail at the collective timeout. This store:
//   - listens on exactly the address it is given (127.0.0.1 for --nproc on one machine);
//   - accepts a connection only after a hello naming the protocol and the job's token
//     (SEQLAB_STORE_TOKEN: the --nproc launcher makes a random one; set the same on every machine
//     of a job started by hand), and drops one that says nothing within a few seconds;
//   - serves every connection without blocking (poll), so one stalled peer delays nobody;
//   - bounds what a peer can make it hold (message size, keys per request, connections).
// The protocol is length-prefixed binary (train/rendezvous_store.cpp says how).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/Store.hpp>

namespace seqlab {

struct RendezvousOptions {
  std::string address = "127.0.0.1";  // the server binds exactly this; clients connect to it
  int port = 29500;
  bool is_server = false;
  std::string token;  // must be the same on every rank
  std::chrono::milliseconds timeout{std::chrono::seconds(600)};
};

class RendezvousStore : public c10d::Store {
 public:
  // Starts the server (when is_server) and connects to it, retrying until the timeout. Error with
  // the address when no server answers in time, or it refuses the token.
  explicit RendezvousStore(const RendezvousOptions& options);
  ~RendezvousStore() override;

  void set(const std::string& key, const std::vector<uint8_t>& value) override;
  std::vector<uint8_t> compareSet(const std::string& key, const std::vector<uint8_t>& expected,
                                  const std::vector<uint8_t>& desired) override;
  std::vector<uint8_t> get(
      const std::string& key) override;  // waits for the key (up to the timeout)
  int64_t add(const std::string& key, int64_t value) override;
  bool deleteKey(const std::string& key) override;
  bool check(const std::vector<std::string>& keys) override;
  int64_t getNumKeys() override;
  void wait(const std::vector<std::string>& keys) override;
  void wait(const std::vector<std::string>& keys,
            const std::chrono::milliseconds& timeout) override;

  // The port the server listens on (the one asked for, or the one the system chose for port 0).
  int port() const;

  class Server;

 private:
  class Client;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

// One message of the protocol, for tests and fuzzing: parses a request body (after its length
// prefix) into an operation and its fields; false when it is malformed.
struct StoreRequest {
  uint8_t op = 0;
  std::vector<std::string> fields;
};
bool parse_store_request(const std::string& body, StoreRequest& request);

}  // namespace seqlab
