// Browser test of the tablet store's upgrades from IndexedDB version 3 to version 7 (the list's summaries
// and their search texts, the records compressed, store.js), from version 4 (the search texts), from
// version 5 (the records and kept edits compressed) and from version 6 (each search text stored once: the
// `search` store dropped, the search pack made from the summaries), on a tablet holding work of every kind:
//   - a synced record (its acknowledged edit kept), 40 records pulled from another device (one of them in
//     conflict: two other devices changed one answer at once), a record saved offline (unsynced), a record
//     being typed (a draft) and a pulled record deleted offline (unsynced);
//   - the tablet's store is put back as version 3 held it (the same rows, without the summaries and the
//     new indexes, the records stored whole), and the app is started offline: the upgrade keeps every row
//     of every store, makes one summary per record, compresses every record, and the list shows the same
//     records in the same states as before;
//   - the same rows as version 4 held them (with the summaries, without the search texts): the upgrade keeps
//     every row, makes one search text per summary, and the search finds a pulled record offline;
//   - the same rows as version 5 held them (records and kept edits stored whole): the upgrade compresses
//     each, every row of every store reads back as it was, the list, the search, the conflict and the
//     draft are the same;
//   - while it compresses, the app shows how far it is ("Updating the tablet's data… n%", in the language
//     last chosen on the tablet);
//   - version 5 again, and the tab closed while the upgrade is half-way through the records: the store is
//     still version 5 with every row as it was, and the next start upgrades it whole;
//   - the same rows as version 6 held them (with a `search` store, a search pack that misses the newest
//     record and a log of ids after it): the upgrade keeps every other row as it was (records and kept
//     edits still compressed), drops the `search` store, and the list, the search (the newest record too),
//     the conflict, the draft and the unsynced edits are the same; the tab closed during that upgrade
//     leaves version 6 whole;
//   - back online, the two unsynced edits are sent (the `queued` index the upgrade filled): the server has
//     the new record and the deletion, and nothing is left unsent.
import assert from 'node:assert/strict';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

const POLL = { polling: 250 };
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const V3_STORES = ['meta', 'forms', 'records', 'edits', 'batches', 'rejected', 'drafts', 'blobs', 'blob_data', 'kept'];
const V4_STORES = [...V3_STORES, 'summaries'];
const V5_STORES = [...V4_STORES, 'search'];
const V6_STORES = [...V4_STORES, 'dicts'];  // and version 7: what the upgrade to 7 keeps as it was
// An edit as version 4 stores it: `queued` while it waits for a batch (dump() leaves the mark out).
const queuedAgain = (e) => (e.batch_id === null && !e.acked_epoch ? { ...e, queued: 1 } : e);

// Every row of `stores` (edits without the version-4 `queued` mark; the search texts as [record id, text];
// records and kept edits stored compressed (version 6) read back with their dictionary: `packed` counts the
// compressed records).
const dump = (page, stores) => page.evaluate((stores) => new Promise((resolve, reject) => {
  const open = indexedDB.open('aktsync-app');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    // A store the database does not have (the `search` store from version 7 on) is left out of the dump.
    const present = stores.filter((n) => db.objectStoreNames.contains(n));
    const withDicts = db.objectStoreNames.contains('dicts') && !present.includes('dicts') ? [...present, 'dicts'] : present;
    const t = db.transaction(withDicts, 'readonly');
    const out = { version: db.version, packed: 0, packedKept: 0 };
    let dicts = [];
    for (const n of withDicts) {
      const k = t.objectStore(n).getAllKeys(), r = t.objectStore(n).getAll();  // in this order: k is done when r is
      r.onsuccess = () => {
        if (n === 'dicts') {
          dicts = r.result;
          if (stores.includes('dicts')) out.dicts = dicts.map((d) => ({ id: d.id, form: d.form, bytes: Array.from(d.bytes) }));
          return;
        }
        try { out[n] = r.result.map((x, i) => {
          if (n === 'search') return [k.result[i], x];
          const y = { ...x };
          if (n === 'edits') delete y.queued;
          return y;
        }); } catch (e) { reject(new Error(`dump ${n}: ${e}`)); }
      };
    }
    t.oncomplete = () => {
      db.close();
      for (const n of ['records', 'kept']) {
        if (!out[n]) continue;
        out[n] = out[n].map((x) => {
          if (!(x.z instanceof Uint8Array)) return x;
          if (n === 'records') out.packed++; else out.packedKept++;
          const d = dicts.find((y) => y.id === x.d);
          const { d: _, z, ...outer } = x;
          return { ...JSON.parse(new TextDecoder().decode(window.AktStore.lzUnpack(d.bytes, z))), ...outer };
        });
      }
      resolve(out);
    };
    t.onerror = () => reject(t.error);
  };
}), stores);

