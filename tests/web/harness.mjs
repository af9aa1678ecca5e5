// Shared set-up of the tablet app's browser tests: a real aktsyncd on loopback (the built binary, port 0,
// a temporary data folder), Debian's chromium driven by playwright-core, tablets as browser contexts
// enrolled by one-time code, and the helpers that fill the app's questions. One test file per process.
//
// Environment: AKTSYNCD (default build/dev/server/aktsyncd), AKTSYNC (the CLI; default next to it), AKT_WEB_OUT
// (screenshots; default build/dev/tests/web-output), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const binary = process.env.AKTSYNCD || path.join(root, 'build/dev/server/aktsyncd');
export const cli = process.env.AKTSYNC || path.join(path.dirname(binary), '../clients/aktsync');
export const outDir = process.env.AKT_WEB_OUT || path.join(root, 'build/dev/tests/web-output');
export const PASSWORD = 'correct horse battery';
export const TABLET = { width: 800, height: 1280 };
export const PHONE = { width: 390, height: 844 };

const started = Date.now();
fs.mkdirSync(outDir, { recursive: true });
// The test's temporary folder (data folder, files it writes); removed by run().
export const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'akt-app-'));
export const dataDir = path.join(tmp, 'data');
const pwFile = path.join(tmp, 'pw');
fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });

let server = null;
let browser = null;
// The server's base URL once started ("http://127.0.0.1:PORT").
export let base = '';
export let port = 0;

export const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

export function createUser(name, role) {
  execFileSync(binary, ['--data-dir', dataDir, '--create-user', name, '--role', role, '--password-file', pwFile], { stdio: 'pipe' });
}

// Starts aktsyncd on the data folder; `again: true` listens on the port of the previous start (the app's
// origin, and with it the tablet's IndexedDB, stays the same).
export async function startServer({ again = false } = {}) {
  const portFile = path.join(tmp, 'port');
  fs.rmSync(portFile, { force: true });
  server = spawn(binary, ['--data-dir', dataDir, '--listen', `127.0.0.1:${again ? port : 0}`, '--port-file', portFile, '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 400; i++) {
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) {
      port = Number(fs.readFileSync(portFile, 'utf8').trim());
      base = `http://127.0.0.1:${port}`;
      return port;
    }
    if (server.exitCode !== null) throw new Error('aktsyncd exited with ' + server.exitCode);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('aktsyncd did not start');
}

// Stops aktsyncd (SIGTERM) and waits until it has exited.
export async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGTERM');
  await exited;
}

// One API call: {status, data (parsed JSON, else text), headers}. `raw: true` gives the body's bytes as data.
export async function call(method, p, token, body, { raw = false, headers: extra = {} } = {}) {
  const headers = { ...extra };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  if (raw) return { status: r.status, data: Buffer.from(await r.arrayBuffer()), headers: r.headers };
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: r.status, data, headers: r.headers };
}

// Starts the server with an admin `root`, logs in; publishes the given programme forms. Returns the admin token.
export async function startWithForms(forms) {
  createUser('root', 'admin');
  await startServer();
  const login = await call('POST', '/v1/login', null, { username: 'root', password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.data));
  const admin = login.data.token;
  for (const f of forms) {
    const def = fs.readFileSync(path.join(root, 'schema/forms/programme', f + '.json'), 'utf8');
    assert.equal((await call('POST', '/v1/admin/forms', admin, def)).status, 201, f);
    assert.equal((await call('POST', `/v1/admin/forms/${f}/1/publish`, admin, {})).status, 200, f);
  }
  return admin;
}

// An enumerator with the given assignments.
export async function addEnumerator(admin, username, assignments) {
  assert.equal((await call('POST', '/v1/admin/users', admin, { username, password: PASSWORD, role: 'enumerator' })).status, 201);
  assert.equal((await call('PUT', `/v1/admin/users/${username}/assignments`, admin, { assignments })).status, 200);
}

export async function launchBrowser() {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  return browser;
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, 'app-' + name + '.png'), fullPage: false });
  assert.doesNotMatch(await page.locator('main').textContent(), /\b(null|undefined|NaN|\[object Object\])\b/, name);
}

