#include "connectors/page_pipeline.h"

#include "common/thread_priority.h"
#include "connectors/json_array_count.h"
#include "connectors/php_semantics.h"

namespace swan::connectors {

bool PagePipeline::Handoff::Push(PipelinedPage item) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return closed_ || items_.size() < capacity_; });
  if (closed_) return false;
  items_.push_back(std::move(item));
  cv_.notify_all();
  return true;
}

std::optional<PipelinedPage> PagePipeline::Handoff::Pop() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
  if (items_.empty()) return std::nullopt;
  PipelinedPage item = std::move(items_.front());
  items_.pop_front();
  cv_.notify_all();
  return item;
}

void PagePipeline::Handoff::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  cv_.notify_all();
}

PagePipeline::PagePipeline(RestClient& client, Scroller& scroller, JobConfig& job,
                           RestRequest first, PagePipelineOptions options)
    : client_(client), scroller_(scroller), job_(job), options_(std::move(options)) {
  // The requests wait on the API: at the base priority, so that an answer is taken as it arrives
  // while this job's own processing (at the bulk priority) runs beside (common/thread_priority.h).
  fetch_ = StartBasePriorityThread(
      [this, first = std::move(first)]() mutable { FetchLoop(std::move(first)); });
  decode_ = std::thread([this] { DecodeLoop(); });
}

PagePipeline::~PagePipeline() { Stop(); }

void PagePipeline::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (options_.abandon) options_.abandon->store(true);
  fetched_.Close();
  decoded_.Close();
  if (fetch_.joinable()) fetch_.join();
  if (decode_.joinable()) decode_.join();
  if (options_.abandon) options_.abandon->store(false);
}

PipelinedPage PagePipeline::Next() {
  std::optional<PipelinedPage> page = decoded_.Pop();
  if (!page) {
    PipelinedPage stopped;
    stopped.kind = PipelinedPage::Kind::kError;
    stopped.error = std::make_exception_ptr(ExtractorError("the page pipeline was stopped"));
    return stopped;
  }
  return std::move(*page);
}

std::optional<size_t> PagePipeline::CountRecords(const std::string& body,
                                                 std::shared_ptr<SimdDocument>* parsed) const {
  // Where the job takes simdjson documents, the one parse gives both the count and the decoding
  // thread's document (it took about as long as the byte count, a second pass over the page).
  // What simdjson does not accept (numbers past 64 bits, deep nesting, malformed bytes) is
  // counted by bytes, as before, and decoded.
  if (options_.parse_arrays) {
    if (std::shared_ptr<SimdDocument> doc = documents_.Parse(body)) {
      if (doc->root.type() != simdjson::dom::element_type::ARRAY) return std::nullopt;
      const size_t records = SimdArray(doc->root).size();
      *parsed = std::move(doc);
      return records;
    }
  }
  return CountTopLevelArray(body, kMaxJsonDepth);
}

void PagePipeline::FetchLoop(RestRequest first) {
  using Kind = PipelinedPage::Kind;
  std::optional<RestRequest> request = std::move(first);
  std::string previous;
  int64_t pages = 0;
  while (request) {
    ++pages;
    PipelinedPage page;
    try {
      RestClient::Fetched fetched = client_.Fetch(*request);
      const std::string& body = fetched.response.body;
      if (pages > 1 && body == previous) {
        // The job ends at this page: it repeats the previous one (the job's own check of the
        // decoded value says so too), and the scroller is not asked.
        request.reset();
      } else if (std::optional<size_t> records =
                     scroller_.ScrollsByCount() && fetched.response.status < 400 && !fetched.ignored
                         ? CountRecords(body, &page.parsed)
                         : std::nullopt) {
        request = scroller_.NextRequestByCount(client_, job_, *records);
      } else {
        page.response = std::make_shared<Json>(client_.Interpret(fetched));
        Json made;
        const Json* data = options_.locate(*page.response, &made);
        request = scroller_.NextRequest(client_, job_, *page.response, *data);
      }
      previous = body;
      page.fetched = std::move(fetched);
    } catch (...) {
      page = PipelinedPage{};
      page.kind = Kind::kError;
      page.error = std::current_exception();
      fetched_.Push(std::move(page));
      return;
    }
    if (!fetched_.Push(std::move(page))) return;
    if (!request) break;
    if (pages >= options_.max_pages || (options_.stop_requests && options_.stop_requests())) {
      PipelinedPage more;
      more.kind = Kind::kMore;
      fetched_.Push(std::move(more));
      return;
    }
  }
  PipelinedPage end;
  end.kind = Kind::kEnd;
  fetched_.Push(std::move(end));
}

