// Content codings on the answers and uploads of sync (issue #18): bytes and CPU of gzip and zstd at
// several levels, and of zstd with a block end every N bytes (what lets a client keep what arrived of
// a cut page, sync::unzstd_prefix), on feed pages, push batches and push answers made of realistic
// survey records (clients/record_gen.hpp, ~1 KB bodies with Albanian and Serbian text). Not a test.
//
//   build/release/tests/bench/akt_coding_bench --records 1000 --page 256 --runs 7
//
// Prints, for each payload and coding: total bytes, the ratio to gzip -5 (the coding of answers before
// zstd), and the median over --runs of the CPU time to encode and to decode everything.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "clients/record_gen.hpp"
#include "sync/gzip.hpp"
#include "sync/wire_json.hpp"
#include "sync/zstd.hpp"

using namespace akt;

namespace {

const std::string kActor = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a";

// A lean feed page as the server writes it (PROTOCOL §5.1): one live version per record.
std::string feed_page(const std::vector<client::GeneratedRecord>& recs, const std::vector<std::string>& ids,
                      std::size_t from, std::size_t to) {
  std::string out = R"({"v":1,"epoch":"3f9a0c1d2e4b5a69","changes":[)";
  for (std::size_t i = from; i < to; ++i) {
    const auto& r = recs[i];
    if (i > from) out += ',';
    const std::string n = std::to_string(i + 1);
    out += R"({"record":")" + ids[i] + R"(","form":"so1_interethnic_survey","form_version":1,"scope":{"municipality":")" +
           r.scope.municipality + R"(","community":")" + r.scope.community + R"(","component":")" + r.scope.component +
           R"("},"seq":)" + n + R"(,"live":[{"dot":{"actor":")" + kActor + R"(","n":)" + n + R"(},"body":)" + r.body +
           R"(,"device_time":)" + std::to_string(1700000000000 + 917 * i) + R"(,"server_time":)" +
           std::to_string(1700000100000 + 1013 * i) + "}]}";
  }
  return out + R"(],"next":"3f9a0c1d2e4b5a69-)" + std::to_string(to) + R"(-1","more":true})";
}

struct Coding {
  std::string name;
  std::function<std::string(const std::string&)> encode;
  std::function<std::string(const std::string&)> decode;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int records = 1000, runs = 5;
  std::size_t page_kib = 256, batch = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--records") records = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
    else if (flag == "--page") page_kib = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
    else if (flag == "--batch") batch = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
    else {
      std::fprintf(stderr, "usage: akt_coding_bench [--records N] [--page KIB] [--batch EDITS] [--runs N]\n");
      return 2;
    }
  }
  std::mt19937_64 rng(42);
  std::vector<client::GeneratedRecord> recs;
  std::vector<std::string> ids;
  for (int i = 0; i < records; ++i) {
    recs.push_back(client::generate_survey_record(rng));
    ids.push_back(client::new_record_id(1700000000000ULL + static_cast<std::uint64_t>(i) * 1000, rng));
  }
  // Payloads: feed pages cut at --page KiB of JSON, push batches of --batch edits, and their lean answers.
  std::vector<std::pair<std::string, std::vector<std::string>>> payloads{{"feed pages", {}}, {"push batches", {}},
                                                                         {"push answers", {}}};
  for (std::size_t at = 0; at < recs.size();) {
    std::size_t to = at + 1;
    while (to < recs.size() && feed_page(recs, ids, at, to).size() < page_kib * 1024) ++to;
    payloads[0].second.push_back(feed_page(recs, ids, at, to));
    at = to;
  }
  for (std::size_t at = 0; at < recs.size(); at += batch) {
    sync::PushRequest req;
    req.batch_id = "bench-" + std::to_string(at);
    req.lean_answer = true;
    sync::PushResponse resp;
    resp.batch_id = req.batch_id;
    resp.epoch = "3f9a0c1d2e4b5a69";
    resp.lean = true;
    for (std::size_t i = at; i < std::min(recs.size(), at + batch); ++i) {
      sync::Edit e;
      e.record_id = ids[i];
      e.form_id = "so1_interethnic_survey";
      e.form_version = 1;
      e.scope = recs[i].scope;
      e.dot = {kActor, static_cast<std::int64_t>(i + 1)};
      e.changed = recs[i].changed;
      e.body = recs[i].body;
      e.device_time = 1700000000000 + 917 * static_cast<std::int64_t>(i);
      req.edits.push_back(e);
      sync::EditResult r;
      r.index = i - at;
      r.record_id = ids[i];
      r.dot = e.dot;
      r.outcome = sync::Outcome::kApplied;
      r.seq = static_cast<std::int64_t>(i + 1);
      r.live = 1;
      resp.results.push_back(r);
    }
    payloads[1].second.push_back(sync::encode_push_request(req));
    payloads[2].second.push_back(sync::encode_push_response(resp));
  }
  std::vector<Coding> codings;
  for (int level : {5, 6})
    codings.push_back({"gzip -" + std::to_string(level), [level](const std::string& s) { return sync::gzip(s, level); },
                       [](const std::string& s) { return *sync::gunzip(s, 1u << 30); }});
  for (int level : {3, 5, 6, 7})
    for (std::size_t flush : {std::size_t{0}, std::size_t{16384}, std::size_t{32768}, std::size_t{65536}})
      codings.push_back({"zstd -" + std::to_string(level) + (flush ? " flush " + std::to_string(flush / 1024) + "K" : ""),
                         [level, flush](const std::string& s) { return sync::zstd(s, level, flush); },
                         [](const std::string& s) { return *sync::unzstd(s, 1u << 30); }});
  std::printf("%d records, feed pages of %zu KiB, batches of %zu edits, medians of %d runs\n", records, page_kib,
              batch, runs);
  for (const auto& [what, items] : payloads) {
    std::size_t plain = 0;
    for (const auto& s : items) plain += s.size();
    std::printf("\n%s: %zu, %zu B of JSON (%.0f B/record)\n", what.c_str(), items.size(), plain,
                static_cast<double>(plain) / records);
    std::size_t base = 0;
    for (const auto& c : codings) {
      std::vector<double> enc, dec;
      std::size_t bytes = 0;
      for (int r = 0; r < runs; ++r) {
        std::vector<std::string> coded;
        auto t0 = std::chrono::steady_clock::now();
        for (const auto& s : items) coded.push_back(c.encode(s));
        auto t1 = std::chrono::steady_clock::now();
        std::size_t back = 0;
        for (const auto& z : coded) back += c.decode(z).size();
        auto t2 = std::chrono::steady_clock::now();
        if (back != plain) {
          std::printf("%s: decoded size differs: failed\n", c.name.c_str());
          return 1;
        }
        bytes = 0;
        for (const auto& z : coded) bytes += z.size();
        enc.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        dec.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
      if (base == 0) base = bytes;
      std::printf("  %-20s %9zu B  %6.1f B/record  x%.3f of gzip -5  encode %7.2f ms  decode %6.2f ms\n",
                  c.name.c_str(), bytes, static_cast<double>(bytes) / records,
                  static_cast<double>(bytes) / static_cast<double>(base), median(enc), median(dec));
    }
  }
  return 0;
}