// A tablet: one browser context at /app/, with a fresh enrolment code of `user` (not yet typed in).
export async function tablet(admin, user, name, viewport, options = {}) {
  const context = await browser.newContext({ viewport, geolocation: { latitude: 42.5975, longitude: 21.1935, accuracy: 7 },
                                             permissions: ['geolocation'], acceptDownloads: true, ...options });
  if (options.noEngine) await context.route(/forms\.(js|wasm)$/, (r) => r.abort());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|net::ERR/.test(m.text())) errors.push(m.text()); });
  page.on('dialog', (d) => d.accept());
  if (!options.noGoto) {
    await page.goto(base + '/app/');
    await page.locator('#code').waitFor();
  }
  const code = await call('POST', '/v1/admin/enrolments', admin, { username: user, device_name: name });
  assert.equal(code.status, 201, JSON.stringify(code.data));
  return { context, page, errors, code: code.data.code };
}

export async function enrol(t, code) {
  await t.page.fill('#code', code);
  await t.page.click('button[type=submit]');
  await t.page.locator('#new-record').waitFor();
  await synced(t);
}

// Waits until the sync round the app runs has finished (the Sync button is enabled again and says so).
export async function synced(t) {
  await t.page.waitForFunction(() => {
    const b = document.getElementById('sync');
    return b && !b.disabled && document.body.dataset.ready === '1';
  }, null, { timeout: 60000 });
}
// Clicks Sync and waits for the round's outcome; `expectFailure` for a round that must not finish.
export async function syncNow(t, { expectFailure = false } = {}) {
  await synced(t);
  await t.page.evaluate(() => { document.getElementById('flash').textContent = ''; });
  await t.page.click('#sync');
  await t.page.waitForFunction(() => document.getElementById('sync').disabled === false &&
    /Synced|Sinkronizuar|Sinhronizovano|did not finish|nuk përfundoi|nije završena/.test(document.getElementById('flash').textContent),
  null, { timeout: 120000 });
  const flash = await t.page.locator('#flash').textContent();
  if (expectFailure) assert.match(flash, /did not finish/, flash);
  else assert.doesNotMatch(flash, /did not finish|nuk përfundoi|nije završena/, flash);
  return flash;
}

export const q = (page, pathName) => page.locator(`.q[data-path="${pathName}"]`);
// Answers a choice question: a radio button or check box, a drop-down, or (a tablet without the rule
// engine cannot read the shared lists) a text box taking the code.
export async function pick(page, pathName, code) {
  const box = q(page, pathName);
  if (await box.locator(`input[data-code="${code}"]`).count()) await box.locator(`input[data-code="${code}"]`).check();
  else if (await box.locator('select').count()) await box.locator('select').selectOption(code);
  else await box.locator('input').first().fill(code);
}
export async function fill(page, pathName, value) { await q(page, pathName).locator('input').first().fill(String(value)); }

// Every visible control is labelled and at least 48 px tall (a check box or radio button counts with its label).
export async function checkAccessible(page, where) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const e of document.querySelectorAll('input, select, button, a.button, a.record')) {
      const r = e.getBoundingClientRect();
      if (!r.width && !r.height) continue;  // hidden
      const box = (e.type === 'radio' || e.type === 'checkbox') ? e.closest('label') : e;
      if (box.getBoundingClientRect().height < 48) out.push(`${e.id || e.name || e.textContent.trim()}: ${box.getBoundingClientRect().height}px`);
      const named = (e.labels && e.labels.length) || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') ||
                    (e.tagName !== 'INPUT' && e.tagName !== 'SELECT' && e.textContent.trim());
      if (!named) out.push(`${e.outerHTML.slice(0, 80)}: no label`);
    }
    return out;
  });
  assert.deepEqual(problems, [], where);
}

// Starts a new SO1 survey record from the home page and returns its id once its first question shows.
export async function newSurvey(page) {
  await page.goto(base + '/app/#/');
  await page.click('#new-record');
  await page.click('button[data-form="so1_interethnic_survey"]');
  await page.click('#start');
  await q(page, 'survey_wave').waitFor();
  return page.url().split('#/r/')[1];
}

