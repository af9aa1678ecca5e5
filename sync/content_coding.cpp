#include "sync/content_coding.hpp"

#include <cctype>


namespace akt::sync {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
double parse_q(std::string_view params) {
  std::size_t at = 0;
  while (at < params.size()) {
    std::size_t end = params.find(';', at);
    if (end == std::string_view::npos) end = params.size();
    const std::string_view p = trim(params.substr(at, end - at));
    at = end + 1;
    if (p.size() < 2 || std::tolower(static_cast<unsigned char>(p[0])) != 'q' || p[1] != '=') continue;
    const std::string_view v = trim(p.substr(2));
    if (v.empty() || (v[0] != '0' && v[0] != '1')) return 1.0;
    double q = v[0] - '0', scale = 0.1;
    if (v.size() > 1 && v[1] == '.') {
      for (std::size_t i = 2; i < v.size() && i < 5 && std::isdigit(static_cast<unsigned char>(v[i])); ++i) {
        q += (v[i] - '0') * scale;
        scale /= 10;
      }
    }
    return q > 1.0 ? 1.0 : q;
  }
  return 1.0;
}

}  // namespace

double coding_q(std::string_view v, std::string_view name) {
  std::size_t pos = 0;
  while (pos < v.size()) {
    std::size_t end = v.find(',', pos);
    if (end == std::string_view::npos) end = v.size();
    const std::string_view item = v.substr(pos, end - pos);
    pos = end + 1;
    const std::size_t semi = item.find(';');
    if (!iequal(trim(item.substr(0, semi)), name)) continue;
    return semi == std::string_view::npos ? 1.0 : parse_q(item.substr(semi + 1));
  }
  return -1.0;
}

namespace {
// gzip's q-value: its own when named, else `*`'s, else 0 (not acceptable).
double gzip_q(std::string_view accept_encoding) {
  double q = coding_q(accept_encoding, "gzip");
  if (q < 0) q = coding_q(accept_encoding, "*");
  return q < 0 ? 0.0 : q;
}
}  // namespace

bool accepts_gzip(std::string_view accept_encoding) { return gzip_q(accept_encoding) > 0; }

Coding answer_coding(std::string_view accept_encoding) {
  const double zq = coding_q(accept_encoding, "zstd");
  const double gq = gzip_q(accept_encoding);
  const bool gz = gq > 0;
  if (zq > 0) {
    // Only when preferred over gzip: on a tie (a browser's "gzip, deflate, br, zstd") gzip, because a
    // browser's zstd decoder hands a stalled answer's bytes on too late for the tablet app to keep the
    // whole entries that arrived (PROTOCOL §1).
    if (zq > gq) return Coding::kZstd;
  }
  return gz ? Coding::kGzip : Coding::kIdentity;
}

std::string_view coding_name(Coding c) {
  switch (c) {
    case Coding::kGzip: return "gzip";
    case Coding::kZstd: return "zstd";
    case Coding::kIdentity: break;
  }
  return "identity";
}

}  // namespace akt::sync
