// app.js — the fedge admin panel: a small single-page app on the REST API.
// Every value from the server is put into the page with textContent (never
// as HTML), so names and comments with markup in them stay inert.
'use strict';

const state = { csrf: null, name: null, page: null, timer: null, charts: [] };

// ---------------------------------------------------------------- helpers
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}
const $ = (sel) => document.querySelector(sel);

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || ('HTTP ' + status));
    this.status = status; this.field = body && body.field; this.body = body;
  }
}

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = state.csrf || '';
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch('/api' + path, opts);
  let data = null;
  if (r.status !== 204) { try { data = await r.json(); } catch (e) { data = null; } }
  if (r.status === 401 && path !== '/login') { showLogin(); throw new ApiError(401, data); }
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

function toast(msg) {
  const t = $('#toast');
  t.textContent = msg; t.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove('show'), 2500);
}

// An FQDN as the store accepts it: >= 2 labels, letters/digits/hyphens.
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
function fqdnError(v, required) {
  v = v.trim();
  if (!v) return required ? 'Required.' : '';
  if (v.endsWith('.')) v = v.slice(0, -1);
  if (v.length > 253) return 'At most 253 characters.';
  const labels = v.split('.');
  if (labels.length < 2) return 'Expected a domain name such as contoso.com (at least two labels).';
  for (const l of labels) {
    if (!l) return 'A label is empty (two dots in a row?).';
    if (!LABEL.test(l)) return 'Label "' + l + '": letters, digits and "-" only, not starting or ending with "-".';
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return 'An IP address is not a domain name.';
  return '';
}
const userError = (v) => {
  v = v.trim();
  if (!v) return 'Required.';
  const at = v.lastIndexOf('@');
  if (at < 1) return 'Expected user@domain.';
  return fqdnError(v.slice(at + 1), true);
};
const nameError = (v) => (/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(v.trim()) ? '' : 'Letters, digits, ".", "_" or "-", starting with a letter or digit (at most 64).');

// ---------------------------------------------------------------- dialogs
// field spec: {name, label, type: text|check|select|radio|textarea, value,
// options, hint, validate(v) -> message, readonly, showIf(values)}
function openDialog(title, fields, okText, onSubmit) {
  const dlg = $('#dialog'), body = $('#dialog-body'), err = $('#dialog-error');
  $('#dialog-title').textContent = title;
  $('#dialog-ok').textContent = okText;
  $('#dialog-ok').className = (okText === 'Delete' || okText.startsWith('Turn ')) ? 'primary danger-bg' : 'primary';
  body.replaceChildren(); err.textContent = '';
  const inputs = {};
  const rows = {};
  for (const f of fields) {
    const id = 'f-' + f.name;
    const errId = id + '-err';
    let input, row;
    if (f.type === 'check') {
      input = el('input', { type: 'checkbox', id, name: f.name });
      input.checked = !!f.value;
      row = el('div', {}, el('label', { class: 'check', for: id }, input, f.label));
    } else if (f.type === 'select' || f.type === 'radio') {
      input = el('select', { id, name: f.name, 'aria-describedby': errId });
      for (const [v, t] of f.options) input.append(el('option', { value: v, text: t }));
      if (f.value) input.value = f.value;
      row = el('div', {}, el('label', { for: id, text: f.label }), input);
    } else if (f.type === 'info') {
      row = el('p', { class: 'hint', text: f.label });
    } else {
      input = el('input', { id, name: f.name, type: 'text', autocomplete: 'off', spellcheck: 'false',
        'aria-describedby': f.hint ? errId + ' ' + id + '-hint' : errId });
      input.value = f.value || '';
      if (f.readonly) input.readOnly = true;
      row = el('div', {}, el('label', { for: id, text: f.label }), input);
      if (f.hint) row.append(el('p', { class: 'hint', id: id + '-hint', text: f.hint }));
    }
    if (input) {
      row.append(el('p', { class: 'field-error', id: errId, 'aria-live': 'polite' }));
      inputs[f.name] = input;
      if (f.validate && !f.readonly) {
        input.addEventListener('input', () => setFieldError(f.name, f.validate(input.value)));
      }
      if (f.note && !f.readonly) {
        const note = el('p', { class: 'hint', id: id + '-note', 'aria-live': 'polite' });
        row.append(note);
        input.addEventListener('input', () => { note.textContent = f.note(input.value); });
      }
    }
    rows[f.name] = row;
    body.append(row);
  }
  const values = () => {
    const v = {};
    for (const f of fields) {
      const i = inputs[f.name];
      if (!i) continue;
      v[f.name] = f.type === 'check' ? i.checked : i.value.trim();
    }
    return v;
  };
  const refresh = () => {
    for (const f of fields) if (f.showIf) rows[f.name].hidden = !f.showIf(values());
  };
  for (const i of Object.values(inputs)) i.addEventListener('change', refresh);
  refresh();

  const form = $('#dialog-form');
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    let bad = false;
    for (const f of fields) {
      if (!f.validate || f.readonly || rows[f.name].hidden) continue;
      const m = f.validate(inputs[f.name].value);
      setFieldError(f.name, m);
      if (m && !bad) { inputs[f.name].focus(); bad = true; }
    }
    if (bad) return;
    $('#dialog-ok').disabled = true;
    try {
      await onSubmit(values());
      dlg.close();
    } catch (e) {
      if (e.status === 401) { dlg.close(); return; }
      if (e.field && inputs[e.field] && !rows[e.field].hidden) {
        setFieldError(e.field, e.message);
        inputs[e.field].focus();
      } else {
        err.textContent = e.message;
      }
    } finally {
      $('#dialog-ok').disabled = false;
    }
  };
  $('#dialog-cancel').onclick = () => dlg.close();
  dlg.showModal();
  const first = fields.find((f) => inputs[f.name] && !f.readonly);
  if (first) inputs[first.name].focus();
}

function setFieldError(name, msg) {
  const input = document.getElementById('f-' + name);
  const e = document.getElementById('f-' + name + '-err');
  if (!input || !e) return;
  e.textContent = msg || '';
  if (msg) input.setAttribute('aria-invalid', 'true'); else input.removeAttribute('aria-invalid');
}

function confirmDelete(what, action) {
  openDialog('Delete ' + what + '?', [{ name: 'x', type: 'info', label: 'This takes effect on the running edge at once.' }],
    'Delete', action);
}

// ---------------------------------------------------------------- tables
function table(columns, rows, empty) {
  const head = el('tr', {}, columns.map((c) => el('th', { scope: 'col', text: c.title })));
  const tb = el('tbody');
  if (!rows.length) tb.append(el('tr', {}, el('td', { class: 'empty', colspan: columns.length, text: empty })));
  for (const r of rows) {
    tb.append(el('tr', {}, columns.map((c) => {
      const v = c.render ? c.render(r) : r[c.key];
      return el('td', { class: c.cls, 'data-label': c.title }, v instanceof Node ? v : (v === null || v === undefined ? '' : String(v)));
    })));
  }
  return el('table', {}, el('thead', {}, head), tb);
}
const badge = (text, kind) => el('span', { class: 'badge ' + kind, text });
const yesno = (b) => badge(b ? 'On' : 'Off', b ? 'ok' : 'off');