namespace {

// Md5Hex(PhpSerialize(record)) of each record that is an object, "" for the others.
template <class Records, class Digest>
std::shared_future<std::vector<std::string>> DigestsOf(Records records, size_t size,
                                                       Digest digest) {
  return std::async(std::launch::async,
                    [records, size, digest]() {
                      std::vector<std::string> digests;
                      digests.reserve(size);
                      digest(*records, digests);
                      return digests;
                    })
      .share();
}

}  // namespace

const std::string& PageHash(PipelinedPage& page) {
  if (page.hash_from_digests) {
    // "records:" keeps these apart from JsonSha1Hex's digests (hex, of a tagged form).
    std::string all = "records:";
    const std::vector<std::string>& digests = page.digests.get();
    all.reserve(all.size() + digests.size() * 33);
    for (const auto& d : digests) {
      all += d;
      all.push_back(',');
    }
    page.hash = Sha1Hex(all);
    page.hash_from_digests = false;
  }
  return page.hash;
}

bool PagePipeline::ParseArray(PipelinedPage& page) const {
  const RestClient::Fetched& fetched = *page.fetched;
  // Interpret's other cases (errors, ignored statuses) stay with it.
  if (fetched.response.status >= 400 || fetched.ignored) return false;
  std::shared_ptr<SimdDocument> parsed =
      page.parsed ? std::move(page.parsed) : documents_.Parse(fetched.response.body);
  if (!parsed || parsed->root.type() != simdjson::dom::element_type::ARRAY) return false;
  // An array of objects has a digest per record: its hash is made from them, not from a second
  // walk of the whole answer.
  page.hash_from_digests = true;
  for (simdjson::dom::element record : SimdArray(parsed->root)) {
    if (record.type() != simdjson::dom::element_type::OBJECT) {
      page.hash_from_digests = false;
      break;
    }
  }
  if (!page.hash_from_digests) page.hash = SimdSha1Hex(parsed->root);
  const size_t size = SimdArray(parsed->root).size();
  std::shared_ptr<const SimdDocument> records = parsed;
  page.digests = DigestsOf(records, size, [](const SimdDocument& doc, auto& digests) {
    std::string serialized;
    for (simdjson::dom::element record : SimdArray(doc.root)) {
      if (record.type() != simdjson::dom::element_type::OBJECT) {
        digests.emplace_back();
        continue;
      }
      serialized.clear();
      SimdPhpSerialize(record, serialized);
      digests.push_back(Md5Hex(serialized));
    }
  });
  page.parsed = std::move(parsed);
  return true;
}

void PagePipeline::DecodeLoop() {
  while (std::optional<PipelinedPage> page = fetched_.Pop()) {
    if (page->kind == PipelinedPage::Kind::kPage) {
      try {
        const bool parsed = !page->response && options_.parse_arrays && ParseArray(*page);
        if (!parsed) {
          if (!page->response)
            page->response = std::make_shared<Json>(client_.Interpret(*page->fetched));
          page->hash = JsonSha1Hex(*page->response);
          if (page->response->is_array()) {
            std::shared_ptr<const Json> records = page->response;
            page->digests =
                DigestsOf(records, records->size(), [](const Json& array, auto& digests) {
                  for (const auto& record : array)
                    digests.push_back(record.is_object() ? Md5Hex(PhpSerialize(record)) : "");
                });
          }
        }
        page->fetched.reset();
      } catch (...) {
        page->kind = PipelinedPage::Kind::kError;
        page->error = std::current_exception();
        page->response.reset();
        page->parsed.reset();
      }
    }
    const bool ends = page->kind != PipelinedPage::Kind::kPage;
    if (!decoded_.Push(std::move(*page)) || ends) return;
  }
}

}  // namespace swan::connectors
