// Browser test of what the tablet app's local store takes (issue "enumerator storage": at most 1.5x the
// records' JSON bytes): 500 varied SO1 interviews (tests/bench/web/records.mjs, about 2.1 KB of JSON each)
// are pushed by another device and pulled by a tablet in one sync; then
//   - what each object store holds (rows and bytes, the compressed bytes counted as bytes) is printed,
//     with the growth of navigator.storage.estimate() against the records' JSON bytes, which must be at
//     most 1.5x (the old layout, every record stored whole as an object, took about 1.9x);
//   - the pulled records are stored compressed (store.js, local store version 6) and read back identical
//     to the server's (GET /v1/records/{id}), every one;
//   - each record's search text is stored once (local store version 7: the search pack and its log, no
//     `search` store beside them);
//   - the summaries and search texts are in step, and a search finds a household.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';
import { rng, surveyBody } from '../bench/web/records.mjs';

const POLL = { polling: 250 };
const COUNT = 500;
const INSTRUMENTS = ['so1_interethnic_survey', 'so1_infra_monitoring', 'so2_business_followup', 'so3_municipal_service'];
const BOUND = 1.5;
const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
const GRACANICE = { municipality: 'gracanice', community: 'serb', settlements: ['Laplje Selo', 'Gračanica / Graçanicë', 'Livađe / Livadhe', 'Gušterica / Gushtericë', 'Preoce / Preoc'] };


// How many rows of the records store are stored compressed ({record, d, z}).
const breakdownPacked = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('aktsync-app');
  open.onsuccess = () => {
    const r = open.result.transaction(['records'], 'readonly').objectStore('records').getAll();
    r.onsuccess = () => { open.result.close(); resolve(r.result.filter((x) => x.z instanceof Uint8Array && Object.keys(x).length === 3).length); };
    r.onerror = () => reject(r.error);
  };
  open.onerror = () => reject(open.error);
}));

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(INSTRUMENTS);
  const fixtures = INSTRUMENTS.slice(1).map((form) => {
    const f = JSON.parse(fs.readFileSync(path.join(H.root, 'tests/schema/fixtures', form + '.valid.json'), 'utf8'));
    const body = f.body || f;
    return { form, body, scope: { municipality: body.municipality, community: 'serb', component: form.slice(0, 3).toUpperCase() } };
  });
  await H.addEnumerator(admin, 'enis', [scope, ...fixtures.map((x) => x.scope)]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-store', TABLET);
  await enrol(T, T.code);
  const r = rng(7);
  const ids = await H.seedRecords(admin, 'enis', { form: 'so1_interethnic_survey', scope, template: {}, count: COUNT,
    vary: (i) => surveyBody(r, i, GRACANICE) });
  // Records of every instrument with every question type it has: their valid fixtures, a few of each.
  for (const { form, body, scope: where } of fixtures) {
    ids.push(...await H.seedRecords(admin, 'enis', { form, scope: where, template: body, count: 5, vary: () => ({}) }));
  }
  step(`${COUNT} varied records and 5 of each other instrument seeded by another device`);

  const usage = () => T.page.evaluate(async () => (await navigator.storage.estimate()).usage);
  const before = await usage();
  await syncNow(T);
  // The estimate once Chromium's store settled: read until it stops changing.
  let after = await usage();
  for (let i = 0; i < 10; i++) {
    await new Promise((res) => setTimeout(res, 1000));
    const u = await usage();
    if (u === after) break;
    after = u;
  }
  const stored = await T.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', async (s) => {
    const all = await window.AktStore.all(s.records);
    return { n: all.length, json: all.reduce((a, x) => a + JSON.stringify(x).length, 0) };
  }));
  assert.equal(stored.n, ids.length);
  const b = await H.storeBreakdown(T.page);
  for (const [n, x] of Object.entries(b.stores)) if (x.rows) step(`  ${n}: ${x.rows} rows, ${x.bytes} B (${(x.bytes / stored.n).toFixed(0)} B per record)`);
  // Each search text once: what the search pack and its log take is about the texts and their record ids
  // (version 6 kept every text a second time, and logged each id again).
  assert.equal(b.stores.search, undefined, 'no `search` store');
  const texts = await T.page.evaluate(() => window.AktStore.tx(['summaries'], 'readonly', async (s) =>
    (await window.AktStore.all(s.summaries)).reduce((a, r) => a + r.record.length + window.AktStore.searchText(r).length, 0)));
  const searchBytes = ['search', 'search_pack', 'search_log'].reduce((a, n) => a + (b.stores[n] ? b.stores[n].bytes : 0), 0);
  step(`search texts: ${searchBytes} B stored for ${texts} B of texts and ids (${(searchBytes / texts).toFixed(2)}x)`);
  assert.ok(searchBytes <= 1.2 * texts, `the search texts take ${(searchBytes / texts).toFixed(2)}x their bytes`);
  const ratio = (after - before) / stored.json;
  step(`${stored.n} records, ${(stored.json / stored.n).toFixed(0)} B of JSON each; local store version ${b.version}; ` +
       `IndexedDB grew ${((after - before) / stored.n).toFixed(0)} B per record = ${ratio.toFixed(2)}x their JSON`);
  assert.ok(ratio <= BOUND, `the local store takes ${ratio.toFixed(2)}x the records' JSON bytes (at most ${BOUND})`);

  // Every record read back from the store is the server's record (its feed, read with the tablet's token).
  const local = await T.page.evaluate(() => window.AktStore.tx(['records'], 'readonly', (s) => window.AktStore.all(s.records)));
  const token = await T.page.evaluate(() => window.AktStore.meta('device').then((d) => d.token));
  const server = new Map();
  for (let since = '', more = true; more;) {
    const page = await call('GET', `/v1/changes?since=${encodeURIComponent(since)}&limit=200`, token);
    assert.equal(page.status, 200, JSON.stringify(page.data));
    for (const c of page.data.changes) server.set(c.record, c);
    since = page.data.next;
    more = page.data.more;
  }
  assert.equal(server.size, ids.length);
  const byId = new Map(local.map((x) => [x.record, x]));
  for (const id of ids) {
    const want = server.get(id), mine = byId.get(id);
    assert.ok(mine && want, id);
    for (const k of ['record', 'form', 'form_version', 'scope', 'deleted', 'conflict', 'conflicted', 'seq']) assert.deepEqual(mine[k], want[k], `${id} ${k}`);
    assert.deepEqual(mine.live.map((v) => [v.dot, v.clock, v.deleted, v.body]), want.live.map((v) => [v.dot, v.clock, v.deleted, v.body]), id);
  }
  step('every record read back is the server\'s');

  assert.equal(await H.checkSummaries(T.page), ids.length);
  const raw = await breakdownPacked(T.page);
  assert.equal(raw, ids.length, 'every record stored compressed');
  await T.page.goto(H.base + '/app/#/');
  await T.page.fill('#search', ids[123].slice(-8));
  await T.page.waitForFunction((id) => { const l = document.querySelectorAll('#records a.record'); return l.length === 1 && l[0].dataset.record === id; },
    ids[123], POLL);
  assert.deepEqual(T.errors, []);
}

await H.run(main);
