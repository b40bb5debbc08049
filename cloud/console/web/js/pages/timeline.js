// pages/timeline.js - the case's visits in the infectious window: a
// day-by-day SVG timeline (one row per day in Seoul, 0-24 h across, one bar
// per visit coloured by source, silences of the venue's gateways hatched)
// and the same visits as a table, which is what a screen reader reads (the
// drawing is one labelled image).

import { h, s } from '../dom.js';
import { t } from '../i18n.js';
import { caseBar } from '../casebar.js';
import { sourceLabel } from '../format.js';
import { toDate, seoulDay, seoulMinute, dayStart, dayLabel, timeOnly, span, dateTime } from '../time.js';

const W = 960, LEFT = 128, RIGHT = 16, TOP = 28, ROW = 38, BAR = 22;
const MAX_DAYS = 62;
const PLOT = W - LEFT - RIGHT;

// Split [a, b) at Seoul midnights: [{day, m0, m1}] in minutes of the day.
function segments(a, b) {
  const out = [];
  let d = seoulDay(a);
  const last = seoulDay(new Date(Math.max(a.getTime(), b.getTime() - 1)));
  for (; d <= last && out.length < MAX_DAYS; d++) {
    const s0 = Math.max(a.getTime(), dayStart(d).getTime());
    const s1 = Math.min(b.getTime(), dayStart(d + 1).getTime());
    out.push({ day: d, m0: seoulMinute(new Date(s0)), m1: s1 >= dayStart(d + 1).getTime() ? 1440 : seoulMinute(new Date(s1)) });
  }
  return out;
}

const x = (minute) => LEFT + (minute / 1440) * PLOT;

