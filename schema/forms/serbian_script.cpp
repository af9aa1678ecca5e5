// Serbian Cyrillic <-> Latin transliteration (see serbian_script.hpp).
#include "schema/forms/serbian_script.hpp"

#include <array>
#include <cstdint>
#include <vector>

#include "schema/forms/utf8.hpp"

namespace akt::forms {
namespace {

// Decodes valid UTF-8 into code points (the callers check validity first).
std::vector<char32_t> decode(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const int n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1Fu) : n == 3 ? (b & 0x0Fu) : (b & 0x07u);
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    out.push_back(cp);
    i += n;
  }
  return out;
}

void encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct Pair {
  char32_t cyr;          // lower-case Cyrillic letter
  const char* lat;       // lower-case Latin (one letter or a digraph)
  const char* lat_cap;   // title case ("Lj")
  const char* lat_caps;  // all caps ("LJ")
};

// The Serbian alphabet in Cyrillic order. Upper case Cyrillic is lower case - 0x20 (А..Я range) or
// - 0x50 (Ђ Ј Љ Њ Ћ Џ, U+0400 block).
constexpr std::array<Pair, 30> kAlphabet = {{
    {U'а', "a", "A", "A"},      {U'б', "b", "B", "B"},      {U'в', "v", "V", "V"},   {U'г', "g", "G", "G"},
    {U'д', "d", "D", "D"},      {U'ђ', "đ", "Đ", "Đ"},      {U'е', "e", "E", "E"},   {U'ж', "ž", "Ž", "Ž"},
    {U'з', "z", "Z", "Z"},      {U'и', "i", "I", "I"},      {U'ј', "j", "J", "J"},   {U'к', "k", "K", "K"},
    {U'л', "l", "L", "L"},      {U'љ', "lj", "Lj", "LJ"},   {U'м', "m", "M", "M"},   {U'н', "n", "N", "N"},
    {U'њ', "nj", "Nj", "NJ"},   {U'о', "o", "O", "O"},      {U'п', "p", "P", "P"},   {U'р', "r", "R", "R"},
    {U'с', "s", "S", "S"},      {U'т', "t", "T", "T"},      {U'ћ', "ć", "Ć", "Ć"},   {U'у', "u", "U", "U"},
    {U'ф', "f", "F", "F"},      {U'х', "h", "H", "H"},      {U'ц', "c", "C", "C"},   {U'ч', "č", "Č", "Č"},
    {U'џ', "dž", "Dž", "DŽ"},   {U'ш', "š", "Š", "Š"},
}};

char32_t lower(char32_t c) {
  if (c >= U'А' && c <= U'Я') return c + 0x20;
  if (c >= U'Ѐ' && c <= U'Џ') return c + 0x50;
  return c;
}

// Index into kAlphabet of a Cyrillic letter (either case), or -1.
int letter_of(char32_t c, bool* upper) {
  const char32_t l = lower(c);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    if (kAlphabet[i].cyr == l) {
      if (upper != nullptr) *upper = l != c;
      return static_cast<int>(i);
    }
  }
  return -1;
}

// Upper-case letter of any script we meet (Cyrillic or Latin), for the all-caps decision.
bool is_upper_letter(char32_t c) {
  bool up = false;
  if (letter_of(c, &up) >= 0) return up;
  return (c >= U'A' && c <= U'Z') || c == U'Đ' || c == U'Ž' || c == U'Č' || c == U'Ć' || c == U'Š';
}
bool is_lower_letter(char32_t c) {
  bool up = false;
  if (letter_of(c, &up) >= 0) return !up;
  return (c >= U'a' && c <= U'z') || c == U'đ' || c == U'ž' || c == U'č' || c == U'ć' || c == U'š';
}

}  // namespace

std::string to_serbian_latin(std::string_view cyrillic) {
  if (!is_valid_utf8(cyrillic)) return std::string(cyrillic);
  const std::vector<char32_t> in = decode(cyrillic);
  std::string out;
  out.reserve(cyrillic.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    bool up = false;
    const int k = letter_of(in[i], &up);
    if (k < 0) {
      encode(in[i], out);
      continue;
    }
    const Pair& p = kAlphabet[static_cast<std::size_t>(k)];
    if (!up) {
      out += p.lat;
    } else {
      // All caps when the next letter is a capital, or there is no lower-case next letter and the
      // previous one is a capital ("ПЉ" at a word's end).
      const bool next_up = i + 1 < in.size() && is_upper_letter(in[i + 1]);
      const bool next_low = i + 1 < in.size() && is_lower_letter(in[i + 1]);
      const bool prev_up = i > 0 && is_upper_letter(in[i - 1]);
      out += next_up || (!next_low && prev_up) ? p.lat_caps : p.lat_cap;
    }
  }
  return out;
}

std::string to_serbian_cyrillic(std::string_view latin) {
  if (!is_valid_utf8(latin)) return std::string(latin);
  const std::vector<char32_t> in = decode(latin);
  std::string out;
  out.reserve(latin.size() * 2);
  for (std::size_t i = 0; i < in.size();) {
    bool matched = false;
    // Digraphs first, then single letters; compare against the three spellings of each Latin form.
    for (int len : {2, 1}) {
      for (const Pair& p : kAlphabet) {
        for (const char* form : {p.lat, p.lat_cap, p.lat_caps}) {
          const std::vector<char32_t> f = decode(form);
          if (static_cast<int>(f.size()) != len || i + f.size() > in.size()) continue;
          if (!std::equal(f.begin(), f.end(), in.begin() + static_cast<std::ptrdiff_t>(i))) continue;
          const bool upper = form != p.lat;
          encode(upper ? (p.cyr >= U'ѐ' ? p.cyr - 0x50 : p.cyr - 0x20) : p.cyr, out);
          i += f.size();
          matched = true;
          break;
        }
        if (matched) break;
      }
      if (matched) break;
    }
    if (!matched) encode(in[i++], out);
  }
  return out;
}

}  // namespace akt::forms
