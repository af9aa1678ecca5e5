// Browser test of photo questions in the tablet app (PROTOCOL §14), against a real aktsyncd:
//   - the local store's upgrade to version 2 (the photo stores) keeps what version 1 held;
//   - a required photo blocks saving; a photo taken offline (a file input with capture, set here with
//     setInputFiles) is scaled down to 1600 px JPEG, answered with the exact attachment reference, shown as a
//     thumbnail, replaced and removed; the replaced file is freed from the tablet at the save;
//   - the record shows "photo waiting to upload"; the sync pushes it (plain, after a 415 to the gzipped push),
//     then uploads the photo in 64 KiB chunks:
//     the link is cut mid-upload (one chunk stored but its answer lost, the next ones refused), the round
//     ends, the server lists the field as `pending_upload`; after a reload the next sync asks the offset
//     (HEAD) and sends only the rest: every byte crosses once;
//   - then the server returns the exact bytes (GET /v1/blobs), the record has no `pending_upload`, and the
//     tablet has freed its copy (the thumbnail comes from the server);
//   - a second tablet of the area opens the record: "not yet uploaded" while the server lacks the photo; after
//     the upload it fetches the photo (GET /v1/blobs), keeps it in its photo cache and shows it offline;
//   - a card with a photo saved offline goes into a Backup file with its photo's bytes; the tablet "breaks";
//     `aktsync import` pushes the edit and uploads the photo: the admin reads the exact bytes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const { call, step, q } = H;
const CHUNK = 64 * 1024;

