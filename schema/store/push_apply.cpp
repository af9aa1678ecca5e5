// UUID blobs and quarantine rows, shared by the store's SQLite files.
#include "schema/store/push_apply.hpp"

#include "sync/uuid.hpp"

namespace akt::store {

std::string uuid_blob(const std::string& uuid) {
  auto b = sync::parse_uuid(uuid);
  return b ? std::string(reinterpret_cast<const char*>(b->data()), b->size()) : std::string();
}

std::string blob_uuid(std::string_view blob) {
  sync::UuidBytes b{};
  if (blob.size() != b.size()) return {};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(blob[i]);
  return sync::format_uuid(b);
}

QuarantineEntry read_quarantine_row(Stmt& s) {
  QuarantineEntry q;
  q.id = s.int64(0);
  q.device = blob_uuid(s.blob(1));
  q.batch_id = std::string(s.text(2));
  q.record_id = blob_uuid(s.blob(3));
  q.dot = {blob_uuid(s.blob(4)), s.int64(5)};
  q.code = std::string(s.text(6));
  q.detail = std::string(s.text(7));
  q.edit_json = std::string(s.text(8));
  q.received_at = s.int64(9);
  q.fields_json = std::string(s.text(10));
  q.released_at = s.int64(11);
  q.discarded_at = s.int64(12);
  q.args_json = std::string(s.text(13));
  return q;
}

}  // namespace akt::store