// Replaces the tablet's store with a store of `version` (3, 4 or 5: the schema store.js made at that version,
// H.oldLayout) holding `rows`.
const restore = async (page, rows, version) => { await H.defineOldLayout(page); return page.evaluate(([rows, version]) => new Promise((resolve, reject) => {
  const del = indexedDB.deleteDatabase('aktsync-app');
  del.onerror = () => reject(del.error);
  del.onblocked = () => reject(new Error('blocked'));
  del.onsuccess = () => {
    const open = indexedDB.open('aktsync-app', version);
    open.onupgradeneeded = () => window.oldLayout(open.result, version);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const names = Object.keys(rows).filter((n) => n !== 'version' && n !== 'packed' && n !== 'packedKept');
      const t = db.transaction(names, 'readwrite');
      try {
        for (const n of names) for (const x of rows[n]) if (n === 'search') t.objectStore(n).put(x[1], x[0]); else t.objectStore(n).put(x);
      } catch (e) { reject(new Error(`restore: ${e}`)); }
      t.oncomplete = () => { const v = db.version; db.close(); resolve(v); };
      t.onerror = () => reject(t.error);
    };
  };
}), [rows, version]); };

// Puts the tablet's store (version 7) back as version 6 held it, in the page (the compressed rows as they are
// stored): every row of every store but the search pack and its log, a `search` store with every summary's
// search text (keyed by record id), a search pack as of log key 1 that misses the newest record, and a log
// of ids after it (key 2: that record). Resolves with the version made.
const downgradeTo6 = async (page) => { await H.defineOldLayout(page); return page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('aktsync-app');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const names = [...db.objectStoreNames].filter((n) => n !== 'search_pack' && n !== 'search_log');
    const t = db.transaction(names, 'readonly');
    const rows = {};
    for (const n of names) { const r = t.objectStore(n).getAll(); r.onsuccess = () => { rows[n] = r.result; }; }
    t.oncomplete = () => { db.close(); write(rows); };
    t.onerror = () => reject(t.error);
  };
  function write(rows) {
    const del = indexedDB.deleteDatabase('aktsync-app');
    del.onerror = () => reject(del.error);
    del.onblocked = () => reject(new Error('blocked'));
    del.onsuccess = () => {
      const o = indexedDB.open('aktsync-app', 6);
      o.onupgradeneeded = () => window.oldLayout(o.result, 6);
      o.onerror = () => reject(o.error);
      o.onsuccess = () => {
        const db = o.result;
        const t = db.transaction([...db.objectStoreNames], 'readwrite');
        for (const [n, l] of Object.entries(rows)) for (const x of l) t.objectStore(n).put(x);
        const text = (r) => `${r.form}\n${r.keys.toLowerCase()}`;
        const sums = [...rows.summaries].sort((a, b) => (a.record < b.record ? 1 : -1));  // newest first
        for (const r of sums) t.objectStore('search').put(text(r), r.record);
        const older = sums.slice(1);
        t.objectStore('search_pack').put({ k: 'pack', log: 1, ids: older.map((r) => r.record), texts: older.map(text) });
        t.objectStore('search_log').put(older[0].record, 1);
        t.objectStore('search_log').put(sums[0].record, 2);
        t.oncomplete = () => { const v = db.version; db.close(); resolve(v); };
        t.onerror = () => reject(t.error);
      };
    };
  }
})); };

