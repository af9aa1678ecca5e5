// A programme set up from an empty server in the browser: the first admin is created on the command line
// (`aktsyncd --create-user`, as the README says); everything else is done in the console and checked
// through the API afterwards. The admin creates a user of each role, a team (two enumerators under a
// supervisor) with their assignments, uploads and publishes the household survey, and issues enrolment
// codes; two tablets (the `aktsync` CLI) enrol with the codes shown, push interviews (one with a photo)
// and disagree on a household's size. The supervisor reviews submissions (approve, return with a
// comment, exclude) and resolves the conflict; the admin publishes the form version a tablet already
// used and releases its quarantined edit; the M&E officer downloads a dataset. The record and conflict
// views show the uploaded photo as a thumbnail made by the browser. A screenshot of each page goes to
// the output folder (AKT_WEB_DOCS=1: also the README's, docs/console-setup-*.png).
//
// Environment: AKTSYNCD, AKTSYNC (the CLI), AKT_WEB_OUT, CHROMIUM (see harness.mjs), AKT_WEB_DOCS.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const { call, step } = H;
const PW = { admin: H.PASSWORD, valon: 'second admin pass 1', drita: 'supervisor pass 12', milan: 'm and e officer 12',
  arben: 'enumerator pass 12', jelena: 'enumerator pass 34' };
const DOCS = process.env.AKT_WEB_DOCS === '1';
const FORM = 'so1_interethnic_survey';
const survey = JSON.parse(fs.readFileSync(path.join(H.root, 'tests/schema/fixtures/so1_interethnic_survey.valid.json'), 'utf8'));

async function login(user) {
  const r = await call('POST', '/v1/login', null, { username: user, password: PW[user] });
  assert.equal(r.status, 200, user + ': ' + JSON.stringify(r.data));
  return r.data.token;
}
async function signIn(page, user) {
  await page.goto(H.base + '/console/#/signin');
  await page.getByTestId('signin').waitFor();
  await page.fill('#username', user);
  await page.fill('#password', PW[user]);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('signout').waitFor({ state: 'visible' });
}
async function signOut(page) {
  await page.getByTestId('signout').click();
  await page.getByTestId('signin').waitFor();
}
async function open(page, hash, testid) {
  if (page.url().endsWith('#/' + hash)) await page.reload();
  else await page.goto(H.base + '/console/#/' + hash);
  await page.getByTestId(testid).first().waitFor();
}
// A screenshot for the test output; with AKT_WEB_DOCS=1 also the README's (docs/console-setup-NAME.png, the
// viewport only, to keep it small).
async function shot(page, name) {
  await page.screenshot({ path: path.join(H.outDir, 'setup-' + name + '.png'), fullPage: true });
  if (DOCS) await page.screenshot({ path: path.join(H.root, 'docs', 'console-setup-' + name + '.png') });
  assert.doesNotMatch(await page.locator('main').innerText(), /\b(null|undefined|NaN|\[object Object\])\b/, name);
}
const flashed = (page, re) => page.getByTestId('flash').filter({ hasText: re }).waitFor();

