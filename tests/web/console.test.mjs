// Browser tests of the web console: a real aktsyncd on loopback (the built binary, a temporary data
// folder), Debian's chromium driven by playwright-core. Seeds two tablets whose edits disagree on two
// fields, then: the admin resolves them per field in the console and the API confirms the flags are gone
// and the record holds the chosen values; then a deletion against an edit (kept), a possible duplicate
// (one record excluded), a change to an approved record (accepted) and a change of an admin-only field
// (rejected) are decided in the browser and checked through the API; the M&E officer downloads a CSV
// holding them; an enumerator can open neither the inbox page nor the inbox API. A screenshot of every
// page goes to the output folder.
//
// Environment: AKTSYNCD (the server binary; default build/dev/server/aktsyncd), AKT_WEB_OUT (screenshots;
// default build/dev/tests/web-output), CHROMIUM (default /usr/bin/chromium), AKT_WEB_DOCS=1 (also write
// docs/console-conflict.png).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const binary = process.env.AKTSYNCD || path.join(root, 'build/dev/server/aktsyncd');
const outDir = process.env.AKT_WEB_OUT || path.join(root, 'build/dev/tests/web-output');
const PASSWORD = 'correct horse battery';
const started = Date.now();

fs.mkdirSync(outDir, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'akt-web-'));
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
  for (let i = 0; i < 200; i++) {
    if (fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()) return Number(fs.readFileSync(portFile, 'utf8').trim());
    if (server.exitCode !== null) throw new Error('aktsyncd exited with ' + server.exitCode);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('aktsyncd did not start');
}