// A list page: heading, toolbar with search and New, the table.
function listPage(title, intro, opts) {
  const main = $('#main');
  const search = el('input', { type: 'search', placeholder: 'Search', 'aria-label': 'Search ' + title });
  const holder = el('div');
  const toolbar = el('div', { class: 'toolbar' }, search);
  if (opts.onNew) toolbar.append(el('button', { type: 'button', class: 'primary', onclick: opts.onNew, text: 'New' }));
  main.replaceChildren(el('h2', { text: title }), el('p', { class: 'muted', text: intro }), toolbar, holder);
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const rows = opts.rows().filter((r) => !q || JSON.stringify(Object.values(r)).toLowerCase().includes(q));
    holder.replaceChildren(table(opts.columns, rows, q ? 'Nothing matches.' : opts.empty));
  };
  search.addEventListener('input', draw);
  draw();
  return { draw, holder };
}

function actions(...buttons) {
  return el('span', {}, buttons);
}

// ---------------------------------------------------------------- paged lists
// A list whose searching, sorting, counting and paging happen on the
// server (GET path?q=&sort=&dir=&offset=&limit=): the browser only ever
// holds one page, however long the list. The search is over the text the
// rows show, and waits for a pause in typing (SEARCH_PAUSE_MS).
const SEARCH_PAUSE_MS = 200;
const fmtN = (n) => Number(n).toLocaleString('en');

// opts: {title, intro, path, noun, columns: [{title, key, sort, render, cls}],
// empty, onNew, tools: [nodes], before: [nodes], filters: node,
// params() -> extra query parameters, after(data), pageSize}
function pagedList(opts) {
  const main = $('#main');
  const st = { q: '', sort: null, dir: 'asc', offset: 0, limit: opts.pageSize || 50, seq: 0 };
  const search = el('input', { type: 'search', placeholder: 'Search what the list shows', 'aria-label': 'Search ' + opts.title });
  const count = el('p', { class: 'count muted', role: 'status', 'aria-live': 'polite' });
  const holder = el('div', { class: 'table-wrap' });
  const pager = el('nav', { class: 'pager', 'aria-label': opts.title + ': pages' });
  const toolbar = el('div', { class: 'toolbar' }, search, ...(opts.tools || []));
  if (opts.onNew) toolbar.append(el('button', { type: 'button', class: 'primary', onclick: opts.onNew, text: 'New' }));
  main.replaceChildren(el('h2', { text: opts.title }), el('p', { class: 'muted', text: opts.intro }),
    ...(opts.before || []), opts.filters || '', toolbar, count, holder, pager);

  const head = () => el('tr', {}, opts.columns.map((c) => {
    if (!c.sort) return el('th', { scope: 'col', class: 'nosort', text: c.title });
    const on = st.sort === c.sort;
    return el('th', { scope: 'col', 'aria-sort': on ? (st.dir === 'asc' ? 'ascending' : 'descending') : 'none' },
      el('button', { type: 'button', class: 'sort', text: c.title, 'aria-label': 'Sort by ' + c.title,
        onclick: () => {
          if (on) st.dir = st.dir === 'asc' ? 'desc' : 'asc'; else { st.sort = c.sort; st.dir = 'asc'; }
          st.offset = 0; load();
        } }));
  }));
  const draw = (data) => {
    const tb = el('tbody');
    if (!data.items.length) tb.append(el('tr', {}, el('td', { class: 'empty', colspan: opts.columns.length, text: st.q ? 'Nothing matches "' + st.q + '".' : opts.empty })));
    for (const r of data.items) {
      tb.append(el('tr', {}, opts.columns.map((c) => {
        const v = c.render ? c.render(r) : r[c.key];
        return el('td', { class: c.cls, 'data-label': c.title }, v instanceof Node ? v : (v === null || v === undefined ? '' : String(v)));
      })));
    }
    const sortable = opts.columns.some((c) => c.sort);
    holder.replaceChildren(el('table', { class: sortable ? 'paged' : 'paged unsorted' }, el('thead', {}, head()), tb));
    const matched = data.matched, total = data.total === undefined ? null : data.total;
    const first = matched ? st.offset + 1 : 0, last = Math.min(st.offset + data.items.length, matched);
    let text = total !== null && matched !== total
      ? fmtN(matched) + ' of ' + fmtN(total) + ' ' + opts.noun + ' match'
      : fmtN(matched) + ' ' + opts.noun;
    if (matched > data.items.length) text += ' · showing ' + fmtN(first) + '–' + fmtN(last);
    count.textContent = text;
    const pages = Math.max(1, Math.ceil(matched / st.limit)), page = Math.floor(st.offset / st.limit) + 1;
    pager.replaceChildren();
    if (pages > 1) {
      pager.append(
        el('button', { type: 'button', text: 'Previous page', disabled: page <= 1,
          onclick: () => { st.offset = Math.max(0, st.offset - st.limit); load(); } }),
        el('span', { text: 'Page ' + fmtN(page) + ' of ' + fmtN(pages) }),
        el('button', { type: 'button', text: 'Next page', disabled: page >= pages,
          onclick: () => { st.offset += st.limit; load(); } }));
    }
    if (opts.after) opts.after(data);
  };
  // Answers arriving out of order are dropped: only the latest request draws.
  async function load() {
    const seq = ++st.seq;
    const t0 = performance.now();
    const p = new URLSearchParams({ offset: String(st.offset), limit: String(st.limit) });
    if (st.q) p.set('q', st.q);
    if (st.sort) { p.set('sort', st.sort); p.set('dir', st.dir); }
    for (const [k, v] of Object.entries(opts.params ? opts.params() : {})) if (v) p.set(k, v);
    let data;
    try {
      data = await api('GET', opts.path + '?' + p.toString());
    } catch (e) {
      if (seq === st.seq && e.status !== 401) count.textContent = 'Could not load the list: ' + e.message;
      return;
    }
    if (seq !== st.seq) return;
    draw(data);
    // How long the last search or page took, request to drawn rows (the
    // browser test reads it).
    holder.dataset.ms = String(Math.round(performance.now() - t0));
    holder.dataset.loaded = String(seq);
  }
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(() => { st.q = search.value.trim(); st.offset = 0; load(); }, SEARCH_PAUSE_MS); };
  search.addEventListener('input', later);
  return { load, later, state: st };
}

// What happens to a name the server lowercases: said as the user types.
const lowerNote = (v) => (v.trim() && v.trim() !== v.trim().toLowerCase()
  ? 'Names are stored in lowercase: this is saved as ' + v.trim().toLowerCase() + '.' : '');

