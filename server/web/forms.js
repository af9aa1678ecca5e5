// aktsync web console, the forms pages: every version with its status; a definition uploaded as a draft
// (pasted or read from a file, sent byte for byte) with the server's errors listed by their JSON path;
// one version previewed (questions with their labels in each language, required and relevance shown)
// with what changed against the published version (questions added, removed and changed, choices
// changed), and published from there. app.js calls window.AKT_FORMS_PAGES with its helpers at start.
'use strict';
window.AKT_FORMS_PAGES = function (ui) {
  const { h, t, api, select, fmtTime, pickLang, problemText, formDef } = ui;
  const LANGS = ['en', 'sq', 'sr'];
  let draftText = '';  // the upload box keeps its text across renders (fix an error, upload again)

  // A version's own path in the console.
  const formHash = (id, version) => '#/form/' + encodeURIComponent(id) + '/' + version;
  const badge = (status) => h('span', { class: 'badge' + (status === 'published' ? ' ok' : status === 'draft' ? ' warn' : ''),
    text: t('form_' + status) });

  async function transition(f, publish, msg) {
    if (!publish && !window.confirm(t('retire_confirm', { form: f.form_id, version: f.version }))) return;
    const res = await api('POST', '/v1/admin/forms/' + encodeURIComponent(f.form_id) + '/' + f.version + '/' + (publish ? 'publish' : 'retire'), {});
    if (!res.ok) { msg.replaceChildren(h('p', { class: 'error', 'data-testid': 'error', text: problemText(res) })); return; }
    ui.setFlash('success', t(publish ? 'published_ok' : 'retired_ok', { form: f.form_id, version: f.version }));
    ui.render();
  }
  function transitionButton(f, msg) {
    if (f.status !== 'draft' && f.status !== 'published') return null;
    const publish = f.status === 'draft';
    const b = h('button', { type: 'button', class: publish ? null : 'secondary', 'data-testid': (publish ? 'publish-' : 'retire-') + f.form_id + '-' + f.version,
      text: publish ? t('publish') : t('retire') });
    b.addEventListener('click', async () => { b.disabled = true; await transition(f, publish, msg); b.disabled = false; });
    return b;
  }

  // ---- The list and the upload box ---------------------------------------------------------------
  async function renderForms() {
    const r = await api('GET', '/v1/admin/forms');
    if (!r.ok) return h('p', { class: 'error', text: problemText(r) });
    // Titles in the chosen language, from each version's definition (the list holds the English one).
    const defs = await Promise.all(r.data.forms.map((f) => formDef(f.form_id, f.version)));
    const msg = h('div', { 'data-testid': 'forms-status' });
    const rows = r.data.forms.map((f, i) => h('tr', { 'data-testid': 'form-row' },
      h('td', {}, h('a', { href: formHash(f.form_id, f.version), 'data-testid': 'view-' + f.form_id + '-' + f.version,
        text: pickLang(defs[i] ? defs[i].title : f.title, f.form_id) })),
      h('td', {}, h('code', { text: f.form_id })), h('td', { class: 'num', text: f.version }), h('td', {}, badge(f.status)),
      h('td', { text: fmtTime(f.created_at) + ' · ' + f.created_by }), h('td', { text: f.published_at ? fmtTime(f.published_at) : '—' }),
      h('td', {}, h('div', { class: 'actions tight' }, transitionButton(f, msg)))));
    return [h('h1', { text: t('nav_forms') }), h('p', { class: 'muted', text: t('forms_note') }), msg,
      h('div', { class: 'scroll' }, h('table', { 'data-testid': 'forms-table' }, h('thead', {}, h('tr', {}, ...['title', 'form', 'version', 'status', 'created', 'published', '']
        .map((k) => h('th', { text: k ? t('col_' + k) : '' })))), h('tbody', {}, rows))),
      uploadBox()];
  }

  function uploadBox() {
    const text = h('textarea', { rows: 14, spellcheck: 'false', class: 'value', 'data-testid': 'form-definition',
      'aria-label': t('form_definition') });
    text.value = draftText;
    text.addEventListener('input', () => { draftText = text.value; });
    const file = h('input', { type: 'file', accept: '.json,application/json', 'data-testid': 'form-file' });
    file.addEventListener('change', async () => {
      if (!file.files.length) return;
      text.value = draftText = await file.files[0].text();
    });
    const out = h('div', { 'data-testid': 'upload-result' });
    const send = h('button', { type: 'button', 'data-testid': 'upload-draft', text: t('upload_draft') });
    send.addEventListener('click', async () => {
      out.replaceChildren();
      if (!text.value.trim()) { out.append(h('p', { class: 'warning', text: t('definition_empty') })); return; }
      send.disabled = true;
      // Sent as written: the server's reader reports problems by their path in this very text.
      const res = await api('POST', '/v1/admin/forms', text.value);
      send.disabled = false;
      if (res.ok) {
        const f = res.data.form;
        draftText = '';
        ui.setFlash('success', t('draft_uploaded', { form: f.form_id, version: f.version }));
        location.hash = formHash(f.form_id, f.version);
        return;
      }
      const errors = (res.data && res.data.errors) || [];
      out.append(h('p', { class: 'error', 'data-testid': 'error', text: errors.length ? t('definition_errors', { n: errors.length }) : problemText(res) }));
      if (errors.length) {
        out.append(h('div', { class: 'scroll' }, h('table', { 'data-testid': 'form-errors' },
          h('thead', {}, h('tr', {}, h('th', { text: t('col_path') }), h('th', { text: t('col_problem') }))),
          h('tbody', {}, errors.map((e) => h('tr', { 'data-testid': 'form-error', 'data-path': e.path },
            h('td', {}, h('code', { text: e.path || '$' })), h('td', { text: e.message + ' (' + e.code + ')' })))))));
      }
    });
    return h('section', { class: 'card', 'data-testid': 'upload-box' }, h('h2', { text: t('upload_title') }),
      h('p', { class: 'muted', text: t('upload_note') }), h('label', { class: 'inline' }, t('form_file') + ' ', file), text,
      h('div', { class: 'actions' }, send), out);
  }

  // ---- One version: preview, diff, publish -------------------------------------------------------
  // Every question of a definition, groups and repeats flattened, in form order: key -> {field, depth}.
  function questions(def) {
    const out = new Map();
    const walk = (fields, depth) => {
      for (const f of fields || []) {
        if (!f || typeof f !== 'object' || typeof f.key !== 'string') continue;
        out.set(f.key, { field: f, depth });
        walk(f.fields, depth + 1);
      }
    };
    walk(def && def.fields, 0);
    return out;
  }
  // JSON with sorted keys, so that two definitions written in another key order compare equal.
  const canon = (v) => (Array.isArray(v) ? '[' + v.map(canon).join(',') + ']'
    : v && typeof v === 'object' ? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canon(v[k])).join(',') + '}'
      : JSON.stringify(v));
  const choicesOf = (def, f) => (typeof f.choices === 'string' ? ((def.choice_lists || {})[f.choices] || null) : (Array.isArray(f.choices) ? f.choices : null));
  const codeOf = (c) => String(c.code !== undefined ? c.code : c.value);

  // What changed from `old` to `cur`: questions added, removed, changed (with the properties that
  // differ), and per question whose choices differ, the codes added, removed and relabelled.
  function diff(old, cur) {
    const a = questions(old), b = questions(cur);
    const added = [...b.keys()].filter((k) => !a.has(k));
    const removed = [...a.keys()].filter((k) => !b.has(k));
    const changed = [];
    for (const [k, { field }] of b) {
      if (!a.has(k)) continue;
      const before = a.get(k).field;
      const props = [...new Set([...Object.keys(before), ...Object.keys(field)])]
        .filter((p) => p !== 'fields' && p !== 'choices' && canon(before[p]) !== canon(field[p])).sort();
      const ca = choicesOf(old, before) || [], cb = choicesOf(cur, field) || [];
      const ma = new Map(ca.map((c) => [codeOf(c), c])), mb = new Map(cb.map((c) => [codeOf(c), c]));
      const choices = {
        added: [...mb.keys()].filter((c) => !ma.has(c)),
        removed: [...ma.keys()].filter((c) => !mb.has(c)),
        relabelled: [...mb.keys()].filter((c) => ma.has(c) && canon(ma.get(c).label) !== canon(mb.get(c).label)),
      };
      const listRenamed = typeof before.choices === 'string' && typeof field.choices === 'string' && before.choices !== field.choices &&
        !ca.length && !cb.length;
      if (listRenamed) props.push('choices');
      const choicesChanged = choices.added.length + choices.removed.length + choices.relabelled.length > 0;
      if (props.length || choicesChanged) changed.push({ key: k, props, choices: choicesChanged ? choices : null });
    }
    return { added, removed, changed };
  }

  const labelIn = (label, lang) => (label && typeof label === 'object' ? label[lang] || '' : lang === 'en' ? String(label || '') : '');
  function labelCells(label) {
    return LANGS.map((lang) => h('td', { lang, text: labelIn(label, lang) || '—' }));
  }
  function ruleText(f) {
    const parts = [];
    if (f.required === true) parts.push(t('rule_required'));
    else if (typeof f.required === 'string') parts.push(t('rule_required_if', { expr: f.required }));
    if (f.relevant) parts.push(t('rule_relevant', { expr: f.relevant }));
    if (f.constraint) parts.push(t('rule_constraint', { expr: f.constraint }));
    if (f.calculate) parts.push(t('rule_calculate', { expr: f.calculate }));
    return parts;
  }
  function previewTable(def) {
    const rows = [];
    for (const [key, { field: f, depth }] of questions(def)) {
      const list = choicesOf(def, f);
      const choices = list ? h('ul', { class: 'plain' }, list.slice(0, 40).map((c) => h('li', { text: LANGS.map((l) => labelIn(c.label, l)).filter(Boolean).join(' / ') || codeOf(c) })),
        list.length > 40 ? h('li', { class: 'muted', text: t('n_more', { n: list.length - 40 }) }) : null)
        : typeof f.choices === 'string' ? h('span', { class: 'muted', text: t('shared_list', { name: f.choices.replace(/^L:/, '') }) }) : '';
      rows.push(h('tr', { 'data-testid': 'preview-row', 'data-key': key },
        h('td', {}, h('code', { text: '\u00a0'.repeat(depth * 2) + key })), ...labelCells(f.label),
        h('td', { text: t('type_' + f.type) !== 'type_' + f.type ? t('type_' + f.type) : String(f.type) }),
        h('td', {}, h('ul', { class: 'plain' }, ruleText(f).map((s) => h('li', { text: s })))), h('td', {}, choices)));
    }
    return h('div', { class: 'scroll' }, h('table', { 'data-testid': 'form-preview' },
      h('thead', {}, h('tr', {}, ...[t('col_key'), 'English', 'Shqip', 'Српски', t('col_type'), t('col_rules'), t('col_choices')].map((c) => h('th', { text: c })))),
      h('tbody', {}, rows)));
  }
  function diffView(d, old, cur, against) {
    const qa = questions(old), qb = questions(cur);
    const name = (q, k) => pickLang(q.get(k).field.label, k) + ' (' + k + ')';
    const items = [];
    for (const k of d.added) items.push(h('li', { 'data-testid': 'diff-added', 'data-key': k }, h('span', { class: 'badge ok', text: t('diff_added') }), ' ', name(qb, k)));
    for (const k of d.removed) items.push(h('li', { 'data-testid': 'diff-removed', 'data-key': k }, h('span', { class: 'badge bad', text: t('diff_removed') }), ' ', name(qa, k)));
    for (const c of d.changed) {
      const what = c.props.map((p) => t('prop_' + p) !== 'prop_' + p ? t('prop_' + p) : p);
      if (c.choices) {
        const ch = c.choices;
        const parts = [];
        if (ch.added.length) parts.push(t('choices_added', { list: ch.added.join(', ') }));
        if (ch.removed.length) parts.push(t('choices_removed', { list: ch.removed.join(', ') }));
        if (ch.relabelled.length) parts.push(t('choices_relabelled', { list: ch.relabelled.join(', ') }));
        what.push(parts.join('; '));
      }
      items.push(h('li', { 'data-testid': 'diff-changed', 'data-key': c.key }, h('span', { class: 'badge warn', text: t('diff_changed') }), ' ',
        name(qb, c.key) + ': ' + what.join(' · ')));
    }
    return h('section', { class: 'card', 'data-testid': 'form-diff' }, h('h2', { text: t('diff_title', { version: against.version }) }),
      items.length ? h('ul', { class: 'plain' }, items) : h('p', { class: 'muted', 'data-testid': 'diff-none', text: t('diff_none') }));
  }

  async function renderForm(parts) {
    const id = decodeURIComponent(parts[1] || '');
    const version = Number(parts[2]);
    const list = await api('GET', '/v1/admin/forms');
    if (!list.ok) return h('p', { class: 'error', text: problemText(list) });
    const f = list.data.forms.find((x) => x.form_id === id && x.version === version);
    if (!f) return [h('p', {}, h('a', { href: '#/forms', text: '← ' + t('back_to_forms') })), h('p', { class: 'error', text: t('form_missing') })];
    // The version to compare with: the newest published one other than this (else the newest older one).
    const others = list.data.forms.filter((x) => x.form_id === id && x.version !== version).sort((x, y) => y.version - x.version);
    const against = others.find((x) => x.status === 'published') || others.find((x) => x.version < version) || null;
    const [cur, old] = await Promise.all([api('GET', '/v1/forms/' + encodeURIComponent(id) + '/' + version),
      against ? api('GET', '/v1/forms/' + encodeURIComponent(id) + '/' + against.version) : null]);
    if (!cur.ok) return h('p', { class: 'error', text: problemText(cur) });
    const def = cur.data;
    const msg = h('div', { 'data-testid': 'form-status' });
    const out = [h('p', {}, h('a', { href: '#/forms', text: '← ' + t('back_to_forms') })),
      h('h1', { 'data-testid': 'form-title', text: pickLang(def.title, id) + ' · ' + t('version_n', { n: version }) }),
      h('p', {}, badge(f.status), ' ', h('code', { text: id }), ' · ' + t('languages_are', { list: (def.languages || ['en']).join(', ') }),
        ' · ' + t('n_questions', { n: questions(def).size })), msg];
    const button = transitionButton(f, msg);
    if (button) out.push(h('div', { class: 'actions' }, button));
    if (against && old && old.ok) out.push(diffView(diff(old.data, def), old.data, def, against));
    else out.push(h('p', { class: 'muted', 'data-testid': 'diff-first', text: t('diff_first') }));
    out.push(h('h2', { text: t('preview') }), previewTable(def));
    return out;
  }

  return {
    forms: { roles: ['admin'], nav: 'nav_forms', render: renderForms },
    form: { roles: ['admin'], render: renderForm },
  };
};