// The survey's non-interview path: every question it asks, valid.
export async function fillSurveyNonInterview(page, settlement, hh) {
  await pick(page, 'survey_wave', 'baseline');
  await fill(page, 'cluster_id', 'gracanice-03');
  await fill(page, 'hh_number', hh);
  await fill(page, 'settlement_name', settlement);
  await pick(page, 'settlement_type', 'rural');
  await fill(page, 'visit_attempt', 1);
  await pick(page, 'respondent_available', 'no');
  await pick(page, 'not_interviewed_reason', 'nobody_home');
  await pick(page, 'interview_outcome', 'no_contact');
}

// Starts a new record of `form` (the first area offered) and returns its id once the form is shown.
export async function newRecord(page, form, firstPath) {
  await page.goto(base + '/app/#/');
  await page.click('#new-record');
  await page.click(`button[data-form="${form}"]`);
  await page.click('#start');
  await page.locator('#form').waitFor();
  if (firstPath) await q(page, firstPath).waitFor();
  return page.url().split('#/r/')[1];
}

export async function openRecord(page, id) {
  await page.goto(base + '/app/#/r/' + id);
  await page.locator('#form').waitFor();
}

// Polls `check` (an async function) until it gives a truthy value, for at most `ms`; returns that value.
// (page.waitForFunction does not wait for a promise its predicate returns: IndexedDB reads need this.)
export async function until(check, what, ms = 60000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The record's draft as stored in IndexedDB (null if none).
export const storedDraft = (page, record) => page.evaluate((id) => new Promise((resolve) => {
  const open = indexedDB.open('aktsync-app');
  open.onsuccess = () => {
    const get = open.result.transaction('drafts').objectStore('drafts').get(id);
    get.onsuccess = () => { open.result.close(); resolve(get.result || null); };
    get.onerror = () => { open.result.close(); resolve(null); };
  };
  open.onerror = () => resolve(null);
}), record);

// Waits until the draft of `record` in IndexedDB holds `needle` (a piece of its body's JSON text, e.g.
// '"hh_number":12'): the writes are asynchronous, and a tab closed a moment later would find only them.
export async function draftHas(page, record, needle) {
  await until(async () => {
    const d = await storedDraft(page, record);
    return d && JSON.stringify(d.body).includes(needle);
  }, `the draft to hold ${needle}`);
}

// Runs the test's main, then stops the browser and the server and removes the temporary folder.
export async function run(main) {
  try {
    await main();
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (server) server.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// Kills aktsyncd with SIGKILL (no shutdown of any kind: a crash, a power cut) and waits until it is gone.
export async function killServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once('exit', r));
  server.kill('SIGKILL');
  await exited;
}

// Saves `count` new records in the tablet's store as the app's Save does (one dot each, in the outbox),
// each a copy of the body of the tablet's edit `template` (a record number) with `vary(i)` merged in.
// Returns the new records' ids. For tests that need many pending records without typing them.
export async function cloneEdits(page, template, count, vary) {
  const bodies = Array.from({ length: count }, (_, i) => vary(i));
  return page.evaluate(async ({ template, bodies }) => {
    const S = window.AktStore;
    const e = await S.tx(['edits', 'kept'], 'readonly', async (s) => (await S.get(s.edits, template)) || S.get(s.kept, template));
    const ids = [];
    for (const extra of bodies) {
      const record = S.uuid7();
      const body = { ...e.body, ...extra };
      await S.saveEdit({ record, form: e.form, form_version: e.form_version, scope: e.scope, body,
                         changed: S.changedPaths({}, body, null), context: {} });
      ids.push(record);
    }
    return ids;
  }, { template, bodies });
}

// Seeds `count` records straight through the API, as another tablet of `user` would push them: a device
// enrolled by code with a fresh actor pushes gzipped batches of 500 creates of `form` (version 1) in
// `scope`, each body `template` with `vary(i)` merged in. Returns the records' ids.
// The server's records of `form` (the admin list, all pages), by id; a record listed twice fails.
export async function serverRecords(admin, form) {
  const seen = new Map();
  let before = '';
  for (;;) {
    const r = await call('GET', `/v1/admin/records?form=${form}&limit=500${before ? '&before=' + before : ''}`, admin);
    assert.equal(r.status, 200, JSON.stringify(r.data));
    for (const row of r.data.records) {
      assert.ok(!seen.has(row.record), 'listed twice: ' + row.record);
      seen.set(row.record, row);
    }
    if (!r.data.next_before) return seen;
    before = r.data.next_before;
  }
}

export async function seedRecords(admin, user, { form, scope, template, count, vary }) {
  const { createHash, randomBytes, randomUUID } = await import('node:crypto');
  const zlib = await import('node:zlib');
  const code = await call('POST', '/v1/admin/enrolments', admin, { username: user, device_name: 'seed-' + randomBytes(3).toString('hex') });
  assert.equal(code.status, 201, JSON.stringify(code.data));
  const e = await call('POST', '/v1/enrol', null, { code: code.data.code, actor: randomUUID(), app_version: 'seed/1' });
  assert.equal(e.status, 201, JSON.stringify(e.data));
  const { token, actor } = e.data;
  const uuid7 = (ms) => {
    const b = randomBytes(16);
    b.writeUIntBE(ms, 0, 6);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    const x = b.toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  };
  const ids = [];
  const t0 = Date.now() - count;  // one millisecond apart: time-ordered ids
  for (let start = 0; start < count; start += 500) {
    const edits = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      const record = uuid7(t0 + i);
      ids.push(record);
      edits.push({ record, form, form_version: 1, scope, dot: { actor, n: i + 1 }, body: { ...template, ...vary(i) }, device_time: Date.now() });
    }
    const text = JSON.stringify({ v: 1, batch_id: 'seed-' + createHash('sha256').update(actor + start).digest('hex').slice(0, 16), edits });
    const r = await fetch(base + '/v1/push', { method: 'POST', body: zlib.gzipSync(text),
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } });
    const answer = await r.json();
    assert.equal(r.status, 200, JSON.stringify(answer).slice(0, 300));
    const bad = answer.results.filter((x) => x.outcome !== 'applied');
    assert.deepEqual(bad.slice(0, 3), [], 'seeded edits applied');
  }
  return ids;
}

