#!/usr/bin/env python3
"""Regenerates the checked-in seed corpora (tests/fuzz/corpus/<target>/) and dictionaries
(tests/fuzz/dict/<target>.dict), overwriting only the files it makes. Deterministic: gzip members carry mtime 0;
zstd frames come from the `zstd` command (Debian package zstd). Run from anywhere:
    python3 tests/fuzz/make_seeds.py
Inputs come from docs/PROTOCOL.md §7, schema/forms/programme/*.json, docs/FORMS.md §7 and
tests/schema/fixtures/*.valid.json (the last three only when present)."""
import gzip
import io
import json
import os
import re
import struct
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(HERE, "corpus")
DICTS = os.path.join(HERE, "dict")

T1 = "0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a"      # the fuzz_route device (PROTOCOL.md §7 tablet T1)
T2 = "5b1d0f0e-8c3a-4e55-9b7e-51a1b2c3d4e5"
REC = "0190f5c2-7a1e-7cc0-9a4b-000000000001"
TOKEN = "fuzz-token-0123456789abcdef"             # must match kToken in fuzz_route.cpp
FORMS = ["so1_interethnic_survey", "so1_infra_monitoring", "so2_business_followup", "so3_municipal_service"]


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gz(data, level=6):
    if isinstance(data, str):
        data = data.encode()
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0, filename="") as f:
        f.write(data)
    return buf.getvalue()


def zst(data, level=3, checksum=True):
    if isinstance(data, str):
        data = data.encode()
    args = ["zstd", "-q", "-c", "-%d" % level] + ([] if checksum else ["--no-check"])
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def edit(n=1, actor=T1, record=REC, context=None, changed=None, body=None, deleted=False, **extra):
    e = {"record": record, "form": "so1_infra_monitoring", "form_version": 1,
         "scope": {"municipality": "gracanice", "community": "serb", "component": "SO1"},
         "dot": {"actor": actor, "n": n}, "context": context or {},
         "changed": changed if changed is not None else ["pct_complete", "status"]}
    if deleted:
        e["deleted"] = True
    if body is not None or not deleted:
        e["body"] = body if body is not None else {"pct_complete": 60, "status": "in_progress"}
    e["device_time"] = 1475280000000
    e.update(extra)
    return e


def batch(edits, batch_id="t1-0001", v=1):
    return json.dumps({"v": v, "batch_id": batch_id, "edits": edits}, ensure_ascii=False)


def decode_batch_seeds():
    t = "fuzz_decode_batch"
    write(t, "valid_protocol_example.json", batch([edit()]))
    write(t, "valid_empty.json", '{"v":1,"batch_id":"b","edits":[]}')
    write(t, "valid_conflict_context.json",
          batch([edit(n=1, actor=T2, context={T1: 1}, changed=["pct_complete"], body={"pct_complete": 70})],
                "t2-0001"))
    write(t, "valid_delete_no_body.json", batch([edit(n=3, context={T1: 2}, changed=[], deleted=True)]))
    write(t, "valid_two_edits_unsorted_keys.json",
          '{"edits":[{"body":{"z":1,"a":[1,2.5,-3e2,{"k":null}],"m":"\\u00e9\\ud83d\\ude00\\n"},'
          '"changed":["visit[V-a].v_pct_observed"],"context":{"%s":0,"%s":7},"device_time":0,'
          '"dot":{"n":9007199254740993,"actor":"%s"},"form":"f","form_version":1,"record":"%s",'
          '"scope":{"component":"SO2","community":"alb","municipality":"prishtine"},"unknown":[{}]},'
          '{"record":"%s","form":"f","form_version":2,"scope":{"municipality":"","community":"","component":""},'
          '"dot":{"actor":"%s","n":1},"body":{},"deleted":false}],"batch_id":"x","v":1}'
          % (T2, T1, T1, REC, REC.upper(), T2.upper()))
    write(t, "valid_utf8_body.json", batch([edit(body={"name": "Gračanica — Graçanicë", "n": 1.5e300,
                                                      "neg": -0.0, "big": 123456789012345678901234567890})]))
    write(t, "invalid_fraction_n.json", batch([edit()]).replace('"n": 1', '"n": 1.5'))
    write(t, "invalid_missing_batch_id.json", '{"v":1,"edits":[]}')
    write(t, "valid_lean_answer.json", '{"answer":"lean","batch_id":"b","edits":[],"v":1}')
    write(t, "invalid_answer_value.json", '{"answer":"short","batch_id":"b","edits":[],"v":1}')
    write(t, "invalid_bad_uuid.json", batch([edit(record="not-a-uuid")]))
    write(t, "invalid_v2.json", batch([edit()], v=2))
    write(t, "invalid_truncated.json", batch([edit()])[:-7])
    write(t, "invalid_deep.json", '{"v":1,"batch_id":"b","edits":[{"body":' + "[" * 80 + "]" * 80 + "}]}")
    write(t, "invalid_context_own_dot.json", batch([edit(context={T1: 1})]))
    write(t, "invalid_body_not_object.json", batch([edit(body=[1, 2])]))
    write(t, "invalid_trailing.json", '{"v":1,"batch_id":"b","edits":[]} {}')
    write(t, "invalid_dup_keys.json", '{"v":1,"batch_id":"a","batch_id":"b","edits":[]}')


