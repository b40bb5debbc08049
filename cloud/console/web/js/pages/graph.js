// pages/graph.js - a small SVG graph of who exposed whom (depth 2 and 3):
// one column per order, the case on the left, an edge from each contact's
// via to the contact.  Each column is ordered by its vias' positions so
// edges cross little; past MAX_PER_COLUMN people a column ends with a
// "+N more" node.  High-risk contacts are filled dark.

import { s } from '../dom.js';
import { t } from '../i18n.js';
import { shortPid } from '../format.js';

const MAX_PER_COLUMN = 40;
const W = 960, PAD_X = 70, PAD_Y = 34, STEP = 22;

export function drawGraph(tr, nameOf) {
  const depth = tr.case.depth;
  const columns = [[{ pid: tr.case.pid, isCase: true }]];
  const pos = new Map([[tr.case.pid, 0]]);
  let hidden = 0;
  for (let k = 1; k <= depth; k++) {
    const people = (tr.contacts || []).filter((c) => c.order === k);
    people.sort((a, b) => (pos.get(a.via) ?? 1e9) - (pos.get(b.via) ?? 1e9) || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    const shown = people.slice(0, MAX_PER_COLUMN);
    shown.forEach((c, i) => pos.set(c.pid, i));
    const col = shown.map((c) => ({ pid: c.pid, contact: c }));
    if (people.length > shown.length) {
      col.push({ more: people.length - shown.length });
      hidden += people.length - shown.length;
    }
    columns.push(col);
  }
  const rows = Math.max(...columns.map((c) => c.length));
  const height = PAD_Y * 2 + Math.max(1, rows - 1) * STEP + 10;
  const colX = (k) => PAD_X + (k * (W - PAD_X - 170)) / Math.max(1, depth);
  const colY = (col, i) => {
    const span = (col.length - 1) * STEP;
    return PAD_Y + ((rows - 1) * STEP - span) / 2 + i * STEP;
  };
  const at = new Map();
  columns.forEach((col, k) => col.forEach((n, i) => { if (n.pid) at.set(n.pid, { x: colX(k), y: colY(col, i) }); }));

  const svg = s('svg', { class: 'graph', viewBox: `0 0 ${W} ${height}`, role: 'img', 'aria-labelledby': 'graph-title graph-desc' });
  svg.appendChild(s('title', { id: 'graph-title' }, t('graph_title')));
  svg.appendChild(s('desc', { id: 'graph-desc' }, t('graph_desc', { people: (tr.contacts || []).length, hidden })));
  for (let k = 0; k <= depth; k++) {
    svg.appendChild(s('text', { x: colX(k), y: 16, class: 'axis-label', 'text-anchor': 'middle' }, k === 0 ? t('graph_case') : t('order_n', { n: k })));
  }
  const edges = s('g', { class: 'edges' });
  const nodes = s('g', { class: 'nodes' });
  svg.append(edges, nodes);
  columns.forEach((col, k) => col.forEach((n, i) => {
    const x = colX(k), y = colY(col, i);
    if (n.more) {
      nodes.appendChild(s('text', { x, y: y + 4, class: 'graph-more', 'text-anchor': 'middle' }, t('graph_more', { n: n.more })));
      return;
    }
    if (n.contact) {
      const from = at.get(n.contact.via);
      if (from) {
        const mx = (from.x + x) / 2;
        edges.appendChild(s('path', { d: `M${from.x},${from.y} C${mx},${from.y} ${mx},${y} ${x},${y}`, class: `edge edge-${n.contact.risk}` }));
      }
    }
    const label = n.isCase ? t('graph_case') : ((nameOf && nameOf(n.pid)) || shortPid(n.pid));
    const g = s('g', { class: n.isCase ? 'node node-case' : `node node-${n.contact.risk}` },
      s('title', null, n.isCase ? `${t('graph_case')} ${n.pid}` : `${t('order_n', { n: n.contact.order })} · ${n.pid} · ${t(`risk_${n.contact.risk}`)} · ${t('col_period_overlap')} ${n.contact.period_overlap_minutes}${t('min_unit')}`),
      s('circle', { cx: x, cy: y, r: n.isCase ? 9 : 6 }));
    if (n.isCase) g.appendChild(s('text', { x: x - 13, y: y + 4, class: 'node-label', 'text-anchor': 'end' }, label));
    else if (rows <= 24) g.appendChild(s('text', { x: x + 11, y: y + 4, class: 'node-label' }, label));
    nodes.appendChild(g);
  }));
  return svg;
}
