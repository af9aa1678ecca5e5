// One concrete request per row of the authorization matrix of docs/SECURITY.md §1. Who may call what is
// read from that table (accounts_test.cpp parses it, and checks it names every endpoint of PROTOCOL.md's
// table); this file only says how to call each endpoint. A new endpoint: a row in SECURITY.md §1, a line
// here.
#pragma once

namespace akt::test {

enum class Tokens {
  kAny,          // sessions and device tokens alike
  kDeviceOnly,   // sessions get 403 whatever the role
  kSessionOnly,  // each call logs in afresh (the call may end the session); device tokens are not tried
};

struct AuthzRequest {
  const char* endpoint;  // "METHOD /path" exactly as the matrix's first column writes it
  const char* method;
  const char* target;    // {record}: a record in every scoped user's scope
  const char* body;      // {n}: a number new on each call; {actor}: the calling device's actor id
  int allowed;           // the status an allowed role gets (the request is sound; 404 = nothing there)
  Tokens tokens = Tokens::kAny;
};

#define AKT_PUSH_BODY                                                                                            \
  R"({"v":1,"batch_id":"m{n}","edits":[{"record":"{record}","form":"t_matrix","form_version":1,)"              \
  R"("scope":{"municipality":"gracanice","community":"serb","component":"SO1"},"dot":{"actor":"{actor}","n":{n}},)" \
  R"("context":{},"changed":["x"],"body":{"x":{n}}}]})"

inline const AuthzRequest kAuthzRequests[] = {
    {"GET /v1/me", "GET", "/v1/me", "", 200},
    {"GET /metrics", "GET", "/metrics", "", 200},
    // An empty body reaches the handler (400) for every role: no role is refused the endpoint.
    {"POST /v1/me/password", "POST", "/v1/me/password", "{}", 400},
    {"GET /v1/changes", "GET", "/v1/changes", "", 200},
    {"GET /v1/records/{id}", "GET", "/v1/records/{record}", "", 200},
    {"GET /v1/records/{id}/history", "GET", "/v1/records/{record}/history", "", 200},
    {"GET /v1/forms", "GET", "/v1/forms", "", 200},
    {"GET /v1/forms/{form_id}/{version}", "GET", "/v1/forms/t_matrix/1", "", 200},
    {"GET /v1/shared-definitions", "GET", "/v1/shared-definitions", "", 200},
    {"POST /v1/push", "POST", "/v1/push", AKT_PUSH_BODY, 200, Tokens::kDeviceOnly},
    // A batch this device never pushed: nothing there, for every role (the answer of one it did: 200).
    {"GET /v1/push/{batch_id}", "GET", "/v1/push/never-pushed", "", 404, Tokens::kDeviceOnly},
    {"POST /v1/logout", "POST", "/v1/logout", "", 204, Tokens::kSessionOnly},
    {"GET /v1/exports/{form_id}", "GET", "/v1/exports/t_matrix?format=jsonl", "", 200},
    {"GET /v1/indicators", "GET", "/v1/indicators", "", 200},
    {"GET /v1/admin/stats", "GET", "/v1/admin/stats", "", 200},
    {"POST /v1/admin/records/{id}/review", "POST", "/v1/admin/records/00000000-0000-4000-8000-00000000dead/review",
     R"({"seen":{},"status":"approved"})", 404},
    {"POST /v1/admin/records/review", "POST", "/v1/admin/records/review",
     R"({"status":"approved","records":[{"record":"00000000-0000-4000-8000-00000000dead","seen":{}}]})", 200},
    {"GET /v1/admin/records", "GET", "/v1/admin/records", "", 200},
    {"GET /v1/admin/conflicts", "GET", "/v1/admin/conflicts", "", 200},
    {"GET /v1/admin/conflicts/{id}", "GET", "/v1/admin/conflicts/999999", "", 404},
    {"POST /v1/admin/conflicts/{id}/resolve", "POST", "/v1/admin/conflicts/999999/resolve",
     R"({"seen":{},"value":1})", 404},
    {"GET /v1/admin/quarantine", "GET", "/v1/admin/quarantine", "", 200},
    {"POST /v1/admin/quarantine/{id}/release", "POST", "/v1/admin/quarantine/999999/release", "{}", 404},
    {"POST /v1/admin/quarantine/{id}/discard", "POST", "/v1/admin/quarantine/999999/discard", "{}", 404},
    {"GET /v1/admin/users", "GET", "/v1/admin/users", "", 200},
    {"POST /v1/admin/users", "POST", "/v1/admin/users",
     R"({"username":"new_user_{n}","password":"long enough pw","role":"enumerator"})", 201},
    {"PUT /v1/admin/users/{username}/role", "PUT", "/v1/admin/users/spare/role", R"({"role":"enumerator"})", 200},
    {"PUT /v1/admin/users/{username}/assignments", "PUT", "/v1/admin/users/spare/assignments",
     R"({"assignments":[]})", 200},
    {"POST /v1/admin/users/{username}/disable", "POST", "/v1/admin/users/spare/disable", "{}", 200},
    {"POST /v1/admin/users/{username}/enable", "POST", "/v1/admin/users/spare/enable", "{}", 200},
    {"PUT /v1/admin/users/{username}/special_category", "PUT", "/v1/admin/users/spare/special_category",
     R"({"granted":false})", 200},
    {"POST /v1/admin/users/{username}/password", "POST", "/v1/admin/users/spare/password",
     R"({"password":"another long pw {n}"})", 200},
    {"PUT /v1/admin/users/{username}/supervisor", "PUT", "/v1/admin/users/spare/supervisor", R"({"supervisor":null})",
     200},
    {"POST /v1/admin/enrolments", "POST", "/v1/admin/enrolments", R"({"username":"spare","device_name":"d{n}"})", 201},
    {"GET /v1/admin/devices", "GET", "/v1/admin/devices", "", 200},
    {"POST /v1/admin/devices/{actor}/revoke", "POST", "/v1/admin/devices/00000000-0000-4000-8000-00000000beef/revoke",
     "{}", 404},
    {"GET /v1/admin/audit", "GET", "/v1/admin/audit", "", 200},
    {"GET /v1/admin/forms", "GET", "/v1/admin/forms", "", 200},
    {"POST /v1/admin/forms", "POST", "/v1/admin/forms",
     R"({"v":1,"form_id":"t_up_{n}","version":1,"title":{"en":"T"},"fields":[{"key":"x","type":"integer","label":{"en":"X"},"sensitivity":"-"}]})",
     201},
    {"POST /v1/admin/forms/{form_id}/{version}/publish", "POST", "/v1/admin/forms/t_none/1/publish", "{}", 404},
    {"POST /v1/admin/forms/{form_id}/{version}/retire", "POST", "/v1/admin/forms/t_none/1/retire", "{}", 404},
    {"POST /v1/uploads", "POST", "/v1/uploads",
     R"({"v":1,"digest":"000000000000000000000000000000000000000000000000000000000000{n}","size":10,"type":"image/jpeg"})",
     201, Tokens::kDeviceOnly},
    {"GET /v1/uploads/{id}", "GET", "/v1/uploads/0123456789abcdef0123456789abcdef", "", 404, Tokens::kDeviceOnly},
    {"PATCH /v1/uploads/{id}", "PATCH", "/v1/uploads/0123456789abcdef0123456789abcdef", "x", 404,
     Tokens::kDeviceOnly},
    {"POST /v1/blobs/missing", "POST", "/v1/blobs/missing", R"({"v":1,"digests":[]})", 200, Tokens::kDeviceOnly},
    // No blob is readable through a digest alone: 404 for every role.
    {"GET /v1/blobs/{digest}", "GET", "/v1/blobs/00000000000000000000000000000000000000000000000000000000deadbeef",
     "", 404},
};

#undef AKT_PUSH_BODY

}  // namespace akt::test