// Warnings from the server (cross-object checks), kept on the page until
// the next page is shown.
function showWarnings(list) {
  const old = document.getElementById('warnings');
  if (old) old.remove();
  if (!list || !list.length) return;
  const box = el('div', { id: 'warnings', class: 'note', role: 'alert' },
    el('strong', { text: 'Saved, but check: ' }), el('ul', { class: 'warn-list' }, list.map((w) => el('li', { text: w }))));
  $('#main').prepend(box);
}

// ---- CSV (RFC 4180) for the domain lists: same columns as
// `fedge domain import|export`.
const CSV_COLUMNS = ['domain', 'access', 'proxy_fqdn', 'comment', 'monitor'];
function csvParse(text) {
  const recs = []; let rec = [], f = '', i = 0, q = false, line = 1, start = 1;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  for (; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i++; }
      else if (c === '"') q = false;
      else { if (c === '\n') line++; f += c; }
    } else if (c === '"' && f === '') q = true;
    else if (c === ',') { rec.push(f); f = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      rec.push(f); f = ''; recs.push({ line: start, f: rec }); rec = []; line++; start = line;
    } else f += c;
  }
  if (q) throw new Error('line ' + start + ': a quoted field is not closed');
  if (f !== '' || rec.length) { rec.push(f); recs.push({ line: start, f: rec }); }
  return recs.filter((r) => !(r.f.length === 1 && r.f[0] === ''));
}
function csvField(s) {
  s = String(s);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
// rows with their line numbers, or an Error naming the line.
function csvDomains(text) {
  const recs = csvParse(text);
  if (!recs.length) throw new Error('The file is empty: expected a header line ' + CSV_COLUMNS.join(','));
  const idx = {};
  recs[0].f.forEach((h, i) => {
    const k = h.trim().toLowerCase();
    if (!CSV_COLUMNS.includes(k)) throw new Error('line 1: unknown column "' + h + '" (expected ' + CSV_COLUMNS.join(', ') + ')');
    idx[k] = i;
  });
  if (idx.domain === undefined) throw new Error('line 1: no domain column');
  const rows = [], lines = [], seen = new Map();
  for (const r of recs.slice(1)) {
    if (r.f.length !== recs[0].f.length) throw new Error('line ' + r.line + ': ' + r.f.length + ' fields, the header has ' + recs[0].f.length);
    const v = (k) => (idx[k] === undefined ? '' : r.f[idx[k]].trim());
    const access = v('access').toLowerCase() || 'allowed', monitor = v('monitor').toLowerCase();
    let m = fqdnError(v('domain'), true);
    if (m) throw new Error('line ' + r.line + ': domain "' + v('domain') + '": ' + m);
    if (!['allowed', 'blocked'].includes(access)) throw new Error('line ' + r.line + ': access "' + v('access') + '": expected allowed or blocked');
    if (monitor && !['yes', 'no'].includes(monitor)) throw new Error('line ' + r.line + ': monitor "' + v('monitor') + '": expected yes or no');
    if ((m = fqdnError(v('proxy_fqdn'), false))) throw new Error('line ' + r.line + ': proxy_fqdn "' + v('proxy_fqdn') + '": ' + m);
    const key = v('domain').toLowerCase().replace(/\.$/, '');
    if (seen.has(key)) throw new Error('line ' + r.line + ': ' + key + ' is already given on line ' + seen.get(key));
    seen.set(key, r.line);
    const row = { domain: v('domain'), access };
    if (v('proxy_fqdn')) row.proxy_fqdn = v('proxy_fqdn');
    if (v('comment')) row.comment = v('comment');
    if (monitor === 'yes') row.monitor = true;
    rows.push(row); lines.push(r.line);
  }
  return { rows, lines };
}

// Sends rows in parts that fit the API's 64 KiB bodies: first every part
// as a dry run (nothing written; a refused row stops everything), then
// for real. Returns the summed counts.
async function importDomains(rows, lines, replace) {
  const parts = [];
  for (let i = 0, size = 0, start = 0; i <= rows.length; i++) {
    const len = i < rows.length ? JSON.stringify(rows[i]).length + 1 : 0;
    if (i === rows.length || (size + len > 48000 && i > start)) { parts.push([start, i]); start = i; size = 0; }
    size += len;
  }
  const sum = { added: 0, replaced: 0, unchanged: 0 };
  for (const dry of [true, false]) {
    for (const [a, b] of parts) {
      try {
        const r = await api('POST', '/domains/import', { rows: rows.slice(a, b), replace, dry_run: dry });
        if (!dry) for (const k of Object.keys(sum)) sum[k] += r[k];
      } catch (e) {
        // "row N: ..." counts within the part: say the file's line.
        e.message = e.message.replace(/^row (\d+):/, (_, n) => 'line ' + lines[a + Number(n) - 1] + ':');
        throw e;
      }
    }
  }
  return sum;
}

async function exportDomains() {
  const d = await api('GET', '/domains?limit=100000&sort=domain');
  const out = [CSV_COLUMNS.join(',')];
  for (const r of d.items) {
    out.push([r.domain, r.status, r.proxy_fqdn || '', r.comment || '', r.monitor ? 'yes' : 'no'].map(csvField).join(','));
  }
  const a = el('a', { href: URL.createObjectURL(new Blob([out.join('\r\n') + '\r\n'], { type: 'text/csv' })), download: 'fedge-domains.csv' });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  toast('Exported ' + fmtN(d.items.length) + ' domains');
}

// ---- federation off: a banner on every page, a confirmation to turn it off
async function updateBanner(edge) {
  try {
    const e = edge || await api('GET', '/edge');
    $('#fed-banner').hidden = !!e.federation;
  } catch (e) { /* the page itself reports a store that cannot be read */ }
}

// Diagnostic IDs with their reason text (GET /api/diagnostics, once).
const diagReasons = {};
async function loadDiagReasons() {
  if (Object.keys(diagReasons).length) return;
  try {
    for (const d of (await api('GET', '/diagnostics')).items) diagReasons[d.id] = d.reason;
  } catch (e) { /* IDs stay shown alone */ }
}
const diagText = (id) => (diagReasons[id] ? id + ' — ' + diagReasons[id] : String(id));

// ---------------------------------------------------------------- pages
const pages = {};

pages.domains = async function () {
  let list;
  const dialog = (d) => {
    const editing = !!d;
    openDialog(editing ? 'Edit ' + d.domain : 'New SIP federated domain', [
      { name: 'domain', label: 'Domain (FQDN)', value: d ? d.domain : '', readonly: editing,
        validate: (v) => fqdnError(v, true), note: lowerNote, hint: 'The partner\'s SIP domain, e.g. fabrikam.com.' },
      { name: 'status', label: 'Access', type: 'select', value: d ? d.status : 'allowed',
        options: [['allowed', 'Allowed'], ['blocked', 'Blocked']] },
      { name: 'proxy_fqdn', label: 'Access Edge service (FQDN)', value: d && d.proxy_fqdn ? d.proxy_fqdn : '',
        validate: (v) => fqdnError(v, false), note: lowerNote, showIf: (v) => v.status === 'allowed',
        hint: 'Optional: the partner\'s edge. Set it for an allowed partner server (direct federation, no DNS SRV).' },
      { name: 'comment', label: 'Comment', value: d ? d.comment : '' },
      { name: 'monitor', label: 'Mark for monitoring', type: 'check', value: d ? d.monitor : false,
        showIf: (v) => v.status === 'allowed' },
    ], editing ? 'Save' : 'Create', async (v) => {
      const kind = v.status;
      const body = kind === 'allowed' ? { proxy_fqdn: v.proxy_fqdn || null, comment: v.comment, monitor: v.monitor }
        : { comment: v.comment };
      if (editing && kind !== d.status) {
        await api('PUT', '/domains/' + encodeURIComponent(d.domain), { access: kind, ...body });
        toast((kind === 'allowed' ? 'Allowed ' : 'Blocked ') + d.domain);
      } else if (editing) {
        await api('PUT', '/domains/' + kind + '/' + encodeURIComponent(d.domain), body);
        toast('Saved ' + d.domain);
      } else {
        const r = await api('POST', '/domains/' + kind, { domain: v.domain, ...body });
        toast((kind === 'allowed' ? 'Allowed ' : 'Blocked ') + r.domain + (r.domain !== v.domain ? ' (stored in lowercase)' : ''));
      }
      await list.load();
    });
  };
  // The file chooser's answer (the Import CSV button opens it).
  {
    const input = $('#import-file');
    input.onchange = async () => {
      const file = input.files[0];
      if (!file) return;
      let parsed;
      try { parsed = csvDomains(await file.text()); } catch (e) {
        openDialog('Import ' + file.name, [{ name: 'x', type: 'info', label: 'Nothing was imported: ' + e.message }], 'Close', async () => {});
        return;
      }
      openDialog('Import ' + fmtN(parsed.rows.length) + ' domains from ' + file.name, [
        { name: 'x', type: 'info', label: 'Every row is checked before anything is written; a refused row imports nothing. Entries equal to the store\'s stay as they are. Names are stored in lowercase.' },
        { name: 'replace', label: 'Replace entries that differ from the file', type: 'check', value: false },
      ], 'Import', async (v) => {
        const s = await importDomains(parsed.rows, parsed.lines, v.replace);
        toast('Imported: ' + fmtN(s.added) + ' added, ' + fmtN(s.replaced) + ' replaced, ' + fmtN(s.unchanged) + ' unchanged');
        await list.load();
      });
    };
  }
  const importCsv = () => { $('#import-file').value = ''; $('#import-file').click(); };
  list = pagedList({
    title: 'SIP Federated Domains', path: '/domains', noun: 'domains',
    intro: 'Partner domains this edge federates with (allowed) or refuses in both directions (blocked). A blocked domain overrides everything else.',
    onNew: () => dialog(null),
    tools: [el('button', { type: 'button', text: 'Import CSV', onclick: importCsv }),
      el('button', { type: 'button', text: 'Export CSV', onclick: () => exportDomains().catch((e) => toast(e.message)) })],
    empty: 'No federated domains yet: choose New to allow or block one.',
    columns: [
      { title: 'Domain', key: 'domain', sort: 'domain' },
      { title: 'Access', sort: 'access', render: (r) => r.status === 'allowed' ? badge('Allowed', 'ok') : badge('Blocked', 'bad') },
      { title: 'Type', key: 'type', sort: 'type' },
      { title: 'Access Edge service', sort: 'proxy_fqdn', render: (r) => r.proxy_fqdn || '' },
      { title: 'Monitor', sort: 'monitor', render: (r) => (r.monitor ? 'Yes' : '') },
      { title: 'Comment', key: 'comment', cls: 'wrap', sort: 'comment' },
      { title: 'Actions', cls: 'actions', render: (r) => actions(
        el('button', { type: 'button', class: 'link', 'aria-label': 'Edit ' + r.domain, text: 'Edit', onclick: () => dialog(r) }),
        el('button', { type: 'button', class: 'link danger', 'aria-label': 'Delete ' + r.domain, text: 'Delete',
          onclick: () => confirmDelete(r.domain, async () => {
            await api('DELETE', '/domains/' + r.status + '/' + encodeURIComponent(r.domain));
            toast('Deleted ' + r.domain); await list.load();
          }) })) },
    ],
  });
  await list.load();
};

pages.providers = async function () {
  let list;
  const dialog = (p) => {
    const editing = !!p;
    openDialog(editing ? 'Edit ' + p.name : 'New SIP federated provider', [
      { name: 'name', label: 'Provider name', value: p ? p.name : '', readonly: editing, validate: nameError, note: lowerNote },
      { name: 'kind', label: 'Provider type', type: 'select', value: p ? p.kind : 'hosting',
        options: [['hosting', 'Hosting provider'], ['public', 'Public IM provider']] },
      { name: 'proxy_fqdn', label: 'Access Edge service (FQDN)', value: p ? p.proxy_fqdn : '',
        validate: (v) => fqdnError(v, true), note: lowerNote, hint: 'The provider\'s edge; its certificate must name it.' },
      { name: 'verification', label: 'Verification level of users', type: 'select', value: p ? p.verification : 'use-source',
        options: [['always-verified', 'Always verified'], ['always-unverified', 'Always unverified'], ['use-source', 'As the provider asserts (use source)']] },
      { name: 'domains', label: 'Domains served', value: p ? p.domains.join(', ') : '', note: lowerNote,
        validate: (v) => { for (const d of v.split(/[\s,]+/).filter(Boolean)) { const m = fqdnError(d, true); if (m) return d + ': ' + m; } return ''; },
        hint: 'Comma-separated, e.g. hosted.com, example.net.' },
      { name: 'enabled', label: 'Enable communications with this provider', type: 'check', value: p ? p.enabled : true },
    ], editing ? 'Save' : 'Create', async (v) => {
      const body = { proxy_fqdn: v.proxy_fqdn, kind: v.kind, verification: v.verification, enabled: v.enabled,
        domains: v.domains.split(/[\s,]+/).filter(Boolean) };
      let r;
      if (editing) r = await api('PUT', '/providers/' + encodeURIComponent(p.name), body);
      else r = await api('POST', '/providers', { name: v.name, ...body });
      toast('Saved ' + (r.name || v.name)); await list.load();
      showWarnings(r.warnings);
    });
  };
  list = pagedList({
    title: 'SIP Federated Providers', path: '/providers', noun: 'providers',
    intro: 'Hosting providers and public IM providers: users of the domains they serve reach you through the provider\'s edge.',
    onNew: () => dialog(null),
    empty: 'No providers yet.',
    columns: [
      { title: 'Name', key: 'name', sort: 'name' },
      { title: 'Type', sort: 'kind', render: (r) => r.kind === 'hosting' ? 'Hosting' : 'Public' },
      { title: 'Access Edge service', key: 'proxy_fqdn', sort: 'proxy_fqdn' },
      { title: 'Verification', key: 'verification', sort: 'verification' },
      { title: 'Domains', cls: 'wrap', sort: 'domains', render: (r) => el('span', {}, r.domains.join(', '),
        (r.warnings || []).map((w) => el('span', { class: 'badge bad', title: w, text: 'blocked: ' + w.split(' ')[0] }))) },
      { title: 'Enabled', sort: 'enabled', render: (r) => yesno(r.enabled) },
      { title: 'Actions', cls: 'actions', render: (r) => actions(
        el('button', { type: 'button', class: 'link', 'aria-label': 'Edit ' + r.name, text: 'Edit', onclick: () => dialog(r) }),
        el('button', { type: 'button', class: 'link danger', 'aria-label': 'Delete ' + r.name, text: 'Delete',
          onclick: () => confirmDelete(r.name, async () => {
            await api('DELETE', '/providers/' + encodeURIComponent(r.name)); toast('Deleted ' + r.name); await list.load();
          }) })) },
    ],
  });
  await list.load();
};

// XMPP partners (docs/xmpp.md): what the [xmpp] gateway may federate with.
const serverError = (v) => {
  v = v.trim();
  if (!v) return '';
  const m = /^(.*?)(?::([0-9]{1,5}))?$/.exec(v);
  if (m[2] && (+m[2] < 1 || +m[2] > 65535)) return 'The port must be 1 to 65535.';
  if (/^[0-9.]+$/.test(m[1])) return '';
  return fqdnError(m[1], true);
};

pages.xmpp = async function () {
  const xp = await api('GET', '/xmpp');
  const dialog = (p) => {
    const editing = !!p;
    openDialog(editing ? 'Edit ' + p.domain : 'New XMPP federated partner', [
      { name: 'domain', label: 'XMPP domain (FQDN)', value: p ? p.domain : '', readonly: editing,
        validate: (v) => fqdnError(v, true), hint: 'The partner\'s XMPP domain, e.g. jabber.example.com.' },
      { name: 'state', label: 'Access', type: 'select', value: p ? p.state : 'allowed', readonly: editing,
        options: editing ? [[p.state, p.state === 'allowed' ? 'Allowed' : 'Blocked']] : [['allowed', 'Allowed'], ['blocked', 'Blocked']] },
      { name: 'tls', label: 'TLS negotiation', type: 'select', value: p && p.tls ? p.tls : 'required',
        options: [['required', 'Required'], ['optional', 'Optional']], showIf: (v) => v.state === 'allowed' },
      { name: 'sasl', label: 'SASL EXTERNAL (certificates)', type: 'check', value: p ? p.sasl !== false : true,
        showIf: (v) => v.state === 'allowed' },
      { name: 'dialback', label: 'Server dialback', type: 'check', value: p ? p.dialback !== false : true,
        showIf: (v) => v.state === 'allowed' },
      { name: 'proxy_fqdn', label: 'XMPP server (HOST[:PORT])', value: p && p.proxy_fqdn ? p.proxy_fqdn : '',
        validate: serverError, showIf: (v) => v.state === 'allowed',
        hint: 'Optional: without it the partner\'s server is found by its _xmpp-server._tcp SRV record.' },
    ], editing ? 'Save' : 'Create', async (v) => {
      const body = v.state === 'blocked' ? { state: 'blocked' }
        : { tls: v.tls, sasl: v.sasl, dialback: v.dialback, proxy_fqdn: v.proxy_fqdn.trim() || null };
      if (editing) await api('PUT', '/xmpp/' + encodeURIComponent(p.domain), body);
      else await api('POST', '/xmpp', { domain: v.domain, ...body });
      toast(editing ? 'Saved' : (v.state === 'allowed' ? 'Allowed ' : 'Blocked ') + v.domain);
      await render();
    });
  };
  listPage('XMPP Federated Partners',
    'XMPP domains the gateway exchanges instant messages with (allowed, with how their servers authenticate) or refuses (blocked). Needs the [xmpp] section in the configuration.', {
      onNew: () => dialog(null),
      empty: 'No XMPP partners yet: choose New to allow or block one.',
      rows: () => xp.items,
      columns: [
        { title: 'Domain', key: 'domain' },
        { title: 'Access', render: (r) => r.state === 'allowed' ? badge('Allowed', 'ok') : badge('Blocked', 'bad') },
        { title: 'TLS', render: (r) => r.state === 'allowed' ? (r.tls === 'required' ? 'Required' : 'Optional') : '' },
        { title: 'SASL', render: (r) => r.state === 'allowed' ? yesno(r.sasl) : '' },
        { title: 'Dialback', render: (r) => r.state === 'allowed' ? yesno(r.dialback) : '' },
        { title: 'XMPP server', render: (r) => r.state === 'allowed' ? (r.proxy_fqdn || 'by DNS SRV') : '' },
        { title: 'Actions', cls: 'actions', render: (r) => actions(
          r.state === 'allowed' ? el('button', { type: 'button', class: 'link', 'aria-label': 'Edit ' + r.domain, text: 'Edit', onclick: () => dialog(r) }) : '',
          el('button', { type: 'button', class: 'link danger', 'aria-label': 'Delete ' + r.domain, text: 'Delete',
            onclick: () => confirmDelete(r.domain, async () => {
              await api('DELETE', '/xmpp/' + encodeURIComponent(r.domain));
              toast('Deleted ' + r.domain); await render();
            }) })) },
      ],
    });
};

pages.policy = async function () {
  let list, named = [];
  const flags = [['federation', 'Enable communications with federated users'],
    ['public_im', 'Enable communications with public users'],
    ['outside', 'Enable communications with remote users'],
    ['xmpp', 'Enable communications with XMPP federated users'],
    ['av', 'Enable audio and video calls with federated and public users']];
  const dialog = (p) => {
    const editing = !!p;
    openDialog(editing ? 'Edit policy ' + p.scope : 'New external access policy', [
      { name: 'scope', label: 'Scope', value: p ? p.scope : '', readonly: editing, note: lowerNote,
        hint: 'site:NAME for a site policy, or a NAME for a user policy.',
        validate: (v) => { v = v.trim(); if (v === 'global') return 'The global policy exists already.';
          return nameError(v.startsWith('site:') ? v.slice(5) : v); } },
      ...flags.map(([k, l]) => ({ name: k, label: l, type: 'check', value: p ? p[k] : k === 'av' })),
    ], editing ? 'Save' : 'Create', async (v) => {
      const body = {}; for (const [k] of flags) body[k] = v[k];
      let r;
      if (editing) r = await api('PUT', '/policies/' + encodeURIComponent(p.scope), body);
      else r = await api('POST', '/policies', { scope: v.scope, ...body });
      toast('Saved policy ' + (r.scope || v.scope)); await list.load();
    });
  };
  const assign = () => openDialog('Assign a user policy', [
    { name: 'user', label: 'User (user@domain)', validate: userError, note: lowerNote },
    { name: 'policy', label: 'Policy', type: 'select', value: '', options: named.map((s) => [s, s]) },
  ], 'Assign', async (v) => {
    const r = await api('POST', '/assignments', { user: v.user, policy: v.policy });
    toast('Assigned ' + r.user); await list.load();
    showWarnings(r.warnings);
  });
  const assignments = el('div');
  list = pagedList({
    title: 'External Access Policy', path: '/policies', noun: 'policies',
    intro: 'Which kinds of external communication internal users may use. The most specific policy applies: user, then site, then global.',
    onNew: () => dialog(null),
    empty: 'No policies.',
    columns: [
      { title: 'Scope', key: 'scope', sort: 'scope' },
      { title: 'Kind', sort: 'kind', render: (r) => ({ global: 'Global', site: 'Site', named: 'User' })[r.kind] },
      { title: 'Federated users', sort: 'federation', render: (r) => yesno(r.federation) },
      { title: 'Public users', sort: 'public_im', render: (r) => yesno(r.public_im) },
      { title: 'Remote users', sort: 'outside', render: (r) => yesno(r.outside) },
      { title: 'XMPP', sort: 'xmpp', render: (r) => yesno(r.xmpp) },
      { title: 'A/V calls', sort: 'av', render: (r) => yesno(r.av) },
      { title: 'Actions', cls: 'actions', render: (r) => actions(
        el('button', { type: 'button', class: 'link', 'aria-label': 'Edit ' + r.scope, text: 'Edit', onclick: () => dialog(r) }),
        r.kind === 'global' ? null : el('button', { type: 'button', class: 'link danger', 'aria-label': 'Delete ' + r.scope, text: 'Delete',
          onclick: () => confirmDelete('policy ' + r.scope, async () => {
            await api('DELETE', '/policies/' + encodeURIComponent(r.scope)); toast('Deleted policy ' + r.scope); await list.load();
          }) })) },
    ],
    after: (data) => {
      // Named policies for the Assign dialog: all of them, not only this page's.
      api('GET', '/policies').then((all) => { named = all.items.filter((p) => p.kind === 'named').map((p) => p.scope); btn.disabled = !named.length; }).catch(() => {});
      assignments.replaceChildren(table([{ title: 'User', key: 'user' }, { title: 'Policy', key: 'policy' },
        { title: 'Note', cls: 'wrap', render: (r) => r.warning || '' },
        { title: 'Actions', cls: 'actions', render: (r) => el('button', { type: 'button', class: 'link danger', 'aria-label': 'Remove ' + r.user, text: 'Remove',
          onclick: () => confirmDelete('the assignment of ' + r.user, async () => {
            await api('DELETE', '/assignments/' + encodeURIComponent(r.user)); toast('Removed ' + r.user); await list.load();
          }) }) }], data.assignments || [], 'No user has a named policy: site and global policies apply.'));
    },
  });
  const btn = el('button', { type: 'button', onclick: assign, text: 'Assign user policy', disabled: true });
  $('#main').append(el('h3', { text: 'User assignments' }), el('div', { class: 'toolbar' }, btn), assignments);
  await list.load();
};

pages.edge = async function () {
  const e = await api('GET', '/edge');
  const main = $('#main');
  const form = el('form', { class: 'settings', novalidate: true });
  const check = (k, label) => {
    const i = el('input', { type: 'checkbox', id: 'e-' + k, name: k }); i.checked = e[k];
    return el('label', { class: 'check', for: 'e-' + k }, i, label);
  };
  const text = (k, label, hint, type) => {
    const i = el('input', { type: type || 'text', id: 'e-' + k, name: k, 'aria-describedby': 'e-' + k + '-err' });
    i.value = e[k];
    return el('div', {}, el('label', { for: 'e-' + k, text: label }), i,
      hint ? el('p', { class: 'hint', text: hint }) : null,
      el('p', { class: 'field-error', id: 'e-' + k + '-err' }));
  };
  const routing = el('select', { id: 'e-routing', name: 'routing' },
    el('option', { value: 'dns-srv', text: 'DNS SRV per partner domain' }),
    el('option', { value: 'default-route', text: 'Default route (all federated traffic to one host)' }));
  routing.value = e.routing;
  form.append(
    el('fieldset', {}, el('legend', { text: 'Federation and external access' }),
      check('federation', 'Enable communications with federated users'),
      check('discovery', 'Enable partner domain discovery'),
      check('outside-users', 'Enable remote user access'),
      check('mark-verifiable', 'Mark outgoing messages as verifiable'),
      check('block-subdomains', 'Blocking a domain blocks its subdomains')),
    el('fieldset', {}, el('legend', { text: 'Routing' }),
      el('label', { for: 'e-routing', text: 'Routing method' }), routing,
      text('default-route', 'Default route (HOST[:PORT])', 'Used when the routing method is the default route.')),
    el('fieldset', {}, el('legend', { text: 'Discovered partners' }),
      text('discovered-rate', 'Standard rate (requests per second)', null, 'number'),
      check('contacts-limit', 'Limit the internal users a discovered partner reaches'),
      text('discovered-contacts', 'Contacts limit (distinct internal users)', null, 'number'),
      text('report-period', 'Report period (minutes)', null, 'number')),
    el('div', {}, el('p', { id: 'edge-error', class: 'form-error', role: 'alert' }),
      el('button', { type: 'submit', class: 'primary', text: 'Save' })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    for (const p of form.querySelectorAll('.field-error')) p.textContent = '';
    $('#edge-error').textContent = '';
    const body = {};
    for (const i of form.querySelectorAll('input, select')) {
      if (i.type === 'checkbox') body[i.name] = i.checked;
      else if (i.type === 'number') body[i.name] = i.value === '' ? null : Number(i.value);
      else body[i.name] = i.value.trim();
    }
    const save = async () => {
      const now = await api('PUT', '/edge', body);
      e.federation = now.federation;
      updateBanner(now);
      toast('Edge settings saved: in force now');
    };
    if (e.federation && body.federation === false) {
      // Turning federation off cuts every partner at once: asked first.
      openDialog('Turn federation off?', [{ name: 'x', type: 'info',
        label: 'Partners can no longer reach your users and your users can no longer reach partners, until federation is turned on again. This takes effect on the running edge at once.' }],
      'Turn federation off', async () => {
        try { await save(); } catch (err) { $('#edge-error').textContent = err.message; }
      });
      return;
    }
    try {
      await save();
    } catch (err) {
      const fe = err.field && document.getElementById('e-' + err.field + '-err');
      if (fe) { fe.textContent = err.message; document.getElementById('e-' + err.field).focus(); }
      else $('#edge-error').textContent = err.message;
    }
  });
  main.replaceChildren(el('h2', { text: 'Access Edge Configuration' }),
    el('p', { class: 'muted', text: 'Global switches of this edge. Changes are in force on the running edge within a second.' }), form);
};

// The last hour per minute, one line per partner, drawn by uPlot
// (vendor/uplot, MIT). The figures in words are in the Partners table below.
const CHART_COLORS = ['#2457c5', '#b42318', '#067647', '#b54708', '#6941c6', '#0e7090', '#c11574', '#4e5ba6', '#667085'];
function historyCharts(h) {
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const names = Object.keys((h && h.partners) || {});
  if (!names.length) return [el('p', { class: 'muted', text: 'No partner traffic in the last hour.' })];
  if (typeof window.uPlot !== 'function') return [el('p', { class: 'note', text: 'The chart library did not load.' })];
  const xs = h.partners[names[0]].requests.map((_, i) => h.minute0 + 60 * i);
  const width = Math.max(300, Math.min(960, ($('#main').clientWidth || 960) - 40));
  const out = [];
  for (const [key, title] of [['requests', 'Requests per minute'], ['rejections', 'Refusals per minute']]) {
    const box = el('figure', { class: 'chart', 'data-chart': key, 'aria-label': title + ' over the last hour, per partner' },
      el('figcaption', { text: title + ' (last hour)' }));
    const opts = {
      width, height: 220,
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: CHART_COLORS[i % CHART_COLORS.length], width: 2 }))],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
      legend: { live: false },
    };
    const data = [xs, ...names.map((n) => h.partners[n][key])];
    state.charts.push(new window.uPlot(opts, data, box));
    out.push(box);
  }
  return out;
}

