// The form rules on the tablet: the server's own schema/forms code compiled to WebAssembly (forms.js +
// forms.wasm, built with emscripten; clients/web/wasm/forms_wasm.cpp). There is no second rule engine in
// JavaScript: when the build had no emscripten, the app still renders the forms from their definitions
// but checks nothing itself (it says so); the server validates every push and its per-field reasons show.
'use strict';
(function () {
  let call = null;
  const loaded = new Map();  // "form_id/version" -> description

  const ready = new Promise((resolve) => {
    const s = document.createElement('script');
    s.src = 'forms.js';
    s.onload = () => {
      if (typeof window.AktForms !== 'function') { resolve(false); return; }
      window.AktForms({ locateFile: (p) => p }).then((m) => {
        call = m.cwrap('akt_forms', 'string', ['string']);
        resolve(true);
      }, () => resolve(false));
    };
    s.onerror = () => resolve(false);
    document.head.appendChild(s);
  });

  const lang = (l) => ({ en: l && l.en || '', sq: l && l.sq || '', sr: l && l.sr || '', sr_latn: '' });

  // Without the engine: the definition read as data only (labels, types, lists), no rule evaluated.
  function describeRaw(def) {
    const field = (f) => ({
      key: f.key, type: f.type, label: lang(f.label), required: !!f.required, computed: !!(f.computed || f.calculate),
      calculated: !!f.calculate, choices: f.choices, item_id: f.item_id, max_items: f.max_items || 200,
      exclusive: f.exclusive || [], fields: (f.fields || []).map(field)
    });
    const lists = {};
    for (const [name, l] of Object.entries(def.choice_lists || {})) lists[name] = l.map((c) => ({ code: c.code, label: lang(c.label) }));
    return { form_id: def.form_id, version: def.version, title: lang(def.title), fields: (def.fields || []).map(field),
             choice_lists: lists, header_keys: [] };
  }

  // The parsed form (the server's reading of it, shared lists resolved, common header first).
  async function load(definitionText) {
    const ok = await ready;
    if (!ok) {
      const d = describeRaw(JSON.parse(definitionText));
      loaded.set(`${d.form_id}/${d.version}`, d);
      return d;
    }
    const r = JSON.parse(call(JSON.stringify({ op: 'load', definition: definitionText })));
    if (!r.ok) throw new Error('form definition refused: ' + JSON.stringify(r.errors).slice(0, 300));
    loaded.set(r.key, r.form);
    return r.form;
  }

  // The body as the server will check it (computed fields set, answers to questions that do not apply
  // removed), which fields are relevant, and the server's errors and warnings for it, their messages in
  // `lang` (en, sq, sr: the form's own constraint and check texts, the validator's catalogue).
  async function evaluate(key, body, today, lang) {
    const ok = await ready;
    if (!ok) return { available: false, body, states: null, errors: [], warnings: [] };
    const r = JSON.parse(call(JSON.stringify({ op: 'evaluate', key, body, today, lang: lang || 'en' })));
    if (!r.ok) throw new Error('rule engine: ' + JSON.stringify(r.errors));
    return { available: true, body: r.body, states: r.states, errors: r.errors, warnings: r.warnings };
  }

  window.AktEngine = { ready, load, evaluate };
})();
