// Browser test of the tablet store's upgrades from IndexedDB version 3 to version 5 (the list's summaries
// and their search texts, store.js) and from version 4 to 5 (the search texts), on a tablet holding work of
// every kind:
//   - a synced record (its acknowledged edit kept), 40 records pulled from another device, a record saved
//     offline (unsynced), a record being typed (a draft) and a pulled record deleted offline (unsynced);
//   - the tablet's store is put back as version 3 held it (the same rows, without the summaries and the
//     new indexes), and the app is started offline: the upgrade keeps every row of every store, makes one
//     summary per record, and the list shows the same records in the same states as before;
//   - the same rows as version 4 held them (with the summaries, without the search texts): the upgrade keeps
//     every row, makes one search text per summary, and the search finds a pulled record offline;
//   - back online, the two unsynced edits are sent (the `queued` index the upgrade filled): the server has
//     the new record and the deletion, and nothing is left unsent.
import assert from 'node:assert/strict';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

const POLL = { polling: 250 };
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const V3_STORES = ['meta', 'forms', 'records', 'edits', 'batches', 'rejected', 'drafts', 'blobs', 'blob_data', 'kept'];
const V4_STORES = [...V3_STORES, 'summaries'];
// An edit as version 4 stores it: `queued` while it waits for a batch (dump() leaves the mark out).
const queuedAgain = (e) => (e.batch_id === null && !e.acked_epoch ? { ...e, queued: 1 } : e);

// Every row of the version-3 stores (edits without the version-4 `queued` mark).
const dump = (page, stores) => page.evaluate((stores) => new Promise((resolve, reject) => {
  const open = indexedDB.open('aktsync-app');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const t = db.transaction(stores, 'readonly');
    const out = { version: db.version };
    for (const n of stores) {
      const r = t.objectStore(n).getAll();
      r.onsuccess = () => { out[n] = r.result.map((x) => { const y = { ...x }; if (n === 'edits') delete y.queued; return y; }); };
    }
    t.oncomplete = () => { db.close(); resolve(out); };
    t.onerror = () => reject(t.error);
  };
}), stores);

// Replaces the tablet's store with a version-3 or version-4 store (the schema store.js made up to that
// version) holding `rows`.
const restore = (page, rows, version) => page.evaluate(([rows, version]) => new Promise((resolve, reject) => {
  const del = indexedDB.deleteDatabase('aktsync-app');
  del.onerror = () => reject(del.error);
  del.onblocked = () => reject(new Error('blocked'));
  del.onsuccess = () => {
    const open = indexedDB.open('aktsync-app', version);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('meta', { keyPath: 'k' });
      db.createObjectStore('forms', { keyPath: 'key' });
      db.createObjectStore('records', { keyPath: 'record' });
      db.createObjectStore('edits', { keyPath: 'n' }).createIndex('record', 'record');
      db.createObjectStore('batches', { keyPath: 'batch_id' });
      db.createObjectStore('rejected', { keyPath: 'id', autoIncrement: true }).createIndex('record', 'record');
      db.createObjectStore('drafts', { keyPath: 'record' });
      db.createObjectStore('blobs', { keyPath: 'digest' });
      db.createObjectStore('blob_data', { keyPath: 'digest' });
      db.createObjectStore('kept', { keyPath: 'n' });
      if (version >= 4) {
        db.createObjectStore('summaries', { keyPath: 'record' });
        open.transaction.objectStore('edits').createIndex('queued', 'queued');
        open.transaction.objectStore('edits').createIndex('acked', 'acked_epoch');
        open.transaction.objectStore('kept').createIndex('kept_since', 'kept_since');
      }
    };
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const names = Object.keys(rows).filter((n) => n !== 'version');
      const t = db.transaction(names, 'readwrite');
      for (const n of names) for (const x of rows[n]) t.objectStore(n).put(x);
      t.oncomplete = () => { const v = db.version; db.close(); resolve(v); };
      t.onerror = () => reject(t.error);
    };
  };
}), [rows, version]);

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
  await syncNow(T);

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
  assert.equal(await H.checkSummaries(T.page), 43);
  const rows = await dump(T.page, V3_STORES);
  assert.equal(rows.version, 5);
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
  assert.equal(after.version, 5, 'upgraded');
  for (const n of V3_STORES) {
    const key = (x) => JSON.stringify(x);
    assert.deepEqual(after[n].map(key).sort(), rows[n].map(key).sort(), `every row of ${n} kept`);
  }
  assert.equal(await H.checkSummaries(T.page), 43, 'one summary per record');
  assert.deepEqual(await listRows(T.page), before, 'the same list, the same states');
  assert.match(await T.page.locator('#status').textContent(), /2 edit\(s\) waiting/);
  await H.shot(T.page, 'upgrade-list');
  step('upgraded offline from version 3 to 5: every row kept, the list the same');

  // The same from version 4 (the summaries, without their search texts): the upgrade makes every search text
  // from its summary, keeps every row, and the search finds a pulled record offline.
  const rows4 = await dump(T.page, V4_STORES);
  await T.context.setOffline(false);  // for the page outside the app; the app starts offline again
  await T.page.goto(H.base + '/healthz');
  assert.equal(await restore(T.page, { ...rows4, edits: rows4.edits.map(queuedAgain) }, 4), 4);
  await T.context.setOffline(true);
  await T.page.goto(H.base + '/app/#/');
  await T.page.waitForFunction(() => document.body.dataset.ready === '1' && document.querySelectorAll('#records a.record').length > 1, undefined, POLL);
  const after4 = await dump(T.page, V4_STORES);
  assert.equal(after4.version, 5, 'upgraded');
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
  step('upgraded offline from version 4 to 5: every row kept, a search text per summary, search finds a pulled record');

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
