// Browser test of the tablet app across a server restore (PROTOCOL §5.3, README "Operating aktsync"):
//   - a backup of the server is taken; the tablet then saves two records, syncs (the server acknowledges
//     them) and the feed covers them: they leave the outbox for the tablet's `kept` store;
//   - the server is stopped and restored from the backup (a new epoch; the two records are not in it) and
//     started again on the same port (the same origin, so the same IndexedDB);
//   - the tablet's next sync sees the new epoch, queues the kept edits again and pushes them: the server has
//     both records back, with their answers, and nothing is left unsent;
//   - kept edits leave the tablet 90 days after the first sync that saw them kept, not before.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

const DAY = 86400000;

async function newSurvey(page, settlement, hh) {
  const id = await H.newSurvey(page);
  await H.fillSurveyNonInterview(page, settlement, hh);
  await page.click('#save');
  await page.locator(`a[data-record="${id}"][data-state="pending"]`).waitFor();
  return id;
}

// What the tablet holds: unsent edits (not acknowledged) and kept ones, with their records.
const holdings = (page) => page.evaluate(() => window.AktStore.tx(['edits', 'kept'], 'readonly', async (s) => ({
  unsent: (await window.AktStore.all(s.edits)).filter((e) => !e.acked_epoch).map((e) => e.record),
  kept: (await window.AktStore.all(s.kept)).map((e) => ({ record: e.record, since: e.kept_since })),
})));

async function login() {
  const r = await call('POST', '/v1/login', null, { username: 'root', password: H.PASSWORD });
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return r.data.token;
}

async function main() {
  step('starting aktsyncd ' + H.binary);
  let admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [{ municipality: 'gracanice', community: 'serb', component: 'SO1' }]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-restore', TABLET);
  await enrol(T, T.code);

  const archive = path.join(H.tmp, 'before.tar.gz');
  execFileSync(H.binary, ['backup', '--data-dir', H.dataDir, '--to', archive], { stdio: 'pipe' });
  step('server backed up (the tablet enrolled, no records yet)');

  const r1 = await newSurvey(T.page, 'Laplje Selo', 21);
  const r2 = await newSurvey(T.page, 'Livađe', 22);
  await syncNow(T);
  for (const id of [r1, r2]) await T.page.locator(`a[data-record="${id}"][data-state="synced"]`).waitFor();
  const epochBefore = (await call('GET', '/healthz')).data.epoch;
  let held = await holdings(T.page);
  assert.deepEqual(held.unsent, []);
  assert.deepEqual(held.kept.map((k) => k.record).sort(), [r1, r2].sort(), 'covered edits are kept, not dropped');
  assert.ok(held.kept.every((k) => k.since > 0), 'the sync that kept them started their retention');
  step('two records acknowledged and covered by the feed: kept on the tablet');

  await H.stopServer();
  execFileSync(H.binary, ['restore', '--data-dir', H.dataDir, '--from', archive], { stdio: 'pipe' });
  await H.startServer({ again: true });
  admin = await login();
  assert.notEqual((await call('GET', '/healthz')).data.epoch, epochBefore, 'a restore starts a new epoch');
  for (const id of [r1, r2]) assert.equal((await call('GET', '/v1/records/' + id, admin)).status, 404, 'not in the backup');
  step('server restored from the backup taken before the records');

  await syncNow(T);
  const b1 = (await call('GET', '/v1/records/' + r1, admin)).data;
  const b2 = (await call('GET', '/v1/records/' + r2, admin)).data;
  assert.equal(b1.live[0].body.settlement_name, 'Laplje Selo');
  assert.equal(b1.live[0].body.hh_number, 21);
  assert.equal(b2.live[0].body.settlement_name, 'Livađe');
  for (const id of [r1, r2]) await T.page.locator(`a[data-record="${id}"][data-state="synced"]`).waitFor();
  held = await holdings(T.page);
  assert.deepEqual(held.unsent, [], 'nothing left unsent');
  assert.equal(held.kept.length, 2, 'acknowledged again under the new epoch, and kept again');
  assert.deepEqual(T.errors, []);
  step('after the restore the tablet sent its kept edits again: both records are back');

  // Retention: 89 days after they were kept they stay; after 90 days they go.
  const since = Math.max(...held.kept.map((k) => k.since));
  assert.equal(await T.page.evaluate((t) => window.AktStore.pruneKept(t), since + 89 * DAY), 0);
  assert.equal((await holdings(T.page)).kept.length, 2);
  assert.equal(await T.page.evaluate((t) => window.AktStore.pruneKept(t), since + 91 * DAY), 2);
  assert.equal((await holdings(T.page)).kept.length, 0);
  step('kept edits leave after 90 days');
}

await H.run(main);
