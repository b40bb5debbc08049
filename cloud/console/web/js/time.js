// time.js - every date and time the console shows is in Asia/Seoul, through
// Intl with an explicit timeZone, whatever the browser's own zone is.  The
// API sends ISO 8601 with the offset; an instant is parsed with Date and
// only formatted here.  Day arithmetic for the timeline uses Korea's fixed
// offset (+09:00; Korea has had no daylight saving time since 1988).

import { lang } from './i18n.js';

export const ZONE = 'Asia/Seoul';
const KST_MS = 9 * 3600 * 1000;
const DAY_MS = 86400 * 1000;

const cache = new Map();
function fmt(kind) {
  const key = `${lang()}:${kind}`;
  if (!cache.has(key)) {
    // en-CA: dates as 2026-03-02, unambiguous for readers of either order
    const locale = lang() === 'ko' ? 'ko-KR' : 'en-CA';
    const opts = { timeZone: ZONE, hourCycle: 'h23' };
    if (kind === 'datetime') Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    if (kind === 'datetimesec') Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
    if (kind === 'date') Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
    if (kind === 'day') Object.assign(opts, { month: 'short', day: 'numeric', weekday: 'short' });
    if (kind === 'time') Object.assign(opts, { hour: '2-digit', minute: '2-digit' });
    cache.set(key, new Intl.DateTimeFormat(locale, opts));
  }
  return cache.get(key);
}

export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function format(kind, value) {
  const d = toDate(value);
  return d ? fmt(kind).format(d) : '—';
}

export const dateTime = (v) => format('datetime', v);
export const dateTimeSec = (v) => format('datetimesec', v);
export const dateOnly = (v) => format('date', v);
export const dayLabel = (v) => format('day', v);
export const timeOnly = (v) => format('time', v);

// "12:00–13:00", with the end's date when it falls on another day.
export function span(start, end) {
  const a = toDate(start), b = toDate(end);
  if (!a) return '—';
  if (!b) return dateTime(a);
  const sameDay = seoulDay(a) === seoulDay(b);
  return `${dateTime(a)}–${sameDay ? timeOnly(b) : dateTime(b)}`;
}

// The day number (days since 1970-01-01 in Seoul) and the minute of that
// day of an instant.
export function seoulDay(d) { return Math.floor((d.getTime() + KST_MS) / DAY_MS); }
export function seoulMinute(d) { return ((d.getTime() + KST_MS) % DAY_MS) / 60000; }
// The instant of Seoul midnight starting day n.
export function dayStart(n) { return new Date(n * DAY_MS - KST_MS); }

// Today's date in Seoul as YYYY-MM-DD, optionally shifted by days.
export function seoulDateString(offsetDays) {
  const d = new Date(Date.now() + (offsetDays || 0) * DAY_MS);
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  return parts;
}
