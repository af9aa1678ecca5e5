// Unit test of the tablet app's record compression (clients/web/store.js lzPack/lzUnpack, local store
// version 6), in node without a browser: every input comes back byte for byte, against its dictionary or
// none: empty, one byte, shorter than a copy, long runs (copies that overlap what they make), non-ASCII
// text, random bytes, varied survey records against a record of the same form (which must shrink to at
// most a quarter), and records of another form against it; a cut or damaged input is refused, never read
// as another record.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { rng, surveyBody } from '../bench/web/records.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const context = { window: {}, TextEncoder, TextDecoder, IDBObjectStore: function IDBObjectStore() {} };
vm.createContext(context);
vm.runInContext(fs.readFileSync(path.join(root, 'clients/web/store.js'), 'utf8'), context);
const { lzPack, lzUnpack } = context.window.AktStore;
const utf8 = (s) => new TextEncoder().encode(s);
const same = (dict, src) => {
  const z = lzPack(dict, src);
  assert.ok(z.buffer.byteLength === z.length, 'a buffer of its own');
  assert.deepEqual(Buffer.from(lzUnpack(dict, z)), Buffer.from(src));
  return z;
};

const GRACANICE = { municipality: 'gracanice', community: 'serb', settlements: ['Laplje Selo', 'Livađe / Livadhe'] };
const record = (r, i) => ({ record: `0193${String(i).padStart(4, '0')}-aaaa-7bbb-8ccc-${String(i * 7919).padStart(12, '0')}`,
  form: 'so1_interethnic_survey', form_version: 1, scope: { municipality: 'gracanice', community: 'serb', component: 'SO1' },
  deleted: false, conflict: false, live: [{ dot: { actor: '5f0c2a9e-1111-4222-8333-444455556666', n: i + 1 }, body: surveyBody(r, i, GRACANICE) }] });

test('edge cases come back byte for byte', () => {
  const dict = utf8('{"a":1,"b":"xyz"}');
  for (const d of [new Uint8Array(0), dict]) {
    for (const s of ['', 'a', 'abc', 'abcd', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '{"a":1,"b":"xyz"}',
      'ëđčćšž «Gračanica / Graçanicë» ' + 'ë'.repeat(300), 'ab'.repeat(5000) + 'c']) same(d, utf8(s));
  }
});

test('random bytes come back byte for byte', () => {
  const r = rng(11);
  for (let k = 0; k < 200; k++) {
    const bytes = (n, alphabet) => Uint8Array.from({ length: n }, () => Math.floor(r() * alphabet));
    same(bytes(Math.floor(r() * 300), 4 + Math.floor(r() * 252)), bytes(Math.floor(r() * 3000), 2 + Math.floor(r() * 254)));
  }
});

test('varied records shrink against a record of their form', () => {
  const r = rng(5);
  const dict = utf8(JSON.stringify(record(r, 0)));
  let raw = 0, packed = 0;
  for (let i = 1; i <= 300; i++) {
    const src = utf8(JSON.stringify(record(r, i)));
    raw += src.length;
    packed += same(dict, src).length;
  }
  assert.ok(packed * 4 <= raw, `${packed} B of ${raw}`);
  // Another form's text against the survey's dictionary: still exact.
  const other = JSON.parse(fs.readFileSync(path.join(root, 'tests/schema/fixtures/so1_infra_monitoring.valid.json'), 'utf8'));
  same(dict, utf8(JSON.stringify(other)));
});

test('a cut or damaged input is refused', () => {
  const r = rng(9);
  const dict = utf8(JSON.stringify(record(r, 0)));
  const z = lzPack(dict, utf8(JSON.stringify(record(r, 1))));
  assert.throws(() => lzUnpack(dict, z.subarray(0, z.length - 1)));
  assert.throws(() => lzUnpack(dict, Uint8Array.from([...z, 0])));
  assert.throws(() => lzUnpack(dict, Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x7f])));
  assert.throws(() => lzUnpack(new Uint8Array(0), Uint8Array.from([8, 0, 0, 200, 1])), /bad copy/);
});
