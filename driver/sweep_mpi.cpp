// Sweeps across MPI ranks (docs/sweeps.md, "On a cluster"), through the MPI C API. Compiled with
// TESSERA_HAVE_MPI when CMake finds MPI (option TESSERA_MPI); otherwise run_mpi says how to get it.
#include <cstdint>
#include <string>

#include "common/util/error.h"
#include "driver/sweep_pool.h"

#ifdef TESSERA_HAVE_MPI
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>
#endif

namespace tessera::sweep {

#ifndef TESSERA_HAVE_MPI

bool have_mpi() { return false; }

int run_mpi(const std::string&, const RunOptions&) {
  throw InputError(
      "this tessera was built without MPI, so it cannot spread a sweep over MPI ranks: install Open MPI "
      "(libopenmpi-dev openmpi-bin, scripts/setup.sh) and configure again, or run `tessera sweep` without mpirun "
      "(it uses every core of this machine)");
}

#else

bool have_mpi() { return true; }

namespace {

constexpr int kTagPoint = 2, kTagResult = 3;

// Rank 0's view of the other ranks: each runs one point at a time. Waiting probes without
// blocking and sleeps a millisecond between probes, so the coordinator does not spin a core that
// a worker rank on the same machine needs.
class RankWorkers final : public Workers {
 public:
  explicit RankWorkers(int size) : size_(size) {}
  size_t count() const override { return size_t(size_ - 1); }
  void assign(size_t w, size_t index) override {
    int64_t v = int64_t(index);
    MPI_Send(&v, 1, MPI_INT64_T, int(w) + 1, kTagPoint, MPI_COMM_WORLD);
  }
  std::pair<size_t, Outcome> next() override {
    MPI_Status st;
    int flag = 0;
    while (true) {
      MPI_Iprobe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &flag, &st);
      if (flag) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    int n = 0;
    MPI_Get_count(&st, MPI_CHAR, &n);
    std::string msg(size_t(n), '\0');
    MPI_Recv(msg.data(), n, MPI_CHAR, st.MPI_SOURCE, kTagResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    return {size_t(st.MPI_SOURCE - 1), parse_outcome(msg)};
  }
  void stop() override {
    for (int r = 1; r < size_; ++r) {
      int64_t v = -1;
      MPI_Send(&v, 1, MPI_INT64_T, r, kTagPoint, MPI_COMM_WORLD);
    }
  }

 private:
  int size_;
};

void broadcast(std::string& text) {
  int64_t n = int64_t(text.size());
  MPI_Bcast(&n, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  text.resize(size_t(n));
  if (n) MPI_Bcast(text.data(), int(n), MPI_CHAR, 0, MPI_COMM_WORLD);
}

struct Finalize {
  ~Finalize() {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
};

}  // namespace

int run_mpi(const std::string& spec_path, const RunOptions& opt) {
  MPI_Init(nullptr, nullptr);
  Finalize fin;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) {
    // One rank: the machine's cores through the local pool.
    return run_local(load_spec(spec_path), opt), 0;
  }
  if (rank == 0) {
    // Rank 0 checks the spec and the directory before any worker starts; on an error it sends
    // an empty spec, which tells the workers to stop, and reports the error itself.
    std::string text;
    try {
      const Spec spec = load_spec(spec_path);
      Recorder rec(spec, opt, size_t(size - 1));
      text = spec.text;
      broadcast(text);
      RankWorkers workers(size);
      coordinate(rec, workers);
      (void)rec.finish();
      return 0;
    } catch (const std::exception& e) {
      if (text.empty()) {
        broadcast(text);  // the workers are still waiting for the spec: an empty one stops them
        throw;
      }
      // The workers are waiting for points: only an abort ends them.
      std::fprintf(stderr, "error: %s\n", e.what());
      MPI_Abort(MPI_COMM_WORLD, 2);
      return 2;
    }
  }
  std::string text;
  broadcast(text);
  if (text.empty()) return 2;
  const Spec spec = parse_spec(text, spec_path);
  while (true) {
    int64_t index = -1;
    MPI_Recv(&index, 1, MPI_INT64_T, 0, kTagPoint, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (index < 0) break;
    const std::string msg = evaluate_message(spec, size_t(index));
    MPI_Send(msg.data(), int(msg.size()), MPI_CHAR, 0, kTagResult, MPI_COMM_WORLD);
  }
  return 0;
}

#endif

}  // namespace tessera::sweep
