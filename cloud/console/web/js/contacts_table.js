// contacts_table.js - the contacts of a trace as a table: grouped by order
// and by venue of the first exposure (a heading row per group, with its
// counts), sortable by any column (aria-sort on the header), filterable by
// order, venue, risk, source and text, and paged (up to 500 rows a page).
// The revealed view adds name and phone.  Every row carries the contact's
// exact fields in data-* attributes, the same values the cells show.

import { h, uid } from './dom.js';
import { t } from './i18n.js';
import { dateTime, timeOnly, seoulDay, toDate } from './time.js';
import { sourceLabel, shortPid, nationalPhone } from './format.js';

const PAGE_SIZES = [100, 250, 500];

const COLUMNS = [
  { key: 'order', label: 'col_order', num: true },
  { key: 'venue', label: 'col_venue' },
  { key: 'pid', label: 'col_pid', pseudonymous: true },
  { key: 'start', label: 'col_first_exposure' },
  { key: 'period_overlap_minutes', label: 'col_period_overlap', num: true },
  { key: 'overlap_minutes', label: 'col_overlap', num: true },
  { key: 'risk', label: 'col_risk' },
  { key: 'source', label: 'col_source' },
  { key: 'via', label: 'col_via' },
  { key: 'name', label: 'col_name', revealed: true },
  { key: 'phone', label: 'col_phone', revealed: true },
];

function defaultView() {
  return { sort: 'start', dir: 1, group: true, order: '', venue: '', risk: '', source: '', text: '', page: 0, pageSize: 100 };
}

function cmp(a, b) {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  return a < b ? -1 : 1;
}

function sortValue(c, key) {
  if (key === 'venue') return c.venue_name || String(c.venue);
  if (key === 'risk') return c.risk === 'high' ? 0 : 1;
  return c[key];
}

