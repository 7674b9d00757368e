#include "driver/sweep_pool.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/util/error.h"

namespace tessera::sweep {

namespace fs = std::filesystem;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces `p` at once (write a temporary, rename), so a kill never leaves half a file.
void replace_file(const fs::path& p, const std::string& text) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw InputError(tmp.string() + ": writing failed (disk full or not writable)");
  }
  fs::rename(tmp, p);
}

}  // namespace

Recorder::Recorder(const Spec& spec, const RunOptions& opt, size_t workers)
    : spec_(spec), opt_(opt), workers_(workers), t0_(now_seconds()) {
  const fs::path dir(opt.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw InputError("-o " + opt.dir + ": cannot create the directory");
  // sweep.json ties the directory to one spec: resuming with another would mix two sweeps.
  const std::string hash = std::to_string(fnv1a(spec.text));
  const fs::path meta = dir / "sweep.json", jsonl = dir / "results.jsonl";
  if (fs::exists(meta, ec)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_text(meta));
    } catch (const std::exception&) {
    }
    if (j.value("spec_hash", std::string()) != hash)
      throw InputError("-o " + opt.dir + ": holds a sweep of another spec (" + j.value("spec", std::string("?")) +
                       ", or an edited one); choose another directory");
  }
  std::vector<Result> found;
  if (fs::exists(jsonl, ec)) {
    std::istringstream in(read_text(jsonl));
    std::string line;
    std::set<size_t> seen;
    while (std::getline(in, line)) {
      // A kill can cut the last line: it does not parse and the point runs again.
      const std::optional<Result> r = parse_result(line);
      if (r && r->index < spec.points() && seen.insert(r->index).second) found.push_back(*r);
    }
  }
  if (!found.empty() && !opt.resume)
    throw InputError("-o " + opt.dir + ": already holds " + std::to_string(found.size()) +
                     " finished points of this sweep; pass --resume to continue it, or choose an empty directory");
  nlohmann::ordered_json m;
  m["spec"] = spec.file;
  m["spec_hash"] = hash;
  m["points"] = spec.points();
  replace_file(meta, m.dump(2) + "\n");
  std::sort(found.begin(), found.end(), [](const Result& a, const Result& b) { return a.index < b.index; });
  std::string js, csv = csv_header(spec);
  for (const Result& r : found) {
    js += result_json(spec, r) + "\n";
    csv += csv_row(spec, r);
  }
  replace_file(jsonl, js);
  replace_file(dir / "results.csv", csv);
  std::vector<bool> done(spec.points(), false);
  for (const Result& r : found) done[r.index] = true;
  for (size_t i = 0; i < spec.points(); ++i)
    if (!done[i]) todo_.push_back(i);
  resumed_ = found.size();
  results_ = std::move(found);
  for (const Result& r : results_)
    if (r.feasible && !spec.objectives.empty()) {
      const auto it = r.metrics.find(spec.objectives[0].metric);
      if (it != r.metrics.end() && (!best_ || (spec.objectives[0].maximise ? it->second > *best_ : it->second < *best_))) {
        best_ = it->second;
        best_index_ = r.index;
      }
    }
  report(nullptr);
}

void Recorder::append(const std::string& file, const std::string& line) {
  const fs::path p = fs::path(opt_.dir) / file;
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out << line;
  out.close();
  if (!out) throw InputError(p.string() + ": writing failed (disk full or not writable)");
}

void Recorder::record(const Outcome& o) {
  // The report first: a line in results.jsonl promises its report exists.
  write_point_report(opt_.dir, o);
  append("results.jsonl", result_json(spec_, o.result) + "\n");
  append("results.csv", csv_row(spec_, o.result));
  results_.push_back(o.result);
  ++ran_;
  const Result& r = results_.back();
  if (r.feasible) {
    const Objective& ob = spec_.objectives[0];
    const auto it = r.metrics.find(ob.metric);
    if (it != r.metrics.end() && (!best_ || (ob.maximise ? it->second > *best_ : it->second < *best_) ||
                                  (it->second == *best_ && r.index < best_index_))) {
      best_ = it->second;
      best_index_ = r.index;
    }
  }
  report(&r);
}