def gunzip_seeds():
    t = "fuzz_gunzip"
    push = batch([edit()]).encode()
    write(t, "push.gz", gz(push))
    write(t, "empty.gz", gz(b""))
    write(t, "repetitive_level9.gz", gz(b"a" * 5000 + b"b" * 300, 9))
    write(t, "binary_level1.gz", gz(bytes(range(256)) * 4, 1))
    write(t, "multi_member.gz", gz(b"first member ") + gz(b"second member"))
    write(t, "truncated.gz", gz(push)[:-9])
    body = gz(b"crc check")
    write(t, "bad_crc.gz", body[:-8] + b"\0\0\0\0" + body[-4:])
    write(t, "raw_deflate.bin", zlib.compress(push)[2:-4])
    write(t, "zlib_not_gzip.bin", zlib.compress(push))
    # Header with FTEXT|FHCRC|FEXTRA|FNAME|FCOMMENT.
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    payload = b"header flags"
    deflated = comp.compress(payload) + comp.flush()
    hdr = b"\x1f\x8b\x08\x1f" + b"\0\0\0\0" + b"\0\x03"
    hdr += struct.pack("<H", 4) + b"AB\0\0" + b"name.txt\0" + b"a comment\0"
    hdr += struct.pack("<H", zlib.crc32(hdr) & 0xFFFF)
    write(t, "all_header_flags.gz", hdr + deflated + struct.pack("<II", zlib.crc32(payload), len(payload)))
    write(t, "magic_only.bin", b"\x1f\x8b")


def unzstd_seeds():
    t = "fuzz_unzstd"
    push = batch([edit()]).encode()
    write(t, "push.zst", zst(push))
    write(t, "empty.zst", zst(b""))
    write(t, "repetitive_level19.zst", zst(b"a" * 5000 + b"b" * 300, 19))
    write(t, "binary_level1.zst", zst(bytes(range(256)) * 4, 1))
    write(t, "no_checksum.zst", zst(push, 3, checksum=False))
    write(t, "two_frames.zst", zst(b"first frame ") + zst(b"second frame"))
    write(t, "truncated.zst", zst(push)[:-5])
    body = zst(b"checksum check " * 10)
    write(t, "bad_checksum.zst", body[:-4] + b"\0\0\0\0")
    # A skippable frame (magic 0x184D2A50..5F), alone and before a frame.
    skippable = struct.pack("<II", 0x184D2A50, 4) + b"skip"
    write(t, "skippable.bin", skippable)
    write(t, "skippable_then_frame.bin", skippable + zst(push))
    # A frame header asking for a 2^30 window (Window_Descriptor exponent 20: 2^(10+20)), no content size.
    write(t, "huge_window.bin", b"\x28\xb5\x2f\xfd" + b"\x00" + bytes([20 << 3]) + b"\x01\x00\x00")
    write(t, "window_2e24.bin", b"\x28\xb5\x2f\xfd" + b"\x00" + bytes([14 << 3]) + b"\x01\x00\x00")
    write(t, "magic_only.bin", b"\x28\xb5\x2f\xfd")