// A picture "taken" by the camera: made by the browser as a JPEG of `w` x `h` pixels with noise (so it stays
// several chunks large after the app's re-encoding).
async function picture(page, w, h, seed) {
  const b64 = await page.evaluate(([w, h, seed]) => {
    const c = document.createElement('canvas');
    c.width = w;
    c.height = h;
    const ctx = c.getContext('2d');
    const img = ctx.createImageData(w, h);
    let x = seed >>> 0;
    for (let i = 0; i < img.data.length; i += 4) {
      x = (x * 1664525 + 1013904223) >>> 0;
      img.data[i] = x & 255; img.data[i + 1] = (x >>> 8) & 255; img.data[i + 2] = (x >>> 16) & 255; img.data[i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.95).split(',')[1];
  }, [w, h, seed]);
  return Buffer.from(b64, 'base64');
}

// The tablet's local store, read in the page.
const idb = (page, store) => page.evaluate((name) => window.AktStore.tx([name], 'readonly', (s) => window.AktStore.all(s[name])), store);
async function localBytes(page, digest) {
  const b64 = await page.evaluate((d) => window.AktStore.tx(['blob_data'], 'readonly', (s) => window.AktStore.get(s.blob_data, d))
    .then((row) => {
      if (!row) return null;
      let bin = '';
      const u = new Uint8Array(row.data);
      for (let i = 0; i < u.length; i += 8192) bin += String.fromCharCode(...u.subarray(i, i + 8192));
      return btoa(bin);
    }), digest);
  return b64 === null ? null : Buffer.from(b64, 'base64');
}

// The infrastructure card's answers other than the photos (the app's repeat-group widgets are exercised by
// app.test.mjs), written into the record's draft as the app would have stored them.
function infraBody(visitId) {
  const ben = Object.fromEntries(['albanian', 'serb', 'bosniak', 'turkish', 'roma', 'ashkali', 'egyptian', 'gorani', 'montenegrin', 'croat', 'other']
    .map((c) => ['ben_' + c, c === 'serb' ? 120 : c === 'roma' ? 15 : 0]));
  return {
    project_id: 'SO1-0042', municipality: 'gracanice', settlement_name: 'Laplje Selo', project_title: 'Water supply, Laplje Selo',
    project_type: 'water_supply', implementing_partner: 'kcdf', grant_amount: 20000, grant_currency: 'eur', cofin_municipality: 2000,
    planned_start: '2026-03-01', planned_end: '2026-10-30', site_gps: { lat: 42.5975, lon: 21.1935, acc: 7 },
    target_communities: ['serb', 'roma'], status: 'in_progress', pct_complete: 40, works_quality: 'good', mun_involvement: ['permits'],
    ben_method: 'municipal_records', ...ben, jc_exists: 'no',
    visit: [{ visit_id: visitId, visit_date: '2026-11-20', visit_type: 'progress', visit_by: 'enis',
              v_gps: { lat: 42.5976, lon: 21.1936, acc: 5 }, v_pct_observed: 40, v_issues: ['none'],
              v_photo_1_caption: 'North side of the reservoir', v_followup_needed: 'no' }]
  };
}

async function main() {
  const admin = await H.startWithForms(['so1_infra_monitoring']);
  const scope = { municipality: 'gracanice', community: 'serb', component: 'SO1' };
  await H.addEnumerator(admin, 'enis', [scope]);
  await H.launchBrowser();
  const A = await H.tablet(admin, 'enis', 'tablet-enis', H.TABLET, { noGoto: true });
  const page = A.page;

  // --- A tablet that ran the previous app version: its version-1 store is upgraded, nothing is lost. ---
  const oldDraft = '019a0000-0000-7000-8000-000000000001';
  await page.goto(H.base + '/healthz');  // the app's origin, without the app
  await H.defineOldLayout(page);
  await page.evaluate((rec) => new Promise((resolve, reject) => {
    const req = indexedDB.open('aktsync-app', 1);
    req.onupgradeneeded = () => window.oldLayout(req.result, 1);  // version 1 exactly as store.js made it
    req.onsuccess = () => {
      const t = req.result.transaction(['drafts', 'meta'], 'readwrite');
      t.objectStore('drafts').put({ record: rec, form: 'so1_infra_monitoring', form_version: 1,
        scope: { municipality: 'gracanice', community: 'serb', component: 'SO1' }, body: { settlement_name: 'Gušterica' },
        is_new: true, started_at: '2026-11-01T10:00:00+01:00', updated: Date.now() });
      t.objectStore('meta').put({ k: 'lang', v: 'en' });
      t.oncomplete = () => { req.result.close(); resolve(); };
      t.onerror = () => reject(t.error);
    };
    req.onerror = () => reject(req.error);
  }), oldDraft);
  await page.goto(H.base + '/app/');
  await page.locator('#code').waitFor();
  const upgraded = await page.evaluate(() => window.AktStore.open().then((db) => ({ version: db.version, stores: [...db.objectStoreNames] })));
  assert.equal(upgraded.version, 7);
  assert.ok(['blobs', 'blob_data', 'kept', 'summaries', 'search_log', 'search_pack', 'dicts'].every((n) => upgraded.stores.includes(n)), JSON.stringify(upgraded));
  assert.ok(!upgraded.stores.includes('search'), 'no `search` store (version 7)');
  await H.enrol(A, A.code);
  await page.locator(`a[data-record="${oldDraft}"][data-state="draft"]`).waitFor();
  step('version-1 store upgraded: the draft it held is still listed');

  // --- An infrastructure card: the required photo blocks saving until one is taken. ---
  const id = await H.newRecord(page, 'so1_infra_monitoring', 'project_id');
  const visitId = crypto.randomUUID();
  await page.evaluate(([rid, body]) => window.AktStore.tx(['drafts'], 'readonly', (s) => window.AktStore.get(s.drafts, rid))
    .then((d) => window.AktStore.putDraft({ ...d, body: { ...d.body, ...body } })), [id, infraBody(visitId)]);
  await page.reload();
  const photo1 = `visit[${visitId}].v_photo_1`;
  await q(page, photo1).waitFor();
  await A.context.setOffline(true);
  await page.click('#save');
  await page.locator('#save-msg').getByText('need attention').waitFor();
  await q(page, photo1).getByText('An answer is required').waitFor();
  const errorsShown = await page.locator('.q.has-error').evaluateAll((l) => l.map((e) => e.dataset.path));
  assert.deepEqual(errorsShown, [photo1], 'only the photo is missing');

  // Take a photo, then replace it (the camera: a file input with capture="environment").
  const input1 = q(page, photo1).locator('input[type=file]');
  assert.equal(await input1.getAttribute('capture'), 'environment');
  assert.equal(await input1.getAttribute('accept'), 'image/*');
  const first = await picture(page, 640, 480, 1);
  await input1.setInputFiles({ name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: first });
  await q(page, photo1).locator('img.thumb:visible').waitFor();
  await q(page, photo1).getByText('waiting to upload').waitFor();
  const firstRef = (await H.storedDraft(page, id)).body.visit[0].v_photo_1;
  assert.match(firstRef, /^sha256:[0-9a-f]{64};size=[1-9][0-9]*;type=image\/jpeg$/);
  const big = await picture(page, 2400, 1800, 2);  // a camera-sized photo: scaled to 1600 x 1200
  await q(page, photo1).getByRole('button', { name: /Replace photo/ }).waitFor();
  await input1.setInputFiles({ name: 'IMG_0002.jpg', mimeType: 'image/jpeg', buffer: big });
  const ref = await H.until(() => H.storedDraft(page, id).then((d) => d.body.visit[0].v_photo_1 !== firstRef && d.body.visit[0].v_photo_1),
                            'the replaced photo');
  const m = /^sha256:([0-9a-f]{64});size=([1-9][0-9]*);type=image\/jpeg$/.exec(ref);
  assert.ok(m, ref);
  const digest = m[1];
  const size = Number(m[2]);
  const bytes = await localBytes(page, digest);
  assert.equal(bytes.length, size);
  assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), digest);
  const dims = await page.evaluate((d) => window.AktStore.tx(['blob_data'], 'readonly', (s) => window.AktStore.get(s.blob_data, d))
    .then((row) => createImageBitmap(new Blob([row.data], { type: 'image/jpeg' }))).then((b) => [b.width, b.height]), digest);
  assert.deepEqual(dims, [1600, 1200], 'scaled to 1600 px on the longest side');
  assert.ok(size > 5 * CHUNK, `the photo spans several chunks (${size} bytes)`);
  step(`photo taken: ${big.length} bytes from the camera, ${size} bytes kept (1600 x 1200 JPEG)`);

  // A second photo, removed again: its caption question goes with it.
  const photo2 = `visit[${visitId}].v_photo_2`;
  await q(page, photo2).locator('input[type=file]').setInputFiles({ name: 'IMG_0003.jpg', mimeType: 'image/jpeg', buffer: first });
  await q(page, `visit[${visitId}].v_photo_2_caption`).waitFor({ state: 'visible' });
  await q(page, photo2).getByRole('button', { name: 'Remove photo' }).click();
  await q(page, `visit[${visitId}].v_photo_2_caption`).waitFor({ state: 'hidden' });
  await H.draftHas(page, id, ref);
  await q(page, photo1).scrollIntoViewIfNeeded();
  await H.shot(page, '20-photo-taken-tablet');
  await H.checkAccessible(page, 'infrastructure card with a photo');

  // Save offline: the record waits, with its photo; the replaced and removed files are freed.
  await page.click('#save');
  await page.locator(`a[data-record="${id}"][data-state="pending"][data-photos="waiting"]`).waitFor();
  await page.locator(`a[data-record="${id}"]`).getByText('Photo waiting to upload').waitFor();
  await H.until(() => idb(page, 'blobs').then((l) => l.length === 1 && l[0].digest === digest), 'the replaced photos to be freed');
  await H.shot(page, '21-photo-waiting-tablet');

  // --- Back online: the push goes through, the upload is cut after four chunks (the fourth stored, its
  // answer lost), every later chunk fails: the round ends without losing anything. ---
  const log = [];
  let cut = true;
  await A.context.route('**/v1/uploads/**', async (route) => {
    const req = route.request();
    if (req.method() !== 'PATCH') { log.push({ method: req.method() }); await route.continue(); return; }
    const entry = { method: 'PATCH', offset: Number(req.headers()['upload-offset']), len: req.postDataBuffer().length };
    log.push(entry);
    const n = log.filter((x) => x.method === 'PATCH').length;
    if (cut && n > 4) { entry.outcome = 'cut'; await route.abort('connectionreset'); return; }
    const resp = await route.fetch();
    entry.status = resp.status();
    if (cut && n === 4) { entry.outcome = 'answer lost'; await route.abort('connectionreset'); return; }
    await route.fulfill({ response: resp });
  });
  // This server (a proxy in front of it, say) refuses gzipped pushes: the app sends the batch plain instead.
  const pushEncodings = [];
  await A.context.route('**/v1/push', async (route) => {
    const enc = route.request().headers()['content-encoding'] || 'identity';
    pushEncodings.push(enc);
    if (enc !== 'gzip') { await route.continue(); return; }
    await route.fulfill({ status: 415, contentType: 'application/problem+json',
                          body: JSON.stringify({ v: 1, status: 415, code: 'unsupported_encoding', title: 'Unsupported encoding', detail: 'test' }) });
  });
  // The round's retry budget (ten minutes) shortened to 4 s, so that the round ends soon (the meta key of sync.js).
  await page.evaluate(() => window.AktStore.setMeta({ retry_ms: 4000 }));
  await A.context.setOffline(false);
  await H.syncNow(A, { expectFailure: true });
  await page.evaluate(() => window.AktStore.setMeta({ retry_ms: 0 }));
  assert.deepEqual(pushEncodings, ['gzip', 'identity'], 'refused gzipped, sent plain');
  await A.context.unroute('**/v1/push');
  const pushed = await call('GET', '/v1/records/' + id, admin);
  assert.equal(pushed.status, 200, 'the record was pushed before the upload');
  assert.deepEqual(pushed.data.pending_upload, [photo1]);
  assert.equal(pushed.data.live[0].body.visit[0].v_photo_1, ref);
  const reached = log.filter((x) => x.status);
  assert.equal(reached.length, 4);
  assert.deepEqual(reached.map((x) => x.offset), [0, CHUNK, 2 * CHUNK, 3 * CHUNK]);
  assert.ok(log.some((x) => x.method === 'HEAD'), 'after the cut the app asked the offset');
  await page.goto(H.base + '/app/#/');
  await page.locator(`a[data-record="${id}"][data-photos="waiting"]`).waitFor();
  step(`upload cut: ${reached.length} chunks stored, ${log.filter((x) => x.outcome === 'cut').length} refused; the record is on the server, pending_upload`);

  // --- Another tablet of the area pulls the record: the photo is not on the server yet, and it says so. ---
  const B = await H.tablet(admin, 'enis', 'tablet-enis-2', H.PHONE);
  await H.enrol(B, B.code);
  await H.openRecord(B.page, id);
  await q(B.page, photo1).locator('.photo[data-shown="missing"]').waitFor();
  await q(B.page, photo1).getByText('not yet uploaded').waitFor();
  step('a second tablet opens the record: its photo is "not yet uploaded"');

  // --- After a restart of the app, the next sync resumes from the server's offset: only the rest crosses. ---
  cut = false;
  const before = log.length;
  await page.reload();  // the app syncs as it starts
  await page.locator(`a[data-record="${id}"][data-state="synced"]:not([data-photos])`).waitFor({ timeout: 120000 });
  await H.synced(A);
  const resumed = log.slice(before);
  const firstPatch = resumed.findIndex((x) => x.method === 'PATCH');
  assert.ok(resumed.slice(0, firstPatch).some((x) => x.method === 'HEAD'), 'the resumed upload asked the offset first');
  assert.equal(resumed[firstPatch].offset, 4 * CHUNK, 'resumed after the four stored chunks');
  const storedBytes = log.filter((x) => x.status === 200).reduce((a, x) => a + x.len, 0);
  assert.equal(storedBytes, size, 'every byte crossed to the server exactly once');
  assert.ok(resumed.filter((x) => x.method === 'PATCH').every((x) => x.status === 200));
  await A.context.unroute('**/v1/uploads/**');

  // The server has the record, complete, and the exact bytes; the tablet freed its copy.
  const rec = await call('GET', '/v1/records/' + id, admin);
  assert.equal(rec.data.live.length, 1);
  assert.equal(rec.data.pending_upload, undefined, 'no file is missing any more');
  assert.equal(rec.data.live[0].body.visit[0].v_photo_1, ref);
  const blob = await call('GET', '/v1/blobs/' + digest, admin, undefined, { raw: true });
  assert.equal(blob.status, 200);
  assert.equal(blob.headers.get('content-type'), 'image/jpeg');
  assert.ok(blob.data.equals(bytes), 'the server returns the exact bytes taken on the tablet');
  await page.locator(`a[data-record="${id}"][data-state="synced"]`).waitFor();
  assert.equal(await page.locator(`a[data-record="${id}"][data-photos]`).count(), 0);
  assert.deepEqual(await idb(page, 'blobs'), [], 'the tablet freed the uploaded photo');
  assert.deepEqual(await idb(page, 'blob_data'), []);
  // Opening the record shows the photo from the server.
  await H.openRecord(page, id);
  await q(page, photo1).locator('img.thumb:visible').waitFor();
  await q(page, photo1).getByText('on the server').waitFor();
  await H.shot(page, '22-photo-synced-tablet');

  step(`photo uploaded after the cut: ${storedBytes} bytes sent for a ${size}-byte photo; the server returns it exactly`);

  // --- The second tablet syncs and opens the record: the photo is fetched from the server, kept in the
  // photo cache (its exact bytes), and still shown offline. ---
  await H.syncNow(B);
  await B.page.goto(H.base + '/app/#/');
  await H.openRecord(B.page, id);
  await q(B.page, photo1).locator('.photo[data-shown="1"] img.thumb:visible').waitFor();
  const cached = await B.page.evaluate(async (d) => {
    const r = await (await caches.open('akt-photos')).match('/v1/blobs/' + d);
    if (!r) return null;
    const u = new Uint8Array(await r.arrayBuffer());
    let bin = '';
    for (let i = 0; i < u.length; i += 8192) bin += String.fromCharCode(...u.subarray(i, i + 8192));
    return btoa(bin);
  }, digest);
  assert.ok(cached && Buffer.from(cached, 'base64').equals(bytes), 'the photo cache holds the exact bytes');
  const note = await B.page.evaluate(() => window.AktStore.meta('photo_cache'));
  assert.deepEqual(note.map((x) => [x.digest, x.size]), [[digest, size]], 'counted against the cache budget');
  await B.context.setOffline(true);
  await B.page.goto(H.base + '/app/#/');
  await H.openRecord(B.page, id);
  await q(B.page, photo1).locator('.photo[data-shown="1"] img.thumb:visible').waitFor();
  await H.shot(B.page, '23-photo-other-tablet-offline-phone');
  await B.context.setOffline(false);
  assert.deepEqual(B.errors, [], 'page errors (second tablet)');
  await B.context.close();
  step('the second tablet shows the photo from the server, keeps it in its photo cache, and shows it offline');

  // --- Backup: a second card with a photo saved offline; the tablet writes a Backup file and "breaks".
  // `aktsync import` pushes the edit and uploads the photo from the file: the server has its exact bytes. ---
  await A.context.setOffline(true);
  const id2 = await H.newRecord(page, 'so1_infra_monitoring', 'project_id');
  const visit2 = crypto.randomUUID();
  await page.evaluate(([rid, body]) => window.AktStore.tx(['drafts'], 'readonly', (s) => window.AktStore.get(s.drafts, rid))
    .then((d) => window.AktStore.putDraft({ ...d, body: { ...d.body, ...body } })), [id2, { ...infraBody(visit2), project_id: 'SO1-0043' }]);
  await page.reload();
  const photo3 = `visit[${visit2}].v_photo_1`;
  await q(page, photo3).locator('input[type=file]').setInputFiles({ name: 'IMG_0004.jpg', mimeType: 'image/jpeg', buffer: await picture(page, 800, 600, 3) });
  const ref2 = await H.until(() => H.storedDraft(page, id2).then((d) => d.body.visit[0].v_photo_1), 'the photo of the second card');
  const digest2 = /^sha256:([0-9a-f]{64})/.exec(ref2)[1];
  const bytes2 = await localBytes(page, digest2);
  await page.click('#save');
  await page.locator(`a[data-record="${id2}"][data-state="pending"][data-photos="waiting"]`).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#backup')]);
  const backupFile = path.join(H.tmp, 'backup-photo.json');
  await download.saveAs(backupFile);
  await page.locator('#flash').getByText('1 photo').waitFor();
  const backup = JSON.parse(fs.readFileSync(backupFile, 'utf8'));
  assert.deepEqual(backup.edits.map((e) => e.record), [id2]);
  assert.deepEqual(backup.photos.map((p) => [p.digest, p.type, p.size]), [[digest2, 'image/jpeg', bytes2.length]]);
  assert.ok(Buffer.from(backup.photos[0].data, 'base64').equals(bytes2), 'the backup holds the exact bytes');
  await A.context.close();
  const importOnce = async (name) => {
    const code = await call('POST', '/v1/admin/enrolments', admin, { username: 'enis', device_name: name });
    return execFileSync(H.cli, ['import', backupFile, '--server', `127.0.0.1:${H.port}`, '--code', code.data.code], { encoding: 'utf8' });
  };
  const out = await importOnce('tablet-enis (import)');
  assert.match(out, /imported 1 edit\(s\) .*: 1 applied/, out);
  assert.match(out, /photos: 1 uploaded, 0 already held/, out);
  const rec2 = await call('GET', '/v1/records/' + id2, admin);
  assert.equal(rec2.status, 200);
  assert.equal(rec2.data.pending_upload, undefined, 'the photo arrived with the import');
  assert.equal(rec2.data.live[0].body.visit[0].v_photo_1, ref2);
  const blob2 = await call('GET', '/v1/blobs/' + digest2, admin, undefined, { raw: true });
  assert.equal(blob2.status, 200);
  assert.ok(blob2.data.equals(bytes2), 'the admin reads the exact photo bytes taken on the broken tablet');
  const out2 = await importOnce('tablet-enis (import 2)');
  assert.equal(out2.split('\n')[0], out.split('\n')[0], 'the edit: the same batch replayed, the same answer');
  assert.match(out2, /photos: 0 uploaded, 1 already held/, out2);
  step(`backup with a photo imported by aktsync import: ${bytes2.length} photo bytes on the server`);

  assert.deepEqual(A.errors, [], 'page errors');
  step('all photo browser tests passed');
}

await H.run(main);
