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
};

// A core's arrival at a system barrier, which every worker applies at `at_fs`.
struct RemoteArrival {
  uint64_t at_fs = 0, x = 0;
  uint32_t chip = 0, core = 0, id = 0;
  std::string where;
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
  };
  // Sends this worker's status and posts to every other worker and receives theirs: returns the
  // statuses by worker (this one's included) and hands the messages and arrivals addressed to
  // this worker to the callbacks, in worker order. Also folds the earliest posted time of every
  // worker into the statuses' next_fs, so that all workers agree on when something happens next.
  template <class OnMessage, class OnArrival>
  std::vector<Status> meet(const Status& mine, OnMessage on_message, OnArrival on_arrival);

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

template <class OnMessage, class OnArrival>
std::vector<Exchange::Status> Exchange::meet(const Status& mine, OnMessage on_message, OnArrival on_arrival) {
  std::vector<Frame> out(workers);
  for (uint32_t w = 0; w < workers; ++w) {
    if (w == me) continue;
    Frame& f = out[w];
    f.put<uint64_t>(std::min(mine.next_fs, min_posted_fs_));
    f.put<uint64_t>(mine.completions);
    f.put<uint64_t>(mine.horizon);
    f.put<uint64_t>(mine.dram_bytes);
    f.put<uint8_t>(mine.failed);
    f.put<uint8_t>(mine.running);
    f.put_str(mine.error);
    f.put<uint64_t>(arrivals_.size());
    for (const RemoteArrival& a : arrivals_) {
      f.put(a.at_fs);
      f.put(a.x);
      f.put(a.chip);
      f.put(a.core);
      f.put(a.id);
      f.put_str(a.where);
    }
    f.bytes.insert(f.bytes.end(), messages_[w].bytes.begin(), messages_[w].bytes.end());
  }
  std::vector<Status> all(workers);
  all[me] = mine;
  all[me].next_fs = std::min(mine.next_fs, min_posted_fs_);
  std::vector<Frame> in = swap_frames(std::move(out));
  for (auto& m : messages_) m = Frame{};
  arrivals_.clear();
  min_posted_fs_ = ~uint64_t(0);
  for (uint32_t w = 0; w < workers; ++w) {
    if (w == me) continue;
    Frame& f = in[w];
    Status& s = all[w];
    s.next_fs = f.get<uint64_t>();
    s.completions = f.get<uint64_t>();
    s.horizon = f.get<uint64_t>();
    s.dram_bytes = f.get<uint64_t>();
    s.failed = f.get<uint8_t>() != 0;
    s.running = f.get<uint8_t>() != 0;
    s.error = f.get_str();
    const uint64_t na = f.get<uint64_t>();
    for (uint64_t i = 0; i < na; ++i) {
      RemoteArrival a;
      a.at_fs = f.get<uint64_t>();
      a.x = f.get<uint64_t>();
      a.chip = f.get<uint32_t>();
      a.core = f.get<uint32_t>();
      a.id = f.get<uint32_t>();
      a.where = f.get_str();
      on_arrival(std::move(a));
    }
    while (f.at < f.bytes.size()) {
      RemoteMessage m;
      m.at_fs = f.get<uint64_t>();
      m.key = f.get<uint64_t>();
      m.bytes = f.get<uint64_t>();
      m.src = f.get<uint32_t>();
      m.dst = f.get<uint32_t>();
      m.tag = f.get<uint16_t>();
      m.arrivals_fs = f.get_vec<uint64_t>();
      on_message(std::move(m));
    }
  }
  return all;
}

}  // namespace tessera::model