// The list's summaries (store.js, IndexedDB version 4) against what the tablet holds: every record's
// summary as summaryOf() makes it from the record, its edits, draft and refusals must be the stored one,
// and no other summary may be stored; each summary's search text must be in the search pack and the log after
// it (version 7; S.readSearch()), once, and no other. Returns the number of summaries checked.
export async function checkSummaries(page) {
  const bad = await page.evaluate(() => window.AktStore.tx(['meta', 'records', 'edits', 'drafts', 'rejected', 'summaries', 'search_pack', 'search_log'], 'readonly', async (s) => {
    const S = window.AktStore;
    const device = await S.get(s.meta, 'device');
    const by = new Map();
    const entry = (id) => { if (!by.has(id)) by.set(id, { rec: undefined, edits: [], draft: undefined, rejected: [] }); return by.get(id); };
    for (const r of await S.all(s.records)) entry(r.record).rec = r;
    for (const e of await S.all(s.edits)) entry(e.record).edits.push(e);
    for (const d of await S.all(s.drafts)) entry(d.record).draft = d;
    for (const r of await S.all(s.rejected)) entry(r.record).rejected.push(r);
    const stored = new Map((await S.all(s.summaries)).map((x) => [x.record, x]));
    const out = [];
    let n = 0;
    for (const [id, g] of by) {
      const want = S.summaryOf(device ? device.v.actor : '', id, g.rec, g.edits, g.draft, g.rejected);
      const have = stored.get(id) || null;
      stored.delete(id);
      if (want) n++;
      if (JSON.stringify(want) !== JSON.stringify(have)) out.push({ id, want, have });
    }
    for (const [id, have] of stored) out.push({ id, want: null, have });
    const texts = new Map();
    const copy = await S.readSearch(s);
    copy.ids.forEach((k, i) => { if (texts.has(k)) out.push({ id: k, search: 'twice' }); texts.set(k, copy.texts[i]); });
    if (copy.ids.some((k, i) => i && copy.ids[i - 1] <= k)) out.push({ search: 'not newest first' });
    for (const row of await S.all(s.summaries)) {
      if (texts.get(row.record) !== S.searchText(row)) out.push({ id: row.record, search: texts.get(row.record), want: S.searchText(row) });
      texts.delete(row.record);
    }
    for (const [id, text] of texts) out.push({ id, search: text, want: null });
    return { out: out.slice(0, 3), mismatches: out.length, n };
  }));
  assert.equal(bad.mismatches, 0, 'summaries out of step: ' + JSON.stringify(bad.out));
  return bad.n;
}

