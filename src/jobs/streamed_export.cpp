#include "jobs/streamed_export.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <thread>

namespace swan::jobs {
namespace {

class PipedExport final : public connectors::CsvSource {
 public:
  PipedExport(int read_fd, std::shared_ptr<StreamedUsage> usage)
      : read_fd_(read_fd), usage_(std::move(usage)) {}

  ~PipedExport() override {
    // Closing the read end first makes a writer still in DuckDB fail with EPIPE and return.
    if (read_fd_ >= 0) ::close(read_fd_);
    if (thread_.joinable()) thread_.join();
  }

  void Start(storage::TableStore& store, const catalog::Table& table,
             const storage::ReadRequest& read, int write_fd) {
    thread_ = std::thread([this, &store, table, read, write_fd] {
      Result<int64_t> rows = store.ExportCsvToPipe(table, read, write_fd);
      // The write end closes only here: the reader's end of data means the export returned.
      ::close(write_fd);
      if (rows.ok()) {
        usage_->rows = *rows;
      } else {
        exported_ = rows.status();
      }
    });
  }

  Result<size_t> Read(char* buffer, size_t size) override {
    for (;;) {
      const ssize_t n = ::read(read_fd_, buffer, size);
      if (n >= 0) {
        usage_->bytes += n;
        return static_cast<size_t>(n);
      }
      if (errno != EINTR)
        return Status::Internal(std::string("reading the exported rows: ") + std::strerror(errno));
    }
  }

  Status Finish() override {
    if (thread_.joinable()) thread_.join();
    return exported_;
  }

 private:
  int read_fd_;
  std::shared_ptr<StreamedUsage> usage_;
  std::thread thread_;
  Status exported_ = Status::Ok();  // written by the thread, read after join
};

}  // namespace

Result<std::unique_ptr<connectors::CsvSource>> StreamInputTable(
    storage::TableStore& store, const InputTable& input, std::shared_ptr<StreamedUsage> usage) {
  // A reader that stops early must turn DuckDB's next write into an error, not kill the process
  // (the server ignores SIGPIPE already, cli/main.cpp; a test binary may not).
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  int fds[2];
  // O_CLOEXEC: a component another job forks meanwhile must not hold the write end open.
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return Status::Internal(std::string("pipe2: ") + std::strerror(errno));
  storage::ReadRequest read = input.read;
  read.version = input.version.number;  // the version the mapping resolved, even if a new one came
  auto source = std::make_unique<PipedExport>(fds[0], std::move(usage));
  source->Start(store, input.table, read, fds[1]);
  return std::unique_ptr<connectors::CsvSource>(std::move(source));
}

}  // namespace swan::jobs
