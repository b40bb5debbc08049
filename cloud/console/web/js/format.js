// format.js - how the pages write the values they share: a pid shortened
// for a table cell, a check-in source by name, a phone as dialled in Korea.

import { t } from './i18n.js';

// "d5324d…df33": enough to tell pids apart in a table; the full pid goes
// in the cell's title and the row's data-pid.
export function shortPid(pid) {
  return pid ? `${pid.slice(0, 6)}…${pid.slice(-4)}` : '';
}

// "scan", "card", "manual", "app" by their names in the catalog.
export function sourceLabel(src) {
  return src ? t(`source_${src}`) : '—';
}

// A Korean mobile number as officials dial it (010-1234-5678); any other
// number as the server gave it (E.164).
export function nationalPhone(e164) {
  if (!e164) return '—';
  const m = /^\+82(1[016789])(\d{3,4})(\d{4})$/.exec(e164);
  return m ? `0${m[1]}-${m[2]}-${m[3]}` : e164;
}
