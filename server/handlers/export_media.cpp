// Exports with their photos (EXPORTS.md §1.2): `media=include` wraps the dataset in a ZIP with one entry
// per photo file, named by record and field, and a list of the photos the server does not hold yet.
// Streamed like every export: the dataset's pieces go into the first entry as they are produced, then a
// second pass over the same records copies each file 64 KiB at a time, so memory stays flat.
#include "server/handlers/export_media.hpp"

#include "schema/export/csv_writer.hpp"
#include "schema/export/zip_writer.hpp"
#include "sync/status.hpp"
#include "sync/attachment_json.hpp"

namespace akt::server {
namespace {

constexpr std::size_t kFilePiece = 64 * 1024;

std::string extension_of(const std::string& media_type) {
  if (media_type == "image/png") return "png";
  if (media_type == "image/webp") return "webp";
  return "jpg";
}

// A path of a ZIP entry from a field path: `visit[V-1].v_photo_1` -> `visit_V-1_v_photo_1`; only
// characters safe in every file system are kept.
std::string safe_name(const std::string& path) {
  std::string out;
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (ok) out.push_back(c);
    else if (!out.empty() && out.back() != '_') out.push_back('_');
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "field" : out;
}

struct MediaJob {
  std::string pending;  // ZIP bytes not yet handed to the session
  std::unique_ptr<exports::ZipWriter> zip;
  BodyProducer dataset;
  exports::OpenPass passes;
  exports::RecordPass pass;
  int phase = 0;  // 0 dataset, 1 files, 2 missing list, 3 done
  std::vector<std::pair<std::string, sync::AttachmentRef>> refs;  // of the current record
  std::size_t next_ref = 0;
  std::string record_id;
  std::unique_ptr<store::BlobReader> file;  // the photo being copied, if any
  std::string missing;  // CSV rows of photos not held (bounded: a line per missing photo)
  std::size_t files = 0;
  store::BlobStore* blobs = nullptr;

  // Advances by about one piece; false when the archive is complete.
  Result<bool> step() {
    if (phase == 0) {
      std::string piece;
      const StreamStep s = dataset(piece);
      if (s == StreamStep::kFailed) return Status::io_error(piece);
      AKT_TRY(zip->write(piece));
      if (s == StreamStep::kDone) {
        AKT_TRY(zip->end_entry());
        pass = passes();
        phase = 1;
      }
      return true;
    }
    if (phase == 1) {
      if (file) {  // copying a file
        std::string buf;
        AKT_TRY(file->read(buf, kFilePiece));
        if (buf.empty()) {
          file.reset();
          AKT_TRY(zip->end_entry());
          return true;
        }
        AKT_TRY(zip->write(buf));
        return true;
      }
      if (next_ref < refs.size()) {
        const auto& [path, ref] = refs[next_ref++];
        auto reader = blobs->open_reader(ref.digest, 0);
        if (reader.ok()) file = std::move(*reader);
        if (!file) {
          missing += record_id + "," + path + "," + ref.digest + "\r\n";
          return true;
        }
        ++files;
        AKT_TRY(zip->begin_entry("media/" + record_id + "/" + safe_name(path) + "." + extension_of(ref.media_type)));
        return true;
      }
      exports::ExportRecord rec;
      if (!pass(rec)) {
        phase = 2;
        return true;
      }
      record_id = rec.record_id;
      refs = rec.deleted ? decltype(refs)() : sync::find_attachment_refs(rec.body.dump());
      next_ref = 0;
      return true;
    }
    if (phase == 2) {
      AKT_TRY(zip->begin_entry("media/missing.csv"));
      AKT_TRY(zip->write("record_id,field,digest\r\n" + missing));
      AKT_TRY(zip->finish());
      phase = 3;
    }
    return false;
  }
};

}  // namespace

HttpResponse with_media(HttpResponse dataset, const std::string& entry_name, exports::OpenPass passes, AppState& app) {
  auto job = std::make_shared<MediaJob>();
  job->zip = std::make_unique<exports::ZipWriter>(
      [job_raw = job.get()](std::string_view s) { job_raw->pending.append(s); }, 1);
  job->dataset = std::move(dataset.stream);
  job->passes = std::move(passes);
  job->blobs = app.blobs.get();
  HttpResponse r;
  r.content_type = "application/zip";
  r.compressible = false;
  for (auto& [k, v] : dataset.headers)
    if (k != "Content-Disposition") r.headers.emplace_back(k, v);
  const std::string stem = entry_name.substr(0, entry_name.rfind('.'));
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + stem + "_media.zip\"");
  if (Status s = job->zip->begin_entry(entry_name); !s.ok()) return r;
  r.stream = [job](std::string& out) -> StreamStep {
    while (job->pending.size() < kFilePiece) {
      auto more = job->step();
      if (!more.ok()) {
        out = more.status().message();
        return StreamStep::kFailed;
      }
      if (!*more) {
        out = std::move(job->pending);
        job->pending.clear();
        return StreamStep::kDone;
      }
    }
    out.swap(job->pending);
    job->pending.clear();
    return StreamStep::kMore;
  };
  return r;
}

}  // namespace akt::server