void Recorder::report(const Result* last) {
  if (!opt_.progress) return;
  Progress p;
  p.total = spec_.points();
  p.done = results_.size();
  p.resumed = resumed_;
  p.workers = workers_;
  p.elapsed = now_seconds() - t0_;
  p.last = last;
  p.best = best_;
  p.best_index = best_index_;
  opt_.progress(p);
}

Summary Recorder::finish() {
  std::sort(results_.begin(), results_.end(), [](const Result& a, const Result& b) { return a.index < b.index; });
  std::string js, csv = csv_header(spec_);
  Summary s;
  for (const Result& r : results_) {
    js += result_json(spec_, r) + "\n";
    csv += csv_row(spec_, r);
    s.ok += r.status == "ok";
    s.feasible += r.feasible;
  }
  replace_file(fs::path(opt_.dir) / "results.jsonl", js);
  replace_file(fs::path(opt_.dir) / "results.csv", csv);
  write_fronts(opt_.dir, spec_, results_);
  s.total = spec_.points();
  s.ran = ran_;
  s.resumed = resumed_;
  s.elapsed = now_seconds() - t0_;
  return s;
}

void coordinate(Recorder& recorder, Workers& workers) {
  std::deque<size_t> queue(recorder.todo().begin(), recorder.todo().end());
  size_t outstanding = 0;
  for (size_t w = 0; w < workers.count() && !queue.empty(); ++w) {
    workers.assign(w, queue.front());
    queue.pop_front();
    ++outstanding;
  }
  while (outstanding) {
    auto [w, outcome] = workers.next();
    --outstanding;
    if (!queue.empty()) {
      workers.assign(w, queue.front());
      queue.pop_front();
      ++outstanding;
    }
    recorder.record(outcome);
  }
  workers.stop();
}

// ---- forked worker processes ----

namespace {

bool read_full(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n) {
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
  }
  return true;
}

