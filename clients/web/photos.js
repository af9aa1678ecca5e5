// Photos on the tablet (PROTOCOL §14): a picture taken with the camera is scaled down and re-encoded,
// identified by its SHA-256, kept in IndexedDB (`blobs`, `blob_data`) and answered as the attachment
// reference the server's validator accepts. After a push the files the server lacks are sent with the
// resumable upload (§14.2, §14.3), in chunks, resuming from the server's offset after a cut. A file is
// kept on the tablet until the server confirmed it whole and nothing unsent on the tablet refers to it.
'use strict';
(function () {
  const S = window.AktStore;
  // Longest side and JPEG quality: a 12-megapixel camera photo (3-5 MB) becomes about 0.3-0.6 MB, which a
  // 2G/EDGE link (64-256 kbit/s) carries in 10-75 s instead of minutes, while a serial plate or a logbook
  // total stays legible. Re-encoding also drops the EXIF block (GPS position, device serial).
  const MAX_SIDE = 1600;
  const QUALITY = 0.85;
  // 64 KiB chunks as the aktsync client: 4 s at 128 kbit/s, well inside the server's read timeout; a cut
  // costs at most one chunk.
  const CHUNK = 64 * 1024;
  const MISSING_QUERY = 1000;
  const TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);
  const REF = /^sha256:([0-9a-f]{64});size=([1-9][0-9]{0,15});type=(image\/(?:jpeg|png|webp))$/;

  // {digest, size, type} of an attachment reference (§14.1), or null.
  function parseRef(v) {
    const m = typeof v === 'string' ? REF.exec(v) : null;
    return m ? { digest: m[1], size: Number(m[2]), type: m[3] } : null;
  }
  const makeRef = (digest, size, type) => `sha256:${digest};size=${size};type=${type}`;

  // Every digest referenced anywhere in a body (photo answers at any depth, repeat items included).
  function refsIn(body, out = new Set()) {
    if (typeof body === 'string') { const r = parseRef(body); if (r) out.add(r.digest); }
    else if (Array.isArray(body)) for (const x of body) refsIn(x, out);
    else if (body && typeof body === 'object') for (const x of Object.values(body)) refsIn(x, out);
    return out;
  }

  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

  // The bytes to keep for a picked file: scaled to MAX_SIDE and re-encoded as JPEG when the browser can
  // decode it; a file it cannot decode is kept as it is if it is JPEG, PNG or WebP, else refused.
  async function encode(file) {
    let bitmap = null;
    try { bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' }); } catch (_) { bitmap = null; }
    if (bitmap) {
      const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      const w = Math.max(1, Math.round(bitmap.width * scale)), h = Math.max(1, Math.round(bitmap.height * scale));
      const canvas = document.createElement('canvas');
      canvas.width = w;
      canvas.height = h;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#fff';  // a transparent PNG gets a white background, not black
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(bitmap, 0, 0, w, h);
      bitmap.close();
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
      if (blob && blob.size) return { data: await blob.arrayBuffer(), type: 'image/jpeg', width: w, height: h };
    }
    if (TYPES.has(file.type)) return { data: await file.arrayBuffer(), type: file.type };
    const e = new Error('not a picture this tablet can read');
    e.code = 'not_image';
    throw e;
  }

  // A picked file made ready to answer with: {ref, digest, size, type, data}. Nothing is stored yet:
  // the caller stores it with put() in the same transaction as the draft that refers to it, so a file is
  // never in the store without a reference to it.
  async function prepare(file) {
    const { data, type } = await encode(file);
    const digest = hex(await crypto.subtle.digest('SHA-256', data));
    return { ref: makeRef(digest, data.byteLength, type), digest, size: data.byteLength, type, data };
  }
  async function put(stores, p) {
    const had = await S.get(stores.blobs, p.digest);
    if (!had) stores.blobs.put({ digest: p.digest, size: p.size, type: p.type, added: Date.now(), confirmed: false, upload: null });
    if (!had || !(await S.get(stores.blob_data, p.digest))) stores.blob_data.put({ digest: p.digest, data: p.data });
  }

  // Photos of other tablets (and this tablet's, once freed) are fetched when a record showing them is
  // opened (GET /v1/blobs/{digest}, §14.4) and kept in the Cache Storage `akt-photos` for viewing offline,
  // within a budget: the least recently shown go first. The bookkeeping (digest, size, last shown) is one
  // meta entry, updated in one transaction so that photos opened together do not lose each other's rows.
  const PHOTO_CACHE = 'akt-photos';
  const cacheKey = (digest) => '/v1/blobs/' + digest;
  const api = { cacheBudget: 64 * 1024 * 1024 };
  async function cacheNote(digest, size) {
    const drop = await S.tx(['meta'], 'readwrite', async (s) => {
      const row = await S.get(s.meta, 'photo_cache');
      let list = (row && row.v) || [];
      list = list.filter((x) => x.digest !== digest);
      if (size !== null) list.push({ digest, size, used: Date.now() });
      list.sort((a, b) => a.used - b.used);
      const gone = [];
      let total = list.reduce((a, x) => a + x.size, 0);
      while (total > api.cacheBudget && list.length > 1) { const x = list.shift(); total -= x.size; gone.push(x.digest); }
      s.meta.put({ k: 'photo_cache', v: list });
      return gone;
    });
    if (drop.length) {
      const cache = await caches.open(PHOTO_CACHE);
      for (const d of drop) await cache.delete(cacheKey(d));
    }
  }

  // A blob: URL for an <img> showing the file of `ref`: from the tablet's own copy, the photo cache, or the
  // server. {url} or {url: null, missing: true} (the server does not hold it: the tablet that took it has
  // not uploaded it yet) or {url: null} (offline, or it could not be read).
  async function photoUrl(ref, device) {
    const r = parseRef(ref);
    if (!r) return { url: null };
    const row = await S.tx(['blob_data'], 'readonly', (s) => S.get(s.blob_data, r.digest));
    if (row) return { url: URL.createObjectURL(new Blob([row.data], { type: r.type })) };
    const cache = typeof caches === 'undefined' ? null : await caches.open(PHOTO_CACHE).catch(() => null);
    const hit = cache && await cache.match(cacheKey(r.digest));
    if (hit) {
      cacheNote(r.digest, r.size).catch(() => {});
      return { url: URL.createObjectURL(await hit.blob()) };
    }
    if (!device || !navigator.onLine) return { url: null };
    try {
      const resp = await fetch('/v1/blobs/' + r.digest, { headers: { Authorization: 'Bearer ' + device.token }, cache: 'no-store' });
      if (resp.status === 404) return { url: null, missing: true };
      if (!resp.ok) return { url: null };
      const bytes = await resp.arrayBuffer();
      const digest = hex(await crypto.subtle.digest('SHA-256', bytes));
      if (digest !== r.digest) return { url: null };  // never show (or keep) bytes that are not the photo
      const blob = new Blob([bytes], { type: r.type });
      if (cache) {
        try {
          await cache.put(cacheKey(r.digest), new Response(blob, { headers: { 'Content-Type': r.type } }));
          await cacheNote(r.digest, bytes.byteLength);
        } catch (_) { /* storage full: shown, not kept */ }
      }
      return { url: URL.createObjectURL(blob) };
    } catch (_) {
      return { url: null };
    }
  }

  // At the end of a sync round: each file still to be sent counts one more round (stuck() lists them).
  async function noteRound() {
    const left = new Set((await candidates()).map((b) => b.digest));
    if (!left.size) return;
    await S.tx(['blobs'], 'readwrite', async (s) => {
      for (const d of left) { const row = await S.get(s.blobs, d); if (row) s.blobs.put({ ...row, rounds: (row.rounds || 0) + 1 }); }
    });
  }

  // Files still waiting after `rounds` sync rounds or more tried to send them (the sync screen lists them):
  // [{digest, size, type, rounds, error, records: [record ids referring to it]}].
  async function stuck(rounds) {
    return S.tx(['blobs', 'edits', 'records'], 'readonly', async (s) => {
      const out = (await S.all(s.blobs)).filter((b) => !b.confirmed && (b.rounds || 0) >= rounds)
        .map((b) => ({ digest: b.digest, size: b.size, type: b.type, rounds: b.rounds, error: b.error || null, records: [] }));
      if (!out.length) return out;
      const bodies = (await S.all(s.edits)).map((e) => [e.record, e.body]);
      for (const r of await S.all(s.records)) for (const v of r.live || []) bodies.push([r.record, v.body]);
      for (const [record, body] of bodies) {
        const refs = refsIn(body);
        for (const x of out) if (refs.has(x.digest) && !x.records.includes(record)) x.records.push(record);
      }
      return out;
    });
  }

  // The digests on the tablet that the server has not confirmed yet (a record showing one of them has a
  // photo waiting to upload).
  async function unconfirmed() {
    return S.tx(['blobs'], 'readonly', async (s) => new Set((await S.all(s.blobs)).filter((b) => !b.confirmed).map((b) => b.digest)));
  }

  // Frees what is no longer needed: a file nothing on the tablet refers to any more (a photo replaced or
  // removed before saving), and a file the server confirmed that no draft, unsent edit or refused edit
  // refers to (records show it from the server). A file an acknowledged edit or a pulled record refers
  // to stays until the server confirmed it.
  async function collect() {
    return S.tx(['blobs', 'blob_data', 'drafts', 'edits', 'rejected', 'records'], 'readwrite', async (s) => {
      const blobs = await S.all(s.blobs);
      if (!blobs.length) return 0;  // no photo on the tablet: nothing to read (the records stay unread)
      const local = new Set(), sent = new Set();
      for (const d of await S.all(s.drafts)) refsIn(d.body, local);
      for (const r of await S.all(s.rejected)) if (!r.answered) refsIn(r.body, local);
      for (const e of await S.all(s.edits)) refsIn(e.body, e.acked_epoch ? sent : local);
      // The pulled records are read only when an unconfirmed file is not accounted for otherwise.
      if (blobs.some((b) => !b.confirmed && !local.has(b.digest) && !sent.has(b.digest))) {
        for (const r of await S.all(s.records)) for (const v of r.live || []) refsIn(v.body, sent);
      }
      let freed = 0;
      for (const b of blobs) {
        if (local.has(b.digest) || (!b.confirmed && sent.has(b.digest))) continue;
        s.blobs.delete(b.digest);
        s.blob_data.delete(b.digest);
        freed++;
      }
      return freed;
    });
  }

  // ---- the upload (§14.2, §14.3) --------------------------------------------------------------------------
  // Every request goes through the sync round's send() (sync.js): the same retry budget (PROTOCOL §1.1: a
  // network failure, 5xx or 429 retried with backoff for as long as its failures last under ten minutes),
  // Retry-After, and deadlines (an answer's head within 30 s, no pause of 30 s in its body), and 507 ends the
  // round at once with its reason. A chunk whose answer failed is not sent again blindly: the server's
  // offset is asked first (HEAD) and the upload goes on from there.
  class UploadError extends Error {
    constructor(kind, message) { super(message); this.kind = kind; }
  }
  const send = (...args) => window.AktSync.send(...args);

  // The files to send: unconfirmed ones that a saved edit or a pulled record refers to (a photo only in a
  // draft may still be replaced).
  async function candidates() {
    return S.tx(['blobs', 'edits', 'records'], 'readonly', async (s) => {
      const waiting = (await S.all(s.blobs)).filter((b) => !b.confirmed);
      if (!waiting.length) return [];  // the usual case: no edit or record needs reading
      const refs = new Set();
      for (const e of await S.all(s.edits)) refsIn(e.body, refs);
      if (waiting.some((b) => !refs.has(b.digest))) {
        for (const r of await S.all(s.records)) for (const v of r.live || []) refsIn(v.body, refs);
      }
      return waiting.filter((b) => refs.has(b.digest)).sort((a, b) => a.added - b.added);
    });
  }

  async function update(digest, change) {
    return S.tx(['blobs'], 'readwrite', async (s) => {
      const b = await S.get(s.blobs, digest);
      if (b) s.blobs.put({ ...b, ...change });
    });
  }

  // Sends the files the server lacks. `progress(done, total, bytes, size)`; `sum` gains photos_sent,
  // photo_bytes (chunk bytes the server acknowledged), photos_failed. Throws send()'s SyncError('network')
  // when a request's retry budget is spent (what was stored stays stored: the next round resumes),
  // UploadError('unauthenticated') on 401.
  async function upload(device, progress, sum) {
    const list = await candidates();
    if (!list.length) return;
    const json = { 'Content-Type': 'application/json' };
    const refused = (r, what) => {
      if (r.status === 401) throw new UploadError('unauthenticated', `${what}: ${(r.data && r.data.detail) || 'unauthenticated'}`);
    };

    // Which of them the server lacks (a digest it does not list was uploaded whole by this device before).
    const todo = [];
    for (let i = 0; i < list.length; i += MISSING_QUERY) {
      const part = list.slice(i, i + MISSING_QUERY);
      const r = await send('POST', '/v1/blobs/missing', JSON.stringify({ v: 1, digests: part.map((b) => b.digest) }), device, json);
      refused(r, 'missing query');
      if (r.status !== 200 || !r.data || !Array.isArray(r.data.missing)) throw new UploadError('refused', `missing query: ${r.status}`);
      const missing = new Set(r.data.missing);
      for (const b of part) {
        if (missing.has(b.digest)) todo.push(b);
        else await update(b.digest, { confirmed: true, upload: null });
      }
    }

    for (let i = 0; i < todo.length; i++) {
      const b = todo[i];
      const row = await S.tx(['blob_data'], 'readonly', (s) => S.get(s.blob_data, b.digest));
      if (!row) continue;  // cannot happen: unconfirmed bytes are never freed
      const bytes = new Uint8Array(row.data);
      let id = b.upload && b.upload.id;
      let offset = 0;
      let complete = false;
      progress(i, todo.length, 0, b.size);

      // The server's offset: of the stored upload (HEAD), or a new one (a device's open upload of the same
      // digest is answered again, with its offset, so a lost id costs nothing).
      const open = async () => {
        const r = await send('POST', '/v1/uploads', JSON.stringify({ v: 1, digest: b.digest, size: b.size, type: b.type }), device, json);
        if ((r.status === 200 || r.status === 201) && r.data) {
          id = r.data.upload;
          offset = Number(r.data.offset) || 0;
          complete = !!r.data.complete;
          await update(b.digest, { upload: { id, offset } });
          return true;
        }
        refused(r, 'upload');
        await update(b.digest, { error: (r.data && r.data.code) || `http_${r.status}` });
        return false;
      };
      // HEAD for the offset; GET when every byte is there but the upload is not noted complete (a server
      // stopped in between finishes it on that GET, §14.2).
      const ask = async () => {
        const full = offset >= b.size;
        const r = await send(full ? 'GET' : 'HEAD', '/v1/uploads/' + id, undefined, device);
        if (r.status === 200 && r.headers.get('Upload-Offset') !== null) {
          offset = Number(r.headers.get('Upload-Offset'));
          if (full && r.data) complete = !!r.data.complete;
          return true;
        }
        if (r.status === 404) return open();  // finished, discarded or expired: create again
        refused(r, 'upload');
        return open();
      };
      if (!(id ? await ask() : await open())) { sum.photos_failed++; continue; }

      while (!complete) {
        if (offset >= b.size) {
          if (!(await ask()) || (!complete && offset >= b.size)) break;
          continue;
        }
        // A failed chunk (cut, stalled past a deadline, 5xx) may or may not have been stored, in part: before
        // the retry the server's offset is asked, and the retry sends from there (the same id: a lost upload
        // id is opened again by ask()); when nothing is left to send, the loop decides (no retry).
        let sentAt = offset;
        const chunkAt = (o) => bytes.subarray(o, Math.min(o + CHUNK, b.size));
        const headers = (o) => ({ 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(o) });
        const beforeRetry = async (req) => {
          const was = sentAt;
          if (!(await ask())) return { answer: 'refused' };
          if (complete || offset >= b.size) return { answer: null };
          sentAt = offset;
          req.path = '/v1/uploads/' + id;
          req.body = chunkAt(offset);
          req.extra = headers(offset);
          return offset > was;  // bytes were stored: progress, the budget starts afresh
        };
        const r = await send('PATCH', '/v1/uploads/' + id, chunkAt(offset), device, headers(offset), { beforeRetry });
        if (r === 'refused') break;  // the upload could not be opened again (its reason is noted)
        if (r === null) continue;  // every byte is there (complete, or to be finished by ask())
        if (r.status === 200 && r.data) {
          offset = Number(r.data.offset);
          sum.photo_bytes += Math.max(0, offset - sentAt);
          complete = !!r.data.complete;
          await update(b.digest, { upload: { id, offset } });
          progress(i, todo.length, offset, b.size);
          continue;
        }
        if (r.status === 409) {  // the server holds another offset: continue from there
          const o = r.data && Number.isInteger(r.data.offset) ? r.data.offset : Number(r.headers.get('Upload-Offset'));
          if (!Number.isFinite(o)) throw new UploadError('refused', 'upload: 409 without an offset');
          offset = o;
          continue;
        }
        if (r.status === 404) { if (!(await open())) break; continue; }
        if (r.status === 422) {
          // The bytes on the tablet do not have their digest (storage damage): the server discarded them.
          // The file is kept and the record shows it waiting; nothing better can be done here.
          await update(b.digest, { error: 'digest_mismatch', upload: null });
          break;
        }
        refused(r, 'upload');
        await update(b.digest, { error: (r.data && r.data.code) || `http_${r.status}` });
        break;
      }
      if (complete) {
        await update(b.digest, { confirmed: true, upload: null, error: null });
        sum.photos_sent++;
      } else {
        sum.photos_failed++;
      }
    }
    progress(todo.length, todo.length, 0, 0);
  }

  // The photos the unsent work refers to, for the Backup file: [{digest, type, size, data (base64)}], every
  // file of `digests` the tablet holds. `aktsync import` uploads them after the edits (a tablet that breaks
  // before it synced loses neither the interviews nor their photos).
  async function forBackup(digests) {
    const rows = await S.tx(['blobs', 'blob_data'], 'readonly', async (s) => {
      const out = [];
      for (const d of [...digests].sort()) {
        const b = await S.get(s.blobs, d), row = await S.get(s.blob_data, d);
        if (b && row) out.push({ digest: d, type: b.type, size: b.size, data: row.data });
      }
      return out;
    });
    return rows.map((r) => {
      const bytes = new Uint8Array(r.data);
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      return { digest: r.digest, type: r.type, size: r.size, data: btoa(bin) };
    });
  }

  Object.assign(api, { forBackup, photoUrl, stuck, noteRound, parseRef, makeRef, refsIn, prepare, put, unconfirmed, collect, upload, UploadError,
                       MAX_SIDE, QUALITY, CHUNK });
  window.AktPhotos = api;
})();