// The tablet: the aktsync CLI on its own database.
const tabletDb = (n) => path.join(H.tmp, `tablet${n}.db`);
const aktsync = (n, ...args) => execFileSync(H.cli, ['--db', tabletDb(n), ...args], { encoding: 'utf8' }).trim();
function syncTablet(n) {  // exits 5 when the server rejected an edit: its output says what happened either way
  const r = spawnSync(H.cli, ['--db', tabletDb(n), 'sync', '--progress', 'off'], { encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 5, `sync of tablet ${n}: ${r.status} ${r.stdout} ${r.stderr}`);
  return r.stdout + r.stderr;
}
function newInterview(n, version, extra) {
  const args = ['new', '--form', FORM, '--version', String(version), '--municipality', 'gracanice', '--community', 'serb',
    '--component', 'SO1', '--body', JSON.stringify({ ...survey, photo_context: null })];
  for (const [k, v] of Object.entries(extra)) args.push('--set', `${k}=${JSON.stringify(v)}`);
  return aktsync(n, ...args);
}

async function main() {
  // The first admin, on the command line, before the server starts (README "Operating aktsync").
  H.createUser('admin', 'admin');
  await H.startServer();
  const admin = await login('admin');
  assert.equal((await call('GET', '/v1/admin/forms', admin)).data.forms.length, 0, 'the server starts empty');

  const browser = await H.launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'admin');

  // --- Users of each role; a team (enumerators under a supervisor). ---
  await open(page, 'users', 'users-table');
  const people = [['valon', 'Valon Berisha', 'admin', ''], ['drita', 'Drita Krasniqi', 'supervisor', ''],
    ['milan', 'Milan Jovanović', 'me_officer', ''], ['arben', 'Arben Gashi', 'enumerator', 'drita'],
    ['jelena', 'Jelena Petrović', 'enumerator', 'drita']];
  for (const [user, name, role, team] of people) {
    await page.getByTestId('new-username').fill(user);
    await page.getByTestId('new-display-name').fill(name);
    await page.getByTestId('new-password').fill(PW[user]);
    await page.getByTestId('new-role').selectOption(role);
    if (team) await page.getByTestId('new-supervisor').selectOption(team);
    await page.getByTestId('create-user').click();
    await page.locator(`tr[data-user="${user}"]`).waitFor();
  }
  // What each works on: the supervisor and her team in Graçanica, the household survey's component.
  for (const user of ['drita', 'arben', 'jelena']) {
    await page.getByTestId('edit-assignments-' + user).click();
    const row = page.getByTestId('assignment-row').first();
    await row.getByTestId('a-municipality').selectOption('gracanice');
    if (user !== 'drita') await row.getByTestId('a-community').selectOption('serb');
    await row.getByTestId('a-component').selectOption('SO1');
    await page.getByTestId('save-assignments').click();
    await flashed(page, user);
    await page.getByTestId('assignments-' + user).filter({ hasText: /Gra/ }).waitFor();
  }
  await shot(page, 'users');
  const users = new Map((await call('GET', '/v1/admin/users', admin)).data.users.map((u) => [u.username, u]));
  for (const [user, name, role, team] of people) {
    assert.equal(users.get(user).role, role, user);
    assert.equal(users.get(user).display_name, name, user);
    assert.equal(users.get(user).supervisor || '', team, user);
  }
  assert.deepEqual(users.get('arben').assignments, [{ municipality: 'gracanice', community: 'serb', component: 'SO1', form: '*' }]);
  assert.deepEqual(users.get('drita').assignments, [{ municipality: 'gracanice', community: '*', component: 'SO1', form: '*' }]);
  for (const user of Object.keys(PW)) await login(user);  // every password set in the browser signs in
  step('users: one of each role, a team of two under the supervisor, assignments');

  // --- Forms: the survey's definition uploaded as a file, previewed, published. ---
  await open(page, 'forms', 'forms-table');
  await page.getByTestId('form-file').setInputFiles(path.join(H.root, 'schema/forms/programme', FORM + '.json'));
  await page.waitForFunction(() => document.querySelector('[data-testid="form-definition"]').value.includes('"fields"'));
  await page.getByTestId('upload-draft').click();
  await page.getByTestId('form-preview').waitFor();
  assert.match(await page.getByTestId('form-preview').textContent(), /Raundi i anketës.*Круг анкете/, 'the preview shows the questions in each language');
  await shot(page, 'form');
  await page.getByTestId(`publish-${FORM}-1`).click();
  await flashed(page, /published/);
  assert.deepEqual((await call('GET', '/v1/forms', admin)).data.forms.map((f) => [f.form_id, f.version]), [[FORM, 1]]);
  await open(page, 'forms', 'forms-table');
  await shot(page, 'forms');
  step('forms: the survey uploaded, previewed and published');

  // --- Tablets: a code for each enumerator, typed into the tablet (aktsync init --code). ---
  const codes = {};
  await open(page, 'tablets', 'tablets-table');
  for (const [n, user] of [[1, 'arben'], [2, 'jelena']]) {
    await page.getByTestId('enrol-user').selectOption(user);
    await page.getByTestId('enrol-device-name').fill('tablet ' + n);
    await page.getByTestId('issue-code').click();
    await page.getByTestId('enrolment-qr').locator('svg').waitFor();
    // The previous code stays on the page until the new one is drawn: wait for a code not issued before.
    await page.waitForFunction((used) => {
      const el = document.querySelector('[data-testid="enrolment-code"]');
      return el && el.textContent.trim() && !used.includes(el.textContent.trim());
    }, Object.values(codes));
    codes[n] = (await page.getByTestId('enrolment-code').textContent()).trim();
    if (n === 1) await shot(page, 'tablets-code');
    const out = aktsync(n, 'init', '--server', `127.0.0.1:${H.port}`, '--code', codes[n]);
    assert.match(out, new RegExp(`user ${user}, enumerator, device name 'tablet ${n}'`), out);
  }
  const devices = (await call('GET', '/v1/admin/devices', admin)).data.devices.filter((d) => d.kind === 'enrolled');
  assert.deepEqual(devices.map((d) => [d.name, d.username]).sort(), [['tablet 1', 'arben'], ['tablet 2', 'jelena']]);
  step('tablets: two codes issued in the browser; two CLI tablets enrolled with them');

  // --- Field work: interviews (one with a photo), a household both tablets revisit, and an interview of
  // a form version the server does not have yet (quarantined). ---
  const photo = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 1200;
    c.height = 900;
    const g = c.getContext('2d');
    g.fillStyle = '#2a6f97';
    g.fillRect(0, 0, 1200, 900);
    g.fillStyle = '#f2c14e';
    g.fillRect(300, 200, 600, 500);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  });
  fs.writeFileSync(path.join(H.tmp, 'house.jpg'), Buffer.from(photo, 'base64'));
  const rec = [];
  for (let i = 0; i < 4; i++) rec.push(newInterview(1, 1, { hh_number: 20 + i, hh_size: 3 + i }));
  // The second interview names a photo the tablet never sends (the server marks it pending).
  aktsync(1, 'edit', rec[1], '--set', 'photo_context=' + JSON.stringify(survey.photo_context));
  aktsync(1, 'attach', rec[0], 'photo_context', path.join(H.tmp, 'house.jpg'), '--type', 'image/jpeg');
  assert.match(syncTablet(1), /pushed +6\n/);
  assert.match(syncTablet(2), /pulled +4\n/);
  aktsync(1, 'edit', rec[0], '--set', 'hh_size=5', '--set', 'comments="A grandmother moved in."');
  aktsync(2, 'edit', rec[0], '--set', 'hh_size=6');
  syncTablet(1);
  assert.match(syncTablet(2), /concurrent +1\n/);
  const quarantined = newInterview(2, 2, { hh_number: 90 });
  assert.match(syncTablet(2), /rejected +1\n/);
  const conflicts = (await call('GET', '/v1/admin/conflicts?status=open', admin)).data.entries;
  assert.deepEqual(conflicts.map((e) => [e.kind, e.path]), [['field', 'hh_size']]);
  const blobOk = (await call('GET', '/v1/records/' + rec[0], admin)).data;
  assert.deepEqual(blobOk.pending_upload || [], [], 'the photo arrived');
  assert.deepEqual((await call('GET', '/v1/records/' + rec[1], admin)).data.pending_upload, ['photo_context']);
  step('tablets pushed 4 interviews (one photo), one conflict, one quarantined edit');

  // --- The supervisor: review (approve, return with a comment, exclude), then the conflict. ---
  await signOut(page);
  await signIn(page, 'drita');
  await open(page, 'submissions', 'sub-table');
  assert.equal(await page.getByTestId('sub-row').count(), 4);
  await shot(page, 'submissions');
  const review = async (id, button, comment) => {
    await open(page, 'submissions', 'sub-table');
    await page.locator(`a[href="#/record/${id}"]`).click();
    await page.getByTestId('review-box').waitFor();
    if (comment) await page.getByTestId('review-comment-input').fill(comment);
    await page.getByTestId('review-' + button).click();
    await page.getByTestId('flash').waitFor();
  };
  await page.goto(H.base + '/console/#/record/' + rec[1]);
  await page.getByTestId('photo-photo_context').getByTestId('photo-pending').waitFor();
  assert.match(await page.getByTestId('photo-photo_context').innerText(), /not yet uploaded/);
  await review(rec[1], 'approved');
  await review(rec[2], 'returned', 'The household number is missing its cluster; please check.');
  await review(rec[3], 'excluded_duplicate');
  const drita = await login('drita');
  const statusOf = async (id) => (await call('GET', '/v1/records/' + id, drita)).data.live[0].body;
  assert.equal((await statusOf(rec[1])).review_status, 'approved');
  assert.equal((await statusOf(rec[2])).review_status, 'returned');
  assert.equal((await statusOf(rec[2])).review_comment, 'The household number is missing its cluster; please check.');
  assert.equal((await statusOf(rec[3])).review_status, 'excluded_duplicate');
  step('supervisor: approved, returned with a comment, excluded');

  // The record view: the photo as a thumbnail the browser made; a click opens the full photo.
  await page.goto(H.base + '/console/#/record/' + rec[0]);
  const thumb = page.getByTestId('photo-photo_context').locator('canvas');
  await thumb.waitFor();
  assert.deepEqual(await thumb.evaluate((c) => [c.width, c.height]), [320, 240], 'bounded to 320 px, in proportion');
  await shot(page, 'record');
  // The object URLs the console makes are revoked once used: count them.
  await page.evaluate(() => {
    window.aktUrls = { made: 0, revoked: 0 };
    const make = URL.createObjectURL, revoke = URL.revokeObjectURL;
    URL.createObjectURL = (b) => { window.aktUrls.made++; return make(b); };
    URL.revokeObjectURL = (u) => { window.aktUrls.revoked++; return revoke(u); };
  });
  await page.getByTestId('photo-open').click();
  const full = page.getByTestId('photo-full-image');
  await page.waitForFunction(() => { const i = document.querySelector('[data-testid="photo-full-image"]'); return i && i.complete && i.naturalWidth > 0; });
  assert.equal(await full.evaluate((i) => i.naturalWidth + 'x' + i.naturalHeight), '1200x900');
  assert.deepEqual(await page.evaluate(() => window.aktUrls), { made: 1, revoked: 1 });
  await shot(page, 'photo');
  await page.getByTestId('photo-close').click();
  await page.getByTestId('photo-full').waitFor({ state: 'detached' });

  await open(page, 'inbox', 'inbox-table');
  await shot(page, 'inbox');
  await page.getByTestId('open-' + conflicts[0].id).click();
  const entry = page.getByTestId('entry-hh_size');
  await entry.waitFor();
  await page.getByTestId('record-context').locator('canvas').waitFor();
  const candidates = await entry.getByTestId('candidate').allTextContents();
  const jelena = candidates.findIndex((c) => c.includes('tablet 2'));
  assert.ok(jelena >= 0, candidates.join(' | '));
  await page.getByTestId('choice-hh_size-' + jelena).check();
  await shot(page, 'conflict');
  await page.getByTestId('resolve').click();
  await flashed(page, /Resolved 1 field/);
  assert.equal((await call('GET', '/v1/admin/conflicts?status=open', admin)).data.entries.length, 0);
  const resolved = (await call('GET', '/v1/records/' + rec[0], admin)).data;
  assert.equal(resolved.live.length, 1);
  assert.equal(resolved.live[0].body.hh_size, 6);
  assert.equal(resolved.live[0].body.comments, 'A grandmother moved in.');
  step('supervisor: the record view shows the photo; the conflict resolved');

  // --- The admin: the tablet's newer form version published, its quarantined interview released. ---
  await signOut(page);
  await signIn(page, 'admin');
  await open(page, 'quarantine', 'quarantine-table');
  await shot(page, 'quarantine');
  const v2 = JSON.parse(fs.readFileSync(path.join(H.root, 'schema/forms/programme', FORM + '.json'), 'utf8'));
  v2.version = 2;
  await open(page, 'forms', 'forms-table');
  await page.getByTestId('form-definition').fill(JSON.stringify(v2));
  await page.getByTestId('upload-draft').click();
  await page.getByTestId('form-diff').waitFor();
  await page.getByTestId(`publish-${FORM}-2`).click();
  await flashed(page, /published/);
  await open(page, 'quarantine', 'quarantine-table');
  await page.getByTestId('quarantine-row').first().getByTestId('release-q').click();
  await page.getByTestId('flash').waitFor();
  const q = (await call('GET', '/v1/admin/quarantine', admin)).data.entries;
  assert.equal(q.length, 1);
  assert.ok(q[0].released_at > 0, 'released');
  assert.equal((await call('GET', '/v1/records/' + quarantined, admin)).data.live[0].body.hh_number, 90);
  await open(page, 'team', 'devices-table');
  await shot(page, 'team');
  await open(page, 'audit', 'audit-table');
  await shot(page, 'audit');
  const actions = new Set((await call('GET', '/v1/admin/audit?limit=1000', admin)).data.entries.map((e) => e.action));
  for (const a of ['user_created', 'scope_changed', 'form_published', 'enrolment_issued', 'device_enrolled', 'record_reviewed',
    'conflict_resolved', 'quarantine_released']) assert.ok(actions.has(a), a);
  step('admin: version 2 published, the quarantined interview released');

  // --- The M&E officer downloads the dataset. ---
  await signOut(page);
  await signIn(page, 'milan');
  await open(page, 'datasets', 'export-form-box');
  await page.getByTestId('export-form').selectOption(FORM);
  await page.getByTestId('export-format').selectOption('csv');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
  const csv = fs.readFileSync(await download.path(), 'utf8');
  await shot(page, 'datasets');
  const viaApi = await call('GET', `/v1/exports/${FORM}?format=csv&labels=codes&conflicts=include`, await login('milan'));
  assert.equal(viaApi.status, 200);
  const rows = (text) => text.trim().split('\r\n');
  assert.equal(rows(csv)[0], rows(viaApi.data)[0], 'the same columns');
  assert.equal(rows(csv).length, rows(viaApi.data).length, 'the same records');
  assert.equal(rows(csv).length, 1 + 5, 'every interview (the excluded one marked)');
  step('M&E officer downloaded ' + csv.length + ' bytes of CSV');

  assert.deepEqual(errors, [], 'no script errors');
  step('programme set up from an empty server in the browser');
}

await H.run(main);