bool write_full(int fd, const void* buf, size_t n) {
  const auto* p = static_cast<const char*>(buf);
  while (n) {
    const ssize_t put = ::write(fd, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    p += put;
    n -= size_t(put);
  }
  return true;
}

// A child reads point indices (8 bytes each) and answers each with a length-prefixed outcome
// message, until its input closes. A point that crashes the child (the model aborting on an
// odd configuration) costs only that point: the parent records it as failed and forks anew.
class ForkWorkers final : public Workers {
 public:
  ForkWorkers(const Spec& spec, size_t n) : spec_(spec), children_(n) {
    std::signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < n; ++i) spawn(i);
  }
  ~ForkWorkers() override { stop(); }
  size_t count() const override { return children_.size(); }

  void assign(size_t w, size_t index) override {
    Child& c = children_[w];
    c.busy = index;
    const uint64_t v = index;
    if (!write_full(c.to, &v, sizeof v)) pending_.emplace_back(w, died(w));  // reported by next()
  }

  std::pair<size_t, Outcome> next() override {
    if (!pending_.empty()) {
      auto p = std::move(pending_.front());
      pending_.pop_front();
      return p;
    }
    while (true) {
      std::vector<pollfd> fds;
      std::vector<size_t> who;
      for (size_t i = 0; i < children_.size(); ++i)
        if (children_[i].busy) {
          fds.push_back({children_[i].from, POLLIN, 0});
          who.push_back(i);
        }
      if (fds.empty()) throw std::logic_error("sweep: waiting with no point running");
      if (::poll(fds.data(), fds.size(), -1) < 0) {
        if (errno == EINTR) continue;
        throw std::runtime_error(std::string("sweep: poll: ") + std::strerror(errno));
      }
      for (size_t k = 0; k < fds.size(); ++k) {
        if (!fds[k].revents) continue;
        Child& c = children_[who[k]];
        char buf[65536];
        const ssize_t got = ::read(c.from, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return {who[k], died(who[k])};
        c.in.append(buf, size_t(got));
        uint64_t len = 0;
        if (c.in.size() >= sizeof len) {
          std::memcpy(&len, c.in.data(), sizeof len);
          if (c.in.size() >= sizeof len + len) {
            Outcome o = parse_outcome(c.in.substr(sizeof len, len));
            c.in.erase(0, sizeof len + len);
            c.busy.reset();
            return {who[k], std::move(o)};
          }
        }
      }
    }
  }

  void stop() override {
    for (Child& c : children_) {
      if (c.pid <= 0) continue;
      ::close(c.to);
      ::close(c.from);
      int st = 0;
      ::waitpid(c.pid, &st, 0);
      c.pid = -1;
    }
  }

 private:
  struct Child {
    pid_t pid = -1;
    int to = -1, from = -1;
    std::optional<size_t> busy;
    std::string in;
  };

  void spawn(size_t i) {
    int down[2], up[2];
    if (::pipe(down) || ::pipe(up)) throw std::runtime_error(std::string("sweep: pipe: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("sweep: fork: ") + std::strerror(errno));
    if (pid == 0) {
      // The child dies with the coordinator (a killed sweep leaves no orphans running points).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(0);
      ::close(down[1]);
      ::close(up[0]);
      // Other children's pipe ends must not stay open here, or their deaths would go unseen.
      for (const Child& c : children_)
        if (c.pid > 0) {
          ::close(c.to);
          ::close(c.from);
        }
      serve(down[0], up[1]);
      ::_exit(0);
    }
    ::close(down[0]);
    ::close(up[1]);
    children_[i].pid = pid;
    children_[i].to = down[1];
    children_[i].from = up[0];
    children_[i].in.clear();
    children_[i].busy.reset();
  }

  void serve(int in, int out) {
    uint64_t index = 0;
    while (read_full(in, &index, sizeof index)) {
      const std::string msg = evaluate_message(spec_, size_t(index));
      const uint64_t len = msg.size();
      if (!write_full(out, &len, sizeof len) || !write_full(out, msg.data(), msg.size())) break;
    }
  }

  // The child of worker w is gone: its point fails with the reason; a fresh child takes its place.
  Outcome died(size_t w) {
    Child& c = children_[w];
    ::close(c.to);
    ::close(c.from);
    int st = 0;
    ::waitpid(c.pid, &st, 0);
    c.pid = -1;
    Outcome o;
    o.result.index = c.busy.value_or(0);
    o.result.status = "failed";
    o.result.reason = WIFSIGNALED(st) ? "the worker process died with signal " + std::to_string(WTERMSIG(st)) +
                                            " (" + strsignal(WTERMSIG(st)) + ") while running this point"
                                      : "the worker process exited with status " + std::to_string(WEXITSTATUS(st)) +
                                            " while running this point";
    spawn(w);
    return o;
  }

  const Spec& spec_;
  std::vector<Child> children_;
  std::deque<std::pair<size_t, Outcome>> pending_;
};

}  // namespace

Summary run_local(const Spec& spec, const RunOptions& opt) {
  unsigned jobs = opt.jobs ? opt.jobs : std::max(1u, std::thread::hardware_concurrency());
  Recorder rec(spec, opt, jobs);
  const size_t n = std::max<size_t>(1, std::min<size_t>(jobs, rec.todo().size()));
  if (!rec.todo().empty()) {
    ForkWorkers workers(spec, n);
    coordinate(rec, workers);
  }
  return rec.finish();
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS"}) {
    const char* s = std::getenv(v);
    if (s && std::atoi(s) > 1) return true;
  }
  return false;
}

}  // namespace tessera::sweep
