// Browser tests of the console's administration pages on the quickstart's demo data (aktsync-seed on a
// real aktsyncd over loopback): each action is done in the browser and checked through the API
// afterwards. Users and teams (create, team, assignments, disable/enable, one-time password, community
// data grant); tablets (an enrolment code as text and as a QR code that decodes to it and enrols a tablet;
// revoke); the quarantine (release after a fix, discard, bulk); the audit log filtered; the indicators by
// objective with a CSV each; submissions filtered, bulk-approved in one audited action, and a record
// returned with a comment. Then every role signs in and no page shows a raw clock, actor id or UUID;
// badges have a contrast of at least 4.5:1; at 390 px no page scrolls sideways. Screenshots of every page
// at 1280 and 390 px go to the output folder.
//
// Environment: AKTSYNCD, AKTSYNC_SEED (default build/dev/{server/aktsyncd,clients/aktsync-seed}),
// AKT_WEB_OUT, CHROMIUM, as console.test.mjs.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const binary = process.env.AKTSYNCD || path.join(root, 'build/dev/server/aktsyncd');
const seedBinary = process.env.AKTSYNC_SEED || path.join(path.dirname(path.dirname(binary)), 'clients/aktsync-seed');
const outDir = process.env.AKT_WEB_OUT || path.join(root, 'build/dev/tests/web-output');
const ADMIN_PW = 'admin password 1';
const DEMO_PW = 'demo password 12';
const started = Date.now();
const step = (s) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${s}`);

fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'akt-admin-web-'));
const dataDir = path.join(tmp, 'data');
fs.writeFileSync(path.join(tmp, 'admin-pw'), ADMIN_PW + '\n', { mode: 0o600 });
fs.writeFileSync(path.join(tmp, 'demo-pw'), DEMO_PW + '\n', { mode: 0o600 });
let server = null;
let browser = null;
let base = '';

async function startServer() {
  execFileSync(binary, ['--data-dir', dataDir, '--create-user', 'admin', '--role', 'admin', '--password-file', path.join(tmp, 'admin-pw')], { stdio: 'pipe' });
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
async function call(method, p, token, body) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: r.status, data };
}
async function login(user, pw) {
  const r = await call('POST', '/v1/login', null, { username: user, password: pw });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.token;
}
async function signIn(page, user, pw) {
  await page.goto(base + '/console/#/signin');
  await page.getByTestId('signin').waitFor();
  await page.fill('#username', user);
  await page.fill('#password', pw);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signout').waitFor({ state: 'visible' });
}
async function signOut(page) {
  await page.getByTestId('signout').click();
  await page.getByTestId('signin').waitFor();
}
async function goto(page, hash, testid) {
  if (page.url().endsWith('#/' + hash)) await page.reload();  // the same fragment again renders nothing new
  else await page.goto(base + '/console/#/' + hash);
  await page.getByTestId(testid).first().waitFor();
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
}
const flashText = async (page) => (await page.getByTestId('flash').textContent()) || '';

// What must never be on screen: UUIDs (record and actor ids), vector clocks, long hex codes.
const INTERNAL = [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i, /\{"[0-9a-f-]{8,}":\s*\d/i, /\b[0-9a-f]{16,}\b/i, /…:\d+/];
async function assertNothingInternal(page, where) {
  const text = await page.locator('main').innerText();
  for (const re of INTERNAL) assert.doesNotMatch(text, re, where + ': internal value on screen');
  assert.doesNotMatch(text, /\b(null|undefined|NaN|\[object Object\])\b/, where + ': placeholder on screen');
}
// Every chart has its axis labelled and no text smaller than 12 px as drawn (the SVG is scaled to its box).
async function assertChartsReadable(page, where) {
  const charts = await page.evaluate(() => [...document.querySelectorAll('svg.chart')].map((svg) => {
    const scale = svg.getScreenCTM().a;
    const sizes = [...svg.querySelectorAll('text')].map((t) => parseFloat(getComputedStyle(t).fontSize) * scale);
    return { min: Math.min(...sizes), axis: svg.querySelectorAll('[data-testid="axis-label"]').length,
      ticks: svg.querySelectorAll('[data-testid="axis-tick"]').length };
  }));
  assert.ok(charts.length > 0, where + ': charts');
  for (const c of charts) {
    assert.ok(c.min >= 12, `${where}: chart text of ${c.min.toFixed(1)} px`);
    assert.ok(c.axis >= 1 && c.ticks >= 2, `${where}: an axis with its label and ticks`);
  }
}
// Contrast of every badge's text against its background (WCAG relative luminance).
async function badgeContrasts(page) {
  return page.evaluate(() => {
    const lum = (rgb) => {
      const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => v / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    return [...document.querySelectorAll('.badge')].map((el) => {
      const cs = getComputedStyle(el);
      const a = lum(cs.color), b = lum(cs.backgroundColor);
      return { cls: el.className, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
    });
  });
}

async function main() {
  const port = await startServer();
  base = `http://127.0.0.1:${port}`;
  step('seeding the demo (aktsync-seed --records 30)');
  execFileSync(seedBinary, ['--port', String(port), '--plain', '1', '--admin-password-file', path.join(tmp, 'admin-pw'),
    '--demo-password-file', path.join(tmp, 'demo-pw'), '--forms-dir', path.join(root, 'schema/forms/programme'),
    '--state', path.join(tmp, 'state.json'), '--env-out', path.join(tmp, 'tablets.env'), '--records', '30'], { stdio: 'inherit' });
  const admin = await login('admin', ADMIN_PW);

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'admin', ADMIN_PW);

  // --- Users and teams. ---
  await goto(page, 'users', 'users-table');
  await page.getByTestId('new-username').fill('driton');
  await page.getByTestId('new-display-name').fill('Driton Hoxha');
  await page.getByTestId('new-password').fill('a long password 1');
  await page.getByTestId('new-role').selectOption('enumerator');
  await page.getByTestId('new-supervisor').selectOption('supervisor1');
  await page.getByTestId('create-user').click();
  await page.locator('tr[data-user="driton"]').waitFor();
  await page.getByTestId('edit-assignments-driton').click();
  const row = page.getByTestId('assignment-row').first();
  await row.getByTestId('a-municipality').selectOption('gracanice');
  await row.getByTestId('a-component').selectOption('SO1');
  await page.getByTestId('save-assignments').click();
  await page.getByTestId('flash').waitFor();
  await page.getByTestId('disable-driton').click();
  await page.getByTestId('enable-driton').waitFor();
  await page.getByTestId('special-me1').check();
  await page.getByTestId('flash').filter({ hasText: 'me1' }).waitFor();
  await page.getByTestId('reset-enumerator2').click();
  const oneTime = (await page.getByTestId('one-time-password').textContent()).trim();
  await shot(page, 'a01-users');
  let users = (await call('GET', '/v1/admin/users', admin)).data.users;
  const driton = users.find((u) => u.username === 'driton');
  assert.equal(driton.display_name, 'Driton Hoxha');
  assert.equal(driton.supervisor, 'supervisor1');
  assert.equal(driton.disabled, true);
  assert.deepEqual(driton.assignments, [{ municipality: 'gracanice', community: '*', component: 'SO1', form: '*' }]);
  assert.equal(users.find((u) => u.username === 'me1').special_category, true);
  const otp = await call('POST', '/v1/login', null, { username: 'enumerator2', password: oneTime });
  assert.equal(otp.status, 200, 'the one-time password shown logs in');
  assert.equal(otp.data.password_change_required, true);
  await page.getByTestId('enable-driton').click();
  await page.getByTestId('disable-driton').waitFor();
  assert.equal((await call('GET', '/v1/admin/users', admin)).data.users.find((u) => u.username === 'driton').disabled, false);
  step('users: created, team, assignments, disabled/enabled, one-time password, grant');

  // --- Tablets: a code as text and as a QR code; the QR decodes to it and enrols a tablet. ---
  await goto(page, 'tablets', 'tablets-table');
  await page.getByTestId('enrol-user').selectOption('driton');
  await page.getByTestId('enrol-device-name').fill('tablet of Driton');
  await page.getByTestId('issue-code').click();
  const code = (await page.getByTestId('enrolment-code').textContent()).trim();
  assert.match(code, /^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
  assert.match(await page.getByTestId('enrolment-expiry').textContent(), /20\d\d/);
  const pixels = await page.evaluate(async () => {
    const svg = document.querySelector('[data-testid="enrolment-qr"] svg');
    const img = new Image();
    img.src = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: 'image/svg+xml' }));
    await img.decode();
    const c = document.createElement('canvas');
    c.width = 330;
    c.height = 330;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0, 330, 330);
    return Array.from(g.getImageData(0, 0, 330, 330).data);
  });
  const decoded = jsQR(Uint8ClampedArray.from(pixels), 330, 330);
  assert.ok(decoded, 'the QR code decodes');
  const payload = JSON.parse(decoded.data);
  assert.equal(payload.code, code);
  assert.equal(payload.server, base);
  await shot(page, 'a02-tablets-code');
  const enrolled = await call('POST', '/v1/enrol', null, { code: payload.code, actor: '0190f5c2-7a1e-4cc0-9a4b-2f1e3d4c5b6a', app_version: '1.4.2' });
  assert.equal(enrolled.status, 201, JSON.stringify(enrolled.data));
  await goto(page, 'tablets', 'tablets-table');
  assert.match(await page.getByTestId('tablets-table').textContent(), /tablet of enumerator1/);
  await page.getByTestId('revoke-tablet of Driton').click();
  await page.getByTestId('flash').waitFor();
  const devs = (await call('GET', '/v1/admin/devices', admin)).data.devices;
  assert.equal(devs.find((d) => d.name === 'tablet of Driton').revoked, true);
  step('tablets: code + QR decoded and enrolled; revoked');

  // --- Quarantine: release after a fix, discard, bulk. ---
  const v2 = JSON.parse(fs.readFileSync(path.join(root, 'schema/forms/programme/so1_interethnic_survey.json'), 'utf8'));
  v2.version = 2;
  assert.equal((await call('POST', '/v1/admin/forms', admin, v2)).status, 201);
  assert.equal((await call('POST', '/v1/admin/forms/so1_interethnic_survey/2/publish', admin, {})).status, 200);
  await goto(page, 'quarantine', 'quarantine-table');
  assert.ok(await page.getByTestId('field-errors').count() >= 1, 'per-field errors are listed');
  await shot(page, 'a03-quarantine');
  let q = (await call('GET', '/v1/admin/quarantine', admin)).data.entries;
  const fixable = q.find((e) => e.code === 'unknown_form_version');
  const rows = page.getByTestId('quarantine-row');
  const n = await rows.count();
  // The flash shows as soon as the page starts drawing again, before its rows are fetched and drawn: each
  // step waits until the page shows one waiting entry fewer, so the next click lands on the new rows.
  const waitingShown = () => page.getByTestId('discard-q').count();
  const untilWaiting = (k) => page.waitForFunction((k) => document.querySelectorAll('[data-testid="discard-q"]').length === k, k);
  const before = await waitingShown();
  assert.ok(before >= 3, `at least three entries wait (${before})`);
  for (let i = 0; i < n; i++) {
    if ((await rows.nth(i).textContent()).includes('version 2')) { await rows.nth(i).getByTestId('release-q').click(); break; }
  }
  await untilWaiting(before - 1);
  await page.getByTestId('discard-q').first().click();
  await untilWaiting(before - 2);
  await page.getByTestId('select-all-q').check();
  await page.getByTestId('bulk-discard').click();
  await untilWaiting(0);
  await page.getByTestId('flash').waitFor();
  q = (await call('GET', '/v1/admin/quarantine', admin)).data.entries;
  assert.ok(q.find((e) => e.id === fixable.id).released_at > 0, 'released after the fix');
  assert.ok(q.every((e) => e.released_at > 0 || e.discarded_at > 0), 'every entry released or discarded');
  step('quarantine: released one after a fix, discarded the rest (one and bulk)');

  // --- Audit log, filtered by action. ---
  await goto(page, 'audit', 'audit-table');
  await page.getByTestId('audit-action').selectOption('quarantine_discarded');
  await page.getByTestId('audit-apply').click();
  await page.getByTestId('audit-table').waitFor();
  const audit = (await call('GET', '/v1/admin/audit?limit=1000', admin)).data.entries;
  const discarded = audit.filter((e) => e.action === 'quarantine_discarded').length;
  assert.ok(discarded >= 2);
  assert.equal(await page.getByTestId('audit-row').count(), discarded);
  await page.getByTestId('audit-user').selectOption('admin');
  await page.getByTestId('audit-action').selectOption('');
  await page.getByTestId('audit-from').fill(new Date().toISOString().slice(0, 10));
  await page.getByTestId('audit-apply').click();
  await page.getByTestId('audit-table').waitFor();
  assert.equal(await page.getByTestId('audit-row').count(), Math.min(300, audit.filter((e) => e.username === 'admin').length));
  await shot(page, 'a04-audit');
  step('audit: filtered by action, user and date');

  // --- Datasets: objectives in order, each indicator with its title and a CSV. ---
  await goto(page, 'datasets', 'indicator-G.1');
  const objectives = await page.locator('h2.objective').allTextContents();
  assert.equal(objectives.length, 4);
  assert.match(objectives[0], /Overall objective/);
  assert.match(await page.getByTestId('indicator-G.1').textContent(), /positive, regular contact/);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-G.1').click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  const ind = (await call('GET', '/v1/indicators?format=json', admin)).data.cells.filter((c) => /^G\.1/.test(c.indicator));
  assert.equal(csv.replace(/^\ufeff/, '').trim().split('\r\n').length, ind.length + 1);
  const overall = ind.find((c) => c.indicator === 'G.1' && c.dimension === 'all');
  assert.ok(overall.value > 0 && overall.value < 100, 'G.1 is neither empty nor 100 %');
  assert.ok(csv.includes(`G.1,all,all,percent,${overall.value},`));
  await shot(page, 'a05-datasets');
  await assertChartsReadable(page, 'datasets at 1280 px');
  step('datasets: grouped by objective; G.1 CSV matches the API; charts readable');

  // Unknown filter values are refused with the valid ones (not an empty dataset that looks like "no data").
  for (const [key, bad, valid] of [['municipality', 'atlantis', 'gracanice'], ['community', 'martian', 'serb'], ['component', 'SO9', 'SO1']]) {
    const r = await call('GET', `/v1/exports/so1_interethnic_survey?format=csv&${key}=${valid},${bad}`, admin);
    assert.equal(r.status, 400, key + ': ' + JSON.stringify(r.data));
    assert.equal(r.data.code, 'invalid_filter');
    assert.equal(r.data.field, key);
    assert.deepEqual(r.data.unknown, [bad]);
    assert.ok(r.data.valid.includes(valid) && !r.data.valid.includes(bad), JSON.stringify(r.data.valid));
    assert.match(r.data.detail, new RegExp(`${key}: unknown value '${bad}'; valid: .*${valid}`));
  }
  // me1 holds the community-data grant (given above): communities in clear. Without it, the pseudonyms shown.
  const meToken = await login('me1', DEMO_PW);
  assert.equal((await call('GET', '/v1/exports/so1_interethnic_survey?format=csv&community=serb', meToken)).status, 200);
  assert.equal((await call('PUT', '/v1/admin/users/me1/special_category', admin, { granted: false })).status, 200);
  const meBad = await call('GET', '/v1/exports/so1_interethnic_survey?format=csv&community=serb', meToken);
  assert.equal(meBad.status, 400, 'an M&E officer without the grant filters on the pseudonyms shown, not on clear communities');
  assert.ok(meBad.data.valid.every((v) => /^ps_[0-9a-f]{16}$/.test(v)), JSON.stringify(meBad.data.valid));
  assert.equal((await call('GET', '/v1/exports/so1_interethnic_survey?format=csv&community=' + meBad.data.valid[0], meToken)).status, 200);
  assert.equal((await call('PUT', '/v1/admin/users/me1/special_category', admin, { granted: true })).status, 200);
  // The console offers the places by name (no codes to type), so it cannot send an unknown one.
  await goto(page, 'datasets', 'export-form-box');
  const munOptions = await page.getByTestId('export-municipality').locator('option').allTextContents();
  assert.ok(munOptions.includes('Graçanicë'), munOptions.join(', '));
  await page.getByTestId('export-form').selectOption('so1_interethnic_survey');
  await page.getByTestId('export-format').selectOption('csv');
  await page.getByTestId('export-municipality').selectOption('gracanice');
  await page.getByTestId('export-community').selectOption('serb');
  const [filtered] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const filteredCsv = fs.readFileSync(await filtered.path(), 'utf8');
  const apiFiltered = await call('GET', '/v1/exports/so1_interethnic_survey?format=csv&labels=codes&conflicts=include&municipality=gracanice&community=serb', admin);
  assert.equal(filteredCsv, apiFiltered.data, 'the console sends the chosen places by code');
  step('datasets: unknown filter values refused with the valid ones; the console filters by name');

  // --- Submissions: filter, bulk approve (one audited action), a record returned with a comment. ---
  await goto(page, 'submissions', 'sub-table');
  await page.getByTestId('sub-review').selectOption('submitted');
  await page.getByTestId('sub-form').selectOption('so3_municipal_service');
  await page.getByTestId('sub-apply').click();
  await page.getByTestId('sub-count').waitFor();
  // The table is the server's filtered page: the rows are the API's, in its order.
  const listed = (await call('GET', '/v1/admin/records?form=so3_municipal_service&review=submitted&limit=50', admin)).data.records;
  assert.equal(await page.getByTestId('sub-row').count(), listed.length);
  const pending = (await call('GET', '/v1/admin/records?form=so3_municipal_service&review=submitted&conflicts=no&limit=500', admin)).data.records.length;
  assert.ok(pending > 0, 'records wait for review');
  await shot(page, 'a06-submissions');
  await page.getByTestId('bulk-approve').click();
  await page.getByTestId('flash').filter({ hasText: String(pending) }).waitFor();
  assert.equal((await call('GET', '/v1/admin/records?form=so3_municipal_service&review=submitted&conflicts=no', admin)).data.records.length, 0);
  const after = (await call('GET', '/v1/admin/audit?limit=5', admin)).data.entries;
  assert.equal(after[0].action, 'records_reviewed');
  assert.equal(after[0].detail.reviewed, pending);
  assert.equal(after.filter((e) => e.action === 'record_reviewed').length, 0, 'one audit entry, not one per record');
  await page.getByTestId('sub-review').selectOption('approved');
  await page.getByTestId('sub-apply').click();
  await page.getByTestId('sub-row').first().waitFor();
  await page.getByTestId('sub-row').first().getByTestId('open-record').click();
  await page.getByTestId('answers-table').waitFor();
  await page.getByTestId('history-table').waitFor();
  assert.match(await page.getByTestId('answers-table').textContent(), /Municipality/);
  const recordId = page.url().split('#/record/')[1];
  await page.getByTestId('review-comment-input').fill('Exit interview counts do not add up; please recount.');
  await page.getByTestId('review-returned').click();
  await page.getByTestId('review-comment').waitFor();
  await shot(page, 'a07-record');
  const rec = (await call('GET', '/v1/records/' + recordId, admin)).data;
  assert.equal(rec.live[0].body.review_status, 'returned');
  assert.equal(rec.live[0].body.review_comment, 'Exit interview counts do not add up; please recount.');
  // Photo answers show their size and type (and whether the file has arrived), never the digest.
  for (const [k, v] of Object.entries(rec.live[0].body).filter(([, v]) => /^sha256:/.test(String(v)))) {
    const cell = await page.getByTestId('photo-' + k).textContent();
    assert.match(cell, /^Photo \([0-9.]+ [KM]?B, [A-Z]+\)/, cell);
    assert.ok(!cell.includes(v.slice(7, 23)), cell);
    if ((rec.pending_upload || []).includes(k)) assert.match(cell, /not yet uploaded/, cell);
  }
  step('submissions: bulk approval audited once; a record returned with a comment');

  // --- Forms: a new version uploaded as a draft; its error shown at its path; fixed; previewed; its
  // changes against the published version shown; published; the API lists it. ---
  const so3 = JSON.parse(fs.readFileSync(path.join(root, 'schema/forms/programme/so3_municipal_service.json'), 'utf8'));
  so3.version = 2;
  so3.fields.push({ key: 'waiting_minutes', type: 'integr', label: { en: 'Minutes waited', sq: 'Minuta pritjeje', sr: 'Минута чекања' },
    relevant: "${assessment_round} != ''", sensitivity: '-' });
  const badAt = `fields[${so3.fields.length - 1}].type`;
  await goto(page, 'forms', 'forms-table');
  await page.getByTestId('form-definition').fill(JSON.stringify(so3, null, 1));
  await page.getByTestId('upload-draft').click();
  await page.getByTestId('form-errors').waitFor();
  assert.equal(await page.locator(`[data-testid="form-error"][data-path="${badAt}"]`).count(), 1, 'the error is shown at its path');
  assert.match(await page.getByTestId('form-errors').textContent(), /unknown_type/);
  assert.equal((await call('GET', '/v1/admin/forms', admin)).data.forms.filter((f) => f.form_id === 'so3_municipal_service').length, 1,
    'a definition with errors is not stored');
  await shot(page, 'a08-form-error');
  so3.fields[so3.fields.length - 1].type = 'integer';
  await page.getByTestId('form-definition').fill(JSON.stringify(so3, null, 1));
  await page.getByTestId('upload-draft').click();
  await page.getByTestId('form-preview').waitFor();
  assert.match(page.url(), /#\/form\/so3_municipal_service\/2$/);
  const added = page.locator('[data-testid="diff-added"]');
  assert.equal(await added.count(), 1, await page.getByTestId('form-diff').textContent());
  assert.equal(await added.getAttribute('data-key'), 'waiting_minutes');
  assert.match(await added.textContent(), /Minutes waited/);
  assert.equal(await page.getByTestId('diff-removed').count(), 0);
  assert.equal(await page.getByTestId('diff-changed').count(), 0);
  const newRow = page.locator('[data-testid="preview-row"][data-key="waiting_minutes"]');
  assert.match(await newRow.textContent(), /Minuta pritjeje/);
  assert.match(await newRow.textContent(), /Минута чекања/);
  assert.match(await newRow.textContent(), /asked when/);
  await shot(page, 'a09-form-preview');
  await page.getByTestId('publish-so3_municipal_service-2').click();
  await page.getByTestId('flash').filter({ hasText: 'so3_municipal_service version 2 is published' }).waitFor();
  const so3v2 = (await call('GET', '/v1/admin/forms', admin)).data.forms.find((f) => f.form_id === 'so3_municipal_service' && f.version === 2);
  assert.equal(so3v2.status, 'published');
  assert.ok((await call('GET', '/v1/forms', admin)).data.forms.some((f) => f.form_id === 'so3_municipal_service' && f.version === 2));
  // Dates in the chosen language's conventions (the forms list's "created" column).
  await goto(page, 'forms', 'forms-table');
  const created = async () => page.getByTestId('form-row').first().locator('td').nth(4).textContent();
  assert.match(await created(), /^\d\d\/\d\d\/20\d\d, \d\d:\d\d UTC/);
  await page.selectOption('#lang', 'sq');
  await page.getByTestId('nav-forms').filter({ hasText: 'Formularët' }).waitFor();
  assert.match(await created(), /^\d\d\.\d\d\.20\d\d, \d\d:\d\d UTC/);
  await page.selectOption('#lang', 'sr');
  await page.getByTestId('nav-forms').filter({ hasText: 'Obrasci' }).waitFor();
  assert.match(await created(), /^\d\d\.\d\d\.20\d\d\. \d\d:\d\d UTC/);
  await page.selectOption('#lang', 'en');
  await page.getByTestId('nav-forms').filter({ hasText: 'Forms' }).waitFor();
  step('forms: draft with an error shown at its path, fixed, previewed, diffed, published; dates per language');

  // --- Every role, every page: nothing internal on screen; badges readable; 390 px without sideways scroll. ---
  const navPages = { inbox: 'nav-inbox', submissions: 'nav-submissions', team: 'nav-team', tablets: 'nav-tablets', users: 'nav-users',
    datasets: 'nav-datasets', forms: 'nav-forms', quarantine: 'nav-quarantine', audit: 'nav-audit' };
  const formPage = 'form/so3_municipal_service/2';
  const conflictId = (await call('GET', '/v1/admin/conflicts?status=open', admin)).data.entries.find((e) => e.kind === 'field').id;
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  const phone = await narrow.newPage();
  phone.on('pageerror', (e) => errors.push(String(e)));
  for (const [user, pw] of [['admin', ADMIN_PW], ['supervisor1', DEMO_PW], ['me1', DEMO_PW], ['enumerator1', DEMO_PW]]) {
    await signOut(page);
    await signIn(page, user, pw);
    const visible = await page.locator('#nav a').evaluateAll((as) => as.map((a) => a.getAttribute('data-testid')));
    const hashes = Object.entries(navPages).filter(([, id]) => visible.includes(id)).map(([h]) => h);
    if (user !== 'enumerator1') hashes.push('record/' + recordId);
    if (user === 'admin' || user === 'supervisor1') hashes.push('conflict/' + conflictId);
    if (user === 'admin') hashes.push(formPage);
    for (const hash of hashes) {
      await page.goto(base + '/console/#/' + hash);
      await page.waitForFunction(() => !document.querySelector('main p.muted') || document.querySelector('main').children.length > 1);
      await page.waitForTimeout(150);
      await page.locator('main h1').first().waitFor();
      await assertNothingInternal(page, user + ' #/' + hash);
      for (const b of await badgeContrasts(page)) assert.ok(b.ratio >= 4.5, `${user} #/${hash}: badge ${b.cls} contrast ${b.ratio.toFixed(2)}`);
      if (user === 'admin' || user === 'supervisor1') await shot(page, `b-${user}-${hash.replace(/\//g, '-').replace(/[0-9a-f-]{36}$/, 'x')}-1280`);
    }
    if (user === 'admin') {
      await signIn(phone, user, pw);
      for (const hash of hashes) {
        await phone.goto(base + '/console/#/' + hash);
        await phone.locator('main h1').first().waitFor();
        await phone.waitForTimeout(150);
        const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= 392, `${user} #/${hash} at 390 px is ${wide} px wide`);
        if (hash === 'datasets') {
          await phone.getByTestId('chart').first().waitFor();
          await assertChartsReadable(phone, 'datasets at 390 px');
        }
        await shot(phone, `b-${user}-${hash.replace(/\//g, '-').replace(/[0-9a-f-]{36}$/, 'x')}-390`);
      }
      await signOut(phone);
    }
    step(`${user}: ${hashes.length} pages without internal values`);
  }
  assert.deepEqual(errors, [], 'no script errors');
  step('all administration checks passed');
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failed ? 'FAILED' : `ok (${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${outDir})`);
process.exit(failed ? 1 : 0);
