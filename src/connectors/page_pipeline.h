// The pages of one Generic Extractor job without child jobs, fetched, decoded and processed on
// three threads at once: while the job's thread processes page N, one thread decodes page N+1
// (and hashes it, and digests its records on a fourth) and another already fetches page N+2.
//
// The next request needs the scroller's decision on the page before it. For scrollers that
// decide by the number of records (offset, page number) and an answer that is a JSON array, the
// fetching thread parses it with simdjson (handing the document on to the decoding thread), or
// counts its elements with a byte scan (json_array_count.h) where simdjson does not take it, so
// the API is asked for the next page as soon as an answer is in: requests follow each other at
// the API's pace. For other scrollers and answers, it decodes the page itself
// first. Either way the requests are the ones a page-by-page run makes, in the same order, with
// the same stops: a page whose bytes repeat the previous page's ends the job (as the job's own
// check of the decoded value does), and no request goes past the page limit, the run's time or
// a cancel.
//
// Thread-safety: while a pipeline runs, it alone uses the client and the scroller; the job's
// thread only calls Next. Destroying it (or Stop) stops the request in flight and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/pagination.h"
#include "connectors/rest_client.h"
#include "connectors/rest_config.h"
#include "connectors/simd_json.h"

namespace swan::connectors {

struct PipelinedPage {
  enum class Kind {
    kPage,   // an answer: response, hash, digests
    kEnd,    // the scroller asked for no further page
    kMore,   // a further page was due, but the page limit, the run's time or a cancel held it
    kError,  // fetching or decoding failed: `error`, at this place in the order
  };
  Kind kind = Kind::kPage;
  std::shared_ptr<Json> response;
  // Equal for equal answers, different otherwise (the Generic Extractor's repeated-page stop):
  // JsonSha1Hex of the response, or, for a parsed array of objects only, a SHA-1 of its records'
  // `digests` (PHP's serialize() is one text per value), made on first use by PageHash.
  std::string hash;
  bool hash_from_digests = false;
  // When the response is an array: for each record, Md5Hex(PhpSerialize(record)) if it is an
  // object, else "" (the flattener's parent keys), made on a thread of its own.
  std::shared_future<std::vector<std::string>> digests;
  std::exception_ptr error;
  std::optional<RestClient::Fetched> fetched;  // until decoded
  // Instead of `response`, when the options ask for it and simdjson accepts the answer (an
  // array): the parsed answer; `hash` and `digests` are made from it.
  std::shared_ptr<SimdDocument> parsed;
};

// The page's `hash`, made from its record digests (waiting for them) when it is made so.
const std::string& PageHash(PipelinedPage& page);

struct PagePipelineOptions {
  int64_t max_pages = 0;
  // True once no further request may go out (run time over, cancelled); checked before each.
  std::function<bool()> stop_requests{};
  // The records of a decoded answer (LocateResponseArray without its log): a part of
  // `response`, or `*made`. May throw ExtractorError.
  std::function<const Json*(const Json& response, Json* made)> locate{};
  // Answers that are arrays are parsed by simdjson (PipelinedPage::parsed) when it accepts them:
  // for a caller whose records are the answer itself and go to JsonFlattener::ProcessParsed.
  bool parse_arrays = false;
  // Set by Stop: the client's request in flight ends (shared with the client's fetcher).
  std::shared_ptr<std::atomic<bool>> abandon{};
};

class PagePipeline {
 public:
  PagePipeline(RestClient& client, Scroller& scroller, JobConfig& job, RestRequest first,
               PagePipelineOptions options);
  ~PagePipeline();
  PagePipeline(const PagePipeline&) = delete;
  PagePipeline& operator=(const PagePipeline&) = delete;

  // The next page in order (blocks). After kEnd, kMore or kError nothing follows.
  PipelinedPage Next();
  // Stops the threads (a request in flight is abandoned) and waits for them.
  void Stop();

 private:
  // A queue of at most `capacity` items between two threads; Close wakes both sides.
  class Handoff {
   public:
    explicit Handoff(size_t capacity) : capacity_(capacity) {}
    bool Push(PipelinedPage item);
    std::optional<PipelinedPage> Pop();
    void Close();

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<PipelinedPage> items_;
    size_t capacity_;
    bool closed_ = false;
  };

  void FetchLoop(RestRequest request);
  // The records of an answer that is a JSON array, for a scroller deciding by their number;
  // nullopt for any other answer. Sets `parsed` to the parsed answer when the options ask for
  // simdjson documents (the decoding thread then does not parse again).
  std::optional<size_t> CountRecords(const std::string& body,
                                     std::shared_ptr<SimdDocument>* parsed) const;
  void DecodeLoop();
  // Parses a fetched answer that is an array with simdjson (options.parse_arrays): sets
  // `parsed`, `hash` and `digests`; false (nothing set) when it takes Interpret instead.
  bool ParseArray(PipelinedPage& page) const;

  RestClient& client_;
  Scroller& scroller_;
  JobConfig& job_;
  PagePipelineOptions options_;
  mutable SimdDocumentPool documents_;  // thread-safe
  Handoff fetched_{4}, decoded_{2};
  bool stopped_ = false;
  std::thread fetch_, decode_;
};

}  // namespace swan::connectors
