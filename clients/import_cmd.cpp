// `aktsync import FILE`: pushes the unsynced edits of a tablet app's backup file (the app's "Backup"
// button) when the tablet itself cannot: broken, lost or wiped. The edits carry the tablet's actor, so the
// command first re-enrols that actor with a new one-time code issued for the same user (PROTOCOL §8.4:
// the tablet's earlier token stops working), then pushes the edits exactly as the tablet saved them, in
// batches whose ids follow from their content: running the import again replays the same batches and
// changes nothing (PROTOCOL §4.3); edits the tablet did deliver meanwhile come back `duplicate`.
// The photo files the backup holds (`photos`: {digest, type, size, data base64}, every file the tablet's
// unsent work referred to) are checked against their digests and uploaded after the edits, as the tablet
// would have (only those the server lacks from this actor, resumable: PROTOCOL §14.2, §14.3).
#include <openssl/evp.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/attachments.hpp"
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

// Standard base64 (as the browser's btoa writes it) to bytes; nullopt when malformed.
std::optional<std::string> base64_decode(const std::string& in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  const int n = in.empty() ? 0
                           : EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                             reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = in[in.size() - 2] == '=' ? 2 : 1;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

struct BackupPhoto {
  std::string digest, type, bytes;
};

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
  std::vector<BackupPhoto> photos;
  if (backup.contains("photos")) {
    if (!backup["photos"].is_array()) return fail(kError, "import: the backup's photos must be an array");
    for (const auto& p : backup["photos"]) {
      if (!p.is_object() || !p.contains("digest") || !p["digest"].is_string() || !p.contains("type") || !p["type"].is_string() ||
          !p.contains("data") || !p["data"].is_string())
        return fail(kError, "import: every photo of the backup needs digest, type and data");
      auto bytes = base64_decode(p["data"].get<std::string>());
      const std::string digest = p["digest"].get<std::string>();
      if (!bytes || sha256_hex(*bytes) != digest)
        return fail(kError, "import: the backup's photo " + digest + " is damaged (its bytes do not have its digest)");
      photos.push_back({digest, p["type"].get<std::string>(), std::move(*bytes)});
    }
  }

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
  if (!r.ok() && r.status().code() == Status::Code::kInvalidArgument)  // certificate or scheme: say so, exit 7
    return fail(kLinkSetup, "import: " + r.status().message());
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

  if (!photos.empty()) {
    // The files go through a temporary attachment box: the same checked upload as `aktsync sync`.
    std::string tmpl = (std::filesystem::temp_directory_path() / "aktsync-import-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return fail(kError, "import: cannot make a temporary folder for the photos");
    const std::filesystem::path dir(tmpl);
    struct Cleanup {
      std::filesystem::path p;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } cleanup{dir};
    auto box = AttachmentBox::open(dir.string());
    if (!box.ok()) return fail_status(box.status(), "import: photos");
    for (const BackupPhoto& p : photos) {
      auto ref = box->add(p.bytes, p.type);
      if (!ref.ok()) return fail_status(ref.status(), "import: photo " + p.digest);
    }
    auto up = upload_attachments(*box, http_transport(http), token);
    if (!up.ok()) {
      if (up.status().code() == Status::Code::kIOError) return fail(kUnreachable, "import: photos: " + up.status().message());
      return fail_status(up.status(), "import: photos");
    }
    std::printf("photos: %zu uploaded, %zu already held by the server (the backup holds %zu)\n", up->files, up->skipped,
                photos.size());
  }
  return counts[5] > 0 ? kRejected : kOk;
}

}  // namespace akt::client::cli
