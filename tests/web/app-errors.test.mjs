// Browser test of what the tablet app tells the enumerator when the server cannot take what it sends:
//   - 507 (the server's storage is full) on a push: the round ends at once (no retries against a full
//     disk) and says so in plain words; the record stays pending, nothing is lost;
//   - 413 (too large) on a push: the record is marked rejected and explains, in Serbian here, what to do;
//   - a photo the server refuses (413 attachment_too_large) stays on the tablet; after three sync rounds it is
//     listed on the home page as stuck, with its record and the reason.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow, q } from './harness.mjs';

const problem = (status, code, detail) => ({ status, contentType: 'application/problem+json',
  body: JSON.stringify({ v: 1, status, code, title: code, detail }) });

// A small camera picture (noise, so it is a real JPEG of some size), made by the browser.
async function picture(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 320;
    c.height = 240;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(320, 240);
    for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 2654435761) >>> 24;
    ctx.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

// The infrastructure card's answers other than the photo (as app-photos.test.mjs writes them).
function infraBody(visitId) {
  const ben = Object.fromEntries(['albanian', 'serb', 'bosniak', 'turkish', 'roma', 'ashkali', 'egyptian', 'gorani', 'montenegrin', 'croat', 'other']
    .map((c) => ['ben_' + c, c === 'serb' ? 120 : 0]));
  return {
    project_id: 'SO1-0077', municipality: 'gracanice', settlement_name: 'Laplje Selo', project_title: 'Water supply, Laplje Selo',
    project_type: 'water_supply', implementing_partner: 'kcdf', grant_amount: 20000, grant_currency: 'eur', cofin_municipality: 2000,
    planned_start: '2026-03-01', planned_end: '2026-10-30', site_gps: { lat: 42.5975, lon: 21.1935, acc: 7 },
    target_communities: ['serb'], status: 'in_progress', pct_complete: 40, works_quality: 'good', mun_involvement: ['permits'],
    ben_method: 'municipal_records', ...ben, jc_exists: 'no',
    visit: [{ visit_id: visitId, visit_date: '2026-11-20', visit_type: 'progress', visit_by: 'enis',
              v_gps: { lat: 42.5976, lon: 21.1936, acc: 5 }, v_pct_observed: 40, v_issues: ['none'],
              v_photo_1_caption: 'North side of the reservoir', v_followup_needed: 'no' }]
  };
}

async function saveSurvey(page, settlement, hh) {
  const id = await H.newSurvey(page);
  await H.fillSurveyNonInterview(page, settlement, hh);
  await page.click('#save');
  await page.locator(`a[data-record="${id}"][data-state="pending"]`).waitFor();
  return id;
}

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey', 'so1_infra_monitoring']);
  await H.addEnumerator(admin, 'enis', [{ municipality: 'gracanice', community: 'serb', component: 'SO1' }]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-errors', TABLET);
  await enrol(T, T.code);
  const page = T.page;

  // --- 507 on the push: one answer, the round ends with the reason; the record is kept, pending. ---
  const r1 = await saveSurvey(page, 'Laplje Selo', 1);
  let pushes = 0;
  await T.context.route('**/v1/push', async (route) => { pushes++; await route.fulfill(problem(507, 'storage_full', 'disk full')); });
  const flash = await syncNow(T, { expectFailure: true });
  assert.match(flash, /storage is full/, flash);
  assert.match(flash, /nothing is lost/, flash);
  assert.equal(pushes, 1, 'no retries against a full disk');
  await page.locator(`a[data-record="${r1}"][data-state="pending"]`).waitFor();
  await T.context.unroute('**/v1/push');
  await H.shot(page, 'errors-507');
  step('507: the round ended at once, "the server\u2019s storage is full"; the record waits on the tablet');

  // --- 413 on the push: the record is rejected with an explanation in the enumerator's language. ---
  await syncNow(T);
  const r2 = await saveSurvey(page, 'Livađe', 2);
  await T.context.route('**/v1/push', (route) => route.fulfill(problem(413, 'body_too_large', 'body larger than limits.max_body_bytes')));
  await syncNow(T);
  await T.context.unroute('**/v1/push');
  await page.locator(`a[data-record="${r2}"][data-state="rejected"]`).waitFor();
  await page.selectOption('#lang', 'sr');
  await H.openRecord(page, r2);
  await page.locator('#too-large').getByText('prevelik').waitFor();
  assert.doesNotMatch(await page.locator('.banners').textContent(), /body_too_large|max_body_bytes/, 'no server jargon');
  await H.shot(page, 'errors-413-sr');
  await page.selectOption('#lang', 'en');
  step('413: the record is rejected, explained in Serbian, kept to correct');

  // --- A photo the server refuses: after three rounds it is listed as stuck, with the reason. ---
  const id = await H.newRecord(page, 'so1_infra_monitoring', 'project_id');
  const visitId = crypto.randomUUID();
  await page.evaluate(([rid, body]) => window.AktStore.tx(['drafts'], 'readonly', (s) => window.AktStore.get(s.drafts, rid))
    .then((d) => window.AktStore.putDraft({ ...d, body: { ...d.body, ...body } })), [id, infraBody(visitId)]);
  await page.reload();
  const photo = `visit[${visitId}].v_photo_1`;
  await q(page, photo).locator('input[type=file]').setInputFiles({ name: 'IMG.jpg', mimeType: 'image/jpeg', buffer: await picture(page) });
  await q(page, photo).locator('img.thumb:visible').waitFor();
  await H.synced(T);
  await page.click('#save');
  await page.locator(`a[data-record="${id}"][data-photos="waiting"]`).waitFor();
  await T.context.route('**/v1/uploads', (route) => route.fulfill(problem(413, 'attachment_too_large', 'size above attachments.max_bytes')));
  for (let round = 1; round <= 3; round++) {
    assert.equal(await page.locator('#stuck').count(), 0, `not stuck before round ${round}`);
    await syncNow(T);
    await page.goto(H.base + '/app/#/new');
    await page.goto(H.base + '/app/#/');
    await page.locator('#records').waitFor();
  }
  const stuck = page.locator('#stuck');
  await stuck.waitFor();
  await stuck.getByText('Photos not uploading').waitFor();
  await stuck.getByText('too large for the server').waitFor();
  await stuck.getByText('after 3 syncs').waitFor();
  assert.equal(await stuck.locator(`a[href="#/r/${id}"]`).count(), 1, 'the stuck photo names its record');
  assert.equal((await call('GET', '/v1/records/' + id, admin)).data.pending_upload.length, 1, 'the record went, its photo did not');
  await H.shot(page, 'errors-stuck-photo');
  await H.checkAccessible(page, 'home with a stuck photo');
  await T.context.unroute('**/v1/uploads');
  assert.deepEqual(T.errors, []);
  step('a refused photo is listed as stuck after three rounds, with its record and the reason');
}

await H.run(main);
