// Garbage collection of attachment files (PROTOCOL §14.7): a file that no version of any record has ever
// referenced, older than the grace period, is removed. Runs in the writer's transaction, so no push that
// references the file can slip in between the check and the removal. On PostgreSQL the files are the
// database's, shared by every server: a collection by one removes them for all.
#include "server/handlers/handlers.hpp"

#include "schema/store/store_tx.hpp"
#include "server/log.hpp"

namespace akt::server {

Result<std::size_t> collect_unreferenced_blobs(AppState& app) {
  if (!app.blobs) return std::size_t{0};
  const std::int64_t cutoff = app.now_ms() - app.config.attachments.gc_grace_ms;
  std::size_t removed = 0;
  for (const std::string& digest : app.blobs->digests()) {
    auto written = app.blobs->written_ms(digest);
    if (!written.ok()) continue;       // removed meanwhile (another server's collection)
    if (*written >= cutoff) continue;  // young: its record may still be on the way
    Status s = app.store->update([&](store::StoreWriter& tx) {
      auto referenced = tx.is_blob_referenced(digest);
      if (!referenced.ok()) return referenced.status();
      if (*referenced) return Status();
      AKT_TRY(app.blobs->remove(digest));
      ++removed;
      return tx.forget_blob_holders(digest);
    });
    if (!s.ok()) return s;
  }
  if (removed) log(LogLevel::kInfo, "attachments: removed " + std::to_string(removed) + " unreferenced file(s)");
  return removed;
}

}  // namespace akt::server
