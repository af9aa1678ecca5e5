// Flattening from stored JSON text with simdjson.
//
// Design notes:
//  1. Per table, a map from body key to a Slot (its columns and its redaction) is built once; a
//     record's object is walked once per table in body order and each field's value lands in its
//     columns. Columns no field filled stay null, as in flatten() (absent = null).
//  2. Redaction is per field, by the rule redact_body() uses (the strictest treatment among the
//     versions that define the key at that level), applied to the value before it becomes cells.
//  3. Anything whose DOM-path text is not certain (an object or nested array where a scalar belongs,
//     -0.0, pseudonyms of arrays) makes rows() return false before emitting a row: the caller takes the
//     nlohmann path for that record, so the output never differs.
//  4. simdjson's DOM parser, not On-Demand: its kernels are picked for the CPU at run time (On-Demand
//     is compiled for the build's target, here the generic fallback kernel), and it validates the whole
//     body, so a body nlohmann refuses (bad UTF-8, a number out of range) is refused here too, while
//     On-Demand leaves skipped values unchecked. The parser's buffers are reused from record to record.
//  5. Numbers print as nlohmann prints the number it parsed: 64-bit integers as integers, doubles
//     through nlohmann's own shortest-double routine.
#include "schema/export/text_flatten.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "schema/export/redact.hpp"
#include "sync/json_text.hpp"

namespace akt::exports {
namespace dom = simdjson::dom;

namespace {

constexpr int kNone = -1;

// What one body key becomes in one table.
struct Slot {
  Treatment treatment = Treatment::kKeep;
  const forms::FieldDef* def = nullptr;  // for the pseudonym's field key
  int value = kNone;                     // kValue column
  int lat = kNone, lon = kNone, acc = kNone;
  std::vector<std::pair<int, std::string>> options;  // kOption columns and their codes
  const forms::ChoiceList* list = nullptr;           // of the value column, for labels
};

// Lookup by string_view without a temporary string.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Table {
  std::vector<std::string> path;  // empty: main table; one key: a repeat at the top level
  std::unordered_map<std::string, Slot, KeyHash, std::equal_to<>> slots;
  std::vector<std::pair<int, std::string>> meta;  // meta columns by name
  std::size_t width = 0;
};

// The text nlohmann's dump gives for the number `e` (note 5); false for -0.0, whose spelling ("-0" or
// "-0.0") decides what nlohmann prints.
bool number_text(const dom::element& e, std::string& out) {
  char buf[64];
  char* end = buf;
  switch (e.type()) {
    case dom::element_type::INT64:
      end = std::to_chars(buf, buf + sizeof buf, e.get_int64().value_unsafe()).ptr;
      break;
    case dom::element_type::UINT64:
      end = std::to_chars(buf, buf + sizeof buf, e.get_uint64().value_unsafe()).ptr;
      break;
    case dom::element_type::DOUBLE: {
      const double d = e.get_double().value_unsafe();
      if (d == 0 && std::signbit(d)) return false;
      end = nlohmann::detail::to_chars(buf, buf + sizeof buf, d);
      break;
    }
    default:
      return false;
  }
  out.assign(buf, end);
  return true;
}

bool is_number(const dom::element& e) {
  const dom::element_type t = e.type();
  return t == dom::element_type::INT64 || t == dom::element_type::UINT64 || t == dom::element_type::DOUBLE;
}

// nlohmann's compact dump of an array of scalars (what redact_body() pseudonymises for a multi-select);
// false for nested arrays or objects. Strings are valid UTF-8 here (simdjson validated the body), where
// sync::append_json_string writes what nlohmann's dump writes.
bool dump_array(const dom::array& a, std::string& out, std::string& scratch) {
  out.assign("[");
  bool first = true;
  for (dom::element e : a) {
    if (!first) out.push_back(',');
    first = false;
    switch (e.type()) {
      case dom::element_type::STRING:
        sync::append_json_string(out, e.get_string().value_unsafe());
        break;
      case dom::element_type::BOOL:
        out += e.get_bool().value_unsafe() ? "true" : "false";
        break;
      case dom::element_type::NULL_VALUE:
        out += "null";
        break;
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE:
        if (!number_text(e, scratch)) return false;
        out += scratch;
        break;
      default:
        return false;
    }
  }
  out.push_back(']');
  return true;
}

double number_double(const dom::element& e) {
  switch (e.type()) {
    case dom::element_type::INT64: return static_cast<double>(e.get_int64().value_unsafe());
    case dom::element_type::UINT64: return static_cast<double>(e.get_uint64().value_unsafe());
    default: return e.get_double().value_unsafe();
  }
}

}  // namespace

