// `aktsync import FILE`: pushes the unsynced edits of a tablet app's backup file (the app's "Backup"
// button) when the tablet itself cannot: broken, lost or wiped. The edits carry the tablet's actor, so the
// command first re-enrols that actor with a new one-time code issued for the same user (PROTOCOL §8.4:
// the tablet's earlier token stops working), then pushes the edits exactly as the tablet saved them, in
// batches whose ids follow from their content: running the import again replays the same batches and
// changes nothing (PROTOCOL §4.3); edits the tablet did deliver meanwhile come back `duplicate`.
#include <openssl/evp.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/cli.hpp"
#include "clients/sync_client.hpp"

namespace akt::client::cli {

namespace {

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

constexpr std::size_t kImportBatch = 500;

}  // namespace

int cmd_import(const Args& a) {
  for (const auto& [name, values] : a.opts) {
    if (name != "server" && name != "code" && name != "ca" && name != "timeout-ms")
      return fail(kUsage, "import: unknown option --" + name);
  }
  if (a.positional.size() != 1) return fail(kUsage, "import needs one FILE (a backup the tablet app wrote)");
  const std::string* server = a.opt("server");
  const std::string* code = a.opt("code");
  if (!server || !code) return fail(kUsage, "import needs --server URL and --code ENROLMENT-CODE (issued for the tablet's user)");

  std::ifstream in(a.positional[0], std::ios::binary);
  if (!in) return fail(kError, "import: cannot read " + a.positional[0]);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto backup = nlohmann::json::parse(ss.str(), nullptr, false);
  if (backup.is_discarded() || !backup.is_object() || backup.value("kind", std::string()) != "aktsync-backup" ||
      !backup.contains("actor") || !backup["actor"].is_string() || !backup.contains("edits") || !backup["edits"].is_array())
    return fail(kError, "import: " + a.positional[0] + " is not a backup of the tablet app (kind aktsync-backup, actor, edits)");
  const std::string actor = backup["actor"].get<std::string>();
  std::vector<std::string> edits;
  for (const auto& e : backup["edits"]) {
    if (!e.is_object() || !e.contains("dot") || !e["dot"].is_object() || e["dot"].value("actor", std::string()) != actor)
      return fail(kError, "import: every edit of the backup must carry the backup's actor " + actor);
    edits.push_back(e.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict));
  }
  const std::size_t drafts = backup.contains("drafts") && backup["drafts"].is_array() ? backup["drafts"].size() : 0;

  std::string host;
  std::uint16_t port = 0;
  HttpOptions ho;
  if (!parse_server(*server, host, port, ho.tls)) return fail(kUsage, "import: --server must be [https://]HOST:PORT");
  if (const std::string* ca = a.opt("ca")) ho.ca_file = *ca;
  if (const std::string* t = a.opt("timeout-ms")) {
    if (t->empty() || t->size() > 7 || t->find_first_not_of("0123456789") != std::string::npos || std::stoi(*t) < 1)
      return fail(kUsage, "--timeout-ms must be a positive integer");
    ho.timeout = std::chrono::milliseconds(std::stoi(*t));
  }
  HttpClient http(host, port, ho);

  // Re-enrol the tablet's actor (the code must be issued for the same user).
  const nlohmann::json req{{"code", *code}, {"actor", actor}, {"app_version", "aktsync-import"}};
  auto r = http.request("POST", "/v1/enrol", req.dump(), {{"Content-Type", "application/json"}});
  if (!r.ok()) return fail(kUnreachable, "import: server unreachable: " + r.status().message());
  if (r->status != 201) {
    auto [pcode, detail] = problem_of(r->body);
    const std::string why = pcode.empty() ? "HTTP " + std::to_string(r->status) : pcode + (detail.empty() ? "" : ": " + detail);
    if (r->status == 409)
      return fail(kError, "import: this code cannot take the tablet's actor " + actor +
                              " (it was issued for another user, or the actor is reserved) (" + why + ")");
    return fail(r->status == 401 || r->status == 429 ? kAuth : kError, "import: the enrolment code was not accepted (" + why + ")");
  }
  const auto enrolled = nlohmann::json::parse(r->body, nullptr, false);
  if (enrolled.is_discarded() || !enrolled.contains("token") || !enrolled["token"].is_string())
    return fail(kError, "import: the server's enrolment answer has no token");
  const std::string token = enrolled["token"].get<std::string>();

  std::string all;
  for (const std::string& e : edits) all += e + "\n";
  const std::string tag = "import-" + sha256_hex(all).substr(0, 24);
  std::size_t counts[7] = {0, 0, 0, 0, 0, 0, 0};
  const char* kOutcomes[] = {"applied", "merged", "concurrent", "superseded", "duplicate", "rejected"};
  for (std::size_t from = 0, k = 1; from < edits.size(); from += kImportBatch, ++k) {
    std::string body = "{\"batch_id\":\"" + tag + "-" + std::to_string(k) + "\",\"edits\":[";
    for (std::size_t i = from; i < std::min(edits.size(), from + kImportBatch); ++i) body += (i > from ? "," : "") + edits[i];
    body += "],\"v\":1}";
    Result<HttpResult> p = Status::io_error("not sent");
    for (int attempt = 0; attempt < 6; ++attempt) {  // network failures and 5xx: the same bytes again
      p = http.request("POST", "/v1/push", body, {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}});
      if (p.ok() && p->status < 500 && p->status != 429) break;
    }
    if (!p.ok()) return fail(kUnreachable, "import: server unreachable: " + p.status().message());
    if (p->status != 200) return http_fail(*p, "import (batch " + std::to_string(k) + ")");
    const auto answer = nlohmann::json::parse(p->body, nullptr, false);
    if (answer.is_discarded() || !answer.contains("results") || !answer["results"].is_array())
      return fail(kError, "import: the push answer has no results");
    for (const auto& res : answer["results"]) {
      const std::string outcome = res.value("outcome", std::string());
      std::size_t at = 6;
      for (std::size_t i = 0; i < 6; ++i)
        if (outcome == kOutcomes[i]) at = i;
      ++counts[at];
      if (outcome == "rejected") {
        const auto& err = res.contains("error") ? res["error"] : nlohmann::json::object();
        std::fprintf(stderr, "rejected: record %s dot %s: %s %s\n", res.value("record", std::string()).c_str(),
                     res.contains("dot") ? res["dot"].dump().c_str() : "?", err.value("code", std::string()).c_str(),
                     err.contains("fields") ? err["fields"].dump().c_str() : err.value("detail", std::string()).c_str());
      }
    }
  }
  std::printf("imported %zu edit(s) of actor %s: %zu applied, %zu merged, %zu concurrent, %zu superseded, "
              "%zu duplicate, %zu rejected\n",
              edits.size(), actor.c_str(), counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
  if (drafts > 0)
    std::printf("the backup also holds %zu draft(s) never saved on the tablet; they are not pushed\n", drafts);
  return counts[5] > 0 ? kRejected : kOk;
}

}  // namespace akt::client::cli
