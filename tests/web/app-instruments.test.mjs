// Browser test of the SO2 and SO3 instruments in the tablet app, in the interview languages, against a real
// aktsyncd: the SO2 business follow-up filled in Albanian (relevance, the age-band constraint, a warning
// check, a calculated field, the required equipment photo) and the SO3 municipal service assessment in
// Serbian (date constraints, the tax-rate calculation, select-multiple); the constraint and check messages
// are the form's own texts in the chosen language (the rule engine is asked in that language), the server
// refuses nothing, and both records reach it (the push gzipped on the wire); the SO2 photo is uploaded and
// readable.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import * as H from './harness.mjs';

const { call, step, q, pick, fill } = H;

// Waits until the question at `path` shows `text` as its error or warning.
const says = (page, path, text) => q(page, path).locator('.error').getByText(text).waitFor();
const quiet = (page, path) => H.until(() => q(page, path).locator('.error').textContent().then((s) => s === ''), `${path} to be fine`);

async function main() {
  const admin = await H.startWithForms(['so2_business_followup', 'so3_municipal_service']);
  await H.addEnumerator(admin, 'drita', [{ municipality: 'gracanice', community: 'serb', component: 'SO2' },
                                         { municipality: 'gracanice', community: 'serb', component: 'SO3' }]);
  await H.launchBrowser();
  const A = await H.tablet(admin, 'drita', 'tablet-drita', H.TABLET);
  await H.enrol(A, A.code);
  const page = A.page;
  const pushes = [];  // what the app's pushes carried on the wire
  page.on('request', (r) => { if (r.url().endsWith('/v1/push')) pushes.push({ headers: r.headers(), body: r.postDataBuffer() }); });
  const hasEngine = (await call('GET', '/app/forms.wasm')).status === 200;
  assert.ok(hasEngine, 'this test needs the rule engine (build with emscripten)');

  // --- SO2 business follow-up, in Albanian. ---
  await page.selectOption('#lang', 'sq');
  const so2 = await H.newRecord(page, 'so2_business_followup', 'business_id');
  await q(page, 'consent').locator('.qlabel').filter({ hasText: 'I anketuari pajtohet me këtë intervistë monitorimi' }).waitFor();
  await fill(page, 'business_id', 'SO2-0107');
  await pick(page, 'followup_round', 'm12');
  await fill(page, 'visit_date', '2026-11-20');
  await pick(page, 'interview_mode', 'in_person');
  await fill(page, 'settlement_name', 'Gračanica');
  await q(page, 'respondent_role').waitFor({ state: 'hidden' });
  await pick(page, 'consent', 'yes');
  await q(page, 'respondent_role').waitFor({ state: 'visible' });
  await pick(page, 'respondent_role', 'owner');
  await pick(page, 'owner_gender', 'female');
  await fill(page, 'female_ownership_pct', 100);
  await fill(page, 'owner_age_years', 29);
  // A constraint with the form's own message, in Albanian.
  await pick(page, 'owner_age_band', '18_24');
  await says(page, 'owner_age_band', 'grupmosha nuk përputhet me moshën e pronarit');
  await H.shot(page, '30-so2-constraint-sq-tablet');
  await pick(page, 'owner_age_band', '25_29');
  await quiet(page, 'owner_age_band');
  await pick(page, 'owner_community', 'serb');
  await pick(page, 'business_sector', 'crafts');
  await pick(page, 'business_stage_at_grant', 'existing');
  await pick(page, 'grant_type', 'equipment_in_kind');
  // A warning check (stored, shown to reviewers), in Albanian.
  await fill(page, 'grant_amount', 25000);
  await says(page, 'grant_amount', 'grant mbi 20.000: ju lutemi konfirmoni');
  await fill(page, 'grant_amount', 8000);
  await quiet(page, 'grant_amount');
  await pick(page, 'grant_currency', 'eur');
  await fill(page, 'grant_date', '2025-05-10');
  await pick(page, 'business_status', 'operating');
  await q(page, 'equipment_photo').waitFor({ state: 'hidden' });
  await pick(page, 'equipment_in_use', 'all');
  await q(page, 'equipment_photo').waitFor({ state: 'visible' });
  await pick(page, 'premises_home_based', 'yes');
  await fill(page, 'emp_before_ft', 1);
  await fill(page, 'emp_before_pt', 0);
  await fill(page, 'emp_now_ft', 2);
  await fill(page, 'emp_now_pt', 1);
  await fill(page, 'emp_now_female', 5);
  await says(page, 'emp_now_female', 'më shumë gra se punëtorë gjithsej');
  await fill(page, 'emp_now_female', 2);
  await quiet(page, 'emp_now_female');
  await fill(page, 'emp_now_youth', 1);
  await pick(page, 'revenue_band_before', 'lt_5k');
  await pick(page, 'revenue_band_now', '5k_15k');
  await pick(page, 'business_registered', 'kbra');
  await pick(page, 'tax_registered', 'yes');
  await pick(page, 'tax_evidence_seen', 'yes');
  await pick(page, 'training_attended', 'none');
  await q(page, 'training_applied').waitFor({ state: 'hidden' });
  await pick(page, 'b2b_other_community', 'no');
  await pick(page, 'customers_other_community', 'lt_25pct');
  await pick(page, 'finance_access_12m', 'not_applied');
  // The required photo blocks saving (the message in Albanian), then the photo is taken.
  await page.click('#save');
  await page.locator('#save-msg').getByText('kërkojnë vëmendje').waitFor();
  assert.deepEqual(await page.locator('.q.has-error').evaluateAll((l) => l.map((e) => e.dataset.path)), ['equipment_photo']);
  const jpeg = Buffer.from(await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 800;
    c.height = 600;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#3a6';
    ctx.fillRect(0, 0, 800, 600);
    ctx.fillStyle = '#fff';
    ctx.font = '48px sans-serif';
    ctx.fillText('SN 4411-0927', 200, 300);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  }), 'base64');
  await q(page, 'equipment_photo').locator('input[type=file]').setInputFiles({ name: 'plate.jpg', mimeType: 'image/jpeg', buffer: jpeg });
  await q(page, 'equipment_photo').locator('img.thumb:visible').waitFor();
  await q(page, 'equipment_photo').getByText('në pritje për ngarkim').waitFor();
  await H.shot(page, '31-so2-photo-sq-tablet');
  await H.checkAccessible(page, 'SO2 (sq)');
  await page.click('#save');
  await page.locator(`a[data-record="${so2}"][data-state="pending"]`).waitFor();
  step('SO2 follow-up filled and saved in Albanian');

  // --- SO3 municipal service assessment, in Serbian. ---
  await page.selectOption('#lang', 'sr');
  const so3 = await H.newRecord(page, 'so3_municipal_service', 'assessment_round');
  await q(page, 'service').locator('.qlabel').filter({ hasText: /[\u0400-\u04FF]/ }).waitFor();
  await pick(page, 'assessment_round', 'midterm');
  await fill(page, 'assessment_date', '2026-11-18');
  await fill(page, 'period_start', '2026-01-01');
  await fill(page, 'period_end', '2026-12-31');
  await says(page, 'period_end', 'крај периода је после датума процене');
  await H.shot(page, '32-so3-constraint-sr-tablet');
  await fill(page, 'period_end', '2026-10-31');
  await quiet(page, 'period_end');
  await pick(page, 'service', 'property_tax');
  await q(page, 'applications_received').waitFor({ state: 'hidden' });
  await q(page, 'property_tax_billed').waitFor({ state: 'visible' });
  await pick(page, 'ta_types', 'training');
  await pick(page, 'ta_types', 'procedure_redesign');
  await pick(page, 'respondent_position', 'head_of_unit');
  await pick(page, 'data_sources', 'official_report');
  await fill(page, 'property_tax_billed', 100000);
  await fill(page, 'property_tax_collected', 80000);
  await q(page, 'property_tax_rate').locator('output').getByText('80').waitFor();
  await pick(page, 'docs_languages', 'sq');
  await pick(page, 'docs_languages', 'sr');
  await pick(page, 'online_level', 'info_only');
  await pick(page, 'written_procedure', 'yes');
  await fill(page, 'staff_total', 12);
  await fill(page, 'staff_trained', 15);
  await says(page, 'staff_trained', 'више обученог особља него особља укупно');
  await fill(page, 'staff_trained', 5);
  await quiet(page, 'staff_trained');
  await pick(page, 'complaints_mechanism', 'no');
  await q(page, 'complaints_received').waitFor({ state: 'hidden' });
  await fill(page, 'exit_n', 0);
  await q(page, 'exit_satisfied_n').waitFor({ state: 'hidden' });
  await H.shot(page, '33-so3-sr-tablet');
  await page.setViewportSize(H.PHONE);
  await H.shot(page, '34-so3-sr-phone');
  await H.checkAccessible(page, 'SO3 (sr, phone)');
  await page.setViewportSize(H.TABLET);
  await page.click('#save');
  await page.locator(`a[data-record="${so3}"][data-state="pending"]`).waitFor();
  step('SO3 assessment filled and saved in Serbian');

  // --- Sync: both records on the server, nothing refused, the photo uploaded. ---
  const saved = await page.evaluate(() => window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)));
  assert.equal(saved.length, 2);
  await H.syncNow(A);
  await page.locator(`a[data-record="${so2}"][data-state="synced"]:not([data-photos])`).waitFor();
  await page.locator(`a[data-record="${so3}"][data-state="synced"]`).waitFor();
  const r2 = await call('GET', '/v1/records/' + so2, admin);
  assert.equal(r2.status, 200);
  const b2 = r2.data.live[0].body;
  assert.equal(b2.business_id, 'SO2-0107');
  assert.equal(b2.owner_age_band, '25_29');
  assert.equal(b2.women_owned, true, 'calculated on the tablet');
  assert.equal(b2.youth_flag, true);
  assert.equal(r2.data.pending_upload, undefined);
  const digest = /^sha256:([0-9a-f]{64});size=(\d+);type=image\/jpeg$/.exec(b2.equipment_photo)[1];
  const blob = await call('GET', '/v1/blobs/' + digest, admin, undefined, { raw: true });
  assert.equal(blob.status, 200);
  assert.equal(crypto.createHash('sha256').update(blob.data).digest('hex'), digest);
  const r3 = await call('GET', '/v1/records/' + so3, admin);
  assert.equal(r3.status, 200);
  const b3 = r3.data.live[0].body;
  assert.equal(b3.service, 'property_tax');
  assert.equal(b3.property_tax_rate, 80);
  assert.equal(b3.both_official_languages, true);
  assert.deepEqual(b3.ta_types.slice().sort(), ['procedure_redesign', 'training']);
  // The push went gzipped (PROTOCOL §1), the batch text inside unchanged.
  assert.ok(pushes.length >= 1);
  for (const p of pushes) assert.equal(p.headers['content-encoding'], 'gzip');
  const texts = pushes.map((p) => zlib.gunzipSync(p.body).toString('utf8'));
  assert.deepEqual(texts.flatMap((t) => JSON.parse(t).edits.map((e) => e.record)).sort(), [so2, so3].sort());
  for (const e of saved) assert.ok(texts.some((t) => t.includes(e.text)), 'the exact edit text, gzipped');
  const plain = texts.reduce((a, t) => a + Buffer.byteLength(t), 0), packed = pushes.reduce((a, p) => a + p.body.length, 0);
  step(`pushes gzipped: ${plain} bytes of JSON sent as ${packed} (${(plain / packed).toFixed(1)}x smaller)`);
  const quarantine = await call('GET', '/v1/admin/quarantine', admin);
  assert.ok(!JSON.stringify(quarantine.data).includes(so2) && !JSON.stringify(quarantine.data).includes(so3), 'nothing refused');
  step('both records on the server; the SO2 photo readable');

  assert.deepEqual(A.errors, [], 'page errors');
  step('all instrument browser tests passed');
}

await H.run(main);
