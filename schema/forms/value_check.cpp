// Typing of JSON answers (see value_check.hpp).
#include "schema/forms/value_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "schema/forms/expr_eval.hpp"
#include "schema/forms/utf8.hpp"
#include "sync/attachment_ref.hpp"

namespace akt::forms {
namespace {

using json = nlohmann::json;

Converted fail(std::string code, std::string message) { return {Value(), std::move(code), std::move(message)}; }

bool two_digits(std::string_view s, std::size_t at, int& out) {
  if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9') return false;
  out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return true;
}

Converted geopoint(const json& v, Lang lang) {
  auto shape = [lang] {
    return say(lang, "a geopoint is {\"lat\": -90..90, \"lon\": -180..180, \"acc\": metres >= 0, \"alt\"?}");
  };
  if (!v.is_object()) return fail("type", shape());
  GeoPoint g;
  bool has_lat = false, has_lon = false;
  for (const auto& [k, x] : v.items()) {
    if (!x.is_number() || !std::isfinite(x.get<double>())) return fail("type", shape());
    double d = x.get<double>();
    if (k == "lat" && d >= -90 && d <= 90) {
      g.lat = d;
      has_lat = true;
    } else if (k == "lon" && d >= -180 && d <= 180) {
      g.lon = d;
      has_lon = true;
    } else if (k == "acc" && d >= 0)
      g.accuracy_m = d;
    else if (k != "alt")
      return fail("type", shape());
  }
  if (!has_lat || !has_lon) return fail("type", shape());
  return {g, {}, {}};
}

}  // namespace

bool is_iso_date(std::string_view s) { return s.size() == 10 && days_from_iso(s).has_value(); }

std::string normalize_datetime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)
  if (s.size() < 20 || s.size() > 40 || !is_iso_date(s.substr(0, 10)) || (s[10] != 'T' && s[10] != 't')) return {};
  int hh = 0, mm = 0, ss = 0;
  if (!two_digits(s, 11, hh) || s[13] != ':' || !two_digits(s, 14, mm) || s[16] != ':' || !two_digits(s, 17, ss))
    return {};
  if (hh > 23 || mm > 59 || ss > 60) return {};
  std::size_t i = 19;
  int ms = 0;
  if (i < s.size() && s[i] == '.') {
    std::size_t digits = 0;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    }
    if (digits == 0) return {};
    for (; digits < 3; ++digits) ms *= 10;
  }
  int offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0;
    if (!two_digits(s, i + 1, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !two_digits(s, i + 4, om) || oh > 14 ||
        om > 59) {
      return {};
    }
    offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return {};
  }
  if (i != s.size()) return {};
  long long days = *days_from_iso(s.substr(0, 10));
  long long secs = days * 86400 + hh * 3600 + mm * 60 + std::min(ss, 59) - offset_min * 60LL;
  long long d = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  long long rem = secs - d * 86400;
  // civil_from_days (Howard Hinnant).
  long long z = d + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  long long doe = z - era * 146097;
  long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  long long mp = (5 * doy + 2) / 153;
  long long day = doy - (153 * mp + 2) / 5 + 1;
  long long month = mp < 10 ? mp + 3 : mp - 9;
  long long year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return {};
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03dZ", year, month, day, rem / 3600,
                rem / 60 % 60, rem % 60, ms);
  return buf;
}