// Calls relayed through rtpengine and the relays' health (GET /api/media,
// docs/admin.md): shown on Status only when the edge has [media].
function mediaSection(m) {
  if (!m || !m.enabled) return [];
  const age = (s) => (s < 60 ? s + ' s' : s < 3600 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min');
  const sides = (r) => (r.from === 'external' ? 'partner → inside' : 'inside → partner');
  const shown = m.calls_total > m.shown ? 'The ' + m.shown + ' calls with the latest signalling of ' + m.calls_total + '.' : '';
  return [el('h3', { text: 'Calls through the media relay' }),
    el('p', { class: 'muted', id: 'media-summary', text: m.calls_total + ' relayed now (at most ' + m.max_calls + ' at once). ' + shown }),
    el('h4', { text: 'Relay health' }),
    table([{ title: 'Relay', key: 'relay' },
      { title: 'State', render: (r) => badge(r.up ? 'Answers' : 'Not answering', r.up ? 'ok' : 'bad') },
      { title: 'Last ng request', render: (r) => (r.last_at ? r.last_command + ' at ' + r.last_at : 'none yet') },
      { title: 'Result', key: 'last_result' },
      { title: 'Round trip', render: (r) => (r.rtt_ms === null ? '—' : r.rtt_ms.toFixed(1) + ' ms') }], m.relays, 'No relay configured.'),
    el('h4', { text: 'Active calls' }),
    table([{ title: 'Call (Call-ID, shortened)', key: 'call' }, { title: 'Relay', render: (r) => r.relay || '—' },
      { title: 'State', key: 'state' }, { title: 'Direction', render: sides },
      { title: 'Age', render: (r) => age(r.age_s) }, { title: 'Last signalling', render: (r) => age(r.idle_s) + ' ago' }],
    m.calls, 'No call is relayed now.')];
}

pages.status = async function () {
  const [s, w, lk, m] = await Promise.all([api('GET', '/status'), api('GET', '/watchlist'), api('GET', '/remote/lockouts'), api('GET', '/media')]);
  const stat = (n, l) => el('div', { class: 'stat' }, el('div', { class: 'n', text: String(n) }), el('div', { class: 'l', text: l }));
  const main = $('#main');
  const parts = [el('h2', { text: 'Status' }),
    el('div', { class: 'cards' },
      stat(s.store.allowed, 'allowed domains'), stat(s.store.blocked, 'blocked domains'),
      stat(s.store.providers, 'providers'), stat(s.store.policies, 'policies'),
      stat(s.store.watchlist, 'on the watch list'), stat(s.store.generation, 'configuration changes'))];
  if (!s.edge.attached) {
    parts.push(el('p', { class: 'note', text: 'Live traffic figures are not available: ' + s.edge.note + '.' }));
  } else {
    const partners = Object.entries(s.edge.partners).map(([domain, v]) => ({ domain, ...v }));
    const diags = Object.entries(s.edge.diagnostics).map(([id, count]) => ({ id, count }));
    const counters = Object.entries(s.edge.counters).map(([name, value]) => ({ name, value }));
    parts.push(el('h3', { text: 'Traffic in the last hour' }), ...historyCharts(s.edge.history),
      el('h3', { text: 'Partners' }),
      table([{ title: 'Partner domain', key: 'domain' }, { title: 'Connections', key: 'connections' },
        { title: 'Requests', key: 'requests' }, { title: 'Rejections', key: 'rejections' }], partners, 'No partner traffic yet.'),
      el('h3', { text: 'Rejections by diagnostic' }),
      table([{ title: 'Diagnostic ID', render: (r) => diagText(r.id) }, { title: 'Count', key: 'count' }], diags, 'No rejections.'),
      el('h3', { text: 'Counters' }),
      table([{ title: 'Counter', key: 'name' }, { title: 'Value', key: 'value' }], counters, 'None.'),
      ...mediaSection(m),
      el('h3', { text: 'Recent errors' }),
      table([{ title: 'Time (UTC)', key: 'at' }, { title: 'Error', key: 'text', cls: 'wrap' }], s.edge.errors, 'No errors.'));
  }
  parts.push(el('h3', { text: 'Watch list' }),
    table([{ title: 'Partner domain', key: 'domain' }, { title: 'Since', key: 'added_at' },
      { title: 'Internal users reached', key: 'users' }, { title: 'Reason', key: 'reason', cls: 'wrap' },
      { title: 'Actions', cls: 'actions', render: (r) => el('button', { type: 'button', class: 'link', 'aria-label': 'Clear ' + r.domain, text: 'Clear',
        onclick: () => confirmDelete(r.domain + ' from the watch list', async () => {
          await api('DELETE', '/watchlist/' + encodeURIComponent(r.domain)); toast('Cleared ' + r.domain); await render();
        }) }) }], w.items, 'No discovered partner is over its limits.'),
    el('h3', { text: 'Remote users locked out' }),
    table([{ title: 'User or address', key: 'subject' }, { title: 'Kind', key: 'kind' }, { title: 'Since', key: 'locked_at' },
      { title: 'Until', key: 'until' }, { title: 'Failed sign-ins', key: 'failures' }, { title: 'Reason', key: 'reason', cls: 'wrap' },
      { title: 'Actions', cls: 'actions', render: (r) => el('button', { type: 'button', class: 'link', 'aria-label': 'Unlock ' + r.subject, text: 'Unlock',
        onclick: () => confirmDelete('the lock-out of ' + r.subject, async () => {
          await api('DELETE', '/remote/lockouts/' + encodeURIComponent(r.subject)); toast('Unlocked ' + r.subject); await render();
        }) }) }], lk.items, 'No remote user or address is locked out.'),
    el('p', { class: 'muted', text: 'Edge ' + (s.edge_fqdn || '') + ' · fedge ' + s.version + ' · admin server up ' + s.uptime_s + ' s · refreshed every 5 s' }));
  main.replaceChildren(...parts);
};

pages.audit = async function () {
  const f = {};
  const field = (name, label, type) => {
    const i = el('input', { id: 'a-' + name, type: type || 'text', autocomplete: 'off' });
    f[name] = i;
    return el('div', {}, el('label', { for: 'a-' + name, text: label }), i);
  };
  const filters = el('form', { class: 'filters', 'aria-label': 'Audit filters' },
    field('actor', 'By'), field('object', 'Object'), field('action', 'Action'),
    field('since', 'From (date)', 'date'), field('until', 'To (date)', 'date'));
  const list = pagedList({
    title: 'Audit', path: '/audit/search', noun: 'entries', pageSize: 100,
    intro: 'Every change to the configuration, newest first: who made it and the value before and after.',
    filters,
    params: () => Object.fromEntries(Object.entries(f).map(([k, i]) => [k, i.value.trim()])),
    empty: 'No changes yet.',
    columns: [
      { title: 'Time (UTC)', key: 'at' }, { title: 'By', key: 'actor' }, { title: 'Action', key: 'action' },
      { title: 'Object', key: 'object', cls: 'wrap' },
      { title: 'Before', cls: 'wrap', render: (r) => (r.before === undefined ? '' : el('span', { class: 'before', text: r.before })) },
      { title: 'After', cls: 'wrap', render: (r) => (r.before === undefined ? r.detail : r.after) },
    ],
  });
  for (const i of Object.values(f)) i.addEventListener(i.type === 'date' ? 'change' : 'input', list.later);
  filters.addEventListener('submit', (ev) => ev.preventDefault());
  await list.load();
};

// ---------------------------------------------------------------- pool
// The members of this edge's pool as they record themselves in the shared
// store (GET /api/pool, docs/pools.md); refreshed every 5 s like Status.
const POOL_STATE = {
  live: ['Live', 'ok'], stale: ['Stale', 'bad'], cert: ['Certificate', 'bad'], 'other-pool': ['Other pool', 'off'],
};
pages.pool = async function () {
  const p = await api('GET', '/pool');
  const ago = (s) => (s < 60 ? s + ' s ago' : Math.round(s / 60) + ' min ago');
  const stateBadge = (r) => { const [t, k] = POOL_STATE[r.state] || [r.state, 'off']; return badge(t, k); };
  const live = p.items.filter((r) => r.state === 'live').length;
  const intro = p.pool
    ? 'Members of the pool ' + p.pool + ', as each records itself in the shared store every few seconds. ' +
      'A member not heard from for ' + p.stale_after_s + ' s is stale: it is down or cannot reach the database.'
    : 'This edge is not in a pool: set [edge] pool_fqdn on every member (docs/pools.md).';
  const rows = p.items.map((r) => ({ ...r, name: r.fqdn + (r.this ? ' (this member)' : '') }));
  $('#main').replaceChildren(el('h2', { text: 'Pool' }), el('p', { class: 'muted', text: intro }),
    el('div', { class: 'cards' },
      el('div', { class: 'stat' }, el('div', { class: 'n', text: String(p.items.length) }), el('div', { class: 'l', text: 'members recorded' })),
      el('div', { class: 'stat' }, el('div', { class: 'n', text: String(live) }), el('div', { class: 'l', text: 'live and named right' }))),
    table([{ title: 'Member', key: 'name' }, { title: 'State', render: stateBadge },
      { title: 'Addresses', key: 'addresses' }, { title: 'Version', key: 'version' },
      { title: 'Last seen', render: (r) => ago(r.seen_ago_s) }, { title: 'Connections', key: 'connections' },
      { title: 'Requests/s', key: 'requests_per_second' },
      { title: 'Certificate names the pool', render: (r) => badge(r.certificate_names_pool ? 'Yes' : 'No', r.certificate_names_pool ? 'ok' : 'bad') },
      { title: 'Certificate names', key: 'certificate_names', cls: 'wrap' }], rows, 'No member recorded yet.'),
    el('p', { class: 'muted', text: 'Remove a machine taken out of the pool for good with fedge pool forget FQDN.' }));
};

// ---------------------------------------------------------------- routing
async function render() {
  const page = (location.hash.replace(/^#\//, '') || 'domains');
  const p = pages[page] ? page : 'domains';
  const changed = state.page !== p;
  state.page = p;
  for (const a of document.querySelectorAll('.sidebar a')) {
    if (a.dataset.page === p) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  clearInterval(state.timer);
  $('#app-view').classList.remove('nav-open');
  $('#nav-toggle').setAttribute('aria-expanded', 'false');
  updateBanner();
  if (p === 'status') state.timer = setInterval(() => { if (!$('#dialog').open) pages.status().catch(() => {}); }, 5000);
  if (p === 'pool') state.timer = setInterval(() => { if (!$('#dialog').open) pages.pool().catch(() => {}); }, 5000);
  try {
    await pages[p]();
    if (changed) $('#main').focus();
  } catch (e) {
    if (e.status !== 401) $('#main').replaceChildren(el('p', { class: 'form-error', role: 'alert', text: 'Could not load this page: ' + e.message }));
  }
}

function showLogin() {
  state.csrf = null;
  clearInterval(state.timer);
  if ($('#dialog').open) $('#dialog').close();
  $('#app-view').hidden = true;
  $('#login-view').hidden = false;
  $('#login-name').focus();
}

function showApp(s) {
  state.csrf = s.csrf; state.name = s.name;
  $('#who').textContent = s.name;
  $('#edge-name').textContent = s.edge_fqdn || '';
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  loadDiagReasons().then(render);
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#login-error');
  err.textContent = '';
  try {
    const s = await api('POST', '/login', { name: $('#login-name').value.trim(), password: $('#login-password').value });
    $('#login-password').value = '';
    const full = await api('GET', '/session');
    showApp({ ...s, ...full });
  } catch (e) {
    err.textContent = e.status === 429 ? e.message : (e.status === 401 ? 'Wrong name or password.' : e.message);
  }
});

// The navigation folds behind "Menu" on narrow screens (style.css).
$('#nav-toggle').addEventListener('click', () => {
  const open = $('#app-view').classList.toggle('nav-open');
  $('#nav-toggle').setAttribute('aria-expanded', String(open));
});

$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch (e) { /* the session is gone either way */ }
  showLogin();
});

window.addEventListener('hashchange', () => { if (state.csrf) render(); });

(async () => {
  try { showApp(await api('GET', '/session')); } catch (e) { showLogin(); }
})();
