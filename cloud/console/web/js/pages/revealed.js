// pages/revealed.js - an approved reveal request, opened by its asker: POST
// /api/reveals/open writes the 'reveal' audit entry and answers the
// request's trace with each contact's phone and name.  The names live only
// in this page's memory; the CSV export of the request carries them too.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import { errorText } from '../errors.js';
import { caseFacts, exportButton } from '../casebar.js';
import { contactsTable } from '../contacts_table.js';

export async function render(ctx) {
  const id = Number(ctx.param);
  const root = h('section', { 'aria-labelledby': 'rd-h1' }, h('h1', { id: 'rd-h1' }, t('revealed_title', { id: ctx.param })));
  if (!Number.isInteger(id) || id <= 0) {
    root.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, t('revealed_bad_id')));
    return root;
  }
  let trace;
  if (ctx.state.revealed && ctx.state.revealed.id === id) {
    trace = ctx.state.revealed.trace;
  } else {
    try {
      trace = await api.post('/api/reveals/open', { id });
    } catch (err) {
      root.appendChild(h('p', { class: 'notice notice-error', role: 'alert' }, errorText(err)));
      root.appendChild(h('p', null, h('a', { href: '#/reveals' }, t('back_to_reveals'))));
      return root;
    }
    ctx.state.revealed = { id, trace };
    ctx.state.revealedView = null;
  }
  const status = h('div', { class: 'form-result', 'aria-live': 'polite' });
  root.append(
    h('p', { class: 'notice notice-personal', role: 'note' }, t('revealed_warning')),
    h('div', { class: 'casebar' },
      h('div', { class: 'casebar-main' }, caseFacts(trace.case),
        h('div', { class: 'case-actions' }, exportButton(ctx, { id }, status))),
      status),
    h('p', null, t('revealed_count', { n: trace.revealed ?? (trace.contacts || []).filter((c) => c.name || c.phone).length, all: (trace.contacts || []).length })),
    contactsTable(ctx, trace, { revealed: true, viewKey: 'revealedView' }),
    h('p', null, h('a', { href: '#/reveals' }, t('back_to_reveals'))));
  return root;
}