// The app's local store as store.js made it at `version` (1 to 7), for tests that put a tablet's store back
// as an older app held it: call inside an upgradeneeded handler of indexedDB.open('aktsync-app', version) on
// a database that has no stores yet. It runs in the page: defineOldLayout(page) makes it window.oldLayout.
export function oldLayout(db, version) {
  db.createObjectStore('meta', { keyPath: 'k' });
  db.createObjectStore('forms', { keyPath: 'key' });
  db.createObjectStore('records', { keyPath: 'record' });
  const edits = db.createObjectStore('edits', { keyPath: 'n' });
  edits.createIndex('record', 'record');
  db.createObjectStore('batches', { keyPath: 'batch_id' });
  db.createObjectStore('rejected', { keyPath: 'id', autoIncrement: true }).createIndex('record', 'record');
  db.createObjectStore('drafts', { keyPath: 'record' });
  if (version >= 2) {
    db.createObjectStore('blobs', { keyPath: 'digest' });
    db.createObjectStore('blob_data', { keyPath: 'digest' });
  }
  const kept = version >= 3 ? db.createObjectStore('kept', { keyPath: 'n' }) : null;
  if (version >= 4) {
    db.createObjectStore('summaries', { keyPath: 'record' });
    edits.createIndex('queued', 'queued');
    edits.createIndex('acked', 'acked_epoch');
    kept.createIndex('kept_since', 'kept_since');
  }
  if (version >= 5) {
    if (version < 7) db.createObjectStore('search');
    db.createObjectStore('search_log', { autoIncrement: true });
    db.createObjectStore('search_pack', { keyPath: 'k' });
  }
  if (version >= 6) db.createObjectStore('dicts', { keyPath: 'id' });
}
export const defineOldLayout = (page) => page.evaluate(`window.oldLayout = ${oldLayout.toString()}; undefined`);

// Counts, in every page of `context` from its next document on, the reads of whole records (any get,
// getAll or cursor on the `records` store or its indexes): window.__recordReads.
export async function countRecordReads(context) {
  await context.addInitScript(() => {
    window.__recordReads = 0;
    const wrapRead = (proto, name, storeOf) => {
      const orig = proto[name];
      proto[name] = function (...args) {
        if (storeOf(this) === 'records') window.__recordReads++;
        return orig.apply(this, args);
      };
    };
    for (const m of ['get', 'getAll', 'openCursor']) {
      wrapRead(IDBObjectStore.prototype, m, (x) => x.name);
      wrapRead(IDBIndex.prototype, m, (x) => x.objectStore.name);
    }
  });
}

// Rows and bytes of every object store of the tablet's IndexedDB (strings by their length, byte arrays by
// their bytes, objects as JSON with their byte arrays counted by their bytes; keys included).
export const storeBreakdown = (page) => page.evaluate(() => new Promise((resolve, reject) => {
  const open = indexedDB.open('aktsync-app');
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const db = open.result;
    const names = [...db.objectStoreNames];
    const t = db.transaction(names, 'readonly');
    const size = (v) => (typeof v === 'string' ? v.length : v instanceof ArrayBuffer ? v.byteLength : ArrayBuffer.isView(v) ? v.byteLength
      : JSON.stringify(v, (k, x) => (x instanceof ArrayBuffer || ArrayBuffer.isView(x) ? '#'.repeat(Math.max(0, x.byteLength - 2)) : x)).length);
    const out = {};
    for (const n of names) {
      const keys = t.objectStore(n).getAllKeys(), values = t.objectStore(n).getAll();
      values.onsuccess = () => {
        out[n] = { rows: values.result.length, bytes: values.result.reduce((a, v) => a + size(v), 0) + keys.result.reduce((a, k) => a + size(k), 0) };
      };
    }
    t.oncomplete = () => { db.close(); resolve({ version: db.version, stores: out }); };
    t.onerror = () => reject(t.error);
  };
}));
