// Browser tests of the enumerators' tablet app (/app/): a real aktsyncd on loopback (the built binary, a
// temporary data folder) with the programme's instruments published, Debian's chromium driven by
// playwright-core. Each browser context is one tablet. Checks:
//   - enrolment by one-time code (a wrong code is refused with a plain message);
//   - filling the survey with the server's own rules on the tablet (relevance, a constraint message, saving
//     blocked until the answers pass), a repeat group of the infrastructure instrument (items, GPS with
//     accuracy, photo questions marked as added after sync), the language switch;
//   - offline: create and edit records, reload (the app starts from its service worker), then back online:
//     the automatic sync sends them and the server API has them;
//   - two tablets edit one record offline, on different fields and on one same field: one merged version on
//     the server, the disputed field in conflict and the record read-only with the explanation on both;
//   - a tablet without the rule engine saves an answer the server refuses: the record shows the server's
//     per-field reason;
//   - a change of the user's scope: the tablet pulls again from the start and keeps its unsent edit;
//   - an app update (a new service worker) with an unsynced edit on the tablet loses nothing;
//   - a tablet's Backup file of unsynced edits is pushed by `aktsync import` (the tablet "broke" before
//     syncing); importing it again changes nothing;
//   - a revoked tablet enrols again with a new code and keeps its actor;
//   - the message catalogue has every key in every language.
// Screenshots at tablet (800x1280) and phone (390x844) sizes go to the output folder.
//
// Environment: AKTSYNCD (default build/dev/server/aktsyncd), AKTSYNC (the CLI; default next to it), AKT_WEB_OUT (screenshots; default
// build/dev/tests/web-output), CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const binary = process.env.AKTSYNCD || path.join(root, 'build/dev/server/aktsyncd');
const cli = process.env.AKTSYNC || path.join(path.dirname(binary), '../clients/aktsync');
const outDir = process.env.AKT_WEB_OUT || path.join(root, 'build/dev/tests/web-output');
const PASSWORD = 'correct horse battery';
const started = Date.now();
const TABLET = { width: 800, height: 1280 };
const PHONE = { width: 390, height: 844 };

fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'akt-app-'));
const dataDir = path.join(tmp, 'data');
const pwFile = path.join(tmp, 'pw');
fs.writeFileSync(pwFile, PASSWORD + '\n', { mode: 0o600 });

let server = null;
let browser = null;
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

function createUser(name, role) {
  execFileSync(binary, ['--data-dir', dataDir, '--create-user', name, '--role', role, '--password-file', pwFile], { stdio: 'pipe' });
}

async function startServer() {
  const portFile = path.join(tmp, 'port');
  server = spawn(binary, ['--data-dir', dataDir, '--listen', '127.0.0.1:0', '--port-file', portFile, '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 400; i++) {
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) return Number(fs.readFileSync(portFile, 'utf8').trim());
    if (server.exitCode !== null) throw new Error('aktsyncd exited with ' + server.exitCode);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('aktsyncd did not start');
}

let base = '';
async function call(method, p, token, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: r.status, data, headers: r.headers };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, 'app-' + name + '.png'), fullPage: false });
  assert.doesNotMatch(await page.locator('main').textContent(), /\b(null|undefined|NaN|\[object Object\])\b/, name);
}

function checkCatalogue() {
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(path.join(root, 'clients/web/i18n.js'), 'utf8'), sandbox);
  const M = sandbox.window.AKT_APP_MESSAGES;
  for (const code of ['sq', 'sr']) assert.deepEqual(Object.keys(M[code]).sort(), Object.keys(M.en).sort(), code);
  for (const code of ['en', 'sq', 'sr']) {
    assert.deepEqual(Object.keys(M[code]).filter((k) => typeof M[code][k] !== 'string' || !M[code][k]), [], code + ': empty texts');
  }
  const app = fs.readFileSync(path.join(root, 'clients/web/app.js'), 'utf8');
  const used = [...app.matchAll(/\bt\('([a-z_]+)'(?! \+)/g)].map((m) => m[1]);  // not computed keys' prefixes
  assert.ok(used.length > 40);
  assert.deepEqual(used.filter((k) => !(k in M.en)), [], 'keys missing from the catalogue');
}

