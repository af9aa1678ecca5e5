// Garbage collection of attachment files (PROTOCOL §14.7): a file that no version of any record has ever
// referenced, older than the grace period, is removed. Runs in the writer's transaction, so no push that
// references the file can slip in between the check and the removal.
#include "server/handlers/handlers.hpp"

#include <sys/stat.h>

#include "schema/store/store_tx.hpp"
#include "server/log.hpp"

namespace akt::server {

Result<std::size_t> collect_unreferenced_blobs(AppState& app) {
  if (!app.blobs) return std::size_t{0};
  const std::int64_t cutoff = app.now_ms() - app.config.attachments.gc_grace_ms;
  std::size_t removed = 0;
  for (const std::string& digest : app.blobs->digests()) {
    struct stat st {};
    if (::stat(app.blobs->path_of(digest).c_str(), &st) != 0) continue;
    const std::int64_t written = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    if (written >= cutoff) continue;  // young: its record may still be on the way
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
