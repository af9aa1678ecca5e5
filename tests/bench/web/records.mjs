// Varied survey records for the tablet app's benchmark (after clients/record_gen.cpp): bodies of the SO1
// inter-ethnic survey built from its valid fixture (tests/schema/fixtures/so1_interethnic_survey.valid.json),
// each household with its own answers, so that their gzip bytes are those of real interviews, not of
// near-copies. Deterministic from `seed`. Varied: every select-one answer no rule of the form reads (any
// code but "other"), the select-multiple answers no rule reads (a non-empty subset), the household and
// cluster numbers, household size, GPS position and accuracy, interview times, enumerator, device and team,
// the visit attempt, the back-check phone number and the comment (a sentence from a set in Albanian and
// Serbian, with a number). The photo answer is left out (the server would list it as waiting for its file).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const form = JSON.parse(fs.readFileSync(path.join(root, 'schema/forms/programme/so1_interethnic_survey.json'), 'utf8'));
const fixture = JSON.parse(fs.readFileSync(path.join(root, 'tests/schema/fixtures/so1_interethnic_survey.valid.json'), 'utf8'));
const template = fixture.body || fixture;

// The library lists ("L:name", schema/forms/choice_list.cpp): their codes read from that source.
const library = new Map();
for (const m of fs.readFileSync(path.join(root, 'schema/forms/choice_list.cpp'), 'utf8').matchAll(/make_list\("(L:\w+)",\s*\{([^}]*)\}\)/g)) {
  library.set(m[1], [...m[2].matchAll(/"(\w+)=/g)].map((x) => x[1]));
}
// The codes of a field's choices (a list of the form's, or of the library), "other" left out.
const codes = (f) => {
  const list = Array.isArray(f.choices) ? f.choices.map((c) => c.code)
    : library.get(f.choices) || (form.choice_lists[f.choices] || []).map((c) => c.code);
  return list.filter((c) => c !== 'other');
};
// Fields no expression of the form reads (no `${key}` anywhere in the form) and without rules of their own,
// answered in the fixture: safe to vary alone.
const expressions = JSON.stringify(form.fields);
const free = (f) => !f.constraint && !f.checks && !f.computed && !f.exclusive && !expressions.includes('${' + f.key + '}') && template[f.key] !== undefined;
const ONE = form.fields.filter((f) => f.type === 'select_one' && free(f) && f.key !== 'municipality' && f.key !== 'resp_community'
  && f.key !== 'interview_language' && codes(f).length > 1).map((f) => [f.key, codes(f)]);
const MANY = form.fields.filter((f) => f.type === 'select_multiple' && free(f) && codes(f).length > 1).map((f) => [f.key, codes(f)]);

const NOTES = [
  'Intervista u zhvillua në oborr; të anketuarit iu shpjegua qëllimi i anketës.',
  'Razgovor je vođen na srpskom; ispitanik je želeo da naglasi problem sa vodovodom u naselju.',
  'Banorët përmendën rrugën e re të ndërtuar me grantin e komunitetit; çdo javë takohen në treg.',
  'Ispitanica kaže da se odnosi popravljaju; zajednički sastanci u opštini su česti i korisni.',
  'I anketuari kërkoi që pyetjet për policinë të përsëriten; përgjigjet u dhanë pa ngurrim.',
  'Domaćinstvo je nedavno renovirano uz pomoć opštine; deca idu u mešovitu školu.',
];

// A small seeded generator (mulberry32).
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The body of household `i` (0, 1, ...) in `municipality` (a community of the scope as `community`), settlements from
// `settlements`.
export function surveyBody(r, i, { municipality, community, settlements }) {
  const int = (n) => Math.floor(r() * n);
  const pick = (a) => a[int(a.length)];
  const b = { ...template };
  delete b.photo_context;
  for (const [k, list] of ONE) b[k] = pick(list);
  for (const [k, list] of MANY) {
    const some = list.filter(() => r() < 0.4);
    b[k] = some.length ? some : [pick(list)];
  }
  b.municipality = municipality;
  b.resp_community = community;
  // Household i: cluster and number unique for i below 99,900 (the form's unique key, within its range).
  b.cluster_id = `${municipality}-${String(i % 100).padStart(2, '0')}`;
  b.hh_number = (Math.floor(i / 100) % 999) + 1;
  b.settlement_name = pick(settlements);
  b.hh_size = 1 + int(9);
  b.gps = { acc: Math.round((3 + r() * 20) * 10) / 10, lat: Math.round((42.55 + r() * 0.1) * 1e4) / 1e4, lon: Math.round((21.1 + r() * 0.1) * 1e4) / 1e4 };
  const day = 1 + int(28), h = 8 + int(9), m = int(45);
  const two = (n) => String(n).padStart(2, '0');
  b.started_at = `2026-10-${two(day)}T${two(h)}:${two(m)}:00+02:00`;
  b.ended_at = `2026-10-${two(day)}T${two(h)}:${two(m + 5 + int(9))}:00+02:00`;
  b.enumerator_id = `enum_${two(1 + int(40))}`;
  b.device_id = `tab-${String(int(10000)).padStart(4, '0')}`;
  b.team_id = pick(['team_east', 'team_west', 'team_north', 'team_south']);
  b.visit_attempt = 1 + int(3);
  if (b.backcheck_phone !== undefined) b.backcheck_phone = `+3834${String(int(1e7)).padStart(7, '0')}`;
  b.comments = `${pick(NOTES)} (${1 + int(200)})`;
  return b;
}

export const varied = { ONE: ONE.map(([k]) => k), MANY: MANY.map(([k]) => k) };
