// pages/contacts.js - the traced case's contacts (pseudonymous): totals by
// order, the who-exposed-whom graph for depths 2-3, and the contacts table.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { caseBar } from '../casebar.js';
import { contactsTable, ordersTable } from '../contacts_table.js';
import { drawGraph } from './graph.js';

export function render(ctx) {
  const tr = ctx.state.trace;
  const graph = tr.case.depth >= 2 && (tr.contacts || []).length
    ? h('figure', { class: 'graph-figure' }, drawGraph(tr), h('figcaption', null, t('graph_caption')))
    : null;
  return h('section', { 'aria-labelledby': 'ct-h1' },
    h('h1', { id: 'ct-h1' }, t('contacts_title')),
    caseBar(ctx, 'contacts'),
    h('div', { class: 'table-wrap' }, ordersTable(tr)),
    graph,
    h('h2', null, t('contacts_list')),
    contactsTable(ctx, tr, { revealed: false }));
}