// A tablet: one browser context, enrolled with a fresh code of `user`.
async function tablet(admin, user, name, viewport, options = {}) {
  const context = await browser.newContext({ viewport, geolocation: { latitude: 42.5975, longitude: 21.1935, accuracy: 7 },
                                             permissions: ['geolocation'], acceptDownloads: true, ...options });
  if (options.noEngine) await context.route(/forms\.(js|wasm)$/, (r) => r.abort());
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource|net::ERR/.test(m.text())) errors.push(m.text()); });
  page.on('dialog', (d) => d.accept());
  await page.goto(base + '/app/');
  await page.locator('#code').waitFor();
  const code = await call('POST', '/v1/admin/enrolments', admin, { username: user, device_name: name });
  assert.equal(code.status, 201, JSON.stringify(code.data));
  return { context, page, errors, code: code.data.code };
}

async function enrol(t, code) {
  await t.page.fill('#code', code);
  await t.page.click('button[type=submit]');
  await t.page.locator('#new-record').waitFor();
  await synced(t);
}

// Waits until the sync round the app runs has finished (the Sync button is enabled again and says so).
async function synced(t) {
  await t.page.waitForFunction(() => {
    const b = document.getElementById('sync');
    return b && !b.disabled && document.body.dataset.ready === '1';
  }, null, { timeout: 60000 });
}
async function syncNow(t) {
  await synced(t);
  await t.page.evaluate(() => { document.getElementById('flash').textContent = ''; });
  await t.page.click('#sync');
  await t.page.waitForFunction(() => document.getElementById('sync').disabled === false &&
    /Synced|Sinkronizuar|Sinhronizovano|did not finish/.test(document.getElementById('flash').textContent), null, { timeout: 60000 });
  const flash = await t.page.locator('#flash').textContent();
  assert.doesNotMatch(flash, /did not finish/, flash);
}

const q = (page, pathName) => page.locator(`.q[data-path="${pathName}"]`);
// Answers a choice question: a radio button or check box, a drop-down, or (a tablet without the rule
// engine cannot read the shared lists) a text box taking the code.
async function pick(page, pathName, code) {
  const box = q(page, pathName);
  if (await box.locator(`input[data-code="${code}"]`).count()) await box.locator(`input[data-code="${code}"]`).check();
  else if (await box.locator('select').count()) await box.locator('select').selectOption(code);
  else await box.locator('input').first().fill(code);
}
async function fill(page, pathName, value) { await q(page, pathName).locator('input').first().fill(String(value)); }

