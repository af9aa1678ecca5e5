// The sync round, as clients/sync_client.cpp does it (DESIGN §3, §5; PROTOCOL §4, §5): push the outbox in
// stable batches (a batch, once formed, is stored with its request text and sent from that text until it is
// acknowledged: retries are byte-identical, §4.3; a batch whose answer may be on the server asks for it
// first, GET /v1/push/{batch_id}), then pull the change feed until `more` is false, applying each page with
// its cursor in one local transaction (a page cut in transit keeps its whole records and resumes after them,
// `after`, §5.1). Requests are retried for a time budget (PROTOCOL §1.1). 410 epoch_changed: drop the cursor, queue every edit
// not acknowledged under the new epoch again, push, pull from the start (§5.3). 410 scope_changed: drop the
// pulled records and the cursor, pull from the start, push what was never acknowledged (§5.4).
// Between push and pull the photos the pushed records refer to are uploaded (photos.js, §14), so the pull
// already shows those records without `pending_upload`.
'use strict';
(function () {
  const S = window.AktStore, P = window.AktPhotos;
  const APP = 'aktsync-app/1.0';
  // Requests sized by link time (PROTOCOL §1.1), as the aktsync client: every request costs a round trip, so
  // each batch and page aims at TARGET_MS at the throughput the link last measured (JSON bytes before gzip,
  // request and answer, over the request's time including the round trip; a request that needed a retry
  // measures nothing), at most four times the previous one's bytes within a round. The throughput of the
  // last sync is kept in the local store (meta `link`: {push, pull} in bytes per ms), so the next sync's
  // first batch and first page are sized from it too (the app is usually opened afresh for each sync, and a
  // first batch of a fixed size is one more batch, and one more gzip stream started cold, on a slow link);
  // without it (a new tablet) the first push batch has 200 edits and the first feed page asks for 256 KiB.
  // A full request (one its size bounded: more was left) sets the kept throughput; the last, smaller one of
  // a round only raises it (its time is mostly the round trip, so it says the link is at least that fast).
  // Batches stay within 20-1000 edits (the server's limits.max_edits_per_batch) and 2 MiB of text: 1000
  // edits of large bodies (up to 256 KiB each) would pass the server's body limits (8 MiB sent, 32 MiB
  // after gunzip) and be refused whole with 413. Pages ask limit=5000 (limits.max_pull_limit) and
  // max_bytes within 32 KiB-8 MiB, so max_bytes bounds them.
  const TARGET_MS = 8000;
  const BATCH_EDITS = 200, MIN_BATCH_EDITS = 20, MAX_BATCH_EDITS = 1000;
  const BATCH_CHARS = 2 * 1024 * 1024;
  const PULL_LIMIT = 5000;
  const PULL_BYTES = 256 * 1024, MIN_PULL_BYTES = 32 * 1024, MAX_PULL_BYTES = 8 * 1024 * 1024;
  // The next batch's size: `edits` (no throughput known: a count) or `chars` (its text's length, from the
  // throughput); the next page's max_bytes.
  const sizes = { batchEdits: BATCH_EDITS, batchChars: 0, pullBytes: PULL_BYTES };
  // The bytes a request of `bytes` that took `ms` says the next should carry to take TARGET_MS.
  function sizedForLink(bytes, ms) {
    const want = bytes / Math.max(ms, 1) * TARGET_MS;
    return Math.floor(Math.min(want, 4 * Math.max(bytes, 1)));
  }
  const clamp = (x, lo, hi) => Math.min(Math.max(x, lo), hi);
  // A sync's first requests, sized from the throughput the last sync kept (meta `link`).
  async function sizeFromLastSync() {
    const link = (await S.meta('link')) || {};
    sizes.batchEdits = BATCH_EDITS;
    sizes.batchChars = link.push > 0 ? clamp(Math.floor(link.push * TARGET_MS), 1, BATCH_CHARS) : 0;
    sizes.pullBytes = link.pull > 0 ? clamp(Math.floor(link.pull * TARGET_MS), MIN_PULL_BYTES, MAX_PULL_BYTES) : PULL_BYTES;
  }
  // Keeps a measured throughput (bytes per ms) of `way` ('push' or 'pull'): a full request's replaces the
  // kept one, a smaller one's only raises it (with none kept: above `usual`, the throughput at which the
  // first request would have its size without one).
  async function keepThroughput(way, rate, full, usual) {
    if (!(rate > 0) || !Number.isFinite(rate)) return;
    await S.tx(['meta'], 'readwrite', async (s) => {
      const link = { ...(((await S.get(s.meta, 'link')) || {}).v || {}) };
      if (!full && rate <= (link[way] || usual)) return;
      link[way] = Math.round(rate * 1000) / 1000;
      s.meta.put({ k: 'link', v: link });
    });
  }

  class SyncError extends Error {
    constructor(kind, message) { super(message); this.kind = kind; }
  }

  // The number of edits not yet acknowledged (the status bar, the X-Akt-Client header of every request):
  // two counts (all edits, the acknowledged ones by their index), no edit is read.
  async function unsyncedCount() {
    return S.tx(['edits'], 'readonly', async (s) => (await S.wrap(s.edits.count())) - (await S.wrap(s.edits.index('acked').count())));
  }

  // Retries for a time budget (PROTOCOL §1.1, as the aktsync client's SyncClient::send): a network failure
  // (also an answer cut in transit), 5xx or 429 is retried after capped exponential backoff with "equal
  // jitter" (250 ms doubling to 8 s; each wait is between half of that and all of it), for as long as the
  // failures of that request last less than RETRY_FOR; a success (and a cut page that kept records, below)
  // starts the budget afresh. Retry-After (seconds) on a retried answer (429, 503) lengthens the wait, up to
  // BACKOFF_MAX. While it waits the status says so (progress 'waiting'); the wait ends early when the
  // browser says the network is back. The meta key 'retry_ms' sets another RETRY_FOR (the tests' short budget).
  const BACKOFF_FIRST = 250, BACKOFF_MAX = 8000, RETRY_FOR = 10 * 60 * 1000;
  function backoff(attempt) {
    let d = BACKOFF_FIRST;
    for (let i = 1; i < attempt && d < BACKOFF_MAX; i++) d *= 2;
    d = Math.min(d, BACKOFF_MAX);
    const half = Math.floor(d / 2);
    return half + Math.floor(Math.random() * (half + 1));
  }
  function pause(ms) {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); window.removeEventListener('online', done); resolve(); };
      const timer = setTimeout(done, ms);
      window.addEventListener('online', done);
    });
  }
  let onWait = () => {};  // set by sync(): onWait({attempt, wait, status}) before a wait, onWait(null) after a success

  // What arrived of a change-feed page (PROTOCOL §5.1, resuming a cut page), scanned as it streams, as the
  // aktsync client's whole_entries() (clients/feed_stream.cpp) scans a cut answer: the page's `epoch` (the
  // server writes it before `changes`; hex digits, never escaped) and the extent of each entry of `changes`
  // whose closing brace arrived (brace and bracket depth counted outside strings, the character after a
  // backslash skipped). The state carries over between pieces, so an escape or a string split between two
  // pieces is read right. Anything after the last whole entry is ignored.
  class FeedScanner {
    constructor() {
      this.text = '';
      this.epoch = '';
      this.ends = [];  // [start, end) of each whole entry in `text`
      this.state = 'head';  // 'head' (before "changes":[), 'list', 'entry', 'end'
      this.pos = 0;
      this.depth = 0;
      this.inString = false;
      this.start = 0;
    }
    push(piece) {
      this.text += piece;
      const s = this.text;
      if (this.state === 'head') {
        const at = s.indexOf('"changes":[');
        if (at < 0) return;
        const m = /"epoch":"([^"]*)"/.exec(s.slice(0, at));
        this.epoch = m ? m[1] : '';
        this.pos = at + '"changes":['.length;
        this.state = 'list';
      }
      let i = this.pos;
      const n = s.length;
      while (i < n && this.state !== 'end') {
        const c = s.charCodeAt(i);
        if (this.state === 'list') {
          if (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) { i++; continue; }  // , and blanks
          if (c !== 0x7b) { this.state = 'end'; break; }  // ']' (the list ended) or anything unexpected
          this.state = 'entry';
          this.start = i;
          this.depth = 0;
          this.inString = false;
        }
        if (this.inString) {
          if (c === 0x5c) { if (i + 1 >= n) break; i += 2; continue; }  // a backslash: wait for what it escapes
          if (c === 0x22) this.inString = false;
          i++;
          continue;
        }
        if (c === 0x22) this.inString = true;
        else if (c === 0x7b || c === 0x5b) this.depth++;
        else if ((c === 0x7d || c === 0x5d) && --this.depth === 0) {
          this.ends.push([this.start, i + 1]);
          this.state = 'list';
        }
        i++;
      }
      this.pos = i;
    }
    // The text of each whole entry, in order.
    entries() { return this.ends.map(([a, b]) => this.text.slice(a, b)); }
  }

  // An answer's body as text, read as it streams: `moved()` is called at each piece (the stall deadline
  // starts again), and with a scanner (a feed page) each decoded piece goes to the scanner first, so that
  // what arrived whole is known if the answer is cut. Throws when it is cut (or aborted at a deadline).
  async function readBody(r, scan, moved) {
    if (!r.body || typeof r.body.getReader !== 'function' || typeof TextDecoder !== 'function') return r.text();
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      moved();
      const piece = decoder.decode(value, { stream: true });
      if (scan) scan.push(piece);
      else text += piece;
    }
    const rest = decoder.decode();
    if (!scan) return text + rest;
    scan.push(rest);
    return scan.text;
  }

  // Deadlines (PROTOCOL §1.1, as the aktsync client's --timeout-ms and --stall-timeout): an answer's head
  // must come within STALL_MS of the request's last byte, and once its body moves, no pause between two
  // pieces may last STALL_MS; so a silent link (connections taken, nothing answered) ends each attempt, and
  // the attempt is retried like any network failure (a cut page keeps what arrived). fetch does not tell how
  // far an upload is, so the head's deadline also allows the body's bytes at SLOWEST_LINK bytes/s (16 kbit/s,
  // slower than any link the app sizes its batches for). The meta key 'stall_ms' sets another STALL_MS.
  const STALL_MS = 30000, SLOWEST_LINK = 2000;
  function bodyBytes(b) {
    if (b === undefined || b === null) return 0;
    if (typeof b === 'string') return b.length;
    return b.byteLength || b.size || 0;
  }

  // One request with retries (above): the same bytes each time, unless `opts.beforeRetry(req, cut)` changes
  // the request (`req` {method, path, body, extra}) before a retry: a push whose answer was lost asks for the
  // stored answer instead (§4.3); a cut feed page resumes after what arrived whole (`cut`, the page's
  // FeedScanner, when `opts.stream` asked to scan it; beforeRetry answers true when it kept records, which
  // is progress: the budget starts afresh); a photo chunk asks the server's offset and sends from there
  // (photos.js; beforeRetry may also answer {answer: x}: no retry, send() returns x). Every other answer is
  // returned as {status, data, text, headers}. Every request of a sync round goes through here: pushes,
  // feed pages, forms and the photo uploads (photos.js), so each has the same budget and deadlines.
  let retries = 0;  // retries made in this page's life: a request that needed one measures no throughput
  async function send(method, path, body, device, extra = {}, opts = {}) {
    const req = { method, path, body, extra };
    const stall = (await S.meta('stall_ms')) || STALL_MS;
    const retryFor = (await S.meta('retry_ms')) || RETRY_FOR;
    let first = Date.now(), waited = 0;
    for (let attempt = 1; ; attempt++) {
      let r = null, text = null, cut = null;
      const scan = opts.stream ? new FeedScanner() : null;
      const abort = typeof AbortController === 'function' ? new AbortController() : null;
      let timer = null;
      const arm = (ms) => { if (abort) { clearTimeout(timer); timer = setTimeout(() => abort.abort(), ms); } };
      try {
        const headers = { Authorization: 'Bearer ' + device.token,
                          'X-Akt-Client': `app=${APP}; unsynced=${await unsyncedCount()}`, ...req.extra };
        if (req.body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
        arm(stall + Math.ceil(1000 * bodyBytes(req.body) / SLOWEST_LINK));
        r = await fetch(req.path, { method: req.method, headers, body: req.body, cache: 'no-store',
                                    signal: abort ? abort.signal : undefined });
      } catch (e) {
        r = null;  // no answer: a network failure, or the head's deadline passed
      }
      // 507: the server's storage is full. Retrying soon does not help; the round ends and says so.
      if (r && r.status === 507) { clearTimeout(timer); throw new SyncError('server_full', 'the server\u2019s storage is full'); }
      if (r && r.status < 500 && r.status !== 429) {
        try {
          arm(stall);
          text = await readBody(r, r.status === 200 ? scan : null, () => arm(stall));
        } catch (e) {
          r = null;  // the answer was cut in transit (or stalled past the deadline): a network failure, with what arrived of it
          cut = scan;
        }
      }
      clearTimeout(timer);
      if (r && text !== null) {
        let data = null;
        try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
        noteServerDate(r.headers.get('Date'));
        if (attempt > 1) onWait(null);
        return { status: r.status, data, text, headers: r.headers };
      }
      let wait = backoff(attempt);
      const ra = r ? Number(r.headers.get('Retry-After')) : NaN;
      if (Number.isInteger(ra) && ra > 0) wait = Math.max(wait, Math.min(BACKOFF_MAX, ra * 1000));
      const spent = Math.max(waited, Date.now() - first);
      if (spent + wait > retryFor) {
        throw new SyncError('network', r ? `the server answered ${r.status}` : 'the server could not be reached');
      }
      onWait({ attempt, wait, status: r ? r.status : 0 });
      await pause(wait);
      waited += wait;
      retries++;
      const next = opts.beforeRetry ? await opts.beforeRetry(req, cut) : false;
      if (next && typeof next === 'object') return next.answer;
      if (next) { first = Date.now(); waited = 0; }
    }
  }

  // today() in the form rules is the server's calendar day (Europe/Belgrade); the tablet keeps the offset
  // between its clock and the server's last Date header, so rules see the server's day offline too.
  function noteServerDate(header) {
    const t = header ? Date.parse(header) : NaN;
    if (!Number.isNaN(t)) S.setMeta({ clock_offset: t - Date.now() }).catch(() => {});
  }
  async function serverToday() {
    const offset = (await S.meta('clock_offset')) || 0;
    const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Belgrade', year: 'numeric', month: '2-digit', day: '2-digit' })
      .format(new Date(Date.now() + offset));
    return parts;  // en-CA formats as YYYY-MM-DD
  }

  function check(r, what) {
    if (r.status === 401) throw new SyncError('unauthenticated', `${what}: ${r.data && r.data.detail || 'unauthenticated'}`);
    if (r.status >= 400) throw new SyncError('refused', `${what}: ${r.status} ${r.data && r.data.code || ''}`);
  }

  // The batch to send: one already stored (not yet acknowledged) first, else a new one formed from the
  // queued edits in counter order and stored, with its exact request text, before it is first sent.
  // A batch takes `limit.edits` edits, or (limit.chars) as many as fit in that many characters of text, at
  // least MIN_BATCH_EDITS and at most MAX_BATCH_EDITS; never over BATCH_CHARS (one edit at least). `full`:
  // the size stopped it (edits were left queued).
  async function nextBatch(limit) {
    return S.tx(['meta', 'edits', 'batches'], 'readwrite', async (s) => {
      const stored = await S.all(s.batches);
      // A stored batch was formed in an earlier round (or session): its answer may be on the server.
      if (stored.length) return { ...stored.sort((a, b) => a.seq - b.seq)[0], formed_before: true };
      // The queued edits in counter order (the `queued` index), only as many as the batch takes.
      let chars = 0, full = false;
      const most = limit.chars ? MAX_BATCH_EDITS : limit.edits;
      const budget = limit.chars ? limit.chars : BATCH_CHARS;
      const queued = await S.take(s.edits.index('queued'), IDBKeyRange.only(1), 'next', most + 1, (e, got) => {
        const over = chars + e.text.length > (got.length < MIN_BATCH_EDITS ? BATCH_CHARS : budget);
        if (got.length >= most || (got.length && over)) { full = true; return null; }
        chars += e.text.length + 1;
        return true;
      });
      if (!queued.length) return null;
      const nonce = (await S.get(s.meta, 'nonce')).v;
      const seq = (((await S.get(s.meta, 'batch_seq')) || { v: 0 }).v) + 1;
      s.meta.put({ k: 'batch_seq', v: seq });
      const batch_id = `app-${nonce}-${seq}`;
      // A lean answer (PROTOCOL §4.2): results name no record unless rejected; acknowledge() reads them by index.
      const request = `{"answer":"lean","batch_id":${JSON.stringify(batch_id)},"edits":[${queued.map((e) => e.text).join(',')}],"v":1}`;
      const b = { batch_id, seq, request, dots: queued.map((e) => e.n) };
      s.batches.put(b);
      for (const e of queued) S.putEdit(s, { ...e, batch_id });
      return { ...b, full };
    });
  }

  // Applies a push answer: acknowledged edits wait for the feed to show them; rejected ones move to
  // `rejected` with the server's per-field reasons (and the body, so the enumerator can correct it).
  async function acknowledge(batch, answer) {
    return S.tx(S.withSummaries(['batches']), 'readwrite', async (s) => {
      const sum = { pushed: 0, rejected: 0, conflicts: 0 };
      const touched = [];
      const results = answer.results || [];
      const stored = await Promise.all(batch.dots.map((n) => S.get(s.edits, n)));  // read in one go
      for (let i = 0; i < batch.dots.length; i++) {
        const n = batch.dots[i];
        const res = results[i] || {};
        const e = stored[i];
        if (!e) continue;
        sum.pushed++;
        touched.push(e.record);
        if (res.outcome === 'rejected') {
          sum.rejected++;
          const err = res.error || {};
          s.rejected.add({ record: e.record, n, form: e.form, form_version: e.form_version, scope: e.scope,
                           code: err.code || 'rejected', detail: err.detail || '', fields: err.fields || [],
                           body: e.body, deleted: e.deleted, at: Date.now() });
          s.edits.delete(n);
        } else {
          if (res.outcome === 'merged' && (res.conflicts || []).length) sum.conflicts++;
          // `acked_seq`: the record's feed position after this edit (§4.2), its seq if the feed leaves the
          // record out (skip_own, §5.1: takeOwnLeftOut). Edits acknowledged by app versions before it lack it.
          const acked = { ...e, acked_epoch: answer.epoch || 'acked', outcome: res.outcome };
          if (Number.isInteger(res.seq)) acked.acked_seq = res.seq;
          S.putEdit(s, acked);
        }
      }
      s.batches.delete(batch.batch_id);
      await S.summarize(s, touched);
      return sum;
    });
  }

  // A batch refused whole (400 invalid_batch, 413): its edits can never be sent as they are; they move to
  // `rejected` with the problem, so nothing disappears without a trace.
  async function refuseBatch(batch, r) {
    return S.tx(S.withSummaries(['batches']), 'readwrite', async (s) => {
      const touched = [];
      for (const n of batch.dots) {
        const e = await S.get(s.edits, n);
        if (!e) continue;
        touched.push(e.record);
        s.rejected.add({ record: e.record, n, form: e.form, form_version: e.form_version, scope: e.scope,
                         code: (r.data && r.data.code) || `http_${r.status}`, detail: (r.data && r.data.detail) || '',
                         fields: [], body: e.body, deleted: e.deleted, at: Date.now() });
        s.edits.delete(n);
      }
      s.batches.delete(batch.batch_id);
      await S.summarize(s, touched);
    });
  }

  // The batch text gzipped (CompressionStream), or null when not worth it (under 1 KiB), not available
  // in this browser, or refused by the server earlier. A batch of two records shrinks about 3 times, larger
  // batches more: on a 2G link the push is most of the sync's time.
  let gzipRefused = false;
  async function gzipped(text) {
    if (gzipRefused || text.length < 1024 || typeof CompressionStream !== 'function') return null;
    try {
      const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch (_) {
      return null;
    }
  }

  // Pushes the outbox, one stored batch at a time. A batch whose answer may be on the server (its POST
  // failed on the network, 5xx or 429, or it was formed in an earlier round or session: the tab may have
  // closed mid-push) first asks for the stored answer, GET /v1/push/{batch_id} (§4.3, as the aktsync
  // client): 200 is that answer, applied as if the push had answered; 404 (never committed, or a server
  // before this endpoint) sends the batch, the same id and bytes; if that send fails on the network too,
  // the answer is asked again, and after a second 404 the batch is sent once more plainly.
  async function push(device, progress, sum) {
    for (;;) {
      const batch = await nextBatch(sizes.batchChars ? { chars: sizes.batchChars } : { edits: sizes.batchEdits });
      if (!batch) return;
      progress('pushing', batch.dots.length);
      const started = performance.now(), retriesBefore = retries;
      // The per-field messages of a refusal in the interview language (§4.4). The batch's text is the same
      // on every try; on the wire it is gzipped (§1), which the server undoes before it compares a replay.
      const headers = { 'Accept-Language': (await S.meta('lang')) || 'en' };
      const answerPath = '/v1/push/' + encodeURIComponent(batch.batch_id);
      let last = batch.formed_before ? 'GET' : 'POST';  // the method of the request that answered
      const askFirst = { beforeRetry: async (req) => {
        if (req.method === 'POST') Object.assign(req, { method: 'GET', path: answerPath, body: undefined, extra: headers });
        last = req.method;
      } };
      const upload = async (opts) => {
        last = 'POST';
        const packed = await gzipped(batch.request);
        let r = packed ? await send('POST', '/v1/push', packed, device, { ...headers, 'Content-Encoding': 'gzip' }, opts) : null;
        if (r && last === 'POST' && (r.status === 415 || (r.status === 400 && r.data && r.data.code === 'invalid_encoding'))) {
          gzipRefused = true;  // a server (or proxy) that does not take gzip: plain text from now on
          r = null;
        }
        if (!r) {
          last = 'POST';
          r = await send('POST', '/v1/push', batch.request, device, headers, opts);
        }
        return r;
      };
      const notFound = (r) => last === 'GET' && (r.status === 404 || r.status === 405);
      let r = last === 'GET' ? await send('GET', answerPath, undefined, device, headers, askFirst) : await upload(askFirst);
      if (notFound(r)) r = await upload(askFirst);
      if (last === 'GET' && r.status === 200) sum.answers_fetched = (sum.answers_fetched || 0) + 1;
      if (notFound(r)) r = await upload({});  // lost again after the stored answer said "never arrived"
      if (r.status === 200 && r.data && Array.isArray(r.data.results)) {
        if (last === 'POST' && retries === retriesBefore && !batch.formed_before && batch.dots.length) {
          // The next batch aims at TARGET_MS at the throughput this one had.
          const moved = batch.request.length + r.text.length, took = performance.now() - started;
          sizes.batchChars = clamp(sizedForLink(moved, took), 1, BATCH_CHARS);
          await keepThroughput('push', moved / Math.max(took, 1), !!batch.full, BATCH_EDITS * moved / batch.dots.length / TARGET_MS);
        }
        const a = await acknowledge(batch, r.data);
        sum.pushed += a.pushed;
        sum.rejected += a.rejected;
        const epoch = await S.meta('epoch');
        if (epoch && r.data.epoch && r.data.epoch !== epoch) await epochReset(r.data.epoch);
        continue;
      }
      if (r.status === 400 || r.status === 413) { await refuseBatch(batch, r); continue; }
      if (r.status === 409 && r.data && r.data.code === 'batch_id_reused') {
        throw new SyncError('refused', 'this tablet\u2019s storage was copied or restored: batch ids were reused');
      }
      check(r, 'push');
      throw new SyncError('refused', `push: unexpected answer ${r.status}`);
    }
  }

  // A new server epoch (§5.3): the cursor goes and every edit not acknowledged under the new epoch is
  // queued again (a replay is answered `duplicate`); stored batches are formed anew from the same edit texts.
  // Kept edits (acknowledged under another epoch, then covered by the feed) are queued again too: the
  // restored server may not have them.
  async function epochReset(newEpoch) {
    await S.tx(S.withSummaries(['batches', 'kept']), 'readwrite', async (s) => {
      const touched = [];
      for (const e of await S.all(s.edits)) {
        if (e.acked_epoch !== newEpoch) { S.putEdit(s, { ...e, batch_id: null, acked_epoch: null }); touched.push(e.record); }
      }
      for (const k of await S.all(s.kept)) {
        if (k.acked_epoch === newEpoch) continue;
        const e = { ...k, batch_id: null, acked_epoch: null };
        delete e.kept_since;
        S.putEdit(s, e);
        s.kept.delete(k.n);
        touched.push(e.record);
      }
      await S.summarize(s, touched);
      s.batches.clear();
      s.meta.put({ k: 'cursor', v: '' });
      s.meta.put({ k: 'epoch', v: newEpoch });
      s.meta.put({ k: 'reset_pending', v: true });  // no skip_own until a pull from the start completes
    });
  }

  // The user's scope changed (§5.4): pulled records go and acknowledged edits are kept (the server has
  // them); edits never acknowledged stay and are pushed.
  async function scopeReset() {
    await S.tx(S.withSummaries(['kept']), 'readwrite', async (s) => {
      s.records.clear();
      const left = new Set();
      for (const e of await S.all(s.edits)) if (e.acked_epoch) S.keep(s, e); else left.add(e.record);
      for (const d of await S.wrap(s.drafts.getAllKeys())) left.add(d);
      for (const r of await S.all(s.rejected)) left.add(r.record);
      S.clearSummaries(s);
      await S.summarize(s, [...left]);
      s.meta.put({ k: 'cursor', v: '' });
      // The acknowledged edits moved to `kept`: the feed must show their records again (no skip_own).
      s.meta.put({ k: 'reset_pending', v: true });
    });
  }

  // The feed left out (skip_own, PROTOCOL §5.1) every record whose one live version is this tablet's edit
  // exactly as pushed, with nothing changed since. At the end of a pull that asked it (inside the
  // transaction of its last page), an acknowledged edit still in `edits` whose record the last page did not
  // show is such a record: a feed entry of a record that holds an acknowledged edit covers it (applied,
  // merged, superseded or duplicate) and moves it to `kept` (applyPage), earlier pages did so for theirs.
  // Its latest acknowledged edit becomes the record's server version as the feed would have given it
  // (clock = its context plus its dot, `seq` from its push answer, no conflict flags; server_time unknown:
  // 0), and its acknowledged edits up to it move to `kept`, as the aktsync client does (take_own_left_out,
  // schema/store/tablet_outbox.cpp). What else the tablet holds of the record stays as it is: later edits
  // not yet acknowledged (still pushed, on top of this version), a draft, refusals. A rejected edit never
  // is in `edits`, and a record in conflict or with a deletion pending on the server is never left out.
  // Answers the ids of the records taken, each with its new state in `known`.
  async function takeOwnLeftOut(s, actor, shown, known) {
    const latest = new Map();  // record id -> its latest acknowledged edit
    const acked = await S.all(s.edits, 'acked');
    for (const e of acked) {
      if (shown.has(e.record)) continue;
      const l = latest.get(e.record);
      if (!l || e.n > l.n) latest.set(e.record, e);
    }
    if (!latest.size) return [];
    const had = await Promise.all([...latest.keys()].map((id) => S.get(s.records, id)));
    [...latest.values()].forEach((e, i) => {
      const rec = had[i];
      // A record the tablet holds as of the edit's seq or later was shown since the edit: not left out.
      if (rec && Number.isInteger(e.acked_seq) && rec.seq >= e.acked_seq) { latest.delete(e.record); return; }
      const v = { dot: { actor, n: e.n }, clock: S.join(e.context || {}, { [actor]: e.n }), body: e.deleted ? {} : e.body,
                  deleted: !!e.deleted, form_version: e.form_version, device_time: e.device_time, server_time: 0 };
      const r = { record: e.record, form: e.form, form_version: e.form_version, scope: e.scope,
                  seq: Math.max((rec && rec.seq) || 0, Number.isInteger(e.acked_seq) ? e.acked_seq : 0),
                  deleted: !!e.deleted, conflict: false, conflicted: [], deletion_pending: false, live: [v] };
      s.records.put(r);
      known.set(e.record, r);
    });
    for (const e of acked) {
      const l = latest.get(e.record);
      if (l && e.n <= l.n) S.keep(s, e);
    }
    return [...latest.keys()];
  }

  // One feed page, applied with its cursor in one transaction. Acknowledged edits a pulled version covers
  // move to `kept` (the server's version holds them now; store.js says why they are kept).
  // Entries kept from a cut page (page.next undefined) are applied the same way, with the stored cursor
  // unchanged: the cursor only ever moves to a `next` the server gave, after everything before it is stored.
  // The last page of a pull (`more` false) ends a reset (the flag reset_pending: the feed was read again
  // from its start) and, when it asked skip_own (`ownLeftOut`; then so did the pull's pages before it:
  // neither echo nor reset_pending goes back within a pull), takes the records the feed left out
  // (takeOwnLeftOut). Answers the entries applied; `page.taken` is set to the records taken.
  async function applyPage(page, actor, ownLeftOut = false) {
    return S.tx(S.withSummaries(['kept']), 'readwrite', async (s) => {
      const changes = page.changes || [];
      // The device's own edits of the page's records only (the `record` index), read in one go; only for the
      // records that have edits (their ids from the index's keys): most pulled records have none.
      const withEdits = changes.length > 8 ? (await S.local(s)).edits : null;
      const mine = await Promise.all(changes.map((c) => (!withEdits || withEdits.has(c.record) ? S.all(s.edits, 'record', c.record) : [])));
      const gone = new Set();
      const known = new Map();
      changes.forEach((c, i) => {
        if (c.out_of_scope) {
          s.records.delete(c.record);
          known.set(c.record, undefined);
          for (const e of mine[i]) if (e.acked_epoch && !gone.has(e.n)) { S.keep(s, e); gone.add(e.n); }
          return;
        }
        s.records.put(c);
        known.set(c.record, c);
        for (const e of mine[i]) {
          if (!e.acked_epoch || gone.has(e.n)) continue;
          if ((c.live || []).some((v) => (v.clock && v.clock[actor] || 0) >= e.n)) { S.keep(s, e); gone.add(e.n); }
        }
      });
      const complete = page.next !== undefined && !page.more;
      page.taken = complete && ownLeftOut ? await takeOwnLeftOut(s, actor, new Set(changes.map((c) => c.record)), known) : [];
      await S.summarize(s, [...known.keys()], known);
      if (complete) s.meta.delete('reset_pending');
      if (page.next !== undefined) s.meta.put({ k: 'cursor', v: page.next });
      s.meta.put({ k: 'epoch', v: page.epoch });
      return changes.length;
    });
  }

  // The lean feed (PROTOCOL §5.1, compact=2) leaves out every member a reader restores exactly; the tablet
  // stores records whole, so they are restored as the page arrives (the compact feed's `parents` and
  // `changed` of pulled versions are not read by the app).
  function restore(c) {
    if (!c || c.out_of_scope || !Array.isArray(c.live)) return;
    if (c.deleted === undefined) c.deleted = false;
    if (c.conflict === undefined) c.conflict = false;
    if (c.deletion_pending === undefined) c.deletion_pending = false;
    if (c.conflicted === undefined) c.conflicted = [];
    for (const v of c.live) {
      if (v.clock === undefined && v.dot) v.clock = { [v.dot.actor]: v.dot.n };
      if (v.deleted === undefined) v.deleted = false;
      if (v.form_version === undefined) v.form_version = c.form_version;
    }
  }

  const hashing = () => typeof crypto !== 'undefined' && !!crypto.subtle && typeof TextEncoder === 'function';
  async function hash16(body) {
    const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(S.canonical(body)));
    return Array.from(new Uint8Array(d).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // No echo (PROTOCOL §5.1, echo=0): the device's own versions come with `body_hash` instead of `body`. The
  // body is the tablet's own copy (its edit, still in `edits` or moved to `kept`, or the version as last
  // pulled) when its SHA-256 starts with body_hash. A record whose copy is missing or differs (the server
  // stored the edit otherwise, §4.4, §11.6) is read whole (GET /v1/records/{id}); when a page holds many of
  // them (more than 16, or more than 2 and over half of the records with a hash) the answer is false: the
  // page is asked again with every body, one request rather than one per record (as the aktsync client).
  async function ownBodies(changes, device) {
    const { unmatched, hashed } = await matchOwnBodies(changes, device);
    if (unmatched.size > 16 || (unmatched.size > 2 && 2 * unmatched.size > hashed.size)) return false;
    for (const id of unmatched) {
      const i = changes.findIndex((c) => c && c.record === id);
      const r = await send('GET', '/v1/records/' + encodeURIComponent(id), undefined, device);
      if (r.status === 404) { changes.splice(i, 1); continue; }  // gone from this scope since: a later page says so
      check(r, 'record ' + id);
      changes[i] = r.data;
    }
    return true;
  }

  // Gives each own version of `changes` with `body_hash` its body from the tablet's copy where one matches;
  // answers the records left unmatched and those with a hash (sets of ids).
  async function matchOwnBodies(changes, device) {
    const unmatched = new Set(), hashed = new Set();
    const wanted = [];
    for (const c of changes) {
      if (!c || c.out_of_scope || !Array.isArray(c.live)) continue;
      for (const v of c.live) if (v && v.body_hash !== undefined) wanted.push({ c, v });
    }
    if (!wanted.length) return { unmatched, hashed };
    // The tablet's copies of each version: its edit of that dot, and the version as pulled before.
    const copies = await S.tx(['edits', 'kept', 'records'], 'readonly', (s) => Promise.all(wanted.map(async ({ c, v }) => {
      if (!v.dot || v.dot.actor !== device.actor || !Number.isInteger(v.dot.n)) return [];
      const out = [];
      const e = (await S.get(s.edits, v.dot.n)) || (await S.get(s.kept, v.dot.n));
      if (e && e.record === c.record && e.body) out.push(e.body);
      const rec = await S.get(s.records, c.record);
      const had = rec && (rec.live || []).find((x) => x.dot && x.dot.actor === v.dot.actor && x.dot.n === v.dot.n && x.body);
      if (had) out.push(had.body);
      return out;
    })));
    for (let i = 0; i < wanted.length; i++) {
      const { c, v } = wanted[i];
      hashed.add(c.record);
      let body = null;
      for (const copy of copies[i]) if (!body && typeof v.body_hash === 'string' && (await hash16(copy)) === v.body_hash) body = copy;
      if (body) {
        v.body = body;
        delete v.body_hash;
      } else {
        unmatched.add(c.record);
      }
    }
    return { unmatched, hashed };
  }

  // A feed answer cut in transit (§5.1, resuming a cut page, as the aktsync client's keep_whole_entries):
  // the entries that arrived whole after `after`, in order, are stored durably, with the stored cursor
  // unchanged, up to the first one that cannot be stored as it is (not JSON, no `seq`, or an own version
  // whose body this tablet does not hold: the resumed page brings it again). Answers the `seq` of the last
  // entry stored (the next request's `after`), or `after` when none was.
  async function keepWholeEntries(scan, after, device, sum) {
    if (!scan || !scan.epoch) return after;
    const entries = [];
    for (const text of scan.entries()) {
      let c = null;
      try { c = JSON.parse(text); } catch (_) { break; }
      if (!c || typeof c !== 'object' || !Number.isInteger(c.seq) || c.seq <= after) break;
      restore(c);
      entries.push(c);
    }
    if (!entries.length) return after;
    if (hashing()) {
      const { unmatched } = await matchOwnBodies(entries, device);
      const stop = entries.findIndex((c) => unmatched.has(c.record));
      if (stop >= 0) entries.length = stop;
    } else {
      const stop = entries.findIndex((c) => Array.isArray(c.live) && c.live.some((v) => v && v.body_hash !== undefined));
      if (stop >= 0) entries.length = stop;
    }
    if (!entries.length) return after;
    sum.pulled += await applyPage({ changes: entries, epoch: scan.epoch }, device.actor);
    sum.resumed = (sum.resumed || 0) + 1;
    return entries[entries.length - 1].seq;
  }

  // The feed level asked: 2 (the lean feed) until a server answers 400 invalid_compact (one before it,
  // §5.1); then 1 for as long as the app runs.
  let compactLevel = 2;

  // Pulls the feed page by page. A page whose answer is cut in transit keeps what arrived whole
  // (keepWholeEntries) and is asked again with `after` = the last entry kept: only the rest comes (§5.1).
  // Without echo, pages also ask to leave out the records whose one live version is this tablet's own edit
  // as pushed (skip_own=1, §5.1), so a tablet that pushed 1,000 records downloads none of them back; the
  // last page takes them (applyPage). Not while a reset waits for the feed to show every record again
  // (reset_pending: after a scope change the acknowledged edits are in `kept`, where the last page does not
  // look), nor once a page was asked again with every body (echo) in this pull. A server before skip_own
  // ignores it and sends every record as echo=0 does: each entry covers its acknowledged edits, and the
  // last page finds none left.
  async function pull(device, progress, sum) {
    let echo = !hashing();  // asked after a page with many own bodies this tablet could not match
    let after = 0;  // the page resumes after this entry's seq (0: from its start)
    for (;;) {
      progress('pulling');
      const cursor = (await S.meta('cursor')) || '';
      const skipOwn = !echo && !(await S.meta('reset_pending'));
      const target = () => `/v1/changes?since=${encodeURIComponent(cursor)}&limit=${PULL_LIMIT}&max_bytes=${sizes.pullBytes}` +
        `&compact=${compactLevel}${echo ? '' : '&echo=0'}${skipOwn ? '&skip_own=1' : ''}${after > 0 ? '&after=' + after : ''}`;
      const resume = { stream: true, beforeRetry: async (req, cut) => {
        const kept = await keepWholeEntries(cut, after, device, sum);
        const progressed = kept > after;
        after = kept;
        req.path = target();
        if (progressed) progress('pulling');
        return progressed;
      } };
      const started = performance.now(), retriesBefore = retries;
      const r = await send('GET', target(), undefined, device, {}, resume);
      const elapsed = performance.now() - started;
      if (r.status === 400 && r.data && r.data.code === 'invalid_compact' && compactLevel > 1) { compactLevel = 1; continue; }
      if (r.status === 410 && r.data && r.data.code === 'epoch_changed') {
        const h = await fetch('/healthz', { cache: 'no-store' }).then((x) => x.json()).catch(() => null);
        await epochReset(h && h.epoch ? h.epoch : '');
        sum.epoch_reset = true;
        return 'again';
      }
      if (r.status === 410 && r.data && r.data.code === 'scope_changed') {
        await scopeReset();
        sum.scope_reset = true;
        return 'again';
      }
      if (r.status === 400 && r.data && r.data.code === 'invalid_cursor') { await S.setMeta({ cursor: '' }); after = 0; continue; }
      check(r, 'pull');
      const page = r.data || {};
      const changes = Array.isArray(page.changes) ? page.changes : [];
      for (const c of changes) restore(c);
      if (!echo && !(await ownBodies(changes, device))) { echo = true; sum.pages_asked_whole = (sum.pages_asked_whole || 0) + 1; continue; }
      page.changes = changes;
      if (retries === retriesBefore && after === 0 && r.text) {
        // A full page measured the link: the next aims at TARGET_MS of it. The last page only raises the
        // throughput kept for the next sync.
        if (page.more) sizes.pullBytes = clamp(sizedForLink(r.text.length, elapsed), MIN_PULL_BYTES, MAX_PULL_BYTES);
        await keepThroughput('pull', r.text.length / Math.max(elapsed, 1), !!page.more, PULL_BYTES / TARGET_MS);
      }
      sum.pulled += await applyPage(page, device.actor, skipOwn);
      sum.own_left_out = (sum.own_left_out || 0) + page.taken.length;
      after = 0;
      if (!page.more) return 'done';
    }
  }

  // The forms of the user's scope (§10.1, §10.2): every published version not yet on the tablet.
  // The list and /v1/me are asked at once (one round trip for both, on two connections).
  async function fetchForms(device) {
    const [r, me] = await Promise.all([send('GET', '/v1/forms', undefined, device), send('GET', '/v1/me', undefined, device)]);
    check(r, 'forms');
    const have = new Set(await S.tx(['forms'], 'readonly', (s) => S.all(s.forms)).then((l) => l.map((f) => f.key)));
    for (const f of r.data.forms || []) {
      const key = `${f.form_id}/${f.version}`;
      if (have.has(key)) continue;
      const d = await send('GET', `/v1/forms/${encodeURIComponent(f.form_id)}/${f.version}`, undefined, device);
      check(d, 'form ' + key);
      await S.tx(['forms'], 'readwrite', (s) => s.forms.put({ key, form_id: f.form_id, version: f.version, title: f.title, definition: d.text }));
    }
    check(me, 'me');
    await S.setMeta({ me: me.data });
  }

  async function uploadPhotos(device, progress, sum) {
    try {
      await P.upload(device, (done, total, bytes, size) => progress('photos', { done, total, bytes, size }), sum);
    } catch (e) {
      if (e instanceof P.UploadError) throw new SyncError(e.kind, e.message);
      throw e;
    }
  }

  let running = null;
  // One sync round (push, pull; after a reset, push and pull again). Concurrent calls share the round.
  // `progress(what, n)`: 'pushing' (n edits), 'photos', 'pulling', and 'waiting' ({attempt, wait, status})
  // while a failed request waits for its retry; after the retry succeeds the step before is reported again.
  function sync(report = () => {}) {
    if (running) return running;
    let step = null;
    const progress = (what, n) => { step = [what, n]; report(what, n); };
    onWait = (w) => { if (w) report('waiting', w); else if (step) report(...step); };
    running = (async () => {
      const device = await S.meta('device');
      if (!device) throw new SyncError('refused', 'not enrolled');
      await sizeFromLastSync();
      const sum = { pushed: 0, rejected: 0, pulled: 0, epoch_reset: false, scope_reset: false,
                    photos_sent: 0, photos_failed: 0, photo_bytes: 0 };
      for (let round = 0; round < 3; round++) {
        await push(device, progress, sum);
        await uploadPhotos(device, progress, sum);
        if ((await pull(device, progress, sum)) === 'done') break;
      }
      await push(device, progress, sum);  // edits saved while pulling
      await uploadPhotos(device, progress, sum);
      await P.noteRound();
      await P.collect();
      await fetchForms(device);
      const now = Date.now();
      await S.setMeta({ last_sync: now });
      await S.pruneKept(now);
      return sum;
    })().finally(() => { running = null; onWait = () => {}; });
    return running;
  }

  // POST /v1/enrol (PROTOCOL §8.4) with a fresh actor id; stores the device in the same step.
  async function enrol(code) {
    const existing = await S.meta('device');
    const actor = existing ? existing.actor : S.uuid4();
    let r;
    try {
      r = await fetch('/v1/enrol', { method: 'POST', headers: { 'Content-Type': 'application/json' }, cache: 'no-store',
                                     body: JSON.stringify({ code: code.trim().toLowerCase(), actor, app_version: APP }) });
    } catch (e) {
      throw new SyncError('network', 'offline');
    }
    const data = await r.json().catch(() => null);
    if (r.status !== 201) throw new SyncError(r.status === 429 ? 'throttled' : 'refused', (data && data.code) || String(r.status));
    const nonce = S.uuid4().slice(0, 8);
    const device = { actor: data.actor, token: data.token, user: data.user, device_name: data.device_name,
                     expires_at: data.expires_at };
    await S.tx(['meta'], 'readwrite', async (s) => {
      s.meta.put({ k: 'device', v: device });
      if (!(await S.get(s.meta, 'nonce'))) s.meta.put({ k: 'nonce', v: nonce });
      if (!(await S.get(s.meta, 'counter'))) s.meta.put({ k: 'counter', v: 0 });
    });
    return device;
  }

  window.AktSync = { sync, send, enrol, unsyncedCount, serverToday, SyncError, APP, FeedScanner };
})();