struct TextFlattener::Impl {
  const ExportLayout* layout = nullptr;
  TextFlattenOptions options;
  std::string form_id;
  std::vector<Table> tables;
  // Reused from record to record.
  dom::parser parser;
  std::string padded;
  std::vector<Cell> row;
  std::vector<std::vector<Cell>> item_rows;  // a repeat's rows, emitted once the whole array is read
  std::vector<std::string> codes;
  std::string text, number, community_in, community_out;

  bool value_into(const Slot& s, const dom::element& v);
  bool field_into(const Table& t, std::string_view key, const dom::element& v);
  bool object_into(const Table& t, const dom::object& obj);
  void meta_into(const Table& t, const ExportRecord& r);
  void reset_row(const Table& t) {
    row.resize(t.width);
    for (Cell& c : row) {
      c.kind = Cell::Kind::kNull;
      c.text.clear();
    }
  }
  void set(int col, Cell::Kind kind, std::string_view text_of) {
    Cell& c = row[static_cast<std::size_t>(col)];
    c.kind = kind;
    c.text.assign(text_of);
  }
  // A string value of the value column: its label when the column has labels.
  void set_string(const Slot& s, std::string_view v) {
    if (s.value == kNone) return;
    const std::string* l = label_of(s.list, v, options.flatten.labels);
    set(s.value, Cell::Kind::kText, l != nullptr ? std::string_view(*l) : v);
  }
};

// The strictest treatment of `key` among `lists` (redact_object's rule), the last definition, and the
// field lists of the repeat it is in some version.
static Treatment treatment_of(const std::vector<const std::vector<forms::FieldDef>*>& lists, const std::string& key,
                              const TextFlattenOptions& o, const forms::FieldDef** def,
                              std::vector<const std::vector<forms::FieldDef>*>* inner) {
  Treatment t = Treatment::kKeep;
  *def = nullptr;
  const bool has_key = !o.pseudonym_key.empty();
  for (const std::vector<forms::FieldDef>* fields : lists) {
    for (const forms::FieldDef& f : *fields) {
      if (f.key != key) continue;
      const Treatment ft = treatment_for(f, o.role, has_key, o.special_category);
      t = *def == nullptr ? ft : stricter(t, ft);
      *def = &f;
      if (inner && f.type == forms::FieldType::kRepeat) inner->push_back(&f.fields);
    }
  }
  return t;
}

std::unique_ptr<TextFlattener> TextFlattener::create(const ExportLayout& layout,
                                                     std::span<const forms::FormDef* const> versions,
                                                     TextFlattenOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->layout = &layout;
  std::vector<const std::vector<forms::FieldDef>*> top;
  for (const forms::FormDef* f : versions) {
    if (f == nullptr) continue;
    top.push_back(&f->fields);
    impl->form_id = f->form_id;
  }
  if (top.empty()) return nullptr;
  const bool me = options.role == sync::Role::kMeOfficer;
  for (const TableLayout& tl : layout.tables) {
    if (tl.path.size() > 1) return nullptr;  // repeats inside repeats: the DOM path
    Table t;
    t.path = tl.path;
    t.width = tl.columns.size();
    std::vector<const std::vector<forms::FieldDef>*> lists = top;
    if (!tl.path.empty()) {
      lists.clear();
      const forms::FieldDef* def = nullptr;
      treatment_of(top, tl.path[0], options, &def, &lists);
      if (lists.empty()) return nullptr;
    }
    for (std::size_t i = 0; i < tl.columns.size(); ++i) {
      const Column& c = tl.columns[i];
      const int col = static_cast<int>(i);
      if (c.kind == ColumnKind::kMeta) {
        t.meta.emplace_back(col, c.field);
        continue;
      }
      if (c.kind == ColumnKind::kParentId) return nullptr;
      auto [it, fresh] = t.slots.try_emplace(c.field);
      Slot& s = it->second;
      if (fresh) {
        const forms::FieldDef* def = nullptr;
        s.treatment = me ? treatment_of(lists, c.field, options, &def, nullptr) : Treatment::kKeep;
        s.def = def;
        // A key no version defines at this level is removed for M&E (redact_object) and has no column.
        if (me && def == nullptr) s.treatment = Treatment::kRemove;
      }
      switch (c.kind) {
        case ColumnKind::kValue:
          if (s.value != kNone) return nullptr;
          s.value = col;
          s.list = c.list;
          break;
        case ColumnKind::kOption:
          s.options.emplace_back(col, c.option);
          break;
        case ColumnKind::kGeoLat:
          s.lat = col;
          break;
        case ColumnKind::kGeoLon:
          s.lon = col;
          break;
        case ColumnKind::kGeoAcc:
          s.acc = col;
          break;
        default:
          return nullptr;
      }
    }
    impl->tables.push_back(std::move(t));
  }
  impl->options = std::move(options);
  return std::unique_ptr<TextFlattener>(new TextFlattener(std::move(impl)));
}