// The survey's non-interview path: every question it asks, valid.
async function fillSurveyNonInterview(page, settlement, hh) {
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

// Every visible control is labelled and at least 48 px tall (a check box or radio button counts with its label).
async function checkAccessible(page, where) {
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

async function newSurvey(page) {
  await page.goto(base + '/app/#/');
  await page.click('#new-record');
  await page.click('button[data-form="so1_interethnic_survey"]');
  await page.click('#start');
  await q(page, 'survey_wave').waitFor();
  return page.url().split('#/r/')[1];
}

async function openRecord(page, id) {
  await page.goto(base + '/app/#/r/' + id);
  await page.locator('#form').waitFor();
}

async function main() {
  checkCatalogue();
  step('starting aktsyncd ' + binary);
  createUser('root', 'admin');
  const port = await startServer();
  base = `http://127.0.0.1:${port}`;
  const login = await call('POST', '/v1/login', null, { username: 'root', password: PASSWORD });
  const admin = login.data.token;
  const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
  for (const u of ['enis', 'vesa']) {
    assert.equal((await call('POST', '/v1/admin/users', admin, { username: u, password: PASSWORD, role: 'enumerator' })).status, 201);
    assert.equal((await call('PUT', `/v1/admin/users/${u}/assignments`, admin, { assignments: [scope] })).status, 200);
  }
  for (const f of ['so1_interethnic_survey', 'so1_infra_monitoring']) {
    const def = fs.readFileSync(path.join(root, 'schema/forms/programme', f + '.json'), 'utf8');
    assert.equal((await call('POST', '/v1/admin/forms', admin, def)).status, 201, f);
    assert.equal((await call('POST', `/v1/admin/forms/${f}/1/publish`, admin, {})).status, 200, f);
  }

  // The app's files: strict CSP, a manifest, a service worker whose cache name is the build's hash.
  const index = await call('GET', '/app/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-security-policy'), /script-src 'self' 'wasm-unsafe-eval'; /);
  assert.match(index.headers.get('content-security-policy'), /default-src 'none'/);
  assert.equal((await call('GET', '/app/manifest.webmanifest')).data.start_url, '/app/');
  const sw = await call('GET', '/app/sw.js');
  assert.match(sw.data, /const BUILD = '[0-9a-f]{16}';/);
  assert.equal((await call('GET', '/app/nothing.js')).status, 404);
  assert.equal((await call('GET', '/app')).status, 200);  // fetch follows the 302 to /app/
  const wasm = await call('GET', '/app/forms.wasm');
  step(`rule engine ${wasm.status === 200 ? 'embedded' : 'NOT embedded (built without emscripten)'}`);

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });

  // --- Tablet A: enrolment. ---
  const A = await tablet(admin, 'enis', 'tablet-enis', TABLET);
  await A.page.fill('#code', '0000-0000-0000-0000');
  await A.page.click('button[type=submit]');
  await A.page.getByText('unknown, already used or expired').waitFor();
  await shot(A.page, '01-enrol');
  await enrol(A, A.code);
  step('tablet A enrolled and synced');
  const hasEngine = await A.page.evaluate(() => document.body.dataset.engine);
  assert.equal(hasEngine, wasm.status === 200 ? 'wasm' : 'none');

  // --- The survey with the server's rules on the tablet. ---
  const r1 = await newSurvey(A.page);
  // Relevance: the non-interview reason only when the respondent is not available, the consent note only when they are.
  await q(A.page, 'not_interviewed_reason').waitFor({ state: 'hidden' });
  await pick(A.page, 'respondent_available', 'yes');
  await q(A.page, 'consent_script').waitFor({ state: 'visible' });
  await q(A.page, 'adult_confirmed').waitFor({ state: 'visible' });
  await q(A.page, 'not_interviewed_reason').waitFor({ state: 'hidden' });
  await pick(A.page, 'respondent_available', 'no');
  await q(A.page, 'not_interviewed_reason').waitFor({ state: 'visible' });
  await q(A.page, 'consent_script').waitFor({ state: 'hidden' });
  // A constraint with its message.
  await fill(A.page, 'cluster_id', 'prizren-03');
  await q(A.page, 'cluster_id').getByText("cluster_id must start with the municipality code").waitFor();
  await fill(A.page, 'cluster_id', 'gracanice-03');
  await A.page.waitForFunction(() => !document.querySelector('.q[data-path="cluster_id"] .error').textContent);
  // Saving is refused while answers are missing.
  await A.page.click('#save');
  await A.page.locator('#save-msg').getByText('need attention').waitFor();
  await q(A.page, 'hh_number').getByText('An answer is required').waitFor();
  await shot(A.page, '02-survey-errors-tablet');
  await checkAccessible(A.page, 'survey (tablet)');
  // Every answer is in IndexedDB as it is entered: a reload keeps the draft.
  await fill(A.page, 'hh_number', 12);
  // The write is asynchronous (IndexedDB): wait until the draft holds the answer, as a tab closed a moment later would find it.
  await A.page.waitForFunction(() => new Promise((resolve) => {
    const open = indexedDB.open('aktsync-app');
    open.onsuccess = () => {
      const get = open.result.transaction('drafts').objectStore('drafts').getAll();
      get.onsuccess = () => { open.result.close(); resolve(get.result.some((d) => d.body && d.body.hh_number === 12)); };
      get.onerror = () => { open.result.close(); resolve(false); };
    };
    open.onerror = () => resolve(false);
  }));
  await A.page.reload();
  await q(A.page, 'hh_number').waitFor();
  assert.equal(await q(A.page, 'hh_number').locator('input').inputValue(), '12');
  await fillSurveyNonInterview(A.page, 'Laplje Selo', 12);
  // The language switch: form labels from the definition (Serbian in Cyrillic), the app's texts too.
  await A.page.selectOption('#lang', 'sr');
  await q(A.page, 'hh_number').locator('.qlabel').filter({ hasText: /[\u0400-\u04FF]/ }).waitFor();
  await shot(A.page, '03-survey-sr-tablet');
  await A.page.setViewportSize(PHONE);
  await shot(A.page, '04-survey-sr-phone');
  await checkAccessible(A.page, 'survey (phone)');
  await A.page.setViewportSize(TABLET);
  await A.page.selectOption('#lang', 'sq');
  await A.page.selectOption('#lang', 'en');
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${r1}"][data-state="pending"]`).waitFor();
  step('survey saved on tablet A');

  // --- A repeat group: the infrastructure instrument's visits (GPS with accuracy; photos after sync). ---
  await A.page.click('#new-record');
  await A.page.click('button[data-form="so1_infra_monitoring"]');
  await A.page.click('#start');
  await A.page.locator('button[data-repeat="visit"]').click();
  await A.page.locator('fieldset.repeat .item').first().waitFor();
  await A.page.locator('button[data-repeat="visit"]').click();
  await A.page.locator('fieldset.repeat .item').nth(1).waitFor();
  assert.equal(await A.page.locator('fieldset.repeat .item').count(), 2);
  const item = A.page.locator('fieldset.repeat .item').first();
  await item.locator('.q-geopoint button').first().click();
  await item.getByText('accuracy 7 m').waitFor();
  await item.getByText('Photos are added after sync').first().waitFor();
  await A.page.locator('fieldset.repeat .item').nth(1).locator('.remove-item').click();
  await A.page.waitForFunction(() => document.querySelectorAll('fieldset.repeat .item').length === 1);
  await item.scrollIntoViewIfNeeded();
  await shot(A.page, '05-infra-repeat-tablet');
  await A.page.goto(base + '/app/#/');
  await A.page.locator('a.record[data-state="draft"]').waitFor();

  // --- Offline: the service worker starts the app; records are created and edited; then the sync. ---
  await A.page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: 30000 });
  await syncNow(A);
  await A.page.locator(`a[data-record="${r1}"][data-state="synced"]`).waitFor();
  await A.context.setOffline(true);
  const r2 = await newSurvey(A.page);
  await fillSurveyNonInterview(A.page, 'Gušterica', 13);
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${r2}"][data-state="pending"]`).waitFor();
  await openRecord(A.page, r1);
  await fill(A.page, 'settlement_name', 'Laplje Selo (centre)');
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${r1}"][data-state="pending"]`).waitFor();
  await A.page.reload();
  await A.page.locator(`a[data-record="${r2}"][data-state="pending"]`).waitFor();
  await A.page.getByText('Offline.').waitFor();
  await shot(A.page, '06-offline-list-tablet');
  step('offline: two records saved, the app reloaded from its service worker');
  await A.context.setOffline(false);
  await A.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await A.page.locator(`a[data-record="${r1}"][data-state="synced"]`).waitFor({ timeout: 60000 });
  await A.page.locator(`a[data-record="${r2}"][data-state="synced"]`).waitFor({ timeout: 60000 });
  for (const [id, settlement] of [[r1, 'Laplje Selo (centre)'], [r2, 'Gušterica']]) {
    const rec = await call('GET', '/v1/records/' + id, admin);
    assert.equal(rec.status, 200, id);
    assert.equal(rec.data.live.length, 1);
    assert.equal(rec.data.live[0].body.settlement_name, settlement);
    assert.equal(rec.data.live[0].body.enumerator_id, 'enis');
    assert.equal(rec.data.live[0].body.municipality, 'gracanice');
  }
  const r1Server = await call('GET', '/v1/records/' + r1, admin);
  assert.deepEqual(r1Server.data.live[0].changed, ['settlement_name']);
  step('back online: both records on the server');

  // --- Two tablets edit one record offline: one merged version, a conflict on the same field. ---
  const B = await tablet(admin, 'vesa', 'tablet-vesa', PHONE);
  await enrol(B, B.code);
  await B.page.locator(`a[data-record="${r1}"][data-state="synced"]`).waitFor();
  await A.context.setOffline(true);
  await B.context.setOffline(true);
  await openRecord(A.page, r1);
  await fill(A.page, 'settlement_name', 'Laplje Selo (north)');   // A only
  await fill(A.page, 'visit_attempt', 2);                        // both, differently
  await A.page.click('#save');
  await openRecord(B.page, r1);
  await pick(B.page, 'survey_wave', 'midline');                  // B only
  await fill(B.page, 'visit_attempt', 3);                        // both, differently
  await B.page.click('#save');
  await B.page.locator(`a[data-record="${r1}"][data-state="pending"]`).waitFor();
  await A.context.setOffline(false);
  await syncNow(A);
  await B.context.setOffline(false);
  await syncNow(B);
  await syncNow(A);
  const merged = await call('GET', '/v1/records/' + r1, admin);
  assert.equal(merged.data.live.length, 1);
  assert.equal(merged.data.live[0].body.settlement_name, 'Laplje Selo (north)');
  assert.equal(merged.data.live[0].body.survey_wave, 'midline');
  assert.deepEqual(merged.data.conflicted, ['visit_attempt']);
  for (const t of [A, B]) {
    await t.page.goto(base + '/app/#/');
    await t.page.locator(`a[data-record="${r1}"][data-state="conflict"]`).waitFor();
    await openRecord(t.page, r1);
    await t.page.locator('#record-state[data-state="conflict"]').getByText('visit_attempt').waitFor();
    assert.equal(await t.page.locator('#save').count(), 0, 'a record in conflict is read-only');
    assert.ok(await q(t.page, 'visit_attempt').evaluate((e) => e.classList.contains('conflicted')));
  }
  await shot(A.page, '07-conflict-tablet');
  await shot(B.page, '08-conflict-phone');
  step('two tablets: merged, visit_attempt in conflict on both');

  // --- A rejected edit shows the server's per-field reasons (a tablet without the rule engine). ---
  const C = await tablet(admin, 'enis', 'tablet-enis-2', TABLET, { noEngine: true, serviceWorkers: 'block' });
  await enrol(C, C.code);
  const r3 = await newSurvey(C.page);
  await C.page.locator('#no-engine').waitFor();
  await fillSurveyNonInterview(C.page, 'Dobrotin', 5000);  // hh_number: 1-999
  await C.page.click('#save');
  await C.page.locator(`a[data-record="${r3}"][data-state="pending"]`).waitFor();
  await syncNow(C);
  await C.page.locator(`a[data-record="${r3}"][data-state="rejected"]`).waitFor();
  await openRecord(C.page, r3);
  await C.page.locator('#record-state[data-state="rejected"]').waitFor();
  await q(C.page, 'hh_number').getByText('Server: Out of the allowed range.').waitFor();
  await shot(C.page, '09-rejected-tablet');
  const quarantine = await call('GET', '/v1/admin/quarantine', admin);
  assert.ok(JSON.stringify(quarantine.data).includes(r3), 'the refused edit is in the quarantine');
  step('rejected edit shows its per-field reason');

  // --- A revoked tablet enrols again with a new code and keeps its actor (PROTOCOL §8.4). ---
  const actorC = await C.page.evaluate(() => window.AktStore.meta('device').then((d) => d.actor));
  assert.equal((await call('POST', `/v1/admin/devices/${actorC}/revoke`, admin, {})).status, 200);
  await C.page.goto(base + '/app/#/');
  await synced(C);
  await C.page.click('#sync');
  await C.page.locator('#enrol-msg').getByText('no longer accepts this tablet').waitFor();
  const codeC = await call('POST', '/v1/admin/enrolments', admin, { username: 'enis', device_name: 'tablet-enis-2' });
  await enrol(C, codeC.data.code);
  assert.equal(await C.page.evaluate(() => window.AktStore.meta('device').then((d) => d.actor)), actorC);
  await C.page.locator(`a[data-record="${r3}"]`).waitFor();
  step('revoked tablet enrolled again under its actor');

  // --- An app update with unsynced edits on the tablet: a new service worker (another build hash) takes
  // over, the old cache goes, and the edit is still there, then syncs. The API answers 401 meanwhile, so
  // the edit cannot leave the tablet before the update. ---
  await A.page.goto(base + '/app/#/');
  await A.context.route('**/v1/**', (r) => r.fulfill({ status: 401, contentType: 'application/problem+json',
                                                      body: '{"code":"unauthenticated","detail":"test","status":401}' }));
  const r5 = await newSurvey(A.page);
  await fillSurveyNonInterview(A.page, 'Livađe', 55);
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${r5}"][data-state="pending"]`).waitFor();
  const oldCaches = await A.page.evaluate(() => caches.keys());
  assert.equal(oldCaches.length, 1);
  const swText = (await call('GET', '/app/sw.js')).data;
  await A.context.route('**/app/sw.js', (r) => r.fulfill({ status: 200, contentType: 'text/javascript; charset=utf-8',
    body: swText.replace(/const BUILD = '[0-9a-f]{16}';/, "const BUILD = 'feedfacefeedface';") }));
  await A.page.evaluate(() => navigator.serviceWorker.getRegistration().then((reg) => reg.update()));
  await A.page.waitForFunction(() => caches.keys().then((k) => k.length === 1 && k[0] === 'akt-app-feedfacefeedface'),
                               null, { timeout: 30000, polling: 250 });
  await A.page.reload();
  // The new version starts, syncs at once and is refused (the routed 401): it asks for a new code; the
  // edit is still on the tablet, unsent.
  await A.page.locator('#enrol-msg').getByText('no longer accepts this tablet').waitFor();
  const kept = await A.page.evaluate((id) => window.AktStore.tx(['edits'], 'readonly', (st) => window.AktStore.all(st.edits))
    .then((l) => l.filter((e) => e.record === id && !e.acked_epoch).length), r5);
  assert.equal(kept, 1, 'the unsynced edit survived the update');
  await A.context.unroute('**/v1/**');
  await syncNow(A);
  await A.page.locator(`a[data-record="${r5}"][data-state="synced"]`).waitFor();
  assert.equal((await call('GET', '/v1/records/' + r5, admin)).data.live[0].body.settlement_name, 'Livađe');
  step('app updated with an unsynced edit on the tablet: nothing lost');

  // --- The user's scope changes (PROTOCOL §5.4): the next pull starts over; an edit saved before it is kept
  // and sent, and the records of the scope are all there again. ---
  const scopeVersion = () => A.page.evaluate(() => window.AktStore.meta('cursor')).then((c) => Number(c.split('-')[2]));
  const before = await scopeVersion();
  await A.context.setOffline(true);
  await openRecord(A.page, r2);
  await fill(A.page, 'hh_number', 14);
  await A.page.click('#save');
  await A.page.locator(`a[data-record="${r2}"][data-state="pending"]`).waitFor();
  assert.equal((await call('PUT', '/v1/admin/users/enis/assignments', admin,
    { assignments: [scope, { municipality: 'prizren', community: 'serb', component: 'SO1' }] })).status, 200);
  await A.context.setOffline(false);
  await syncNow(A);
  for (const id of [r1, r2, r5]) await A.page.locator(`a[data-record="${id}"]`).waitFor();
  await A.page.locator(`a[data-record="${r2}"][data-state="synced"]`).waitFor();
  assert.equal((await call('GET', '/v1/records/' + r2, admin)).data.live[0].body.hh_number, 14);
  assert.equal(await scopeVersion(), before + 1, 'the cursor carries the new scope version');
  step('scope changed: pulled again from the start, the pending edit sent');

  // --- Backup: tablet B saves a record offline, writes a backup and "breaks"; `aktsync import` sends it. ---
  await B.context.setOffline(true);
  const r4 = await newSurvey(B.page);
  await fillSurveyNonInterview(B.page, 'Ugljare', 44);
  await B.page.click('#save');
  await B.page.locator(`a[data-record="${r4}"][data-state="pending"]`).waitFor();
  const [download] = await Promise.all([B.page.waitForEvent('download'), B.page.click('#backup')]);
  const backupFile = path.join(tmp, 'backup.json');
  await download.saveAs(backupFile);
  const backup = JSON.parse(fs.readFileSync(backupFile, 'utf8'));
  assert.equal(backup.kind, 'aktsync-backup');
  assert.deepEqual(backup.edits.map((e) => e.record), [r4]);
  await B.context.close();
  assert.equal((await call('GET', '/v1/records/' + r4, admin)).status, 404);
  const newCode = await call('POST', '/v1/admin/enrolments', admin, { username: 'vesa', device_name: 'tablet-vesa (import)' });
  const importArgs = ['import', backupFile, '--server', `127.0.0.1:${port}`, '--code', newCode.data.code];
  const out = execFileSync(cli, importArgs, { encoding: 'utf8' });
  assert.match(out, /imported 1 edit\(s\) .*: 1 applied/, out);
  const imported = await call('GET', '/v1/records/' + r4, admin);
  assert.equal(imported.status, 200);
  assert.equal(imported.data.live[0].body.settlement_name, 'Ugljare');
  const again = await call('POST', '/v1/admin/enrolments', admin, { username: 'vesa', device_name: 'tablet-vesa (import 2)' });
  const out2 = execFileSync(cli, ['import', backupFile, '--server', `127.0.0.1:${port}`, '--code', again.data.code], { encoding: 'utf8' });
  assert.equal(out2, out, 'a second import replays the same batch and gets the same answer');
  const after = await call('GET', '/v1/records/' + r4, admin);
  assert.equal(after.data.seq, imported.data.seq, 'the second import changed nothing');
  step('backup file imported by aktsync import');

  for (const t of [A, B, C]) assert.deepEqual(t.errors, [], 'page errors');
  step('all app browser tests passed');
}

try {
  await main();
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) server.kill('SIGTERM');
  fs.rmSync(tmp, { recursive: true, force: true });
}