// Pushes one edit of `edit` (without dot) from a new device of `user`, as another tablet would.
async function pushAs(admin, user, edit) {
  const { randomUUID } = await import('node:crypto');
  const code = await call('POST', '/v1/admin/enrolments', admin, { username: user, device_name: 'other-' + randomUUID().slice(0, 6) });
  const e = await call('POST', '/v1/enrol', null, { code: code.data.code, actor: randomUUID(), app_version: 'test/1' });
  assert.equal(e.status, 201, JSON.stringify(e.data));
  const r = await call('POST', '/v1/push', e.data.token, { v: 1, batch_id: 'other-' + randomUUID().slice(0, 8),
    edits: [{ ...edit, dot: { actor: e.data.actor, n: 1 }, device_time: Date.now() }] });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  assert.ok(['applied', 'merged'].includes(r.data.results[0].outcome), JSON.stringify(r.data));
}

// The `search` store of versions 5 and 6: every summary's search text, keyed by its record id.
const searchStoreOf = (summaries) => summaries.map((r) => [r.record, `${r.form}\n${r.keys.toLowerCase()}`]);

const listRows = (page) => page.evaluate(() => [...document.querySelectorAll('#records a.record')]
  .map((a) => `${a.dataset.record} ${a.dataset.state}`));

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-upgrade', TABLET);
  await enrol(T, T.code);

  const a = await H.newSurvey(T.page);
  await H.fillSurveyNonInterview(T.page, 'Laplje Selo', 1);
  await T.page.click('#save');
  await T.page.locator(`a[data-record="${a}"][data-state="pending"]`).waitFor();
  await syncNow(T);
  await T.page.locator(`a[data-record="${a}"][data-state="synced"]`).waitFor();
  const template = (await call('GET', '/v1/records/' + a, admin)).data.live[0].body;
  const ids = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template, count: 40,
    vary: (i) => ({ cluster_id: `gracanice-${String(i).padStart(2, '0')}`, hh_number: i + 1 }) });
  // A record in conflict: two other devices change the same answer of one of them at once.
  const disputed = ids[7];
  const was = (await call('GET', '/v1/records/' + disputed, admin)).data;
  for (const attempt of [2, 3]) await pushAs(admin, 'enis', { record: disputed, form: was.form, form_version: 1, scope, context: was.live[0].clock,
    body: { ...was.live[0].body, visit_attempt: attempt }, changed: ['visit_attempt'] });
  assert.equal((await call('GET', '/v1/records/' + disputed, admin)).data.conflict, true);
  await syncNow(T);
  await T.page.locator(`a[data-record="${disputed}"][data-state="conflict"]`).waitFor();

  const b = await H.newSurvey(T.page);
  await H.fillSurveyNonInterview(T.page, 'Livađe', 2);
  await T.page.click('#save');
  await T.page.locator(`a[data-record="${b}"][data-state="pending"]`).waitFor();
  const gone = ids[3];
  await H.openRecord(T.page, gone);
  await T.page.click('#delete');
  await T.page.locator(`a[data-record="${gone}"][data-state="deleted_pending"]`).waitFor();
  const c = await H.newSurvey(T.page);
  await H.pick(T.page, 'survey_wave', 'baseline');
  await H.fill(T.page, 'hh_number', 77);
  await H.draftHas(T.page, c, '"hh_number":77');
  await T.page.goto(H.base + '/app/#/');
  await T.page.locator(`a[data-record="${c}"][data-state="draft"]`).waitFor();
  const before = await listRows(T.page);
  assert.equal(before.length, 43, before.join('\n'));
  assert.ok(before.includes(`${disputed} conflict`));
  assert.equal(await H.checkSummaries(T.page), 43);
  const rows = await dump(T.page, V3_STORES);
  assert.equal(rows.version, 7);
  assert.equal(rows.packed, 41, 'every pulled record stored compressed');
  assert.ok(rows.kept.length >= 1 && rows.packedKept === rows.kept.length, 'every kept edit stored compressed');
  assert.equal(rows.edits.filter((e) => !e.acked_epoch).length, 2, 'two unsynced edits');
  assert.equal(rows.drafts.length, 1);
  assert.equal(rows.records.length, 41);
  step(`the tablet holds ${rows.records.length} records, ${rows.edits.length} edits, ${rows.kept.length} kept, 1 draft`);

  // The same rows in a version-3 store, from a page of the server outside the app (no connection open).
  await T.page.goto(H.base + '/healthz');
  assert.equal(await restore(T.page, rows, 3), 3);
  step('the store put back as version 3 held it');

  await T.context.setOffline(true);
  await T.page.goto(H.base + '/app/#/');
  await T.page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#records a.record').length > 1, undefined, POLL);
  const after = await dump(T.page, V3_STORES);
  assert.equal(after.version, 7, 'upgraded');
  assert.equal(after.packed, 41, 'every record compressed by the upgrade');
  for (const n of V3_STORES) {
    const key = (x) => JSON.stringify(x);
    assert.deepEqual(after[n].map(key).sort(), rows[n].map(key).sort(), `every row of ${n} kept`);
  }
  assert.equal(await H.checkSummaries(T.page), 43, 'one summary per record');
  assert.deepEqual(await listRows(T.page), before, 'the same list, the same states');
  assert.match(await T.page.locator('#status').textContent(), /2 edit\(s\) waiting/);
  await H.shot(T.page, 'upgrade-list');
  step('upgraded offline from version 3 to 7: every row kept, the list the same');

  // The same from version 4 (the summaries, without their search texts): the upgrade makes every search text
  // from its summary, keeps every row, and the search finds a pulled record offline.
  const rows4 = await dump(T.page, V4_STORES);
  // The app left before the network is back: on `online` it would start a sync round and send the unsynced
  // edits, which must wait for the end (the server would hold them early, and the round's acknowledgements
  // could land in the store put back below).
  await T.page.goto('about:blank');
  await T.context.setOffline(false);  // for the page outside the app; the app starts offline again
  await T.page.goto(H.base + '/healthz');
  assert.equal(await restore(T.page, { ...rows4, edits: rows4.edits.map(queuedAgain) }, 4), 4);
  await T.context.setOffline(true);
  await T.page.goto(H.base + '/app/#/');
  await T.page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#records a.record').length > 1, undefined, POLL);
  const after4 = await dump(T.page, V4_STORES);
  assert.equal(after4.version, 7, 'upgraded');
  for (const n of V4_STORES) {
    const key = (x) => JSON.stringify(x);
    assert.deepEqual(after4[n].map(key).sort(), rows4[n].map(key).sort(), `every row of ${n} kept`);
  }
  assert.equal(await H.checkSummaries(T.page), 43, 'one summary and one search text per record');
  assert.deepEqual(await listRows(T.page), before, 'the same list, the same states');
  await T.page.fill('#search', 'cluster_id: gracanice-17');
  await T.page.waitForFunction((id) => { const l = document.querySelectorAll('#records a.record'); return l.length === 1 && l[0].dataset.record === id; },
    ids[17], POLL);
  await T.page.fill('#search', '');
  await T.page.waitForFunction(() => document.querySelectorAll('#records a.record').length === 43, undefined, POLL);
  assert.match(await T.page.locator('#status').textContent(), /2 edit\(s\) waiting/);
  step('upgraded offline from version 4 to 7: every row kept, a search text per summary, search finds a pulled record');

  // From version 5 (every record stored whole): the upgrade stores every record compressed, in the upgrade
  // transaction; every row of every store reads back as it was, the list and the search are the same.
  const rows5 = await dump(T.page, V5_STORES);
  assert.equal(rows5.search, undefined, 'version 7 has no `search` store');
  rows5.search = searchStoreOf(rows5.summaries);
  assert.equal(rows5.search.length, 43);
  const asV5 = { ...rows5, edits: rows5.edits.map(queuedAgain) };
  const same = (got, want, what, stores = V4_STORES) => {
    for (const n of stores) {
      const key = (x) => JSON.stringify(x);
      assert.deepEqual(got[n].map(key).sort(), want[n].map(key).sort(), `every row of ${n} kept (${what})`);
    }
  };
  const atV5 = async () => {
    await T.page.goto('about:blank');  // the app left before the network is back: it starts no sync round
    await T.context.setOffline(false);
    await T.page.goto(H.base + '/healthz');
    assert.equal(await restore(T.page, asV5, 5), 5);
    await T.context.setOffline(true);
  };
  const startApp = async (page) => {
    await page.goto(H.base + '/app/#/');
    await page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#records a.record').length > 1, undefined, POLL);
  };
  // What the upgrade shows while it compresses: every text the app's progress line (#upgrading) had.
  await T.context.addInitScript(() => {
    window.__upgrading = [];
    new MutationObserver(() => {
      const p = document.getElementById('upgrading');
      if (p && p.textContent !== window.__upgrading[window.__upgrading.length - 1]) window.__upgrading.push(p.textContent);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  await atV5();
  await startApp(T.page);
  const progress = await T.page.evaluate(() => window.__upgrading);
  assert.match(progress[0], /^Updating the tablet\u2019s data… 0%/, progress.join(' | '));
  assert.match(progress[progress.length - 1], /^Updating the tablet\u2019s data… 100%/, progress.join(' | '));
  const after5 = await dump(T.page, V5_STORES);
  assert.equal(after5.version, 7, 'upgraded');
  assert.equal(after5.packed, 41, 'every record compressed by the upgrade');
  assert.ok(rows5.kept.length >= 1);
  assert.equal(after5.packedKept, rows5.kept.length, 'every kept edit compressed by the upgrade');
  same(after5, rows5, 'from version 5');
  assert.equal(after5.search, undefined, 'the `search` store dropped');
  assert.equal(await H.checkSummaries(T.page), 43);
  assert.deepEqual(await listRows(T.page), before, 'the same list, the same states');
  await T.page.fill('#search', 'cluster_id: gracanice-19');
  await T.page.waitForFunction((id) => { const l = document.querySelectorAll('#records a.record'); return l.length === 1 && l[0].dataset.record === id; },
    ids[19], POLL);
  await T.page.fill('#search', '');
  await H.openRecord(T.page, disputed);
  await T.page.locator('#record-state[data-state="conflict"]').getByText('visit_attempt').waitFor();
  await H.openRecord(T.page, c);
  await H.until(async () => (await H.q(T.page, 'hh_number').locator('input').first().inputValue()) === '77', 'the draft shown');
  step('upgraded offline from version 5 to 7: every record compressed, every row reads back the same, the conflict and the draft shown');

  // The tab closed while the upgrade compresses the records (held up at the 10th record): nothing changed,
  // the store is still version 5 as it was, and the next start upgrades it whole.
  await atV5();
  const P = await T.context.newPage();
  await P.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    let n = 0;
    IDBObjectStore.prototype.put = function (...args) {
      if (this.name === 'records' && this.transaction.mode === 'versionchange' && ++n === 10) {
        console.log('akt-upgrade-halfway');
        const until = Date.now() + 4000;
        while (Date.now() < until) { /* the tab closes meanwhile */ }
      }
      return put.apply(this, args);
    };
  });
  const halfway = new Promise((resolve) => P.on('console', (m) => { if (m.text() === 'akt-upgrade-halfway') resolve(); }));
  P.goto(H.base + '/app/#/').catch(() => {});
  await halfway;
  await P.close({ runBeforeUnload: false });
  await T.context.setOffline(false);
  await T.page.goto(H.base + '/healthz');
  const cut = await dump(T.page, V5_STORES);
  assert.equal(cut.version, 5, 'the upgrade was cut: the store is still version 5');
  assert.equal(cut.packed, 0);
  same(cut, rows5, 'after the cut upgrade', V5_STORES);
  await T.page.evaluate(() => localStorage.setItem('akt-lang', 'sq'));  // the language last chosen: Albanian
  await T.context.setOffline(true);
  await startApp(T.page);
  assert.ok((await T.page.evaluate(() => window.__upgrading)).includes('Duke përditësuar të dhënat e tabletit… 100%. Mbajeni këtë faqe të hapur.'),
    'the progress in the language last chosen');
  const again = await dump(T.page, V5_STORES);
  assert.equal(again.version, 7);
  assert.equal(again.packed, 41);
  same(again, rows5, 'upgraded after the cut');
  assert.equal(again.search, undefined);
  assert.equal(await H.checkSummaries(T.page), 43);
  assert.deepEqual(await listRows(T.page), before);
  step('the tab closed half-way through the upgrade: the store stayed version 5, whole; the next start upgraded it');

  // From version 6 (each search text twice: the `search` store and the pack): the upgrade drops the `search`
  // store and makes the pack from the summaries; every other row is kept as it was (records and kept edits
  // compressed as they were), and the list, the search, the conflict, the draft and the unsynced edits are
  // the same. The newest record, missing from version 6's pack (logged after it), is found too.
  // The app left first: a sync round it began at its start (offline, the round still opens its outbox batch,
  // and batch_seq moves) would otherwise change the store after the dump, and the rows compared below
  // would differ for a reason that is not the upgrade.
  await T.page.goto('about:blank');
  await T.context.setOffline(false);
  await T.page.goto(H.base + '/healthz');
  // (dump() reads the compressed rows with store.js's codec: loaded into the page outside the app too)
  const storeJs = await (await fetch(H.base + '/app/store.js')).text();
  await T.page.evaluate(storeJs);
  const rows7 = await dump(T.page, V6_STORES);
  const atV6 = async () => {
    await T.page.goto('about:blank');  // the app left before the network is back: it starts no sync round
    await T.context.setOffline(false);
    await T.page.goto(H.base + '/healthz');
    assert.equal(await downgradeTo6(T.page), 6);
    await T.page.evaluate(storeJs);
    await T.context.setOffline(true);
  };
  await atV6();
  const v6 = await dump(T.page, [...V6_STORES, 'search']);
  assert.equal(v6.version, 6);
  assert.equal(v6.search.length, 43);
  assert.equal(v6.packed, 41);
  same(v6, rows7, 'as version 6 held them', V6_STORES);
  await startApp(T.page);
  const after6 = await dump(T.page, [...V6_STORES, 'search']);
  assert.equal(after6.version, 7, 'upgraded');
  assert.equal(after6.search, undefined, 'the `search` store dropped');
  assert.equal(after6.packed, 41, 'the records still compressed');
  assert.equal(after6.packedKept, rows7.kept.length, 'the kept edits still compressed');
  same(after6, rows7, 'from version 6', V6_STORES);
  assert.equal(await H.checkSummaries(T.page), 43, 'one search text per summary, once');
  assert.deepEqual(await listRows(T.page), before, 'the same list, the same states');
  assert.match(await T.page.locator('#status').textContent(), /2 edit\(s\) waiting/);
  const newest = [...before].map((x) => x.split(' ')[0]).sort().pop();
  await T.page.fill('#search', newest.slice(-8));
  await T.page.waitForFunction((id) => { const l = document.querySelectorAll('#records a.record'); return l.length === 1 && l[0].dataset.record === id; },
    newest, POLL);
  await T.page.fill('#search', 'cluster_id: gracanice-21');
  await T.page.waitForFunction((id) => { const l = document.querySelectorAll('#records a.record'); return l.length === 1 && l[0].dataset.record === id; },
    ids[21], POLL);
  await T.page.fill('#search', '');
  await H.openRecord(T.page, disputed);
  await T.page.locator('#record-state[data-state="conflict"]').getByText('visit_attempt').waitFor();
  await H.openRecord(T.page, c);
  await H.until(async () => (await H.q(T.page, 'hh_number').locator('input').first().inputValue()) === '77', 'the draft shown');
  step('upgraded offline from version 6 to 7: the `search` store dropped, every other row as it was, the list, search, conflict, draft and unsynced edits the same');

  // The tab closed while that upgrade reads the summaries for the pack (the `search` store already dropped
  // in it): the store is still version 6, whole: as it was just before (the app that ran since may have
  // opened its outbox batch, moving batch_seq, which the downgrade keeps).
  await atV6();
  const before6 = await dump(T.page, [...V6_STORES, 'search']);
  assert.equal(before6.version, 6);
  const P6 = await T.context.newPage();
  await P6.addInitScript(() => {
    const getAll = IDBObjectStore.prototype.getAll;
    IDBObjectStore.prototype.getAll = function (...args) {
      if (this.name === 'summaries' && this.transaction.mode === 'versionchange') {
        console.log('akt-upgrade-pack');
        const until = Date.now() + 4000;
        while (Date.now() < until) { /* the tab closes meanwhile */ }
      }
      return getAll.apply(this, args);
    };
  });
  const packing = new Promise((resolve) => P6.on('console', (m) => { if (m.text() === 'akt-upgrade-pack') resolve(); }));
  P6.goto(H.base + '/app/#/').catch(() => {});
  await packing;
  await P6.close({ runBeforeUnload: false });
  await T.context.setOffline(false);
  await T.page.goto(H.base + '/healthz');
  await T.page.evaluate(storeJs);
  const cut6 = await dump(T.page, [...V6_STORES, 'search']);
  assert.equal(cut6.version, 6, 'the upgrade was cut: the store is still version 6');
  assert.deepEqual(cut6.search.map((x) => JSON.stringify(x)).sort(), v6.search.map((x) => JSON.stringify(x)).sort(), 'the `search` store whole');
  same(cut6, before6, 'after the cut upgrade to 7', V6_STORES);
  await T.context.setOffline(true);
  await startApp(T.page);
  assert.equal((await dump(T.page, V6_STORES)).version, 7);
  assert.equal(await H.checkSummaries(T.page), 43);
  assert.deepEqual(await listRows(T.page), before);
  step('the tab closed during the upgrade to 7: the store stayed version 6, whole; the next start upgraded it');

  await T.context.setOffline(false);
  await syncNow(T);
  assert.equal((await call('GET', '/v1/records/' + b, admin)).data.live[0].body.settlement_name, 'Livađe');
  const del = (await call('GET', '/v1/records/' + gone, admin)).data;
  assert.ok(del.deleted === true || del.live.every((v) => v.deleted), JSON.stringify(del).slice(0, 300));
  await T.page.locator(`a[data-record="${b}"][data-state="synced"]`).waitFor();
  assert.equal(await T.page.locator(`a[data-record="${gone}"]`).count(), 0);
  assert.equal(await T.page.evaluate(() => window.AktSync.unsyncedCount()), 0);
  await H.checkSummaries(T.page);
  assert.deepEqual(T.errors, []);
  step('the unsynced edits were sent after the upgrade');
}

await H.run(main);