def req(method, target, headers=(), body=b""):
    if isinstance(body, str):
        body = body.encode()
    out = method.encode() + b"\0" + target.encode() + b"\0"
    for h in headers:
        out += h.encode() + b"\0"
    return out + b"\0" + body


AUTH = "authorization: Bearer " + TOKEN
JSONCT = "content-type: application/json"


def route_seeds():
    t = "fuzz_route"
    p = batch([edit()])
    write(t, "healthz.req", req("GET", "/healthz"))
    write(t, "healthz_post.req", req("POST", "/healthz"))
    write(t, "not_found.req", req("GET", "/v2/nothing?x=1"))
    write(t, "push.req", req("POST", "/v1/push", [AUTH, JSONCT], p))
    write(t, "push_charset.req", req("POST", "/v1/push", [AUTH, "Content-Type: application/json; charset=utf-8"],
                                     batch([edit(n=2, context={T1: 1}, changed=["status"],
                                                 body={"pct_complete": 60, "status": "done"})], "t1-0002")))
    write(t, "push_gzip.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: gzip"],
                                  gz(batch([edit(n=5, record="0190f5c2-7a1e-7cc0-9a4b-000000000002")], "t1-gz"))))
    write(t, "push_identity.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: identity"],
                                      '{"v":1,"batch_id":"e","edits":[]}'))
    write(t, "push_bad_gzip.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: gzip"], "not gzip"))
    write(t, "push_zstd.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: zstd"],
                                  zst(batch([edit(n=6, record="0190f5c2-7a1e-7cc0-9a4b-000000000003")], "t1-zst"))))
    write(t, "push_bad_zstd.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: ZSTD"], "not zstd"))
    write(t, "push_zstd_trailing.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: zstd"],
                                           zst('{"v":1,"batch_id":"z","edits":[]}') + b"\0"))
    write(t, "push_brotli.req", req("POST", "/v1/push", [AUTH, JSONCT, "content-encoding: br"], p))
    write(t, "push_no_auth.req", req("POST", "/v1/push", [JSONCT], p))
    write(t, "push_bad_token.req", req("POST", "/v1/push", ["authorization: Bearer wrong", JSONCT], p))
    write(t, "push_text_plain.req", req("POST", "/v1/push", [AUTH, "content-type: text/plain"], p))
    write(t, "push_get.req", req("GET", "/v1/push", [AUTH]))
    write(t, "push_wrong_actor.req", req("POST", "/v1/push", [AUTH, JSONCT], batch([edit(actor=T2)], "t1-wa")))
    write(t, "push_invalid_json.req", req("POST", "/v1/push", [AUTH, JSONCT], '{"v":1,'))
    write(t, "push_invalid_batch.req", req("POST", "/v1/push", [AUTH, JSONCT], '{"v":1,"batch_id":"b"}'))
    write(t, "push_reuse_then_change.req", req("POST", "/v1/push", [AUTH, JSONCT],
                                               batch([edit(body={"pct_complete": 1})])))
    write(t, "push_delete.req", req("POST", "/v1/push", [AUTH, JSONCT],
                                    batch([edit(n=7, context={T1: 1}, changed=[], deleted=True)], "t1-del")))
    write(t, "changes.req", req("GET", "/v1/changes?limit=10", [AUTH, "accept-encoding: gzip, deflate"]))
    write(t, "changes_all.req", req("GET", "/v1/changes", [AUTH]))
    write(t, "changes_cursor.req", req("GET", "/v1/changes?since=@E-0&limit=1&wait=0", [AUTH]))
    write(t, "changes_wait.req", req("GET", "/v1/changes?since=@E-999999&wait=100", [AUTH]))
    write(t, "changes_wait_rerouted.req", req("GET", "/v1/changes?since=@E-1&wait=100", [AUTH, "x-fuzz-rerouted: 1"]))
    write(t, "changes_cursor3.req", req("GET", "/v1/changes?since=@E-0-0&limit=2", [AUTH]))
    write(t, "changes_bad_cursor.req", req("GET", "/v1/changes?since=deadbeef-3", [AUTH]))
    write(t, "changes_bad_limit.req", req("GET", "/v1/changes?limit=0&wait=-1", [AUTH]))
    write(t, "changes_encoded.req", req("GET", "/v1/changes?li%6Dit=5&&since=&wait=%31+", [AUTH]))
    write(t, "changes_post.req", req("POST", "/v1/changes", [AUTH]))
    write(t, "record.req", req("GET", "/v1/records/" + REC, [AUTH, "accept-encoding: gzip"]))
    write(t, "changes_zstd.req", req("GET", "/v1/changes?limit=10", [AUTH, "accept-encoding: zstd, gzip;q=0.5"]))
    write(t, "changes_zstd_q0.req", req("GET", "/v1/changes?limit=10", [AUTH, "accept-encoding: zstd;q=0, gzip"]))
    write(t, "record_upper.req", req("GET", "/v1/records/" + REC.upper(), [AUTH]))
    write(t, "record_unknown.req", req("GET", "/v1/records/0190f5c2-7a1e-7cc0-9a4b-00000000ffff", [AUTH]))
    write(t, "record_bad_id.req", req("GET", "/v1/records/not-a-uuid%00", [AUTH]))
    write(t, "record_empty_id.req", req("GET", "/v1/records/", [AUTH]))
    write(t, "record_delete.req", req("DELETE", "/v1/records/" + REC, [AUTH]))
    # Accounts endpoints (404 on servers without them).
    write(t, "login.req", req("POST", "/v1/login", [JSONCT], '{"username":"ana","password":"correct horse battery"}'))
    write(t, "login_bad.req", req("POST", "/v1/login", [JSONCT], '{"username":1}'))
    write(t, "enrol.req", req("POST", "/v1/enrol", [JSONCT],
                              '{"code":"ABCD-EFGH","actor":"%s","app_version":"1.4.2"}' % T2))
    write(t, "me.req", req("GET", "/v1/me", [AUTH]))
    write(t, "logout_get.req", req("GET", "/v1/logout", [AUTH]))
    write(t, "admin_users.req", req("GET", "/v1/admin/users?limit=5", [AUTH]))
    write(t, "admin_post.req", req("POST", "/v1/admin/users", [AUTH, JSONCT, "content-encoding: gzip"],
                                   gz('{"username":"bob","role":"admin","password":"0123456789ab"}')))
    write(t, "admin_post_zstd.req", req("POST", "/v1/admin/users", [AUTH, JSONCT, "content-encoding: zstd"],
                                        zst('{"username":"cid","role":"admin","password":"0123456789ab"}')))


