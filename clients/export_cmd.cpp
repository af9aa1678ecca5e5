// `aktsync export FORM` and `aktsync indicators`: the M&E datasets of docs/EXPORTS.md, fetched from the
// server as a signed-in user (M&E officer, supervisor, admin) and written to a file or stdout. The next
// incremental cursor is printed on stderr and, with --cursor-file, kept in a file for the next run.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clients/cli.hpp"

namespace akt::client::cli {

namespace {

// Percent-encodes a query value (RFC 3986 unreserved characters pass).
std::string encode(const std::string& v) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

int write_out(const Args& a, const std::string& body, bool binary) {
  if (const std::string* out = a.opt("out")) {
    std::ofstream f(*out, std::ios::binary | std::ios::trunc);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
    if (!f.flush()) return fail(kError, "cannot write " + *out);
    std::fprintf(stderr, "wrote %zu bytes to %s\n", body.size(), out->c_str());
    return kOk;
  }
  if (binary) return fail(kUsage, "a ZIP or XLSX answer needs --out FILE");
  std::fwrite(body.data(), 1, body.size(), stdout);
  return std::fflush(stdout) == 0 ? kOk : fail(kError, "cannot write to stdout");
}

}  // namespace

int cmd_export(const Args& a) {
  if (a.positional.size() != 1) return fail(kUsage, "export takes one FORM id (see aktsync export --help)");
  std::string q = "?format=" + encode(a.opt("format") ? *a.opt("format") : std::string("csv"));
  std::string since;
  if (const std::string* s = a.opt("since")) since = *s;
  if (const std::string* cf = a.opt("cursor-file"); cf && since.empty()) {
    std::ifstream in(*cf);  // absent on the first run: a full export
    std::getline(in, since);
  }
  if (!since.empty()) q += "&since=" + encode(since);
  // Options named like the query parameters, with - or _ (--received-from or --received_from).
  for (std::string k : {"municipality", "community", "component", "received_from", "received_to", "date_field",
                        "date_from", "date_to", "conflicts", "labels"}) {
    std::string dashed = k;
    for (char& c : dashed) c = c == '_' ? '-' : c;
    const std::string* v = a.opt(k) ? a.opt(k) : a.opt(dashed);
    if (v) q += "&" + k + "=" + encode(*v);
  }
  if (a.opt("bom")) q += "&bom=1";
  UserSession s;
  if (int code = open_user_session(a, s); code != kOk) return code;
  auto r = s.http->request("GET", "/v1/exports/" + encode(a.positional[0]) + q, {}, s.headers());
  close_user_session(s);
  if (!r.ok()) return fail(kUnreachable, "export: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "export " + a.positional[0]);
  const std::string type = r->header("content-type");
  const bool binary = type.rfind("application/zip", 0) == 0 || type.find("spreadsheetml") != std::string::npos;
  if (int code = write_out(a, r->body, binary); code != kOk) return code;
  const std::string cursor = r->header("x-akt-cursor");
  std::fprintf(stderr, "next cursor: %s\n", cursor.c_str());
  if (const std::string* cf = a.opt("cursor-file")) {
    // Saved only after the data was written: a failed run exports the same range again next time.
    std::ofstream out(*cf, std::ios::trunc);
    out << cursor << "\n";
    if (!out.flush()) return fail(kError, "cannot write the cursor file " + *cf);
  }
  return kOk;
}

int cmd_indicators(const Args& a) {
  if (!a.positional.empty()) return fail(kUsage, "indicators takes no arguments (see aktsync indicators --help)");
  std::string q = "?format=" + encode(a.opt("format") ? *a.opt("format") : std::string("json"));
  if (const std::string* d = a.opt("reporting-date")) q += "&reporting_date=" + encode(*d);
  UserSession s;
  if (int code = open_user_session(a, s); code != kOk) return code;
  auto r = s.http->request("GET", "/v1/indicators" + q, {}, s.headers());
  close_user_session(s);
  if (!r.ok()) return fail(kUnreachable, "indicators: " + r.status().message());
  if (r->status != 200) return http_fail(*r, "indicators");
  return write_out(a, r->body, false);
}

}  // namespace akt::client::cli