TextFlattener::TextFlattener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextFlattener::~TextFlattener() = default;

// A kept (unredacted) value into the slot's columns.
bool TextFlattener::Impl::value_into(const Slot& s, const dom::element& v) {
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      return true;
    case dom::element_type::STRING:
      set_string(s, v.get_string().value_unsafe());
      return true;
    case dom::element_type::BOOL:
      if (s.value != kNone) set(s.value, Cell::Kind::kBool, v.get_bool().value_unsafe() ? "1" : "0");
      return true;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      if (!number_text(v, text)) return false;
      if (s.value != kNone) set(s.value, Cell::Kind::kNumber, text);
      return true;
    case dom::element_type::ARRAY: {
      // Codes joined (labels with "; "), and a 0/1 per option column.
      const bool labelled = s.list != nullptr && options.flatten.labels != LabelMode::kCodes;
      std::string& out = text;
      out.clear();
      for (const auto& [col, code] : s.options) set(col, Cell::Kind::kNumber, "0");
      // The array by value: a range-for over value_unsafe() of the temporary result would dangle.
      const dom::array items = v.get_array().value_unsafe();
      for (dom::element e : items) {
        std::string_view code;
        if (e.type() == dom::element_type::STRING) {
          code = e.get_string().value_unsafe();
          for (const auto& [col, option] : s.options)
            if (option == code) set(col, Cell::Kind::kNumber, "1");
        } else if (is_number(e)) {
          if (!number_text(e, number)) return false;
          code = number;
        } else {
          return false;  // true, null, objects, arrays inside a multi-select: the nlohmann path
        }
        const std::string* l = label_of(s.list, code, options.flatten.labels);
        if (!out.empty()) out += labelled ? "; " : " ";
        out += l != nullptr ? std::string_view(*l) : code;
      }
      if (s.value != kNone) set(s.value, Cell::Kind::kText, out);
      return true;
    }
    case dom::element_type::OBJECT: {
      if (s.value != kNone) return false;  // an object where a scalar belongs: shown as its dump
      const dom::object point = v.get_object().value_unsafe();
      for (dom::key_value_pair f : point) {
        const int col = f.key == "lat" ? s.lat : f.key == "lon" ? s.lon : f.key == "acc" ? s.acc : kNone;
        if (col == kNone) continue;
        if (!is_number(f.value)) {
          set(col, Cell::Kind::kNull, {});  // a later duplicate key wins, as in nlohmann's DOM
          continue;
        }
        if (!number_text(f.value, text)) return false;
        set(col, Cell::Kind::kNumber, text);
      }
      return true;
    }
  }
  return false;
}

bool TextFlattener::Impl::field_into(const Table& t, std::string_view key, const dom::element& v) {
  auto it = t.slots.find(key);
  if (it == t.slots.end()) return true;
  const Slot& s = it->second;
  if (s.treatment == Treatment::kKeep) return value_into(s, v);
  // Redacted fields: null and empty answers ("" and []) stay as they are; the rest per treatment.
  switch (v.type()) {
    case dom::element_type::NULL_VALUE:
      return true;
    case dom::element_type::STRING: {
      const std::string_view str = v.get_string().value_unsafe();
      if (str.empty()) {
        set_string(s, str);
        return true;
      }
      if (s.treatment != Treatment::kPseudonymise) return true;  // removed, or no age to band: null
      set_string(s, pseudonym(options.pseudonym_key, form_id, s.def->key, str));
      return true;
    }
    case dom::element_type::ARRAY:
      if (v.get_array().value_unsafe().size() == 0) return value_into(s, v);
      if (s.treatment != Treatment::kPseudonymise) return true;  // removed, or no age to band: null
      if (!dump_array(v.get_array().value_unsafe(), text, number)) return false;
      set_string(s, pseudonym(options.pseudonym_key, form_id, s.def->key, text));
      return true;
    case dom::element_type::OBJECT:
      return s.treatment != Treatment::kPseudonymise;  // the same for an object
    case dom::element_type::BOOL:
      if (s.treatment == Treatment::kPseudonymise)
        set_string(s, pseudonym(options.pseudonym_key, form_id, s.def->key,
                                v.get_bool().value_unsafe() ? "true" : "false"));
      return true;  // else removed, or no age to band: null
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      if (s.treatment == Treatment::kPseudonymise) {
        if (!number_text(v, text)) return false;
        set_string(s, pseudonym(options.pseudonym_key, form_id, s.def->key, text));
      } else if (s.treatment == Treatment::kAgeBand) {
        // Ages outside 0..150 are no age we can band: withheld (null), as redact_body() does.
        const double years = number_double(v);
        if (years >= 0 && years <= 150) {
          const std::string band = age_band_of(static_cast<long long>(years));
          if (!band.empty()) set_string(s, band);
        }
      }
      return true;
  }
  return false;
}