def raw(method, target, headers=(), body=b"", version="HTTP/1.1", length=True):
    """One raw HTTP/1.1 request as a client sends it (fuzz_http)."""
    if isinstance(body, str):
        body = body.encode()
    out = ("%s %s %s\r\nHost: 127.0.0.1\r\n" % (method, target, version)).encode()
    for h in headers:
        out += h.encode() + b"\r\n"
    if length and (body or method in ("POST", "PUT")):
        out += b"Content-Length: %d\r\n" % len(body)
    return out + b"\r\n" + body


def http_seeds():
    t = "fuzz_http"
    p = batch([edit()])
    auth = "Authorization: Bearer " + TOKEN
    ct = "Content-Type: application/json"
    write(t, "healthz.http", raw("GET", "/healthz"))
    write(t, "healthz_head.http", raw("HEAD", "/healthz"))
    write(t, "healthz_http10.http", raw("GET", "/healthz", version="HTTP/1.0"))
    write(t, "push.http", raw("POST", "/v1/push", [auth, ct], p))
    write(t, "push_gzip.http", raw("POST", "/v1/push", [auth, ct, "Content-Encoding: gzip"],
                                   gz(batch([edit(n=5, record="0190f5c2-7a1e-7cc0-9a4b-000000000002")], "t1-gz"))))
    write(t, "push_zstd.http", raw("POST", "/v1/push", [auth, ct, "Content-Encoding: zstd", "Accept-Encoding: zstd"],
                                   zst(batch([edit(n=6, record="0190f5c2-7a1e-7cc0-9a4b-000000000003")], "t1-zst"))))
    chunked = p.encode()
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunked), chunked)
    write(t, "push_chunked.http", raw("POST", "/v1/push", [auth, ct, "Transfer-Encoding: chunked"], body, length=False))
    write(t, "pipelined.http", raw("GET", "/healthz") + raw("GET", "/v1/changes?limit=2", [auth]) +
          raw("GET", "/v1/me", [auth, "Connection: close"]))
    write(t, "changes.http", raw("GET", "/v1/changes?limit=10&wait=0", [auth, "Accept-Encoding: gzip"]))
    write(t, "login.http", raw("POST", "/v1/login", [ct], '{"username":"ana","password":"correct horse battery"}'))
    write(t, "bad_method.http", b"G\x01T / HTTP/1.1\r\n\r\n")
    write(t, "bad_version.http", b"GET / HTTP/9.9\r\n\r\n")
    write(t, "bad_header.http", b"GET /healthz HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
    write(t, "two_lengths.http", b"POST /v1/push HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
    write(t, "length_and_chunked.http", b"POST /v1/push HTTP/1.1\r\nContent-Length: 5\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    write(t, "huge_length.http", b"POST /v1/push HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{")
    write(t, "truncated_body.http", raw("POST", "/v1/push", [auth, ct], p)[:-10])
    write(t, "long_header.http", raw("GET", "/healthz", ["X-Long: " + "a" * 20000]))
    write(t, "obs_fold.http", b"GET /healthz HTTP/1.1\r\nX-A: 1\r\n  folded\r\n\r\n")


def export_seeds():
    """fuzz_export: byte 0 = principal (bits 0-1) | endpoint (bits 2-4) << 2 | gzip (bit 5) << 5 | zstd (bit 6) << 6;
    then the query."""
    t = "fuzz_export"
    queries = ["format=csv", "format=jsonl", "format=xlsx", "format=csv&labels=sq&bom=1",
               "format=jsonl&labels=sr-Latn&conflicts=exclude", "format=csv&municipality=gracanice,novoberde",
               "format=jsonl&community=serb&component=SO1", "format=csv&received_from=2026-03-01&received_to=2030-01-01",
               "format=jsonl&date_field=visit_date&date_from=2017-01-01&date_to=2017-12-31",
               "format=jsonl&since=@E-0", "format=csv&from=2026-03-01T08:00:00.250Z", "format=nope",
               "format=csv&labels=xx", "format=jsonl&conflicts=flag&date_field=comments"]
    n = 0
    for endpoint in range(4):
        for user in range(4):
            q = queries[(endpoint * 4 + user) % len(queries)]
            write(t, "e%d_u%d.q" % (endpoint, user), bytes([user | endpoint << 2]) + q.encode())
            n += 1
    for i, q in enumerate(queries):
        write(t, "survey_me_%02d.q" % i, bytes([1 | 0 << 2 | (i & 1) << 5]) + q.encode())
    write(t, "indicators_json.q", bytes([0 | 4 << 2]) + b"format=json")
    write(t, "indicators_json_zstd.q", bytes([0 | 4 << 2 | 1 << 6]) + b"format=json")
    write(t, "survey_csv_zstd_gzip.q", bytes([0 | 0 << 2 | 1 << 5 | 1 << 6]) + b"format=csv")
    write(t, "indicators_csv_me.q", bytes([1 | 5 << 2]) + b"format=csv&reporting_date=2026-12-31")
    write(t, "indicators_bad_date.q", bytes([2 | 4 << 2]) + b"reporting_date=2026-13-45")
    write(t, "form_from_input.q", bytes([0 | 6 << 2]) + b"so3_municipal_service?format=xlsx")
    write(t, "form_unknown.q", bytes([1 | 7 << 2]) + b"nothing%2F..?format=csv")


def forms_seeds():
    prog = os.path.join(REPO, "schema", "forms", "programme")
    t = "fuzz_parse_form"
    keys = set()
    for f in FORMS:
        path = os.path.join(prog, f + ".json")
        if os.path.exists(path):
            text = open(path, encoding="utf-8").read()
            # Minified: the same definitions in fewer bytes mutate better.
            write(t, f + ".json", json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")))
            collect_keys(json.loads(text), keys)
    doc = os.path.join(REPO, "docs", "FORMS.md")
    if os.path.exists(doc):
        m = re.search(r"```json form-example\n(.*?)```", open(doc, encoding="utf-8").read(), re.S)
        if m:
            write(t, "docs_example.json", json.dumps(json.loads(m.group(1)), ensure_ascii=False, separators=(",", ":")))
    write(t, "minimal.json", '{"v":1,"form_id":"f","version":1,"title":{"en":"F"},"fields":[]}')
    write(t, "expr_and_pattern.json",
          '{"v":1,"form_id":"f","version":1,"title":{"en":"F"},"fields":['
          '{"key":"a","type":"integer","label":{"en":"A"},"sensitivity":"-","range":{"min":0,"max":9}},'
          '{"key":"b","type":"text","label":{"en":"B"},"sensitivity":"-","pattern":"(a|b)*c{2,3}[^x-z]\\\\d?",'
          '"relevant":"${a} > 1 and not(empty(.))","constraint":"string-length(.) <= ${a} * 2"},'
          '{"key":"c","type":"calculated","label":{"en":"C"},"calculate":"sum(${a}, 1) / 0"}]}')
    write(t, "invalid_cycle.json",
          '{"v":1,"form_id":"f","version":1,"title":{"en":"F"},"fields":['
          '{"key":"a","type":"integer","label":{"en":"A"},"sensitivity":"-","relevant":"${b} > 1"},'
          '{"key":"b","type":"integer","label":{"en":"B"},"sensitivity":"-","relevant":"${a} > 1"}]}')
    write(t, "invalid_not_json.json", '{"v":1,"form_id":')
    write(t, "invalid_unknown_property.json", '{"v":1,"form_id":"F","version":0,"title":{},"fields":[{"typ":1}]}')

    t = "fuzz_validate_record"
    fixtures = os.path.join(REPO, "tests", "schema", "fixtures")
    for i, f in enumerate(FORMS):
        path = os.path.join(fixtures, f + ".valid.json")
        if os.path.exists(path):
            body = json.dumps(json.load(open(path, encoding="utf-8")), ensure_ascii=False, separators=(",", ":"))
            write(t, "%d_%s_valid.json" % (i, f), str(i) + body)
            collect_keys(json.loads(body), keys)
        write(t, "%d_%s_empty.json" % (i, f), str(i) + "{}")
    write(t, "0_not_object.json", "0[1,2,3]")
    write(t, "1_null.json", "1null")
    write(t, "2_wrong_types.json", '2{"enumerator_id":5,"started_at":"yesterday","review_status":["x"],"zz":{}}')
    return keys


def collect_keys(v, keys):
    if isinstance(v, dict):
        for k, x in v.items():
            keys.add(k)
            collect_keys(x, keys)
    elif isinstance(v, list):
        for x in v:
            collect_keys(x, keys)
    elif isinstance(v, str) and len(v) <= 24:
        keys.add(v)


def dict_line(s):
    out = ""
    for b in s.encode():
        if b == 0x22 or b == 0x5C or b < 0x20 or b > 0x7E:
            out += "\\x%02X" % b
        else:
            out += chr(b)
    return '"' + out + '"'


def write_dict(name, entries):
    os.makedirs(DICTS, exist_ok=True)
    with open(os.path.join(DICTS, name + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary for %s; generated by tests/fuzz/make_seeds.py\n" % name)
        for e in sorted(set(entries)):
            f.write(dict_line(e) + "\n")


def main():
    # Overwrites its own seeds only: reproducers added by hand to corpus/<target>/ stay.
    decode_batch_seeds()
    gunzip_seeds()
    unzstd_seeds()
    route_seeds()
    http_seeds()
    export_seeds()
    keys = forms_seeds()

    json_tokens = ["{", "}", "[", "]", ":", ",", "true", "false", "null", "-0", "1e309", "\\u0000", "\\ud800",
                   "\\\"", "0.5", "-1", "9223372036854775807", "9223372036854775808"]
    batch_tokens = ['"v":1', '"batch_id":', '"edits":', '"record":', '"form":', '"form_version":', '"scope":',
                    '"municipality":', '"community":', '"component":', '"dot":', '"actor":', '"n":', '"context":',
                    '"changed":', '"body":', '"deleted":', '"device_time":', '"answer":', '"lean"', '"full"', T1, T2, REC, '"SO1"']
    write_dict("fuzz_decode_batch", json_tokens + batch_tokens)
    write_dict("fuzz_gunzip", ["\x1f\x8b\x08\x00", "\x1f\x8b\x08\x08", "\x00\x00\x00\x00", "\xff\xff\xff\xff",
                               "\x03\x00", "\x01\x00\x00\xff\xff"])
    write_dict("fuzz_unzstd", ["\x28\xb5\x2f\xfd", "\x50\x2a\x4d\x18", "\x00\x00\x00\x00", "\xff\xff\xff\xff",
                               "\x01\x00\x00", "\x24", "\x04", "\x60"])
    write_dict("fuzz_route", ["GET", "POST", "PUT", "HEAD", "DELETE", "/healthz", "/v1/push", "/v1/changes",
                              "/v1/records/", "/v1/login", "/v1/enrol", "/v1/me", "/v1/logout",
                              "/v1/admin/", '"username":', '"password":', '"code":', '"role":', "?since=@E-", "&limit=", "&wait=", "%00", "%2F", "@E",
                              "\0\0", AUTH, "authorization:Bearer ", TOKEN, JSONCT, "content-encoding:gzip",
                              "content-encoding:identity", "accept-encoding:gzip", "content-encoding:zstd",
                              "accept-encoding:zstd", "\x28\xb5\x2f\xfd", ";q=0", "x-fuzz-rerouted:1", REC, T1]
               + json_tokens + batch_tokens)
    write_dict("fuzz_http", ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", " HTTP/1.1\r\n", " HTTP/1.0\r\n", "\r\n",
                             "\r\n\r\n", "Host: ", "Content-Length: ", "Transfer-Encoding: chunked\r\n",
                             "Connection: close\r\n", "Connection: keep-alive\r\n", "Expect: 100-continue\r\n",
                             "Content-Encoding: gzip\r\n", "Accept-Encoding: gzip\r\n", "0\r\n\r\n",
                             "Content-Encoding: zstd\r\n", "Accept-Encoding: zstd, gzip\r\n",
                             "Authorization: Bearer " + TOKEN + "\r\n", "Content-Type: application/json\r\n",
                             "/healthz", "/v1/push", "/v1/changes", "/v1/me", "/v1/login", "/v1/records/" + REC]
               + batch_tokens)
    write_dict("fuzz_export", ["format=", "csv", "jsonl", "xlsx", "json", "&labels=", "codes", "en", "sq", "sr",
                               "sr-Latn", "&bom=1", "&conflicts=", "flag", "exclude", "include", "&since=",
                               "&municipality=", "&community=", "&component=", "&received_from=", "&received_to=",
                               "&from=", "&to=", "&date_field=", "&date_from=", "&date_to=", "&reporting_date=",
                               "gracanice", "novoberde", "serb", "roma", "SO1", "SO2", "SO3", "visit_date",
                               "started_at", "2026-03-01", "2026-03-01T08:00:00Z", "%2C", ",", "%00", "ps_"]
               + FORMS)
    write_dict("fuzz_parse_form", json_tokens + sorted(k for k in keys if k)[:400] +
               ["${", "}", "${self}", "today()", "selected(", "count-selected(", "regex(", "days-between(",
                "distance_m(", "string-length(", "concat(", " and ", " or ", "not(", "L:municipality",
                "L:yes_no", "repeat", "select_multiple", "calculated", "geopoint"])
    write_dict("fuzz_validate_record", json_tokens + sorted(k for k in keys if k)[:400] +
               ['{"lat":42.5,"lon":21.1,"acc":5}', "2026-11-27", "2017-06-14T09:05:00+02:00"])
    for d in sorted(os.listdir(CORPUS)):
        print("%-22s %3d seeds" % (d, len(os.listdir(os.path.join(CORPUS, d)))))


if __name__ == "__main__":
    main()