Converted convert_value(const FieldDef& f, const ChoiceList* list, const json& v, Lang lang) {
  switch (f.type) {
    case FieldType::kText: {
      if (!v.is_string()) return fail("type", say(lang, "expected a string"));
      const auto& s = v.get_ref<const std::string&>();
      if (s.size() > kMaxTextBytes) return fail("too_large", say(lang, "text longer than 64 KiB"));
      if (!is_valid_utf8(s)) return fail("type", say(lang, "text is not valid UTF-8"));
      return {s, {}, {}};
    }
    case FieldType::kInteger: {
      if (!v.is_number_integer()) return fail("type", say(lang, "expected an integer"));
      double d = v.is_number_unsigned() ? static_cast<double>(v.get<std::uint64_t>())
                                        : static_cast<double>(v.get<std::int64_t>());
      if (std::fabs(d) > 9007199254740992.0) return fail("range", say(lang, "integer beyond +-2^53"));
      return {d, {}, {}};
    }
    case FieldType::kDecimal:
      if (!v.is_number() || !std::isfinite(v.get<double>())) return fail("type", say(lang, "expected a number"));
      return {v.get<double>(), {}, {}};
    case FieldType::kDate:
      if (!v.is_string() || !is_iso_date(v.get_ref<const std::string&>()))
        return fail("type", say(lang, "expected a date YYYY-MM-DD"));
      return {v.get<std::string>(), {}, {}};
    case FieldType::kDatetime: {
      std::string n = v.is_string() ? normalize_datetime(v.get_ref<const std::string&>()) : std::string();
      if (n.empty()) return fail("type", say(lang, "expected a datetime YYYY-MM-DDTHH:MM:SS with Z or +HH:MM offset"));
      return {n, {}, {}};
    }
    case FieldType::kSelectOne:
      if (!v.is_string()) return fail("type", say(lang, "expected a choice code"));
      if (list == nullptr || !list->contains(v.get_ref<const std::string&>()))
        return fail("choice", say(lang, "'{}' is not in {}", {excerpt(v.get_ref<const std::string&>()), f.choices}));
      return {v.get<std::string>(), {}, {}};
    case FieldType::kSelectMultiple: {
      if (!v.is_array()) return fail("type", say(lang, "expected an array of choice codes"));
      if (list == nullptr || v.size() > list->choices.size())
        return fail("choice", say(lang, "more codes than {} has", {f.choices}));
      std::vector<std::string> codes;
      codes.reserve(v.size());
      for (const json& c : v) {
        if (!c.is_string()) return fail("type", say(lang, "expected an array of choice codes"));
        const auto& s = c.get_ref<const std::string&>();
        if (!list->contains(s)) return fail("choice", say(lang, "'{}' is not in {}", {excerpt(s), f.choices}));
        // Quadratic, but bounded by the list's size (checked above); avoids allocating a set.
        if (std::find(codes.begin(), codes.end(), s) != codes.end())
          return fail("choice", say(lang, "'{}' selected twice", {s}));
        codes.push_back(s);
      }
      return {codes, {}, {}};
    }
    case FieldType::kBoolean:
      if (!v.is_boolean()) return fail("type", say(lang, "expected true or false"));
      return {v.get<bool>(), {}, {}};
    case FieldType::kGeopoint:
      return geopoint(v, lang);
    case FieldType::kPhoto: {
      if (!v.is_string()) return fail("type", say(lang, "expected a photo attachment reference (string)"));
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty() || s.size() > kMaxPhotoRefBytes || !is_valid_utf8(s))
        return fail("type", say(lang, "photo reference must be 1-256 bytes of UTF-8"));
      std::string why;
      if (!sync::parse_attachment_ref(s, &why)) return fail("type", "photo reference: " + why);
      return {s, {}, {}};
    }
    case FieldType::kCalculated:
      if (v.is_boolean()) return {v.get<bool>(), {}, {}};
      if (v.is_number() && std::isfinite(v.get<double>())) return {v.get<double>(), {}, {}};
      if (v.is_string() && v.get_ref<const std::string&>().size() <= kMaxTextBytes &&
          is_valid_utf8(v.get_ref<const std::string&>()))
        return {v.get<std::string>(), {}, {}};
      return fail("type", say(lang, "a calculated value is a boolean, number or string"));
    case FieldType::kNote:
      return fail("type", say(lang, "a note has no value"));
    case FieldType::kRepeat:
      return fail("type", "internal: repeat");
  }
  return fail("type", "unknown type");
}

}  // namespace akt::forms