export function contactsTable(ctx, trace, opts) {
  const revealed = !!(opts && opts.revealed);
  const viewKey = (opts && opts.viewKey) || 'contactsView';
  if (!ctx.state[viewKey]) ctx.state[viewKey] = defaultView();
  const view = ctx.state[viewKey];
  const all = trace.contacts || [];
  const casePid = trace.case.pid;
  // With names, the pid column gives way to them (each row keeps its pid
  // in data-pid and the name cell's title), and via names the person.
  const columns = COLUMNS.filter((c) => (revealed ? !c.pseudonymous : !c.revealed));
  const nameByPid = new Map(all.filter((c) => c.name).map((c) => [c.pid, c.name]));
  const venues = new Map();
  for (const c of all) venues.set(c.venue, c.venue_name || t('venue_n', { n: c.venue }));

  const root = h('div', { class: 'contacts' });
  const status = h('p', { class: 'table-status', 'aria-live': 'polite', id: uid('tstat') });

  const select = (name, label, options, value) => {
    const el = h('select', { name, id: uid(name) },
      h('option', { value: '' }, t('filter_all')),
      options.map(([v, text]) => h('option', { value: String(v), selected: String(v) === value }, text)));
    el.addEventListener('change', () => { view[name] = el.value; view.page = 0; draw(); });
    return h('div', { class: 'field field-inline' }, h('label', { for: el.id }, label), el);
  };
  const text = h('input', { type: 'search', id: uid('ftext'), value: view.text, autocomplete: 'off', spellcheck: 'false' });
  text.addEventListener('input', () => { view.text = text.value; view.page = 0; draw(); });
  const group = h('input', { type: 'checkbox', id: uid('group'), checked: view.group });
  group.addEventListener('change', () => { view.group = group.checked; view.page = 0; draw(); });
  const pageSize = h('select', { id: uid('psize') }, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === view.pageSize }, t('rows_per_page', { n }))));
  pageSize.addEventListener('change', () => { view.pageSize = Number(pageSize.value); view.page = 0; draw(); });

  const orders = [...new Set(all.map((c) => c.order))].sort();
  const filters = h('div', { class: 'filters', role: 'group', 'aria-label': t('filters') },
    select('order', t('col_order'), orders.map((o) => [o, t('order_n', { n: o })]), view.order),
    select('venue', t('col_venue'), [...venues.entries()].sort((a, b) => cmp(a[1], b[1])), view.venue),
    select('risk', t('col_risk'), [['high', t('risk_high')], ['low', t('risk_low')]], view.risk),
    select('source', t('col_source'), ['scan', 'card', 'manual', 'app'].map((x) => [x, sourceLabel(x)]), view.source),
    h('div', { class: 'field field-inline' }, h('label', { for: text.id }, revealed ? t('filter_text_revealed') : t('filter_text')), text),
    h('div', { class: 'field field-inline field-check' }, group, h('label', { for: group.id }, t('group_by_order_venue'))),
    h('div', { class: 'field field-inline' }, h('label', { for: pageSize.id }, t('page_size')), pageSize));

  const table = h('table', { class: 'data contacts-table', id: 'contacts-table' });
  const pager = h('nav', { class: 'pager', 'aria-label': t('pager') });
  root.append(filters, status, h('div', { class: 'table-wrap' }, table), pager);

  function filtered() {
    const q = view.text.trim().toLowerCase();
    return all.filter((c) => (view.order === '' || String(c.order) === view.order)
      && (view.venue === '' || String(c.venue) === view.venue)
      && (view.risk === '' || c.risk === view.risk)
      && (view.source === '' || c.source === view.source)
      && (!q || c.pid.includes(q) || (c.via || '').includes(q) || (c.name || '').toLowerCase().includes(q) || (c.phone || '').includes(q)));
  }

  function sorted(rows) {
    const key = view.sort, dir = view.dir;
    return rows.slice().sort((a, b) => {
      if (view.group) {
        const g = cmp(a.order, b.order) || cmp(a.venue, b.venue);
        if (g) return g;
      }
      return dir * cmp(sortValue(a, key), sortValue(b, key)) || cmp(a.start, b.start) || cmp(a.pid, b.pid);
    });
  }

  function header() {
    return h('thead', null, h('tr', null, columns.map((col) => {
      const active = view.sort === col.key;
      const btn = h('button', { type: 'button', class: 'sort' }, t(col.label),
        h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (view.dir > 0 ? ' ▲' : ' ▼') : ' ↕'));
      btn.addEventListener('click', () => {
        if (view.sort === col.key) view.dir = -view.dir; else { view.sort = col.key; view.dir = 1; }
        view.page = 0;
        draw();
        const again = table.querySelector(`th[data-key="${col.key}"] button`);
        if (again) again.focus();
        ctx.announce(t('sorted_by', { col: t(col.label), dir: view.dir > 0 ? t('ascending') : t('descending') }));
      });
      return h('th', { scope: 'col', dataset: { key: col.key }, 'aria-sort': active ? (view.dir > 0 ? 'ascending' : 'descending') : null, class: col.num ? 'num' : null }, btn);
    })));
  }

  function groupCounts(rows) {
    const m = new Map();
    for (const c of rows) {
      const k = `${c.order}|${c.venue}`;
      const e = m.get(k) || { people: 0, high: 0 };
      e.people += 1;
      if (c.risk === 'high') e.high += 1;
      m.set(k, e);
    }
    return m;
  }

  function cell(c, col) {
    switch (col.key) {
      case 'order': return h('td', { class: 'num' }, c.order);
      case 'venue': return h('td', null, c.venue_name || '—', h('span', { class: 'muted' }, ` (${t('venue_n', { n: c.venue })})`));
      case 'pid': return h('td', null, h('code', { class: 'pid', title: c.pid }, shortPid(c.pid)));
      case 'start': {
        const a = toDate(c.start), b = toDate(c.end);
        const same = a && b && seoulDay(a) === seoulDay(b);
        return h('td', { class: 'nowrap' }, `${dateTime(c.start)}–${same ? timeOnly(c.end) : dateTime(c.end)}`);
      }
      case 'period_overlap_minutes': return h('td', { class: 'num' }, t('minutes_n', { n: c.period_overlap_minutes }));
      case 'overlap_minutes': return h('td', { class: 'num' }, t('minutes_n', { n: c.overlap_minutes }));
      case 'risk': return h('td', null, h('span', { class: `risk risk-${c.risk}` }, t(`risk_${c.risk}`)),
        c.headcount_extra ? h('span', { class: 'note' }, t('headcount_extra', { n: c.headcount_extra })) : null);
      case 'source': return h('td', null, h('span', { class: `source-tag src-${c.source}` }, sourceLabel(c.source)));
      case 'via':
        if (c.via === casePid) return h('td', null, t('via_case'));
        if (nameByPid.has(c.via)) return h('td', { class: 'personal', title: c.via }, nameByPid.get(c.via));
        return h('td', null, h('code', { class: 'pid', title: c.via }, shortPid(c.via)));
      case 'name': return h('td', { class: 'personal name-cell', title: c.pid }, c.name ? c.name : (c.reveal_error ? h('span', { class: 'muted' }, t('not_revealed', { why: c.reveal_error })) : '—'));
      case 'phone': return h('td', { class: 'personal phone-cell nowrap', dataset: { phone: c.phone || '' } }, nationalPhone(c.phone));
      default: return h('td', null, '');
    }
  }

  function draw() {
    const rows = sorted(filtered());
    const pages = Math.max(1, Math.ceil(rows.length / view.pageSize));
    if (view.page >= pages) view.page = pages - 1;
    const from = view.page * view.pageSize;
    const slice = rows.slice(from, from + view.pageSize);
    const counts = view.group ? groupCounts(rows) : null;
    const body = h('tbody');
    let lastGroup = null;
    for (const c of slice) {
      const g = `${c.order}|${c.venue}`;
      if (view.group && g !== lastGroup) {
        const n = counts.get(g);
        body.appendChild(h('tr', { class: 'group-row' }, h('th', { scope: 'rowgroup', colspan: columns.length },
          t('group_heading', { order: t('order_n', { n: c.order }), venue: venues.get(c.venue), id: c.venue, people: n.people, high: n.high }))));
        lastGroup = g;
      }
      body.appendChild(h('tr', {
        class: c.risk === 'high' ? 'contact-row row-high' : 'contact-row',
        dataset: {
          pid: c.pid, order: c.order, venue: c.venue, start: c.start, end: c.end, overlap: c.overlap_minutes,
          period: c.period_overlap_minutes, risk: c.risk, via: c.via, source: c.source,
          extra: c.headcount_extra || 0,
        },
      }, columns.map((col) => cell(c, col))));
    }
    if (!slice.length) body.appendChild(h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, all.length ? t('contacts_none_match') : t('contacts_none'))));
    table.replaceChildren(h('caption', null, revealed ? t('contacts_caption_revealed') : t('contacts_caption')), header(), body);
    status.textContent = rows.length
      ? t('rows_status', { from: from + 1, to: from + slice.length, n: rows.length, all: all.length })
      : t('rows_status_none', { all: all.length });
    const prev = h('button', { type: 'button', class: 'button', disabled: view.page === 0 }, t('page_prev'));
    const next = h('button', { type: 'button', class: 'button', disabled: view.page >= pages - 1 }, t('page_next'));
    prev.addEventListener('click', () => { view.page -= 1; draw(); table.querySelector('caption').focus(); });
    next.addEventListener('click', () => { view.page += 1; draw(); table.querySelector('caption').focus(); });
    pager.replaceChildren(prev, h('span', { class: 'page-of' }, t('page_of', { page: view.page + 1, pages })), next);
    pager.hidden = pages <= 1;
    table.querySelector('caption').setAttribute('tabindex', '-1');
  }

  draw();
  return root;
}

