// pages/gateways.js - every enrolled gateway: venue, last heard, backlog,
// lag and whether it is revoked.  Silent gateways come first (the server
// orders them so) and are marked, since a silent gateway means check-ins
// there may be missing from a trace.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { dateTime, toDate } from '../time.js';
import { shortPid } from '../format.js';

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return t('seconds_n', { n: s });
  if (s < 90 * 60) return t('minutes_n', { n: Math.round(s / 60) });
  if (s < 48 * 3600) return t('hours_n', { n: Math.round(s / 3600) });
  return t('days_n', { n: Math.round(s / 86400) });
}

function since(iso) {
  const d = toDate(iso);
  if (!d) return null;
  return t('ago', { span: duration((Date.now() - d.getTime()) / 1000) });
}

export async function render(ctx) {
  const root = h('section', { 'aria-labelledby': 'gw-h1' }, h('h1', { id: 'gw-h1' }, t('gateways_title')), h('p', { class: 'lead' }, t('gateways_lead')));
  let data;
  try {
    data = await api.get('/api/gateways');
  } catch (err) {
    root.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
    return root;
  }
  const gws = data.gateways || [];
  const silent = gws.filter((g) => g.silent && !g.revoked).length;
  const revoked = gws.filter((g) => g.revoked).length;
  root.appendChild(h('div', { class: 'summary-cards' },
    h('div', { class: 'card' }, h('span', { class: 'card-n' }, gws.length), h('span', { class: 'card-l' }, t('card_gateways'))),
    h('div', { class: silent ? 'card card-high' : 'card' }, h('span', { class: 'card-n' }, silent), h('span', { class: 'card-l' }, t('card_silent'))),
    h('div', { class: 'card' }, h('span', { class: 'card-n' }, revoked), h('span', { class: 'card-l' }, t('card_revoked')))));
  if (silent) root.appendChild(h('p', { class: 'notice notice-warn', role: 'note' }, t('gateways_silent_note', { n: silent })));
  root.appendChild(h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'gateways-table' },
    h('caption', null, t('gateways_caption', { n: gws.length })),
    h('thead', null, h('tr', null, ['col_status', 'col_venue', 'col_gateway', 'col_last_seen', 'col_backlog', 'col_lag'].map((k) => h('th', { scope: 'col', class: k === 'col_backlog' || k === 'col_lag' ? 'num' : null }, t(k))))),
    h('tbody', null, gws.length ? gws.map((g) => {
      const st = g.revoked ? 'revoked' : g.silent ? 'silent' : 'ok';
      return h('tr', { class: st === 'silent' ? 'row-warn' : st === 'revoked' ? 'row-muted' : null, dataset: { gateway: g.gateway, status: st } },
        h('td', null, h('span', { class: `state state-gw-${st}` }, t(`gw_${st}`))),
        h('td', null, g.venue_name || '—', h('span', { class: 'muted' }, ` (${t('venue_n', { n: g.venue })})`)),
        h('td', null, h('code', { class: 'pid', title: g.gateway }, shortPid(g.gateway))),
        h('td', { class: 'nowrap' }, g.last_seen ? [dateTime(g.last_seen), h('span', { class: 'note' }, since(g.last_seen))] : t('never')),
        h('td', { class: 'num' }, g.backlog ?? '—'),
        h('td', { class: 'num' }, duration(g.lag_seconds)));
    }) : h('tr', null, h('td', { colspan: 6, class: 'empty' }, t('gateways_none')))))));
  return root;
}