function uuid7(ms) {
  const b = randomBytes(16);
  const ts = BigInt(ms);
  for (let i = 0; i < 6; i++) b[i] = Number((ts >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

let base = '';
async function call(method, p, token, body, extra = {}) {
  const headers = { ...extra };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + p, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  return { status: r.status, data, headers: r.headers };
}
async function login(user) {
  const r = await call('POST', '/v1/login', null, { username: user, password: PASSWORD });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.token;
}
async function enrol(admin, username, name) {
  const code = await call('POST', '/v1/admin/enrolments', admin, { username, device_name: name });
  assert.equal(code.status, 201, JSON.stringify(code.data));
  const actor = uuid7(Date.now());
  const dev = await call('POST', '/v1/enrol', null, { code: code.data.code, actor, app_version: '1.2.0' });
  assert.equal(dev.status, 201, JSON.stringify(dev.data));
  return { actor: dev.data.actor, token: dev.data.token };
}

const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
function header(dev, extra) {
  const now = new Date().toISOString().slice(0, 19) + '+00:00';
  return { enumerator_id: 'enis', team_id: 'team_east', device_id: dev, app_version: '1.2.0', started_at: now, ended_at: now,
    review_status: 'submitted', municipality: 'gracanice', condition: 'good', ...extra };
}
async function push(dev, batch, edits, unsynced) {
  const r = await call('POST', '/v1/push', dev.token, { v: 1, batch_id: batch, edits },
    { 'X-Akt-Client': `app=aktsync/1.2.0; unsynced=${unsynced}` });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.results;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
  // No page shows a JavaScript placeholder instead of data.
  assert.doesNotMatch(await page.locator('main').textContent(), /\b(null|undefined|NaN|\[object Object\])\b/, name);
}

async function signIn(page, user) {
  await page.goto(base + '/');
  await page.getByTestId('signin').waitFor();
  await page.fill('#username', user);
  await page.fill('#password', PASSWORD);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signout').waitFor({ state: 'visible' });
}

// The message catalogue: sq and sr hold every English key, and every literal key the console uses exists.
function checkCatalogue() {
  const sandbox = { window: {} };
  vm.runInNewContext(fs.readFileSync(path.join(root, 'server/web/i18n.js'), 'utf8'), sandbox);
  const M = sandbox.window.AKT_MESSAGES;
  for (const code of ['sq', 'sr']) assert.deepEqual(Object.keys(M[code]).sort(), Object.keys(M.en).sort(), code);
  for (const code of ['sq', 'sr']) {
    assert.deepEqual(Object.keys(M[code]).filter((k) => typeof M[code][k] !== 'string' || !M[code][k]), [],
      code + ': untranslated texts');
  }
  // Form labels: Cyrillic sr shown in Latin, by the server's transliteration rule.
  const latin = sandbox.window.AKT_SR_LATIN;
  assert.equal(latin('абвгдђежзијклљмнњопрстћуфхцчџш'), 'abvgdđežzijklljmnnjoprstćufhcčdžš');
  assert.equal(latin('АБВГДЂЕЖЗИЈКЛЉМНЊОПРСТЋУФХЦЧЏШ'), 'ABVGDĐEŽZIJKLLJMNNJOPRSTĆUFHCČDŽŠ');
  assert.equal(latin('Љиљана, Његош, Џ, ПЉ, GPS тачка'), 'Ljiljana, Njegoš, Dž, PLJ, GPS tačka');
  const app = ['app.js', 'admin.js', 'forms.js'].map((f) => fs.readFileSync(path.join(root, 'server/web', f), 'utf8')).join('\n');
  const used = [...app.matchAll(/\bt\('([a-z_]+)'(?! \+)/g)].map((m) => m[1]);  // not the prefixes of computed keys
  assert.ok(used.length > 50);
  assert.deepEqual(used.filter((k) => !(k in M.en)), [], 'keys missing from the English catalogue');
}

async function main() {
  checkCatalogue();
  step('starting aktsyncd ' + binary);
  createUser('root', 'admin');
  createUser('mira', 'me_officer');
  const port = await startServer();
  base = `http://127.0.0.1:${port}`;

  // Accounts, the form, two tablets of one enumerator.
  const admin = await login('root');
  for (const [u, role, where] of [['enis', 'enumerator', scope], ['vesa', 'enumerator', scope], ['sara', 'supervisor', { municipality: 'prizren' }]]) {
    const c = await call('POST', '/v1/admin/users', admin, { username: u, password: PASSWORD, role, display_name: u });
    assert.equal(c.status, 201, JSON.stringify(c.data));
    const a = await call('PUT', `/v1/admin/users/${u}/assignments`, admin, { assignments: [where] });
    assert.equal(a.status, 200);
  }
  const form = fs.readFileSync(path.join(here, 'fixtures/console_check.json'), 'utf8');
  assert.equal((await call('POST', '/v1/admin/forms', admin, form)).status, 201);
  assert.equal((await call('POST', '/v1/admin/forms/console_check/1/publish', admin, {})).status, 200);
  const a = await enrol(admin, 'enis', 'tablet-enis');
  const b = await enrol(admin, 'vesa', 'tablet-vesa');

  // One record; then each tablet edits it offline: both change households and site_name differently.
  const rec = uuid7(Date.now());
  const edit = (dev, n, context, body, changed) => ({ record: rec, form: 'console_check', form_version: 1, scope,
    dot: { actor: dev.actor, n }, context, changed, body, device_time: Date.now() });
  const baseBody = header('tab-a', { site_name: 'Laplje Selo school', households: 120, notes: 'first visit' });
  let res = await push(a, 'a-1', [edit(a, 1, {}, baseBody, Object.keys(baseBody))], 1);
  assert.equal(res[0].outcome, 'applied', JSON.stringify(res));
  const ctx = { [a.actor]: 1 };
  res = await push(a, 'a-2', [edit(a, 2, ctx, { ...baseBody, households: 125, site_name: 'Laplje Selo primary school', notes: 'roof repaired' },
    ['households', 'site_name', 'notes'])], 0);
  assert.equal(res[0].outcome, 'applied');
  res = await push(b, 'b-1', [edit(b, 1, ctx, { ...header('tab-b'), site_name: 'Laplje Selo school annex', households: 130, notes: 'first visit' },
    ['households', 'site_name'])], 14);
  assert.equal(res[0].outcome, 'merged', JSON.stringify(res));
  assert.deepEqual(res[0].conflicts, ['households', 'site_name']);
  // An invalid edit, for the quarantine page.
  res = await push(b, 'b-2', [{ ...edit(b, 2, {}, header('tab-b', { site_name: 'X', households: -5 }), ['households']), record: uuid7(Date.now()) }], 3);
  assert.equal(res[0].outcome, 'rejected');
  const open = await call('GET', '/v1/admin/conflicts', admin);
  assert.equal(open.data.entries.length, 2);
  step('seeded: record ' + rec + ' with 2 conflicting fields');

  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // --- Admin: sign in, inbox, resolve per field. ---
  await page.goto(base + '/');
  await page.getByTestId('signin').waitFor();
  await shot(page, '01-signin');
  await page.fill('#username', 'root');
  await page.fill('#password', 'wrong password!');
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signin-error').waitFor();
  await signIn(page, 'root');
  await page.getByTestId('inbox-table').waitFor();
  assert.deepEqual(await page.locator('#nav a').allTextContents(), ['Conflicts', 'Submissions', 'Field team', 'Tablets', 'Users', 'Datasets', 'Forms', 'Quarantine', 'Audit log']);
  assert.equal(await page.getByTestId('inbox-row').count(), 2);
  // Filters: a municipality with no entries empties the list; clearing it brings them back.
  await page.fill('#f-mun', 'prizren');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('inbox-empty').waitFor();
  await page.fill('#f-mun', '');
  await page.selectOption('#f-kind', 'field');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('inbox-table').waitFor();
  assert.equal(await page.getByTestId('inbox-row').count(), 2);
  assert.match(await page.getByTestId('inbox-table').textContent(), /School visit check.*Households served/s);
  await shot(page, '02-inbox');
  const firstId = open.data.entries[0].id;
  await page.getByTestId('open-' + firstId).click();
  await page.getByTestId('entry-households').waitFor();
  await page.getByTestId('entry-site_name').waitFor();
  // Every candidate side by side, with the ancestor and who made it.
  const hh = page.getByTestId('entry-households');
  assert.equal(await hh.getByTestId('ancestor').textContent(), '120');
  const values = await hh.getByTestId('candidate-value').allTextContents();
  assert.deepEqual([...values].sort(), ['125', '130']);
  assert.match(await hh.textContent(), /tablet-enis/);
  assert.match(await hh.textContent(), /tablet-vesa/);
  assert.match(await page.getByTestId('record-context').textContent(), /roof repaired/);
  // Form labels follow the language chosen (Serbian: the Cyrillic label shown in Latin).
  await page.selectOption('#lang', 'sq');
  await page.getByText('Familje të shërbyera').first().waitFor();
  assert.equal(await page.getByTestId('nav-inbox').textContent(), 'Konfliktet');
  await page.selectOption('#lang', 'sr');
  await page.getByText('Domaćinstva koja koriste').first().waitFor();
  assert.equal(await page.getByTestId('nav-inbox').textContent(), 'Konflikti');
  await page.selectOption('#lang', 'en');
  await page.getByText('Households served').first().waitFor();
  // households: take tablet-vesa's 130; site_name: type another value.
  const vesaIndex = (await hh.getByTestId('candidate').allTextContents()).findIndex((t) => t.includes('tablet-vesa'));
  assert.ok(vesaIndex >= 0);
  await page.getByTestId('choice-households-' + vesaIndex).check();
  await page.getByTestId('other-site_name').fill('Laplje Selo primary school annex');
  assert.ok(await page.getByTestId('choice-site_name-other').isChecked());
  await shot(page, '03-conflict');
  if (process.env.AKT_WEB_DOCS === '1') await page.screenshot({ path: path.join(root, 'docs/console-conflict.png'), fullPage: true });
  await page.getByTestId('resolve').click();
  await page.getByTestId('flash').waitFor();
  assert.match(await page.getByTestId('flash').textContent(), /Resolved 2 field/);
  await shot(page, '04-resolved');

  // Through the API: no open entry, no flag, the chosen values, the other tablet's notes kept.
  const after = await call('GET', '/v1/admin/conflicts', admin);
  assert.equal(after.data.entries.length, 0, JSON.stringify(after.data));
  const record = await call('GET', '/v1/records/' + rec, admin);
  assert.equal(record.status, 200, JSON.stringify(record.data));
  const live = record.data.live;
  assert.equal(live.length, 1);
  assert.equal(live[0].body.households, 130);
  assert.equal(live[0].body.site_name, 'Laplje Selo primary school annex');
  assert.equal(live[0].body.notes, 'roof repaired');
  assert.deepEqual(record.data.conflicted || [], []);
  step('conflict resolved in the browser; API confirms');

  const resolved = await call('GET', '/v1/admin/conflicts?status=resolved', admin);
  assert.equal(resolved.data.entries.length, 2);

  // While the admin looks at a second record: a tablet edit arrives (another field), and another admin
  // resolves one of the two flagged fields. The console merges its choice with the tablet's edit and
  // explains the entry someone else closed, then shows the record again.
  const rec2 = uuid7(Date.now());
  const edit2 = (dev, n, context, body, changed) => ({ ...edit(dev, n, context, body, changed), record: rec2 });
  const base2 = header('tab-a', { site_name: 'Gračanica gymnasium', households: 200, notes: 'ok' });
  await push(a, 'a-3', [edit2(a, 3, {}, base2, Object.keys(base2))], 1);
  await push(a, 'a-4', [edit2(a, 4, { [a.actor]: 3 }, { ...base2, households: 210, site_name: 'Gracanica gymnasium' }, ['households', 'site_name'])], 0);
  res = await push(b, 'b-3', [edit2(b, 3, { [a.actor]: 3 }, { ...base2, households: 220, site_name: 'Gymnasium <img src=x onerror="window.__xss=1">' }, ['households', 'site_name'])], 2);
  assert.deepEqual(res[0].conflicts, ['households', 'site_name']);
  const entries2 = (await call('GET', '/v1/admin/conflicts', admin)).data.entries;
  assert.equal(entries2.length, 2);
  await page.goto(base + '/console/#/conflict/' + entries2[0].id);
  await page.getByTestId('entry-households').waitFor();
  // Data is text, never markup: a candidate holding HTML shows as typed and runs nothing.
  await page.getByText('Gymnasium <img src=x onerror="window.__xss=1">').waitFor();
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.locator('main img').count(), 0);
  await page.getByTestId('choice-households-0').check();
  await page.getByTestId('choice-site_name-1').check();
  const rec2State = await call('GET', '/v1/records/' + rec2, admin);
  res = await push(a, 'a-5', [edit2(a, 5, rec2State.data.live[0].clock, { ...rec2State.data.live[0].body, notes: 'windows broken' }, ['notes'])], 0);
  assert.equal(res[0].outcome, 'applied');
  const siteEntry = entries2.find((e) => e.path === 'site_name');
  // Someone else: another admin (the same user's own later view would make this view stale, PROTOCOL §11.5).
  const c2 = await call('POST', '/v1/admin/users', admin, { username: 'arta', password: PASSWORD, role: 'admin', display_name: 'arta' });
  assert.equal(c2.status, 201, JSON.stringify(c2.data));
  const admin2 = await login('arta');
  const other = await call('POST', `/v1/admin/conflicts/${siteEntry.id}/resolve`, admin2, { seen: rec2State.data.live[0].clock, value: 'Gimnazija Gračanica' });
  assert.equal(other.status, 200, JSON.stringify(other.data));
  const chosen = Number(await page.getByTestId('entry-households').getByTestId('candidate-value').first().textContent());
  await page.getByTestId('resolve').click();
  await page.getByText('Someone else resolved this conflict').waitFor();
  assert.match(await page.getByTestId('flash').textContent(), /Resolved 1 field.*A device edit of this record arrived while you were deciding on “households”/);
  await page.getByTestId('entry-site_name').getByText('Resolved by arta').waitFor();
  await shot(page, '04b-already-resolved');
  const rec2After = await call('GET', '/v1/records/' + rec2, admin);
  assert.equal(rec2After.data.live.length, 1);
  assert.equal(rec2After.data.live[0].body.households, chosen);
  assert.equal(rec2After.data.live[0].body.notes, 'windows broken');
  assert.equal(rec2After.data.live[0].body.site_name, 'Gimnazija Gračanica');
  assert.deepEqual(rec2After.data.conflicted, []);
  step('merge with a tablet edit and a concurrent resolution explained');

  // Field team, forms, quarantine pages.
  await page.getByTestId('nav-team').click();
  await page.getByTestId('devices-table').waitFor();
  const teamText = await page.getByTestId('devices-table').textContent();
  assert.match(teamText, /tablet-vesa/);
  assert.match(teamText, /aktsync\/1\.2\.0/);
  assert.deepEqual((await page.getByTestId('unsynced').allTextContents()).sort(), ['0', '2']);
  await page.getByTestId('stats-table').waitFor();
  assert.match(await page.getByTestId('stats-table').textContent(), /Graçanicë/);
  await shot(page, '05-team');
  // Forms: a draft of version 2 is published from the console.
  const v2 = JSON.parse(form);
  v2.version = 2;
  assert.equal((await call('POST', '/v1/admin/forms', admin, v2)).status, 201);
  await page.getByTestId('nav-forms').click();
  await page.getByTestId('forms-table').waitFor();
  assert.equal(await page.getByTestId('form-row').count(), 2);
  await shot(page, '06-forms');
  await page.getByTestId('publish-console_check-2').click();
  await page.getByTestId('flash').getByText('console_check version 2 is published').waitFor();
  const listed = (await call('GET', '/v1/admin/forms', admin)).data.forms.find((f) => f.form_id === 'console_check' && f.version === 2);
  assert.equal(listed.status, 'published');
  await page.getByTestId('nav-quarantine').click();
  await page.getByTestId('quarantine-table').waitFor();
  assert.match(await page.getByTestId('quarantine-table').textContent(), /Answers break the form's rules/);
  await shot(page, '07-quarantine');

  // --- Every other kind of entry, decided in the browser (console_more: unique_key site_name, an
  // admin-only budget): a deletion against an edit, a possible duplicate, a change to an approved record,
  // a change of an admin-only field. ---
  const more = fs.readFileSync(path.join(here, 'fixtures/console_more.json'), 'utf8');
  assert.equal((await call('POST', '/v1/admin/forms', admin, more)).status, 201);
  assert.equal((await call('POST', '/v1/admin/forms/console_more/1/publish', admin, {})).status, 200);
  const seq = { [a.actor]: 20, [b.actor]: 20 };
  const mk = (dev, record, context, body, changed, extra = {}) => ({ record, form: 'console_more', form_version: 1, scope,
    dot: { actor: dev.actor, n: ++seq[dev.actor] }, context, changed, body, device_time: Date.now(), ...extra });
  const create = async (site, extra = {}) => {
    const id = uuid7(Date.now());
    const bd = header('tab-a', { site_name: site, households: 40, budget: 1000, pupils: 100, teachers: 5, ...extra });
    const e = mk(a, id, {}, bd, Object.keys(bd));
    const rs = await push(a, 'm-' + e.dot.n, [e], 0);
    assert.equal(rs[0].outcome, 'applied', JSON.stringify(rs));
    return { id, body: bd, clock: { [a.actor]: e.dot.n } };
  };
  const liveOf = async (id) => (await call('GET', '/v1/records/' + id, admin)).data;
  const entryOf = async (kind, record) => {
    const l = (await call('GET', '/v1/admin/conflicts?kind=' + kind, admin)).data.entries.filter((e) => !record || e.record === record);
    assert.equal(l.length, 1, kind + ' ' + JSON.stringify(l));
    return l[0];
  };
  const closedEntry = async (id) => {
    const d = await call('GET', '/v1/admin/conflicts/' + id, admin);
    assert.equal(d.data.entry.status, 'resolved', JSON.stringify(d.data));
    return d.data.entry;
  };

  // delete_edit: tablet A deletes while tablet B edits; the admin keeps the record (with B's edit).
  const rd = await create('Kamenica school');
  res = await push(a, 'm-del', [mk(a, rd.id, rd.clock, {}, [], { deleted: true })], 0);
  assert.equal(res[0].outcome, 'applied', JSON.stringify(res));
  res = await push(b, 'm-ed', [mk(b, rd.id, rd.clock, { ...rd.body, households: 45 }, ['households'])], 2);
  assert.equal(res[0].outcome, 'merged', JSON.stringify(res));
  const de = await entryOf('delete_edit', rd.id);
  // duplicate_candidate: the same school registered twice.
  const d1 = await create('Ranilug school', { households: 60 });
  const d2 = await create('Ranilug school', { households: 61, notes: 'second visit' });
  const dup = await entryOf('duplicate_candidate');
  assert.deepEqual(dup.candidates.map((c) => c.record).sort(), [d1.id, d2.id].sort());
  // locked_change: an approved record edited by a tablet.
  const rl = await create('Partes school');
  const rv = await call('POST', `/v1/admin/records/${rl.id}/review`, admin, { seen: rl.clock, status: 'approved' });
  assert.equal(rv.status, 200, JSON.stringify(rv.data));
  const approved = await liveOf(rl.id);
  res = await push(a, 'm-lock', [mk(a, rl.id, approved.live[0].clock, { ...approved.live[0].body, households: 48 }, ['households'])], 0);
  assert.ok(res[0].held, JSON.stringify(res));
  const lc = await entryOf('locked_change', rl.id);
  // permission: a tablet changes the admin-only budget of an existing record.
  const rp = await create('Klokot school');
  res = await push(a, 'm-perm', [mk(a, rp.id, rp.clock, { ...rp.body, budget: 999999, notes: 'budget from the director' }, ['budget', 'notes'])], 0);
  assert.ok(res[0].held, JSON.stringify(res));
  const pe = await entryOf('permission', rp.id);
  // semantic: one tablet lowers the pupils, the other raises the teachers; together they break a rule.
  const rs = await create('Novo Brdo school');
  res = await push(a, 'm-sa', [mk(a, rs.id, rs.clock, { ...rs.body, pupils: 10 }, ['pupils'])], 0);
  assert.equal(res[0].outcome, 'applied');
  res = await push(b, 'm-sb', [mk(b, rs.id, rs.clock, { ...rs.body, teachers: 20 }, ['teachers'])], 2);
  assert.equal(res[0].outcome, 'merged', JSON.stringify(res));
  const se = await entryOf('semantic', rs.id);
  // Repeat groups: both tablets change room R1's pupils; one removes room R2 while the other edits it.
  const rooms = [{ room_id: 'R1', room_use: 'class', room_pupils: 20 }, { room_id: 'R2', room_use: 'lab', room_pupils: 10 }];
  const rr = await create('Gornje Kusce school', { rooms });
  res = await push(a, 'm-ra', [mk(a, rr.id, rr.clock, { ...rr.body, rooms: [{ ...rooms[0], room_pupils: 25 }] },
    ['rooms[R1].room_pupils', 'rooms[R2]'])], 0);
  assert.equal(res[0].outcome, 'applied', JSON.stringify(res));
  res = await push(b, 'm-rb', [mk(b, rr.id, rr.clock, { ...rr.body, rooms: [{ ...rooms[0], room_pupils: 30 }, { ...rooms[1], room_use: 'library' }] },
    ['rooms[R1].room_pupils', 'rooms[R2].room_use'])], 2);
  assert.equal(res[0].outcome, 'merged', JSON.stringify(res));
  assert.deepEqual(res[0].conflicts, ['rooms[R1].room_pupils', 'rooms[R2]'], JSON.stringify(res));
  const roomEntry = (await call('GET', '/v1/admin/conflicts?kind=field', admin)).data.entries.find((e) => e.record === rr.id);
  step('seeded delete_edit, duplicate_candidate, locked_change, permission, semantic, repeat entries');

  // The inbox filters by the new kinds.
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('filter-kind').waitFor();
  await page.selectOption('#f-kind', 'duplicate_candidate');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('open-' + dup.id).waitFor();
  assert.equal(await page.getByTestId('inbox-row').count(), 1);
  assert.match(await page.getByTestId('inbox-table').textContent(), /Possible duplicate.*Ranilug school/s);
  await page.selectOption('#f-kind', 'locked_change');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('open-' + lc.id).waitFor();
  assert.equal(await page.getByTestId('inbox-row').count(), 1);
  await page.selectOption('#f-kind', '');
  await page.getByTestId('filter-apply').click();
  await page.getByTestId('open-' + pe.id).waitFor();
  await shot(page, '11-inbox-all-kinds');

  // delete_edit → keep the record.
  await page.goto(base + '/console/#/conflict/' + de.id);
  await page.getByTestId('entry-delete_edit').waitFor();
  assert.match(await page.getByTestId('entry-delete_edit').textContent(), /deleted the record.*edited the record|edited the record.*deleted the record/s);
  await shot(page, '12-delete-edit');
  await page.getByTestId('restore').click();
  await page.getByTestId('flash').getByText('The record is kept.').waitFor();
  await closedEntry(de.id);
  const kept = await liveOf(rd.id);
  assert.equal(kept.deleted, false, JSON.stringify(kept));
  assert.ok(!kept.deletion_pending, JSON.stringify(kept));
  assert.equal(kept.live[0].body.households, 45);
  step('delete_edit: record kept in the browser; API confirms');

  // duplicate_candidate → the records side by side; exclude the second.
  await page.goto(base + '/console/#/conflict/' + dup.id);
  const dupBox = page.getByTestId('entry-duplicate_candidate');
  await dupBox.getByTestId('duplicate-table').waitFor();
  const dupText = await dupBox.getByTestId('duplicate-table').textContent();
  // Each record is named by a link that opens it, not by its id.
  for (const d of [d1, d2]) assert.equal(await dupBox.locator(`a[href="#/record/${d.id}"]`).count(), 1);
  assert.doesNotMatch(dupText, new RegExp(d1.id + '|' + d2.id));
  assert.match(dupText, /second visit/);
  assert.equal(await dupBox.getByTestId('duplicate-key').textContent(), 'Ranilug school');
  await shot(page, '13-duplicate');
  await page.getByTestId('exclude-' + d2.id).click();
  await page.getByTestId('flash').getByText('excluded as a duplicate').waitFor();
  await closedEntry(dup.id);
  assert.equal((await liveOf(d2.id)).live[0].body.review_status, 'excluded_duplicate');
  assert.equal((await liveOf(d1.id)).live[0].body.review_status, 'submitted');
  step('duplicate_candidate: second record excluded in the browser; API confirms');
  // Two schools of the same name that really are two schools: keep both.
  const k1 = await create('Bresje school', { households: 30 });
  const k2 = await create('Bresje school', { households: 90 });
  const dup2 = await entryOf('duplicate_candidate');
  assert.deepEqual(dup2.candidates.map((c) => c.record).sort(), [k1.id, k2.id].sort());
  await page.goto(base + '/console/#/conflict/' + dup2.id);
  await page.getByTestId('keep-both').click();
  await page.getByTestId('flash').getByText('Both records are kept.').waitFor();
  assert.equal((await closedEntry(dup2.id)).resolution.action, 'keep_both');
  for (const k of [k1, k2]) {
    const l = await liveOf(k.id);
    assert.equal(l.live.length, 1);
    assert.deepEqual(l.live[0].clock, k.clock);  // nothing written
  }

  // locked_change → what was held against what stays; accept it.
  await page.goto(base + '/console/#/conflict/' + lc.id);
  const lcBox = page.getByTestId('entry-locked_change');
  await lcBox.getByTestId('held-table').waitFor();
  assert.deepEqual(await lcBox.getByTestId('kept-value').allTextContents(), ['40']);
  assert.deepEqual(await lcBox.getByTestId('held-value').allTextContents(), ['48']);
  await shot(page, '14-locked-change');
  await page.getByTestId('accept-0').click();
  await page.getByTestId('flash').getByText('The change is accepted.').waitFor();
  await closedEntry(lc.id);
  const relocked = (await liveOf(rl.id)).live[0].body;
  assert.equal(relocked.households, 48);
  assert.equal(relocked.review_status, 'submitted');
  step('locked_change: accepted in the browser; API confirms');

  // permission → reject: the budget stays, the rest of the edit was applied.
  await page.goto(base + '/console/#/conflict/' + pe.id);
  const peBox = page.getByTestId('entry-permission');
  await peBox.getByTestId('held-table').waitFor();
  assert.deepEqual(await peBox.getByTestId('held-value').allTextContents(), ['999999']);
  await shot(page, '15-permission');
  await page.getByTestId('reject').click();
  await page.getByTestId('flash').getByText('The change is rejected').waitFor();
  const rejected = await closedEntry(pe.id);
  assert.equal(rejected.resolution.action, 'reject');
  const perm = (await liveOf(rp.id)).live[0].body;
  assert.equal(perm.budget, 1000);
  assert.equal(perm.notes, 'budget from the director');
  step('permission: rejected in the browser; API confirms');

  // semantic → the rule in plain words, the fields side by side. The entry names every field the broken
  // rule reads that a side changed (PROTOCOL §11.1): tablet-enis's pupils and tablet-vesa's teachers, in
  // either arrival order. Taking tablet-vesa's teachers with tablet-enis's pupils breaks the form, so the
  // server refuses it with its reasons; then the admin types a value that holds.
  await page.goto(base + '/console/#/conflict/' + se.id);
  assert.equal(se.path, 'pupils,teachers');
  const seBox = page.getByTestId('entry-' + se.path);
  await seBox.getByTestId('semantic-table').waitFor();
  assert.match(await seBox.getByTestId('rules').textContent(), /more teachers than pupils/);
  const heads = await seBox.locator('thead th').allTextContents();
  const vesaSide = heads.slice(2).findIndex((x) => x.includes('tablet-vesa'));
  const enisSide = heads.slice(2).findIndex((x) => x.includes('tablet-enis'));
  assert.ok(vesaSide >= 0 && enisSide >= 0, JSON.stringify(heads));
  const rowOf = (f) => seBox.locator('tbody tr', { has: page.locator('code', { hasText: new RegExp('^' + f + '$') }) });
  assert.equal(await rowOf('teachers').getByTestId('side-value').nth(vesaSide).textContent(), '20');
  assert.equal(await rowOf('pupils').getByTestId('side-value').nth(enisSide).textContent(), '10');
  await seBox.getByTestId('side-' + vesaSide).check();
  await seBox.getByTestId('edit-pupils').fill('10');
  await shot(page, '16-semantic');
  await page.getByTestId('resolve').click();
  await page.getByTestId('resolve-error').waitFor();
  assert.match(await page.getByTestId('resolve-error').textContent(), /invalid_resolution.*teachers/s);
  await shot(page, '17-semantic-refused');
  await seBox.getByTestId('edit-teachers').fill('8');
  await page.getByTestId('resolve').click();
  await page.getByTestId('flash').getByText(/Resolved \d+ field/).waitFor();
  await closedEntry(se.id);
  const sem = await liveOf(rs.id);
  assert.equal(sem.live[0].body.pupils, 10);
  assert.equal(sem.live[0].body.teachers, 8);
  assert.deepEqual(sem.conflicted || [], []);
  step('semantic: refused side explained, value typed in the browser; API confirms');

  // Repeat paths: a room's field takes a typed value; the whole room R2 takes the edited item.
  await page.goto(base + '/console/#/conflict/' + roomEntry.id);
  const r1 = page.getByTestId('entry-rooms[R1].room_pupils');
  const r2 = page.getByTestId('entry-rooms[R2]');
  await r1.waitFor();
  await r2.waitFor();
  assert.deepEqual((await r1.getByTestId('candidate-value').allTextContents()).sort(), ['25', '30']);
  const itemValues = await r2.getByTestId('candidate-value').allTextContents();
  const keptItem = itemValues.findIndex((x) => x.includes('library'));
  assert.ok(keptItem >= 0 && itemValues.includes('(item removed)'), JSON.stringify(itemValues));
  assert.equal(await r2.getByTestId('other-rooms[R2]').count(), 0);  // a whole item: a candidate or removal only
  await page.getByTestId('other-rooms[R1].room_pupils').fill('28');
  await page.getByTestId('choice-rooms[R2]-' + keptItem).check();
  await shot(page, '18-repeat');
  await page.getByTestId('resolve').click();
  await page.getByTestId('flash').getByText('Resolved 2 field').waitFor();
  const roomsAfter = await liveOf(rr.id);
  assert.deepEqual(roomsAfter.conflicted || [], []);
  assert.deepEqual(roomsAfter.live[0].body.rooms, [{ ...rooms[0], room_pupils: 28 }, { ...rooms[1], room_use: 'library' }]);
  assert.equal((await call('GET', '/v1/admin/conflicts', admin)).data.entries.length, 0);
  step('repeat item field and whole item resolved in the browser; API confirms');
  await page.getByTestId('signout').click();
  await page.getByTestId('signin').waitFor();

  // --- M&E officer: download a CSV. ---
  // The seeded form feeds no logframe indicator, so the indicator answer is replaced by a known one
  // (the server's indicators are tested in tests/export/): tables and bar charts per community, gender
  // and municipality, suppressed cells drawn as such.
  const g1 = (dimension, group, value, n) => ({ indicator: 'G.1', dimension, group, measure: 'percent', value,
    numerator: value === null ? null : Math.round((value * n) / 100), denominator: value === null ? null : n,
    suppressed: value === null, low_precision: n < 30 });
  const indicators = { v: 1, min_cell: 5, low_precision_below: 30, nonmajority: 'local', records_in_scope: {}, held_back: {},
    cells: [g1('all', 'all', 41.2, 170), g1('community', 'serb', 38.5, 52), g1('community', 'albanian', 44, 100),
      g1('community', 'roma', null, 3), g1('gender', 'female', 40, 85), g1('gender', 'male', 42.3, 85),
      g1('municipality', 'gracanice', 38.5, 52), g1('municipality', 'prizren', 44, 118), g1('age_band', '18_24', 30, 20)] };
  await page.route('**/v1/indicators?*', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(indicators) }));
  await signIn(page, 'mira');
  const g1Box = page.getByTestId('indicator-G.1');
  await g1Box.waitFor();
  assert.equal(await g1Box.getByTestId('chart').count(), 3);
  assert.equal(await g1Box.locator('rect.bar').count(), 7);
  assert.equal(await g1Box.locator('rect.bar.suppressed').count(), 1);
  assert.match(await g1Box.textContent(), /41\.2/);
  assert.match(await g1Box.getByTestId('chart').nth(1).textContent(), /Female.*Male/s, 'gender groups by their labels');
  // Numbers in each language's conventions: a decimal comma in Albanian and Serbian.
  for (const [code, text] of [['sq', /41,2 %/], ['sr', /41,2 %/], ['en', /41\.2 %/]]) {
    await page.selectOption('#lang', code);
    await page.getByTestId('indicator-G.1').filter({ hasText: text }).waitFor();
    assert.doesNotMatch(await page.getByTestId('indicator-G.1').textContent(), code === 'en' ? /41,2/ : /41\.2/);
  }
  const widths = await g1Box.getByTestId('chart').first().locator('rect.bar').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('width'))));
  assert.ok(widths[0] < widths[1] && widths[2] === 4, JSON.stringify(widths));  // serb 38.5 < albanian 44; roma suppressed
  await page.getByTestId('export-form').waitFor();
  assert.deepEqual(await page.locator('#nav a').allTextContents(), ['Submissions', 'Field team', 'Datasets']);
  await page.selectOption('#x-form', 'console_check');
  await page.selectOption('#x-format', 'csv');
  await shot(page, '08-datasets');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const csvPath = path.join(outDir, 'console_check.csv');
  await download.saveAs(csvPath);
  const csv = fs.readFileSync(csvPath, 'utf8');
  const [head, ...rows] = csv.trim().split(/\r\n/);
  const cols = head.split(',');
  assert.ok(cols.includes('households') && cols.includes('site_name'), head);
  const row = rows.find((r) => r.includes(rec));
  assert.ok(row, 'the record is in the CSV');
  const cells = row.split(',');
  assert.equal(cells[cols.indexOf('households')], '130');
  assert.equal(cells[cols.indexOf('site_name')], 'Laplje Selo primary school annex');
  step('M&E officer downloaded ' + csv.length + ' bytes of CSV');
  // A session the server no longer accepts (revoked, or expired) returns the console to sign-in.
  const miraToken = await page.evaluate(() => JSON.parse(sessionStorage.getItem('akt.session')).token);
  assert.equal((await call('POST', '/v1/logout', miraToken)).status, 204);
  await page.getByTestId('nav-team').click();
  await page.getByTestId('signin').waitFor();
  assert.match(await page.getByTestId('flash').textContent(), /session has ended/);

  // --- Enumerator: no inbox, in the UI or the API. ---
  await signIn(page, 'enis');
  await page.getByTestId('enumerator-home').waitFor();
  assert.equal(await page.getByTestId('nav-inbox').count(), 0);
  await page.goto(base + '/console/#/inbox');
  await page.getByTestId('denied').waitFor();
  await shot(page, '09-enumerator-denied');
  const enisToken = await page.evaluate(() => JSON.parse(sessionStorage.getItem('akt.session')).token);
  const denied = await call('GET', '/v1/admin/conflicts', enisToken);
  assert.equal(denied.status, 403);
  assert.equal(denied.data.code, 'forbidden');
  assert.equal(await page.locator('#nav a').count(), 0);
  await page.getByTestId('signout').click();
  await page.getByTestId('signin').waitFor();

  // --- Supervisor of another municipality: the inbox and the counts hold nothing of gracanice. ---
  await page.unroute('**/v1/indicators?*');
  await signIn(page, 'sara');
  await page.getByTestId('inbox-empty').waitFor();
  assert.deepEqual(await page.locator('#nav a').allTextContents(), ['Conflicts', 'Submissions', 'Field team', 'Datasets', 'Quarantine']);
  await page.getByTestId('nav-team').click();
  await page.getByTestId('stats-table').waitFor();
  assert.doesNotMatch(await page.getByTestId('stats-table').textContent(), /Graçanicë/);
  assert.equal(await page.getByTestId('devices-table').count(), 0);
  await shot(page, '10-supervisor-team');
  // Past its expiry the console drops the session without waiting for the server's 401.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('akt.session'));
    s.expires_at = Date.now() - 1000;
    sessionStorage.setItem('akt.session', JSON.stringify(s));
  });
  await page.getByTestId('nav-inbox').click();
  await page.getByTestId('signin').waitFor();

  assert.deepEqual(consoleErrors.filter((e) => !/status of (40[139]|422) /.test(e)), [], 'no script errors or CSP violations');
  step('all browser checks passed');
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
    const [code, signal] = await new Promise((r) => server.once('exit', (c, sig) => r([c, sig])));
    // A clean stop (under ASan this also means no leak report).
    if (code !== 0) {
      failed = true;
      console.error(`aktsyncd exited with ${code ?? signal} after SIGTERM`);
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
console.log(failed ? 'FAILED' : `ok (${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${outDir})`);
process.exit(failed ? 1 : 0);