// The per-order totals, with the unnamed companions and unreadable entries.
export function ordersTable(trace) {
  return h('table', { class: 'data orders-table' },
    h('caption', null, t('orders_caption')),
    h('thead', null, h('tr', null, ['col_order', 'col_people', 'col_high', 'col_low', 'col_headcount_extra', 'col_unnamed'].map((k) => h('th', { scope: 'col', class: 'num' }, t(k))))),
    h('tbody', null, (trace.orders || []).map((o) => h('tr', null,
      h('th', { scope: 'row', class: 'num' }, t('order_n', { n: o.order })),
      h('td', { class: 'num' }, o.people), h('td', { class: 'num' }, o.high), h('td', { class: 'num' }, o.low),
      h('td', { class: 'num' }, o.headcount_extra || 0),
      h('td', { class: 'num' }, o.unnamed_visits ? t('unnamed_entries', { visits: o.unnamed_visits, people: o.unnamed_people }) : 0)))),
    h('tfoot', null, h('tr', null,
      h('th', { scope: 'row' }, t('total')),
      h('td', { class: 'num' }, trace.totals.people), h('td', { class: 'num' }, trace.totals.high), h('td', { class: 'num' }, trace.totals.low),
      h('td', { class: 'num' }, trace.totals.headcount_extra || 0),
      h('td', { class: 'num' }, trace.totals.unnamed_visits ? t('unnamed_entries', { visits: trace.totals.unnamed_visits, people: trace.totals.unnamed_people }) : 0))));
}