bool TextFlattener::Impl::object_into(const Table& t, const dom::object& obj) {
  for (dom::key_value_pair f : obj)
    if (!field_into(t, f.key, f.value)) return false;
  return true;
}

void TextFlattener::Impl::meta_into(const Table& t, const ExportRecord& r) {
  char buf[32];
  for (const auto& [col, name] : t.meta) {
    if (name == "record_id") {
      set(col, Cell::Kind::kText, r.record_id);
    } else if (name == "form_version") {
      set(col, Cell::Kind::kNumber, std::string_view(buf, std::to_chars(buf, buf + sizeof buf, r.form_version).ptr));
    } else if (name == "scope_municipality") {
      set(col, Cell::Kind::kText, r.scope.municipality);
    } else if (name == "scope_community") {
      if (!options.flatten.scope_community) {
        set(col, Cell::Kind::kText, r.scope.community);
      } else {
        // One HMAC per distinct community, not per record.
        if (community_in != r.scope.community || community_out.empty()) {
          community_in = r.scope.community;
          community_out = options.flatten.scope_community(community_in);
        }
        set(col, Cell::Kind::kText, community_out);
      }
    } else if (name == "scope_component") {
      set(col, Cell::Kind::kText, r.scope.component);
    } else if (name == "seq") {
      set(col, Cell::Kind::kNumber, std::string_view(buf, std::to_chars(buf, buf + sizeof buf, r.seq).ptr));
    } else if (name == "server_time") {
      set(col, Cell::Kind::kText, iso_utc(r.server_time_ms));
    } else if (name == "deleted") {
      set(col, Cell::Kind::kBool, r.deleted ? "1" : "0");
    } else if (name == "conflict") {
      set(col, Cell::Kind::kBool, r.conflict ? "1" : "0");
    }
  }
}

bool TextFlattener::rows(std::size_t table, const ExportRecord& r, const RowSink& emit) {
  Impl& m = *impl_;
  const Table& t = m.tables[table];
  if (r.deleted) {
    if (!t.path.empty()) return true;  // a tombstone has no repeat rows
    m.reset_row(t);
    m.meta_into(t, r);
    emit(m.row);
    return true;
  }
  // simdjson reads up to SIMDJSON_PADDING bytes past the text: a padded copy, reused.
  const std::string& body = r.body_text;
  if (m.padded.capacity() < body.size() + simdjson::SIMDJSON_PADDING)
    m.padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  m.padded.assign(body);
  dom::element doc;
  if (m.parser.parse(m.padded.data(), m.padded.size(), false).get(doc) != simdjson::SUCCESS) return false;
  dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return false;
  if (t.path.empty()) {
    m.reset_row(t);
    m.meta_into(t, r);
    if (!m.object_into(t, obj)) return false;
    emit(m.row);
    return true;
  }
  // A repeat at the top level: one row per object item, held until the whole array was read.
  std::size_t items = 0;
  for (dom::key_value_pair f : obj) {
    if (f.key != t.path[0]) continue;
    items = 0;  // a later duplicate key wins, as in nlohmann's DOM
    if (f.value.type() != dom::element_type::ARRAY) continue;
    const dom::array list = f.value.get_array().value_unsafe();
    for (dom::element e : list) {
      if (e.type() != dom::element_type::OBJECT) continue;
      m.reset_row(t);
      m.meta_into(t, r);
      if (!m.object_into(t, e.get_object().value_unsafe())) return false;
      if (m.item_rows.size() <= items) m.item_rows.emplace_back();
      m.item_rows[items++].swap(m.row);
    }
  }
  for (std::size_t i = 0; i < items; ++i) emit(m.item_rows[i]);
  return true;
}

}  // namespace akt::exports
