// GET /v1/push/{batch_id} (PROTOCOL §4.3): the stored answer of a batch this device pushed, so that a
// device whose answer was lost reads it instead of uploading the batch again. Implemented in post_push.cpp.
#pragma once

#include <string>

#include "server/handlers/handlers.hpp"

namespace akt::server {

// 200 with the stored answer (byte for byte, Aktsync-Replayed: true); 404 batch_not_found when this
// device pushed no such batch. REQUIRES: `who` is a device.
HttpResponse handle_push_answer(const std::string& batch_id, const Principal& who, AppState& app);

}  // namespace akt::server
