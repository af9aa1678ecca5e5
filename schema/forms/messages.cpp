// Languages of people-facing texts and the validator's message catalogue (see messages.hpp).
#include "schema/forms/messages.hpp"

#include <cctype>
#include <cstdlib>

#include "schema/forms/serbian_script.hpp"

namespace akt::forms {
namespace {

// Every message the validator writes (validator.cpp, value_check.cpp), in English with "{}" for the
// arguments, and its Albanian and Serbian (Cyrillic) text with the same arguments in the same order.
// Words follow docs/GLOSSARY.md. Argument values (codes, numbers, keys, patterns) are inserted unchanged.
const std::vector<MessageTemplate> kCatalogue = {
    {"further errors not reported", "gabimet e tjera nuk raportohen", "остале грешке се не наводе"},
    {"answer given for a question that does not apply",
     "është dhënë përgjigje për një pyetje që nuk vlen në këtë rast",
     "дат је одговор на питање које се у овом случају не поставља"},
    {"an answer is required", "kërkohet një përgjigje", "одговор је обавезан"},
    {"a note has no value", "një shënim nuk ka vlerë", "напомена нема вредност"},
    {"a repeat is an array of item objects", "një grup i përsëritur duhet të jetë varg objektesh",
     "група која се понавља мора бити низ објеката"},
    {"at least one item is required", "kërkohet të paktën një element", "потребна је бар једна ставка"},
    {"more than {} items", "më shumë se {} elemente", "више од {} ставки"},
    {"no field '{}' in this form", "nuk ka fushë '{}' në këtë formular", "у овом обрасцу нема поља '{}'"},
    {"a repeat item is a JSON object", "një element i grupit të përsëritur duhet të jetë objekt JSON",
     "ставка групе која се понавља мора бити JSON објекат"},
    {"item needs a non-empty string '{}' of at most 64 bytes",
     "elementi duhet të ketë tekstin jo të zbrazët '{}' me më së shumti 64 bajt",
     "ставка мора имати непразан текст '{}' од највише 64 бајта"},
    {"duplicate item id", "identifikuesi i elementit përsëritet", "идентификатор ставке се понавља"},
    {"value {} out of range", "vlera {} është jashtë kufijve të lejuar", "вредност {} је ван дозвољеног опсега"},
    {"date {} out of range", "data {} është jashtë kufijve të lejuar", "датум {} је ван дозвољеног опсега"},
    {"length {} out of bounds", "gjatësia {} është jashtë kufijve të lejuar", "дужина {} је ван дозвољених граница"},
    {"does not match {}", "nuk përputhet me formatin {}", "не одговара формату {}"},
    {"'{}' cannot be combined with other choices", "'{}' nuk mund të kombinohet me zgjedhje të tjera",
     "'{}' се не може комбиновати са другим одговорима"},
    {"stored {}, computed {}", "vlera e ruajtur {}, vlera e llogaritur {}",
     "сачувана вредност {}, израчуната вредност {}"},
    {"constraint failed: {}", "rregulli nuk plotësohet: {}", "правило није испуњено: {}"},
    {"a geopoint is {\"lat\": -90..90, \"lon\": -180..180, \"acc\": metres >= 0, \"alt\"?}",
     "një pikë GPS është {\"lat\": -90..90, \"lon\": -180..180, \"acc\": metra >= 0, \"alt\"?}",
     "GPS тачка је {\"lat\": -90..90, \"lon\": -180..180, \"acc\": метри >= 0, \"alt\"?}"},
    {"expected a string", "pritej tekst", "очекује се текст"},
    {"text longer than 64 KiB", "teksti është më i gjatë se 64 KiB", "текст је дужи од 64 KiB"},
    {"text is not valid UTF-8", "teksti nuk është UTF-8 i vlefshëm", "текст није исправан UTF-8"},
    {"expected an integer", "pritej numër i plotë", "очекује се цео број"},
    {"integer beyond +-2^53", "numri i plotë është përtej +-2^53", "цео број је ван опсега +-2^53"},
    {"expected a number", "pritej numër", "очекује се број"},
    {"expected a date YYYY-MM-DD", "pritej datë në formatin YYYY-MM-DD", "очекује се датум у облику YYYY-MM-DD"},
    {"expected a datetime YYYY-MM-DDTHH:MM:SS with Z or +HH:MM offset",
     "pritej datë dhe orë YYYY-MM-DDTHH:MM:SS me Z ose me zhvendosje +HH:MM",
     "очекују се датум и време YYYY-MM-DDTHH:MM:SS са Z или са одступањем +HH:MM"},
    {"expected a choice code", "pritej kodi i një zgjedhjeje", "очекује се шифра одговора"},
    {"'{}' is not in {}", "'{}' nuk është në listën {}", "'{}' није на листи {}"},
    {"expected an array of choice codes", "pritej një varg kodesh zgjedhjesh", "очекује се низ шифара одговора"},
    {"more codes than {} has", "më shumë kode se sa ka lista {}", "више шифара него што их има листа {}"},
    {"'{}' selected twice", "'{}' është zgjedhur dy herë", "'{}' је изабрано два пута"},
    {"expected true or false", "pritej true ose false", "очекује се true или false"},
    {"expected a photo attachment reference (string)", "pritej referenca e një fotografie të bashkëngjitur (tekst)",
     "очекује се ознака приложене фотографије (текст)"},
    {"photo reference must be 1-256 bytes of UTF-8", "referenca e fotografisë duhet të jetë 1-256 bajt UTF-8",
     "ознака фотографије мора имати 1-256 бајтова UTF-8"},
    {"a calculated value is a boolean, number or string", "një vlerë e llogaritur është boolean, numër ose tekst",
     "израчуната вредност је логичка вредност, број или текст"},
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view lang_tag(Lang l) {
  switch (l) {
    case Lang::kSq:
      return "sq";
    case Lang::kSr:
      return "sr";
    case Lang::kSrLatn:
      return "sr-Latn";
    case Lang::kEn:
      break;
  }
  return "en";
}

std::optional<Lang> lang_from_tag(std::string_view tag) {
  const std::string t = lower(trim(tag));
  auto is = [&t](std::string_view base) {
    return t == base || (t.size() > base.size() && t.compare(0, base.size(), base) == 0 && t[base.size()] == '-');
  };
  if (is("sr-latn")) return Lang::kSrLatn;
  if (is("sr")) return Lang::kSr;
  if (is("sq")) return Lang::kSq;
  if (is("en")) return Lang::kEn;
  return std::nullopt;
}

Lang negotiate_language(std::string_view header) {
  std::optional<Lang> best;
  double best_q = 0;
  while (!header.empty()) {
    const std::size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    double q = 1;
    if (const std::size_t semi = item.find(';'); semi != std::string_view::npos) {
      std::string_view param = trim(item.substr(semi + 1));
      item = item.substr(0, semi);
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        const std::string v(param.substr(2));
        char* end = nullptr;
        q = std::strtod(v.c_str(), &end);
        if (end == v.c_str() || !(q >= 0 && q <= 1)) q = 0;
      }
    }
    auto l = lang_from_tag(item);
    if (l && q > best_q) {
      best = l;
      best_q = q;
    }
  }
  return best.value_or(Lang::kEn);
}

const std::string& text_in(const Label& label, Lang l) {
  const std::string& t = l == Lang::kSq ? label.sq : l == Lang::kSr ? label.sr : l == Lang::kSrLatn ? label.sr_latn : label.en;
  return t.empty() ? label.en : t;
}

std::string say(Lang l, std::string_view en_template, std::initializer_list<std::string_view> args) {
  std::string tmpl(en_template);
  if (l != Lang::kEn) {
    for (const MessageTemplate& m : kCatalogue) {
      if (m.en != en_template) continue;
      tmpl = l == Lang::kSq ? std::string(m.sq) : l == Lang::kSr ? std::string(m.sr) : to_serbian_latin(m.sr);
      break;
    }
  }
  std::string out;
  out.reserve(tmpl.size() + 32);
  auto arg = args.begin();
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && i + 1 < tmpl.size() && tmpl[i + 1] == '}' && arg != args.end()) {
      out += *arg++;
      ++i;
    } else {
      out += tmpl[i];
    }
  }
  return out;
}

const std::vector<MessageTemplate>& message_catalogue() { return kCatalogue; }

}  // namespace akt::forms