function drawTimeline(visits) {
  const parsed = visits.map((v, i) => ({ v, i, a: toDate(v.start), b: toDate(v.end) })).filter((p) => p.a && p.b);
  if (!parsed.length) return null;
  const first = Math.min(...parsed.map((p) => seoulDay(p.a)));
  const last = Math.min(first + MAX_DAYS - 1, Math.max(...parsed.map((p) => seoulDay(new Date(Math.max(p.a.getTime(), p.b.getTime() - 1))))));
  const days = last - first + 1;
  const height = TOP + days * ROW + 8;
  const svg = s('svg', {
    class: 'timeline', viewBox: `0 0 ${W} ${height}`, role: 'img',
    'aria-labelledby': 'tl-title tl-desc', preserveAspectRatio: 'xMinYMin meet',
  });
  svg.appendChild(s('title', { id: 'tl-title' }, t('timeline_svg_title')));
  svg.appendChild(s('desc', { id: 'tl-desc' }, t('timeline_svg_desc', { visits: parsed.length, days })));
  const defs = s('defs', null,
    s('pattern', { id: 'hatch', patternUnits: 'userSpaceOnUse', width: 6, height: 6, patternTransform: 'rotate(45)' },
      s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' })));
  svg.appendChild(defs);
  // hour grid
  for (let hr = 0; hr <= 24; hr += 3) {
    svg.appendChild(s('line', { x1: x(hr * 60), x2: x(hr * 60), y1: TOP - 6, y2: height - 8, class: hr % 12 === 0 ? 'grid grid-major' : 'grid' }));
    svg.appendChild(s('text', { x: x(hr * 60), y: TOP - 12, class: 'axis-label', 'text-anchor': 'middle' }, `${String(hr).padStart(2, '0')}:00`));
  }
  for (let d = 0; d < days; d++) {
    const y = TOP + d * ROW;
    svg.appendChild(s('rect', { x: LEFT, y: y + 2, width: PLOT, height: ROW - 4, class: d % 2 ? 'row row-odd' : 'row' }));
    svg.appendChild(s('text', { x: LEFT - 10, y: y + ROW / 2 + 4, class: 'day-label', 'text-anchor': 'end' }, dayLabel(dayStart(first + d))));
  }
  for (const p of parsed) {
    for (const seg of segments(p.a, p.b)) {
      if (seg.day < first || seg.day > last) continue;
      const y = TOP + (seg.day - first) * ROW + (ROW - BAR) / 2;
      const w = Math.max(3, x(seg.m1) - x(seg.m0));
      const g = s('g', { class: `visit src-${p.v.source || 'unknown'}` });
      g.appendChild(s('title', null, `${p.v.venue_name || t('venue_n', { n: p.v.venue })} · ${span(p.v.start, p.v.end)} · ${sourceLabel(p.v.source)}`));
      g.appendChild(s('rect', { x: x(seg.m0), y, width: w, height: BAR, rx: 3 }));
      const label = p.v.venue_name || t('venue_n', { n: p.v.venue });
      if (w > 70) {
        g.appendChild(s('text', { x: x(seg.m0) + 6, y: y + BAR / 2 + 4, class: 'bar-label' }, label.length > w / 7.5 ? `${label.slice(0, Math.floor(w / 7.5) - 1)}…` : label));
      } else {
        const short = label.length > 18 ? `${label.slice(0, 17)}…` : label;
        const right = seg.m1 < 1440 - 180;
        g.appendChild(s('text', { x: right ? x(seg.m1) + 4 : x(seg.m0) - 4, y: y + BAR / 2 + 4, class: 'bar-label-out', 'text-anchor': right ? 'start' : 'end' }, short));
      }
      svg.appendChild(g);
    }
  }
  // silences over the bars, hatched, so they show where a bar is
  for (const p of parsed) {
    for (const sil of p.v.gateway_silent || []) {
      const sa = toDate(sil.from), sb = toDate(sil.to);
      if (!sa || !sb) continue;
      for (const seg of segments(sa, sb)) {
        if (seg.day < first || seg.day > last) continue;
        const y = TOP + (seg.day - first) * ROW + (ROW - BAR) / 2 - 3;
        svg.appendChild(s('rect', { x: x(seg.m0), y, width: Math.max(2, x(seg.m1) - x(seg.m0)), height: BAR + 6, class: 'silence', fill: 'url(#hatch)', 'fill-opacity': 0.75 },
          s('title', null, t('timeline_silence', { kind: t(`silence_${sil.kind}`), span: span(sil.from, sil.to) }))));
      }
    }
  }
  return svg;
}

function legend() {
  return h('ul', { class: 'legend', 'aria-label': t('legend') },
    ['scan', 'card', 'manual', 'app'].map((src) => h('li', null, h('span', { class: `swatch src-${src}`, 'aria-hidden': 'true' }), sourceLabel(src))),
    h('li', null, h('span', { class: 'swatch swatch-silence', 'aria-hidden': 'true' }), t('legend_silence')));
}

function categoryText(v) {
  const c = v.category || v.venue_category;
  if (!c) return '—';
  const key = `category_${c}`;
  return t(key) === key ? c : t(key);
}

function notes(v) {
  const out = [];
  if (v.exit_recorded) out.push(t('visit_exit_recorded')); else out.push(t('visit_by_dwell'));
  if (v.clock_unsynced) out.push(t('visit_clock_unsynced'));
  for (const sil of v.gateway_silent || []) out.push(t('visit_gateway_silent', { kind: t(`silence_${sil.kind}`), span: span(sil.from, sil.to) }));
  for (const u of v.gateway_coverage_unknown || []) out.push(t('visit_coverage_unknown', { before: dateTime(u.before) }));
  return out;
}

export function render(ctx) {
  const tr = ctx.state.trace;
  const visits = tr.visits || [];
  const table = h('table', { class: 'data', id: 'visits-table' },
    h('caption', null, t('visits_caption', { n: visits.length })),
    h('thead', null, h('tr', null,
      ['col_n', 'col_date', 'col_time', 'col_venue', 'col_category', 'col_source', 'col_headcount', 'col_notes']
        .map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', null, visits.map((v, i) => {
      const warn = (v.gateway_silent || []).length > 0;
      return h('tr', { class: warn ? 'row-warn' : null, dataset: { start: v.start, end: v.end, venue: v.venue, source: v.source } },
        h('td', { class: 'num' }, i + 1),
        h('td', null, dayLabel(v.start)),
        h('td', { class: 'nowrap' }, `${timeOnly(v.start)}–${timeOnly(v.end)}`),
        h('td', null, v.venue_name || '—', h('span', { class: 'muted' }, ` (${t('venue_n', { n: v.venue })})`)),
        h('td', null, categoryText(v)),
        h('td', null, h('span', { class: `source-tag src-${v.source}` }, sourceLabel(v.source))),
        h('td', { class: 'num' }, v.headcount ?? 1),
        h('td', null, notes(v).map((n, j) => h('span', { class: j ? 'note note-warn' : 'note' }, n))));
    })));
  const svg = drawTimeline(visits);
  const silentNote = tr.visits_gateway_silent ? h('p', { class: 'notice notice-warn', role: 'note' }, t('visits_silent_note', { n: tr.visits_gateway_silent })) : null;
  return h('section', { 'aria-labelledby': 'tl-h1' },
    h('h1', { id: 'tl-h1' }, t('timeline_title')),
    caseBar(ctx, 'timeline'),
    h('div', { class: 'summary-cards' },
      h('div', { class: 'card' }, h('span', { class: 'card-n' }, visits.length), h('span', { class: 'card-l' }, t('card_visits'))),
      h('div', { class: 'card' }, h('span', { class: 'card-n' }, tr.totals.people), h('span', { class: 'card-l' }, t('card_contacts'))),
      h('div', { class: 'card card-high' }, h('span', { class: 'card-n' }, tr.totals.high), h('span', { class: 'card-l' }, t('card_high'))),
      h('div', { class: 'card' }, h('span', { class: 'card-n' }, tr.totals.low), h('span', { class: 'card-l' }, t('card_low')))),
    silentNote,
    visits.length ? h('figure', { class: 'timeline-figure' }, svg, h('figcaption', null, legend())) : h('p', { class: 'empty' }, t('visits_none')),
    h('div', { class: 'table-wrap' }, table));
}
