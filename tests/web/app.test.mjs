// Browser tests of the enumerators' tablet app (/app/): a real aktsyncd on loopback (the built binary, a
// temporary data folder) with the programme's instruments published, Debian's chromium driven by
// playwright-core. Each browser context is one tablet. Checks:
//   - enrolment by one-time code (a wrong code is refused with a plain message);
//   - filling the survey with the server's own rules on the tablet (relevance, a constraint message, saving
//     blocked until the answers pass), a repeat group of the infrastructure instrument (items, GPS with
//     accuracy, photo questions offering the camera), the language switch;
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
// Screenshots at tablet (800x1280) and phone (390x844) sizes go to the output folder. The set-up (server,
// browser, tablets, question helpers) and the environment variables are in harness.mjs; photos are tested by
// app-photos.test.mjs, the SO2 and SO3 instruments in Albanian and Serbian by app-instruments.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import * as H from './harness.mjs';
import { root, cli, tmp, TABLET, PHONE, step, call, shot, tablet, enrol, synced, syncNow, q, pick, fill, checkAccessible,
         openRecord } from './harness.mjs';

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


async function main() {
  checkCatalogue();
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey', 'so1_infra_monitoring']);
  const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
  for (const u of ['enis', 'vesa']) await H.addEnumerator(admin, u, [scope]);

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

  await H.launchBrowser();

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
  const r1 = await H.newSurvey(A.page);
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
  await H.draftHas(A.page, r1, '"hh_number":12');
  await A.page.reload();
  await q(A.page, 'hh_number').waitFor();
  assert.equal(await q(A.page, 'hh_number').locator('input').inputValue(), '12');
  await H.fillSurveyNonInterview(A.page, 'Laplje Selo', 12);
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
  await item.locator('.q-photo button.photo-take').first().waitFor();  // photo questions: app-photos.test.mjs
  await A.page.locator('fieldset.repeat .item').nth(1).locator('.remove-item').click();
  await A.page.waitForFunction(() => document.querySelectorAll('fieldset.repeat .item').length === 1);
  await item.scrollIntoViewIfNeeded();
  await shot(A.page, '05-infra-repeat-tablet');
  await A.page.goto(H.base + '/app/#/');
  await A.page.locator('a.record[data-state="draft"]').waitFor();

  // --- Offline: the service worker starts the app; records are created and edited; then the sync. ---
  await A.page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: 30000 });
  await syncNow(A);
  await A.page.locator(`a[data-record="${r1}"][data-state="synced"]`).waitFor();
  await A.context.setOffline(true);
  const r2 = await H.newSurvey(A.page);
  await H.fillSurveyNonInterview(A.page, 'Gušterica', 13);
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
    await t.page.goto(H.base + '/app/#/');
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
  const r3 = await H.newSurvey(C.page);
  await C.page.locator('#no-engine').waitFor();
  await H.fillSurveyNonInterview(C.page, 'Dobrotin', 5000);  // hh_number: 1-999
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
  await C.page.goto(H.base + '/app/#/');
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
  await A.page.goto(H.base + '/app/#/');
  await A.context.route('**/v1/**', (r) => r.fulfill({ status: 401, contentType: 'application/problem+json',
                                                      body: '{"code":"unauthenticated","detail":"test","status":401}' }));
  const r5 = await H.newSurvey(A.page);
  await H.fillSurveyNonInterview(A.page, 'Livađe', 55);
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
  const r4 = await H.newSurvey(B.page);
  await H.fillSurveyNonInterview(B.page, 'Ugljare', 44);
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
  const importArgs = ['import', backupFile, '--server', `127.0.0.1:${H.port}`, '--code', newCode.data.code];
  const out = execFileSync(cli, importArgs, { encoding: 'utf8' });
  assert.match(out, /imported 1 edit\(s\) .*: 1 applied/, out);
  const imported = await call('GET', '/v1/records/' + r4, admin);
  assert.equal(imported.status, 200);
  assert.equal(imported.data.live[0].body.settlement_name, 'Ugljare');
  const again = await call('POST', '/v1/admin/enrolments', admin, { username: 'vesa', device_name: 'tablet-vesa (import 2)' });
  const out2 = execFileSync(cli, ['import', backupFile, '--server', `127.0.0.1:${H.port}`, '--code', again.data.code], { encoding: 'utf8' });
  assert.equal(out2, out, 'a second import replays the same batch and gets the same answer');
  const after = await call('GET', '/v1/records/' + r4, admin);
  assert.equal(after.data.seq, imported.data.seq, 'the second import changed nothing');
  step('backup file imported by aktsync import');

  // The list's summaries stayed in step through conflicts, refusals, a scope change and the update.
  for (const t of [A, C]) await H.checkSummaries(t.page);  // (B "broke" above: its context is closed)
  for (const t of [A, B, C]) assert.deepEqual(t.errors, [], 'page errors');
  step('all app browser tests passed');
}


await H.run(main);
