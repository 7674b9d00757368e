#pragma once
// Parallel simulation of the chips of a system (docs/model.md, "Host parallelism"). SystemC keeps
// one simulation context per process, so the host workers are processes: Simulation::run forks
// them after building the system, each simulates a contiguous block of chips, and they meet at
// the end of every window of simulated time no longer than the link latency (conservative
// synchronisation: nothing a chip does in a window can reach another chip before the window
// ends). At each meeting a worker hands the others what its chips sent them: link messages,
// with the arrival time of every packet, and system-barrier arrivals. At the end the workers
// send their chips' statistics and records to the first worker (the calling process), which
// puts them into its own chip objects, so every output reads as after a one-process run.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tessera::model {

class Chip;
class LinkFabric;

// A byte stream of plain values, for the frames the workers exchange.
class Frame {
 public:
  std::vector<uint8_t> bytes;
  size_t at = 0;  // read position
  template <class T>
  void put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
  }
  template <class T>
  T get() {
    T v;
    take(&v, sizeof(T));
    return v;
  }
  void put_str(const std::string& s);
  std::string get_str();
  template <class T>
  void put_vec(const std::vector<T>& v) {
    put<uint64_t>(v.size());
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    bytes.insert(bytes.end(), p, p + v.size() * sizeof(T));
  }
  template <class T>
  std::vector<T> get_vec() {
    std::vector<T> v(get<uint64_t>());
    take(v.data(), v.size() * sizeof(T));
    return v;
  }
  void take(void* dst, size_t n);
  // One field list serves both directions: io() writes a value, or reads it back when the
  // frame is `reading` (the record's fields are listed once, so the two cannot drift apart).
  bool reading = false;
  template <class T>
  void io(T& v) {
    if (reading) {
      take(&v, sizeof(T));
    } else {
      put(v);
    }
  }
  void io(std::string& s) {
    if (reading) {
      s = get_str();
    } else {
      put_str(s);
    }
  }
  template <class T>
  void io(std::vector<T>& v) {
    if (reading) {
      v = get_vec<T>();
    } else {
      put_vec(v);
    }
  }
  // Runs of zero bytes (most of a unit's opcode counts, a record's unused times) as lengths:
  // the final frames shrink several times and cost less to move than to encode.
  Frame packed() const;
  Frame unpacked() const;
};

// A link message for a chip of another worker: the sender's fabric booked its links; the
// receiver delivers it at `at_fs` (the cycle of its first packet's arrival).
struct RemoteMessage {
  uint64_t at_fs = 0, key = 0, bytes = 0;
  uint32_t src = 0, dst = 0;
  uint16_t tag = 0;
  std::vector<uint64_t> arrivals_fs;
  void io(Frame& f) {
    f.io(at_fs);
    f.io(key);
    f.io(bytes);
    f.io(src);
    f.io(dst);
    f.io(tag);
    f.io(arrivals_fs);
  }
};

// A core's arrival at a system barrier, which every worker applies at `at_fs`.
struct RemoteArrival {
  uint64_t at_fs = 0, x = 0;
  uint32_t chip = 0, core = 0, id = 0;
  std::string where;
  void io(Frame& f) {
    f.io(at_fs);
    f.io(x);
    f.io(chip);
    f.io(core);
    f.io(id);
    f.io(where);
  }
};

// One worker's end of the exchange: which chips it simulates, the sockets to the other
// workers, and what its chips posted for them during the current window.
class Exchange {
 public:
  Exchange(uint32_t workers, uint32_t me, std::vector<uint32_t> owner, std::vector<int> fds);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  const uint32_t workers, me;
  const std::vector<uint32_t> owner;  // chip -> worker
  bool local(uint32_t chip) const { return owner[chip] == me; }

  // The first worker starts the others' runs; another worker waits for that (false: the first
  // closed its socket without starting, e.g. the Simulation ended unrun).
  void start();
  bool wait_for_start(char& go);

  void post(RemoteMessage m);
  void post(const RemoteArrival& a);

  // What a worker says at the end of a window besides its posts.
  struct Status {
    uint64_t next_fs = ~uint64_t(0);  // its next event (none: ~0)
    uint64_t completions = 0, horizon = 0, dram_bytes = 0;
    bool failed = false, running = false;
    std::string error;
    void io(Frame& f) {
      f.io(next_fs);
      f.io(completions);
      f.io(horizon);
      f.io(dram_bytes);
      f.io(failed);
      f.io(running);
      f.io(error);
    }
  };
  // Sends this worker's status and posts to every other worker and receives theirs: returns the
  // statuses by worker (this one's included) and hands the messages and arrivals addressed to
  // this worker to the callbacks, in worker order. Also folds the earliest posted time of every
  // worker into the statuses' next_fs, so that all workers agree on when something happens next.
  std::vector<Status> meet(const Status& mine, const std::function<void(RemoteMessage)>& on_message,
                           const std::function<void(const RemoteArrival&)>& on_arrival);

  // End of the run: a worker other than the first sends one frame to the first and returns;
  // the first receives one frame from each other worker (in worker order).
  void send_final(const Frame& f);
  std::vector<Frame> receive_finals();
  // After the end: the first worker asks the others for more (one byte each) and receives one
  // frame from each; another worker waits for a request (false: the first closed its socket).
  std::vector<Frame> ask(char what);
  bool wait_for_request(char& what) { return wait_for_start(what); }

 private:
  std::vector<Frame> swap_frames(std::vector<Frame> out);
  std::vector<int> fds_;               // socket to each worker; -1 for this one
  std::vector<Frame> messages_;        // per destination worker
  std::vector<RemoteArrival> arrivals_;
  uint64_t min_posted_fs_ = ~uint64_t(0);
  int spin_polls_ = 0;  // non-sleeping looks before a meeting sleeps in poll
};

// The results of a chip that a worker simulated: statistics and traffic of its cores, its L2
// traffic, its DRAM statistics and transfer count, and its links' statistics. The cores'
// instruction records (most of the bytes) come separately, when first asked for.
void write_chip_results(Frame& f, const Chip& chip, const LinkFabric& links);
void read_chip_results(Frame& f, Chip& chip, LinkFabric& links);
void write_chip_records(Frame& f, const Chip& chip);
void read_chip_records(Frame& f, Chip& chip);

}  // namespace tessera::model
