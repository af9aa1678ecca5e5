// Browser test of the tablet app when the server dies during a sync (DESIGN §7.6, issue "Tests": "the server
// killed during a sync → retried, nothing duplicated or lost"). The tablet holds 451 unsent records (three
// push batches of at most 200); aktsyncd is killed with SIGKILL and started again on the same data folder and
// port three times during one sync round:
//   1. when the first push request arrives, before the server sees it (the batch never reached it);
//   2. when the second push has been committed and answered, before the answer reaches the tablet (the
//      batch is stored; the tablet's retry, byte-identical, must be answered from the stored answer);
//   3. when the first pull request arrives (the tablet retries while the server is still down).
// Afterwards, through the API: exactly the tablet's records, each with its own body, each with one version
// (no duplicate applied twice); on the tablet: nothing left in the outbox, every record Synced.
import assert from 'node:assert/strict';
import * as H from './harness.mjs';
import { TABLET, step, call, tablet, enrol, syncNow } from './harness.mjs';

const EXTRA = 450;

async function main() {
  step('starting aktsyncd ' + H.binary);
  const admin = await H.startWithForms(['so1_interethnic_survey']);
  await H.addEnumerator(admin, 'enis', [{ municipality: 'gracanice', community: 'serb', component: 'SO1' }]);
  await H.launchBrowser();
  const T = await tablet(admin, 'enis', 'tablet-kill', TABLET);
  await enrol(T, T.code);

  // One record typed in, then 450 more saved the same way with their own household numbers.
  const first = await H.newSurvey(T.page);
  await H.fillSurveyNonInterview(T.page, 'Laplje Selo', 1);
  await T.page.click('#save');
  await T.page.locator(`a[data-record="${first}"][data-state="pending"]`).waitFor();
  const firstN = await T.page.evaluate(async () => (await window.AktStore.tx(['edits'], 'readonly', (s) => window.AktStore.all(s.edits)))[0].n);
  const ids = [first, ...await H.cloneEdits(T.page, firstN, EXTRA, (i) => ({ hh_number: i + 2, settlement_name: `Selo ${i + 2}` }))];
  const expected = new Map(ids.map((id, i) => [id, { hh: i + 1, settlement: i ? `Selo ${i + 1}` : 'Laplje Selo' }]));
  step(`${ids.length} records pending on the tablet`);

  let pushes = 0, pulls = 0;
  const kills = [];
  await T.context.route(/\/v1\/(push|changes)/, async (route) => {
    const isPush = route.request().method() === 'POST' && /\/v1\/push$/.test(new URL(route.request().url()).pathname);
    const isPull = /\/v1\/changes/.test(route.request().url());
    if (isPush) pushes++;
    if (isPull) pulls++;
    if (isPush && pushes === 1) {
      await H.killServer();
      kills.push('push 1 before the server saw it');
      await H.startServer({ again: true });
      await route.abort('connectionreset');
      return;
    }
    if (isPush && pushes === 3) {
      const answer = await route.fetch();
      assert.equal(answer.status(), 200, 'the second batch was committed before the kill');
      await H.killServer();
      kills.push('push 2 after the commit, before the answer arrived');
      await H.startServer({ again: true });
      await route.abort('connectionreset');
      return;
    }
    if (isPull && pulls === 1) {
      await H.killServer();
      kills.push('the first pull');
      await route.abort('connectionreset');
      await new Promise((r) => setTimeout(r, 300));  // the tablet meets the dead server at least once
      await H.startServer({ again: true });
      return;
    }
    await route.continue();
  });

  await syncNow(T);
  assert.deepEqual(kills, ['push 1 before the server saw it', 'push 2 after the commit, before the answer arrived', 'the first pull']);
  step('one sync round survived three kills: ' + kills.join('; '));
  await T.context.unroute(/\/v1\/(push|changes)/);

  // The server: exactly the tablet's records, each once, with its own answers and a single version.
  const seen = await H.serverRecords(admin, 'so1_interethnic_survey');
  assert.deepEqual([...seen.keys()].sort(), [...expected.keys()].sort(), 'every record once, none lost, none extra');
  for (const [id, want] of expected) {
    let h;
    for (;;) {  // the admin API's rate limit: wait as told
      h = await call('GET', `/v1/records/${id}/history`, admin);
      if (h.status !== 429) break;
      await new Promise((r) => setTimeout(r, 1000 * (Number(h.headers.get('retry-after')) || 1)));
    }
    assert.equal(h.status, 200);
    assert.equal(h.data.versions.length, 1, `one version of ${id}, not a duplicate`);
    const v = h.data.versions[0];
    assert.equal(v.live, true);
    assert.equal(v.body.hh_number, want.hh, id);
    assert.equal(v.body.settlement_name, want.settlement, id);
  }
  step(`the server holds the ${expected.size} records once each, with their own answers`);

  // The tablet: nothing unsent, no refusals, no batch left, every record Synced.
  const left = await T.page.evaluate(() => window.AktStore.tx(['edits', 'batches', 'rejected', 'records'], 'readonly', async (s) => ({
    unsent: (await window.AktStore.all(s.edits)).filter((e) => !e.acked_epoch).length,
    batches: (await window.AktStore.all(s.batches)).length,
    rejected: (await window.AktStore.all(s.rejected)).length,
    records: (await window.AktStore.all(s.records)).length,
  })));
  assert.deepEqual(left, { unsent: 0, batches: 0, rejected: 0, records: expected.size });
  await T.page.goto(H.base + '/app/#/');
  await T.page.locator(`a[data-record="${ids[ids.length - 1]}"][data-state="synced"]`).waitFor();  // the newest: the list's top
  const states = await T.page.evaluate(() => [...new Set([...document.querySelectorAll('a.record')].map((a) => a.dataset.state))]);
  assert.deepEqual(states, ['synced']);
  assert.deepEqual(T.errors, []);
  await H.shot(T.page, 'kill-synced');
  step('the tablet shows every record Synced; nothing left to send');
}

await H.run(main);
