// The tablet's local store in IndexedDB: the same model as the C++ client's (schema/store/tablet_store.*,
// DESIGN §2-§5). Object stores:
//   meta     {k, v}: device (actor, token, user, device name), counter (last dot n), cursor, epoch,
//            nonce, batch counter, me (scope), lang, today offset, last sync, reset_pending (true from an
//            epoch or scope reset to the end of the next complete pull: no skip_own meanwhile, sync.js)
//   forms    {key "form_id/version", form_id, version, title, definition (text as served)}
//   records  the server's state of each record as last pulled (PROTOCOL §5.1 RECORD); from version 6 stored
//            compressed, {record, d, z} (packRow() below): get() and all() give the record back, and the
//            put of a transaction's `records` store (tx()) compresses, so no caller sees the difference
//   dicts    (version 6) {id, form, bytes}: the dictionary the records and kept edits of a form are
//            compressed against (the JSON text of the first of them this tablet stored); never changed nor
//            removed
//   edits    the device's own edits (keyPath n) from the save until the feed covers them: queued
//            (batch_id null) -> in a stored batch -> acknowledged (acked_epoch set, and acked_seq: the seq
//            of its push answer; edits acknowledged by app versions before it lack it, which needs no
//            upgrade: such a record keeps its seq) -> moved to `kept` by a pull (an entry that covers it, or
//            the last page of a pull that asked skip_own, which takes the edit as the server's version)
//   kept     (version 3) acknowledged edits the feed covered, or of records that left the user's scope, kept
//            for KEPT_DAYS days after the first sync that saw them kept: after a server restore (a new
//            epoch, PROTOCOL §5.3) they are queued again, so edits acknowledged after the server's last
//            backup are not lost (the C++ tablet store's `pushed` table, note 6); from version 6 stored
//            compressed like the records, {n, kept_since, d, z}
//   batches  {batch_id, request (the exact text POSTed; a retry sends it again), dots}
//   rejected the server's refusals, with per-field reasons and the refused body (to correct and save again)
//   drafts   the answers being entered, saved at every change (keyPath record)
//   blobs    (version 2) the photos taken on this tablet, keyed by SHA-256 digest: {digest, size, type,
//            added, confirmed (the server holds it, uploaded by this device), upload {id, offset}}
//   blob_data (version 2) their bytes {digest, data: ArrayBuffer}, apart so that lists never load them
//   summaries (version 4) one small row per record the list shows {record, form, form_version, scope,
//            state, keys, refs, pending_upload}: what the record list and its search read, never the records
//            themselves (a supervisor's tablet holds 50,000 of them, and reading one costs about a
//            millisecond). Every transaction that writes a record, an edit, a draft or a refusal recomputes
//            the summaries of the records it touched before it commits (summarize()), so they never drift.
//            A record the list hides (deleted and synced) has no row.
//   search_pack (version 5) {k: 'pack', log, ids, texts}: the list's search text of every summary as of the
//            search_log key `log`, in one row, newest record first. A summary's search text is
//            "<form id>\n<the row's answers, lower case>" (searchText()); a search compares these texts, then
//            reads only the summaries of the rows it shows.
//   search_log (version 5) the search texts summarize() wrote after the pack, in order (autoIncrement keys):
//            from version 7 {r: record id, t: its text, or null when its summary was dropped} (version 5
//            and 6 logged the ids alone, and kept every text a second time in a `search` store keyed by
//            record id; version 7 dropped it: the pack and the log hold each text once, the summaries
//            hold what they are made of). The app's first search of a page reads the pack and the log after
//            it (readSearch(): not 50,000 rows one by one), and writes a new pack when that log grew long
//            (app.js searchIndex).
// Version 4 also indexes edits by `queued` (1 while an edit waits for a batch) and `acked_epoch`, and kept
// edits by `kept_since`, so that each sync step reads only the edits it works on.
// Every save is one IndexedDB transaction: the counter and the edit move together, so a dot is never reused.
// Schema changes add (upgrade() below), and drop only what is made again, in the same upgrade transaction,
// from what stays (version 7: the `search` store, made from the summaries): an app update never drops what
// the tablet holds.
'use strict';
(function () {
  const DB_NAME = 'aktsync-app';
  const DB_VERSION = 7;
  const KEPT_DAYS = 90;
  let dbp = null;

  function upgrade(db, oldVersion, txn) {
    if (oldVersion < 1) {
      db.createObjectStore('meta', { keyPath: 'k' });
      db.createObjectStore('forms', { keyPath: 'key' });
      db.createObjectStore('records', { keyPath: 'record' });
      const edits = db.createObjectStore('edits', { keyPath: 'n' });
      edits.createIndex('record', 'record');
      db.createObjectStore('batches', { keyPath: 'batch_id' });
      const rej = db.createObjectStore('rejected', { keyPath: 'id', autoIncrement: true });
      rej.createIndex('record', 'record');
      db.createObjectStore('drafts', { keyPath: 'record' });
    }
    if (oldVersion < 2) {
      db.createObjectStore('blobs', { keyPath: 'digest' });
      db.createObjectStore('blob_data', { keyPath: 'digest' });
    }
    if (oldVersion < 3) db.createObjectStore('kept', { keyPath: 'n' });
    if (oldVersion < 4) {
      db.createObjectStore('summaries', { keyPath: 'record' });
      txn.objectStore('edits').createIndex('queued', 'queued');
      txn.objectStore('edits').createIndex('acked', 'acked_epoch');
      txn.objectStore('kept').createIndex('kept_since', 'kept_since');
    }
    if (oldVersion < 5) {
      db.createObjectStore('search_log', { autoIncrement: true });
      db.createObjectStore('search_pack', { keyPath: 'k' });
    }
    if (oldVersion < 6) db.createObjectStore('dicts', { keyPath: 'id' });
    // Version 7: the `search` store of versions 5 and 6 (every search text a second time, beside the pack) is
    // dropped; what it held is made again from the summaries (fillVersion7, below, in this transaction).
    if (oldVersion >= 5 && oldVersion < 7) db.deleteObjectStore('search');
    // Version 8 and later: add stores or indexes here; drop only what is made again from what stays.
    // A tablet that held data before: what the new stores hold is made from what it holds, in this same
    // upgrade transaction (if the tab closes half-way, the whole upgrade is undone: the store stays at its
    // old version, untouched, and the next start upgrades again). From version 3 or older: its queued edits
    // marked and every record's summary made (fillVersion4); then, from version 5 or older, every record and
    // kept edit compressed (fillVersion6: the compression is synchronous, so that it runs inside this
    // transaction); then, from version 6 or older, the search pack made from the summaries (fillVersion7).
    const steps = oldVersion < 1 ? [] : [...(oldVersion < 4 ? [fillVersion4] : []), ...(oldVersion < 6 ? [fillVersion6] : []), fillVersion7];
    if (steps.length) {
      steps.slice(1).reduce((p, f) => p.then(() => f(txn)), steps[0](txn))
        .catch((e) => { upgradeError = e; try { txn.abort(); } catch (_) { /* done */ } });
    }
  }
  let upgradeError = null;
  // Hears how far an upgrade is: progress(done, total) over the rows fillVersion6 compresses, at its start,
  // after each batch and at its end (the app shows it: 50,000 records take tens of seconds). Set
  // before the store is first opened (onUpgradeProgress()).
  let upgradeProgress = () => {};
  function onUpgradeProgress(fn) { upgradeProgress = fn || (() => {}); }
  function tellProgress(done, total) { try { upgradeProgress(done, total); } catch (_) { /* a display only */ } }

  // Every record and kept edit stored whole (versions 1 to 5) is written again compressed, UPGRADE_BATCH rows
  // at a time in key order (no copy of 50,000 records in memory; a cursor stepping one row at a time took
  // four minutes for 50,000 records on the test machine, tests/bench/web part e).
  const UPGRADE_BATCH = 500;
  async function fillVersion6(txn) {
    const dicts = await loadDicts(txn);
    const total = (await Promise.all(Object.keys(PACKED).map((n) => wrap(txn.objectStore(n).count())))).reduce((a, b) => a + b, 0);
    let done = 0;
    tellProgress(0, total);
    for (const store of Object.keys(PACKED)) {
      const os = txn.objectStore(store);
      for (let after = null; ;) {
        const range = after === null ? null : IDBKeyRange.lowerBound(after, true);
        const [keys, rows] = await Promise.all([wrap(os.getAllKeys(range, UPGRADE_BATCH)), wrap(os.getAll(range, UPGRADE_BATCH))]);
        if (!rows.length) break;
        for (const row of rows) if (!isPacked(row)) os.put(packRow(txn, dicts, store, row));  // keys in line (PACKED keeps them)
        done += rows.length;
        tellProgress(done, total);
        after = keys[keys.length - 1];
      }
    }
    tellProgress(total, total);
  }

  // The search pack made from every summary (newest record first), with an empty log after it: every search
  // text once (version 7).
  async function fillVersion7(txn) {
    const sums = txn.objectStore('summaries');
    const [ids, rows] = await Promise.all([wrap(sums.getAllKeys()), wrap(sums.getAll())]);
    const log = txn.objectStore('search_log');
    const last = await wrap(log.openKeyCursor(null, 'prev')).then((c) => (c ? c.key : 0));
    log.clear();
    txn.objectStore('search_pack').put({ k: 'pack', log: last, ids: ids.reverse(), texts: rows.map(searchText).reverse() });
  }

  async function fillVersion4(txn) {
    const s = {};
    for (const n of SUMMARY_STORES) s[n] = txn.objectStore(n);
    for (const e of await all(s.edits)) putEdit(s, e);
    const ids = new Set();
    for (const n of ['records', 'edits', 'drafts', 'rejected']) {
      const keys = n === 'records' || n === 'drafts' ? await wrap(s[n].getAllKeys()) : (await all(s[n])).map((x) => x.record);
      for (const k of keys) ids.add(k);
    }
    const list = [...ids];
    for (let i = 0; i < list.length; i += 500) await summarize(s, list.slice(i, i + 500));
  }

  function open() {
    if (!dbp) {
      dbp = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onupgradeneeded = (e) => upgrade(req.result, e.oldVersion, req.transaction);
        req.onsuccess = () => {
          // A newer version of the app (another tab, after an update) needs to upgrade: let it.
          req.result.onversionchange = () => { req.result.close(); dbp = null; };
          resolve(req.result);
        };
        req.onerror = () => { dbp = null; reject(upgradeError || req.error); };
        req.onblocked = () => reject(new Error('the local database is blocked by another tab of this app'));
      });
    }
    return dbp;
  }

  const wrap = (req) => new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

  // Runs fn(stores) in one transaction over `names`; resolves with fn's result once the transaction
  // committed (durability 'strict': the data is on disk before the save is shown as done).
  async function tx(names, mode, fn) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const packed = names.some((n) => PACKED[n]);
      const t = db.transaction(packed && !names.includes('dicts') ? [...names, 'dicts'] : names, mode, { durability: 'strict' });
      const s = {};
      for (const n of names) s[n] = t.objectStore(n);
      let result;
      // A transaction over `records` or `kept` first reads the dictionaries (a few rows), and the put of
      // those stores stores compressed (every writer, sync.js included, goes through it).
      if (packed && mode === 'readwrite') {
        for (const n of names) {
          if (!PACKED[n]) continue;
          const os = s[n];
          os.put = (v, k) => IDBObjectStore.prototype.put.call(os, packRow(t, dictsOf(t), n, v), k);
        }
      }
      (packed ? loadDicts(t).then(() => fn(s)) : Promise.resolve(fn(s))).then((r) => { result = r; }, (e) => { try { t.abort(); } catch (_) { /* done */ } reject(e); });
      t.oncomplete = () => resolve(result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error('transaction aborted'));
    });
  }

  // Reads of `records` and `kept` give the rows as they were put (unpacked); the other stores' as stored.
  const get = (store, key) => (PACKED[store.name]
    ? wrap(store.get(key)).then((v) => unpackRow(store.transaction, v)) : wrap(store.get(key)));
  const all = (store, index, key) => (PACKED[store.name]
    ? wrap(index ? store.index(index).getAll(key) : store.getAll()).then((l) => l.map((v) => unpackRow(store.transaction, v)))
    : wrap(index ? store.index(index).getAll(key) : store.getAll()));

  // ---- compressed records (version 6) ---------------------------------------------------------------------
  // A pulled record is stored as {record, d, z}: `z` its JSON text (UTF-8) compressed against the dictionary
  // `d` of the `dicts` store ({id, form, bytes}: the JSON text of the first record or kept edit of that form
  // this tablet stored, never changed nor removed afterwards); a kept edit as {n, kept_since, d, z}. The
  // fields outside `z` (PACKED: the key and the indexed fields) are read from the row, not from `z` (a
  // put of {...row, kept_since} changes them). The records of a form differ from each other in their
  // answers only: against a record of the same form, the rest (keys, structure, shared answers) costs a few
  // bytes. The compression is LZ77 (lzPack below) in plain JavaScript, synchronous, so that it runs inside
  // an IndexedDB transaction (CompressionStream's promises would let the transaction commit half-way):
  // a record and what depends on it (its summary, the cursor) stay in one transaction. A row stored whole
  // (version 5 and older) reads as it is.
  const txDicts = new WeakMap();  // transaction -> {byForm, byId, next}
  async function loadDicts(t) {
    if (txDicts.has(t)) return txDicts.get(t);
    const rows = await wrap(t.objectStore('dicts').getAll());
    const d = { byForm: new Map(), byId: new Map(), next: 1 };
    for (const r of rows) { d.byForm.set(r.form, r); d.byId.set(r.id, r); d.next = Math.max(d.next, r.id + 1); }
    txDicts.set(t, d);
    return d;
  }
  function dictsOf(t) {
    const d = txDicts.get(t);
    if (!d) throw new Error('the dictionaries of this transaction were not read');
    return d;
  }
  const PACKED = { records: ['record'], kept: ['n', 'kept_since'] };
  const isPacked = (row) => !!row && row.z instanceof Uint8Array;
  const utf8 = new TextEncoder(), fromUtf8 = new TextDecoder('utf-8', { fatal: true });
  function packRow(t, d, store, row) {
    if (!row || isPacked(row)) return row;
    const text = utf8.encode(JSON.stringify(row));
    const form = String(row.form || '');
    let dict = d.byForm.get(form);
    if (!dict) {
      dict = { id: d.next++, form, bytes: text };
      t.objectStore('dicts').put(dict);
      d.byForm.set(dict.form, dict);
      d.byId.set(dict.id, dict);
    }
    const out = { d: dict.id, z: lzPack(dict.bytes, text) };
    for (const k of PACKED[store]) if (row[k] !== undefined) out[k] = row[k];
    return out;
  }
  function unpackRow(t, row) {
    if (!isPacked(row)) return row;
    const dict = dictsOf(t).byId.get(row.d);
    if (!dict) throw new Error(`a stored row's dictionary ${row.d} is missing`);
    const out = JSON.parse(fromUtf8.decode(lzUnpack(dict.bytes, row.z)));
    for (const [k, v] of Object.entries(row)) if (k !== 'd' && k !== 'z') out[k] = v;
    return out;
  }

  // LZ77 against a dictionary: `src` (bytes) as a sequence of literal runs and copies of earlier bytes (of
  // the dictionary or of src itself). Format: varint(src length), then repeated varint(literal count),
  // the literals, and, unless src ends there, varint(copy length - 4) varint(distance back).
  const MIN_MATCH = 4, HASH_BITS = 13, CHAIN = 16, NICE = 48;
  const dictChains = new WeakMap();  // dictionary bytes -> its hash chains {head, prev}
  let scratch = { buf: new Uint8Array(0), prev: new Int32Array(0), head: new Int32Array(1 << HASH_BITS) };
  function lzPack(dict, src) {
    const n = dict.length + src.length;
    if (scratch.buf.length < n) scratch = { buf: new Uint8Array(n * 2), prev: new Int32Array(n * 2), head: scratch.head };
    const { buf, prev, head } = scratch;  // reused from call to call (no garbage per record)
    buf.set(dict);
    buf.set(src, dict.length);
    const hash = (i) => ((((buf[i] * 33 + buf[i + 1]) * 33 + buf[i + 2]) * 33 + buf[i + 3]) & ((1 << HASH_BITS) - 1));
    // The dictionary's own hash chains are the same for every record: made once per dictionary.
    let own = dictChains.get(dict);
    if (!own) {
      own = { head: new Int32Array(1 << HASH_BITS).fill(-1), prev: new Int32Array(dict.length) };
      for (let i = 0; i + MIN_MATCH <= dict.length; i++) { const h = hash(i); own.prev[i] = own.head[h]; own.head[h] = i; }
      dictChains.set(dict, own);
    }
    head.set(own.head);
    prev.set(own.prev);
    const insert = (i) => { if (i + MIN_MATCH <= n) { const h = hash(i); prev[i] = head[h]; head[h] = i; } };
    let out = new Uint8Array(64 + (src.length >> 1)), o = 0;
    const room = (k) => { if (o + k > out.length) { const x = new Uint8Array(Math.max(out.length * 2, o + k)); x.set(out.subarray(0, o)); out = x; } };
    const varint = (v) => { room(5); while (v >= 128) { out[o++] = (v & 127) | 128; v = Math.floor(v / 128); } out[o++] = v; };
    const literals = (from, to) => { varint(to - from); room(to - from); out.set(buf.subarray(from, to), o); o += to - from; };
    for (let i = Math.max(0, dict.length - MIN_MATCH + 1); i < dict.length; i++) insert(i);
    varint(src.length);
    let i = dict.length, lit = i;
    while (i + MIN_MATCH <= n) {
      let best = 0, at = 0;
      for (let j = head[hash(i)], depth = 0; j >= 0 && depth < CHAIN && best < NICE; j = prev[j], depth++) {
        if (buf[j + best] !== buf[i + best]) continue;  // cannot be longer than the best so far
        let l = 0;
        while (i + l < n && buf[j + l] === buf[i + l]) l++;
        if (l > best) { best = l; at = j; }
      }
      if (best < MIN_MATCH) { insert(i); i++; continue; }
      literals(lit, i);
      varint(best - MIN_MATCH);
      varint(i - at);
      for (let k = i, end = i + Math.min(best, 16); k < end; k++) insert(k);  // a long copy: its start only
      i += best;
      lit = i;
    }
    literals(lit, n);
    return out.slice(0, o);  // a buffer of its own: IndexedDB stores a view's whole buffer
  }
  function lzUnpack(dict, z) {
    let p = 0;
    const varint = () => {
      let v = 0, f = 1, b;
      do { if (p >= z.length) throw new Error('compressed record cut short'); b = z[p++]; v += (b & 127) * f; f *= 128; } while (b & 128);
      return v;
    };
    const size = varint();
    const buf = new Uint8Array(dict.length + size);
    buf.set(dict);
    let o = dict.length;
    for (;;) {
      const l = varint();
      if (p + l > z.length || o + l > buf.length) throw new Error('compressed record: bad literal run');
      buf.set(z.subarray(p, p + l), o);
      p += l;
      o += l;
      if (o === buf.length) break;
      const m = varint() + MIN_MATCH, back = varint();
      if (back < 1 || back > o || o + m > buf.length) throw new Error('compressed record: bad copy');
      for (let k = 0; k < m; k++, o++) buf[o] = buf[o - back];
    }
    if (p !== z.length) throw new Error('compressed record: trailing bytes');
    return buf.subarray(dict.length);
  }
  async function meta(k) {
    return tx(['meta'], 'readonly', async (s) => { const r = await get(s.meta, k); return r ? r.v : undefined; });
  }
  async function setMeta(values) {
    return tx(['meta'], 'readwrite', (s) => { for (const [k, v] of Object.entries(values)) s.meta.put({ k, v }); });
  }

  // Canonical JSON (keys sorted at every depth, no whitespace), as the server stores bodies (PROTOCOL §4.1).
  function canonical(v) {
    if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
    if (v && typeof v === 'object') {
      return '{' + Object.keys(v).sort().filter((k) => v[k] !== undefined)
        .map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
    }
    return JSON.stringify(v);
  }

  function hex(bytes) { return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(''); }
  function uuidFromBytes(b) {
    const x = hex(b);
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }
  // UUIDv7 record ids (time-ordered, DESIGN §2).
  function uuid7() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    let ts = Date.now();
    for (let i = 5; i >= 0; i--) { b[i] = ts % 256; ts = Math.floor(ts / 256); }
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    return uuidFromBytes(b);
  }
  // A fresh random actor id (UUIDv4): made once per install, never reused.
  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    return uuidFromBytes(b);
  }

  // Moves an acknowledged edit from `edits` to `kept` (inside the caller's transaction over both).
  function keep(s, e) {
    s.kept.put({ ...e, kept_since: 0 });
    s.edits.delete(e.n);
  }
  // After a sync: the retention of kept edits counts from the first sync that saw them kept; older than
  // KEPT_DAYS days, they go. Reads only the newly kept and the expired ones (the `kept_since` index).
  async function pruneKept(now) {
    return tx(['kept'], 'readwrite', async (s) => {
      const since = s.kept.index('kept_since');
      for (const k of await all(s.kept, 'kept_since', IDBKeyRange.only(0))) s.kept.put({ ...k, kept_since: now });
      const cutoff = now - KEPT_DAYS * 86400000;
      if (cutoff <= 1) return 0;
      const old = await wrap(since.getAllKeys(IDBKeyRange.bound(1, cutoff, false, true)));
      for (const n of old) s.kept.delete(n);
      return old.length;
    });
  }

  // Stores an edit, with `queued` set while it waits for a batch (the index nextBatch reads).
  function putEdit(s, e) {
    const x = { ...e };
    if (x.batch_id === null && !x.acked_epoch) x.queued = 1; else delete x.queued;
    s.edits.put(x);
  }

  // Up to `limit` values of a store or index in key order (`direction` 'next' or 'prev'), with a cursor:
  // only what is taken is read. `keep(value)` may refuse a value (it is skipped) or stop (returns null).
  function take(source, range, direction, limit, keep = () => true) {
    return new Promise((resolve, reject) => {
      const out = [];
      const req = source.openCursor(range, direction);
      req.onsuccess = () => {
        const c = req.result;
        if (!c || out.length >= limit) { resolve(out); return; }
        const k = keep(c.value, out);
        if (k === null) { resolve(out); return; }
        if (k) out.push(c.value);
        c.continue();
      };
      req.onerror = () => reject(req.error);
    });
  }
  const leq = (a, b) => Object.keys(a).every((k) => a[k] <= (b[k] || 0));
  const join = (a, b) => { const c = { ...a }; for (const [k, v] of Object.entries(b)) c[k] = Math.max(c[k] || 0, v); return c; };

  // The local view of a record (tablet_store.cpp note 5): the pulled live versions, then the device's own
  // edits in counter order, each retiring the versions its clock covers. `current` holds the device's
  // latest edit (DESIGN §2: a device edits its own line of history).
  function view(actor, rec, edits) {
    let live = rec ? rec.live.map((v) => ({ ...v, local: false })) : [];
    for (const e of [...edits].sort((a, b) => a.n - b.n)) {
      const clock = join(e.context, { [actor]: e.n });
      const v = { dot: { actor, n: e.n }, clock, body: e.body, deleted: e.deleted, local: true,
                  acked: !!e.acked_epoch, changed: e.changed, form_version: e.form_version };
      if (live.some((x) => leq(clock, x.clock))) continue;
      live = live.filter((x) => !leq(x.clock, clock));
      live.push(v);
    }
    let current = 0;
    for (let i = 1; i < live.length; i++) if ((live[i].clock[actor] || 0) > (live[current].clock[actor] || 0)) current = i;
    return { live, current: live[current] || null };
  }

  // The paths a save set, against the version it was made on (PROTOCOL §4.1 `changed`): a top-level key,
  // a repeat item added or removed ("visit[<id>]") or one field of an item ("visit[<id>].v_pct_observed").
  function changedPaths(before, after, form) {
    const out = [];
    const repeats = {};
    for (const f of (form ? form.fields : [])) if (f.type === 'repeat') repeats[f.key] = f.item_id;
    const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
    for (const k of [...keys].sort()) {
      const a = (before || {})[k], b = (after || {})[k];
      if (canonical(a) === canonical(b)) continue;
      const idKey = repeats[k];
      if (!idKey || !Array.isArray(a) || !Array.isArray(b)) { out.push(k); continue; }
      const byId = (arr) => new Map(arr.filter((it) => it && typeof it === 'object').map((it) => [String(it[idKey]), it]));
      const ma = byId(a), mb = byId(b);
      for (const id of new Set([...ma.keys(), ...mb.keys()])) {
        const x = ma.get(id), y = mb.get(id);
        if (!x || !y) { out.push(`${k}[${id}]`); continue; }
        for (const fk of new Set([...Object.keys(x), ...Object.keys(y)])) {
          if (canonical(x[fk]) !== canonical(y[fk])) out.push(`${k}[${id}].${fk}`);
        }
      }
      if (!out.some((p) => p === k || p.startsWith(k + '['))) out.push(k);  // order only: the array changed
    }
    return out;
  }

  // Whether `changed` is what the server reads for a create that leaves it out: every top-level key of the
  // body in byte order (keys of ASCII letters only, so that JavaScript's order is the byte order).
  function readAsCreate(body, changed) {
    if (!Array.isArray(changed)) return false;
    const keys = Object.keys(body || {}).filter((k) => body[k] !== undefined);
    if (keys.some((k) => !/^[\x20-\x7e]*$/.test(k))) return false;
    keys.sort();
    return keys.length === changed.length && keys.every((k, i) => k === changed[i]);
  }

  // Saves an edit: stamps the next dot, stores the edit with its canonical text, drops the draft and
  // marks the record's earlier refusals as answered — in one transaction.
  async function saveEdit({ record, form, form_version, scope, body, deleted, changed, context }) {
    return tx(SUMMARY_STORES, 'readwrite', async (s) => {
      const device = (await get(s.meta, 'device')).v;
      const counter = ((await get(s.meta, 'counter')) || { v: 0 }).v;
      const n = counter + 1;
      const edit = { record, form, form_version, scope, dot: { actor: device.actor, n }, context: context || {},
                     changed: deleted ? [] : changed, device_time: Date.now() };
      if (deleted) edit.deleted = true; else edit.body = body;
      // The text leaves out what the server reads as the default (PROTOCOL §4.1, as the aktsync client): an
      // empty context, and the `changed` of a create when it lists exactly the body's top-level keys in byte
      // order (what the server reads for a create without it; the edit keeps its list locally).
      const fresh = !Object.keys(edit.context).length;
      if (fresh) delete edit.context;
      if (fresh && !deleted && readAsCreate(body, edit.changed)) delete edit.changed;
      s.meta.put({ k: 'counter', v: n });
      putEdit(s, { n, record, form, form_version, scope, context: edit.context, changed: edit.changed,
                   body: deleted ? {} : body, deleted: !!deleted, device_time: edit.device_time,
                   text: canonical(edit), batch_id: null, acked_epoch: null });
      s.drafts.delete(record);
      for (const r of await all(s.rejected, 'record', record)) if (!r.answered) s.rejected.put({ ...r, answered: n });
      await summarize(s, [record]);
      return n;
    });
  }

  // ---- the list's summaries ------------------------------------------------------------------------------
  // The stores a transaction that changes a record's state holds (summarize() reads and writes them).
  const SUMMARY_STORES = ['meta', 'records', 'edits', 'drafts', 'rejected', 'summaries', 'search_log', 'search_pack'];
  const withSummaries = (names) => [...new Set([...names, ...SUMMARY_STORES])];
  // Answers shown on a list row (and searched), in this order.
  const ROW_KEYS = ['municipality', 'project_id', 'business_id', 'hh_number', 'cluster_id', 'service'];

  // A record's state on this tablet, from what the tablet holds of it (`edits` in counter order,
  // `rejected` the unanswered refusals, `v` its view()).
  function stateOf(rec, edits, draft, rejected, v) {
    if (rec && rec.deletion_pending) return 'deletion_pending';
    if (rec && rec.conflict) return 'conflict';
    if (rejected.length) return 'rejected';
    const unacked = edits.filter((e) => !e.acked_epoch);
    if (unacked.length) return unacked[unacked.length - 1].deleted ? 'deleted_pending' : 'pending';
    if (draft) return 'draft';
    if (v.current && v.current.deleted) return 'deleted';
    return 'synced';
  }

  // A record's summary row, or null when the list does not show it (nothing held, or deleted and synced).
  function summaryOf(actor, id, rec, edits, draft, rejected) {
    const mine = [...edits].sort((a, b) => a.n - b.n);
    const open = rejected.filter((r) => !r.answered);
    if (!rec && !mine.length && !draft && !open.length) return null;
    const v = view(actor, rec, mine);
    const state = stateOf(rec, mine, draft, open, v);
    if (state === 'deleted' || (rec && rec.deleted && state === 'synced')) return null;
    const src = rec || mine[0] || draft || open[0];
    const body = (draft && draft.body) || (v.current && v.current.body) || (open[0] && open[0].body) || {};
    const keys = ROW_KEYS.filter((k) => body[k] !== undefined)
      .map((k) => `${k}: ${typeof body[k] === 'object' ? JSON.stringify(body[k]) : body[k]}`).join(' · ');
    const refs = window.AktPhotos ? [...window.AktPhotos.refsIn(body)] : [];
    return { record: id, form: src.form, form_version: rec ? rec.form_version : src.form_version, scope: src.scope,
             state, keys, refs, pending_upload: !!(rec && Array.isArray(rec.pending_upload) && rec.pending_upload.length) };
  }

  // The search text of a summary row (the `search` store): its form id, then its answers in lower case.
  const searchText = (row) => `${row.form}\n${row.keys.toLowerCase()}`;

  // Recomputes the summaries of the records `ids` inside the caller's transaction over SUMMARY_STORES.
  // `known` (record id -> the record as just written, or undefined when removed) spares reading them again.
  // For many records at once (a pulled page), the records that have edits, drafts or refusals are found
  // first from the keys alone (`local()`): the others, most of a page, are not looked up one by one.
  let generation = 0;  // counts summarize() calls in this page: a copy of the summaries read at an older count is stale
  async function summarize(s, ids, known = new Map()) {
    generation++;
    const device = await get(s.meta, 'device');
    const actor = device ? device.v.actor : '';
    const unique = [...new Set(ids)];
    const held = unique.length > 8 ? await local(s) : null;
    const none = Promise.resolve([]), nothing = Promise.resolve(undefined);
    await Promise.all(unique.map(async (id) => {
      const [rec, edits, draft, rejected] = await Promise.all([known.has(id) ? known.get(id) : get(s.records, id),
        !held || held.edits.has(id) ? all(s.edits, 'record', id) : none,
        !held || held.drafts.has(id) ? get(s.drafts, id) : nothing,
        !held || held.rejected.has(id) ? all(s.rejected, 'record', id) : none]);
      const row = summaryOf(actor, id, rec, edits, draft, rejected);
      if (row) s.summaries.put(row); else s.summaries.delete(id);
      s.search_log.add({ r: id, t: row ? searchText(row) : null });
      touched.add(id);
    }));
  }
  // The records whose summary summarize() wrote in this page since the app's search copy last took them
  // (takeTouched()): that copy reads only those again.
  let touched = new Set();
  function takeTouched() { const t = touched; touched = new Set(); return t; }
  // Drops every summary and search text (a scope change, inside the caller's transaction): the search copy
  // is read again whole (`all`).
  function clearSummaries(s) {
    s.summaries.clear();
    s.search_log.clear();
    s.search_pack.clear();
    touched = Object.assign(new Set(), { all: true });
  }

  // The record ids that have edits, a draft, or refusals on the tablet (inside the caller's transaction over
  // `edits`, `drafts` and `rejected`): keys only, no value is read. {edits, drafts, rejected}: Sets.
  async function local(s) {
    const keysOf = (index) => new Promise((resolve, reject) => {
      const out = new Set();
      const req = index.openKeyCursor();
      req.onsuccess = () => { const c = req.result; if (!c) { resolve(out); return; } out.add(c.key); c.continue(); };
      req.onerror = () => reject(req.error);
    });
    const [edits, drafts, rejected] = await Promise.all([keysOf(s.edits.index('record')), wrap(s.drafts.getAllKeys()),
      keysOf(s.rejected.index('record'))]);
    return { edits, drafts: new Set(drafts), rejected };
  }

  // Every search text (inside the caller's transaction over `search_pack` and `search_log`): the pack, and
  // the log after it applied in order (the latest text of a record wins; null drops it). {ids, texts} newest
  // record first, `last` the last log key read, `logged` how many log rows were read.
  async function readSearch(s) {
    const pack = (await get(s.search_pack, 'pack')) || { log: 0, ids: [], texts: [] };
    const range = IDBKeyRange.lowerBound(pack.log, true);
    const [keys, rows] = await Promise.all([wrap(s.search_log.getAllKeys(range)), wrap(s.search_log.getAll(range))]);
    const at = new Map(pack.ids.map((id, i) => [id, i]));
    const ids = pack.ids, texts = pack.texts;
    let added = false;
    for (const row of rows) {
      if (!row || typeof row !== 'object') continue;  // (version 6 logged ids alone: its upgrade clears the log)
      const { r, t } = row;
      const i = at.get(r);
      if (i !== undefined) texts[i] = t;
      else if (t !== null) { at.set(r, ids.length); ids.push(r); texts.push(t); added = true; }
    }
    const keep = ids.map((_, i) => i).filter((i) => texts[i] !== null);
    if (added) keep.sort((x, y) => (ids[x] < ids[y] ? 1 : ids[x] > ids[y] ? -1 : 0));
    return { ids: keep.map((i) => ids[i]), texts: keep.map((i) => texts[i]), last: keys.length ? keys[keys.length - 1] : pack.log, logged: rows.length };
  }

  // A draft stored (every answer as it is entered) or dropped, with its record's summary.
  const putDraft = (draft) => tx(SUMMARY_STORES, 'readwrite', async (s) => { s.drafts.put(draft); await summarize(s, [draft.record]); });
  const dropDraft = (id) => tx(SUMMARY_STORES, 'readwrite', async (s) => { s.drafts.delete(id); await summarize(s, [id]); });

  window.AktStore = { onUpgradeProgress, lzPack, lzUnpack, isPacked, generation: () => generation, local, takeTouched, clearSummaries, searchText, readSearch, open, wrap, take, putEdit, summarize, summaryOf, stateOf, putDraft, dropDraft, withSummaries, SUMMARY_STORES, tx, get, all, meta, setMeta, canonical, uuid7, uuid4, view, changedPaths, saveEdit, leq, join, keep, pruneKept, KEPT_DAYS };
})();
