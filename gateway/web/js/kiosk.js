// kiosk.js - the visitor screen: the rotating venue code, full screen,
// replaced at each slot without reloading the page (fetch /api/code for the
// slot, then swap in /api/code.svg?slot=START once it has loaded), the
// seconds left, and each scan's outcome for 2 seconds, pushed by the
// gateway as Server-Sent Events (/api/events).

import { OUTCOMES, reasonText } from './outcomes.js';

const SHOW_MS = 2000;
const img = document.getElementById('code');
const codeError = document.getElementById('code-error');
const countdown = document.getElementById('countdown');
const bar = document.getElementById('bar');
const linkState = document.getElementById('link-state');
const overlay = document.getElementById('outcome');

let slot = null;       // {start, seconds}
let skew = 0;          // gateway clock minus this browser's, seconds
let fetching = false;
let retryAt = 0;
let hideTimer = null;

function nowGateway() { return Date.now() / 1000 + skew; }

async function loadCode() {
  fetching = true;
  try {
    const r = await fetch('api/code', { cache: 'no-store' });
    const j = await r.json();
    if (!r.ok) throw new Error(j.error || r.status);
    skew = j.now - Date.now() / 1000;
    const next = new Image();
    next.onload = () => {
      img.src = next.src;
      img.dataset.slot = String(j.slot_start);
      img.dataset.text = j.text;
      img.hidden = false;
      codeError.hidden = true;
      slot = { start: j.slot_start, seconds: j.slot_seconds };
      fetching = false;
      tick();
    };
    next.onerror = () => { fetching = false; retryAt = Date.now() + 2000; };
    next.src = 'api/code.svg?slot=' + j.slot_start;
  } catch (e) {
    fetching = false;
    retryAt = Date.now() + 3000;
    img.hidden = true;
    codeError.hidden = false;
    codeError.textContent = String(e.message) === 'no-venue'
      ? '이 게이트웨이에 시설 번호(venue_id)가 설정되지 않았습니다. / This gateway has no venue_id set.'
      : '코드를 불러오지 못했습니다. 다시 시도 중… / Cannot load the code; retrying…';
  }
}

function tick() {
  if (!slot) {
    if (!fetching && Date.now() >= retryAt) loadCode();
    return;
  }
  const left = slot.start + slot.seconds - nowGateway();
  if (left <= 0) {
    if (!fetching && Date.now() >= retryAt) loadCode();
    countdown.textContent = '0';
    bar.style.width = '0%';
    return;
  }
  countdown.textContent = String(Math.ceil(left));
  bar.style.width = (100 * left / slot.seconds).toFixed(1) + '%';
}

function showOutcome(ev) {
  const o = OUTCOMES[ev.outcome];
  if (!o) return;
  overlay.className = 'outcome ' + ev.outcome;
  overlay.dataset.outcome = ev.outcome;
  document.getElementById('outcome-ko').textContent = o.ko;
  document.getElementById('outcome-en').textContent = o.en;
  const reason = document.getElementById('outcome-reason');
  reason.textContent = '';
  const text = ev.outcome === 'rejected' ? reasonText(ev.reason) : o.hint;
  reason.append(text.ko);
  const en = document.createElement('span');
  en.className = 'en';
  en.textContent = text.en;
  reason.append(en);
  if (ev.outcome === 'rejected') overlay.dataset.reason = ev.reason || '';
  else delete overlay.dataset.reason;
  overlay.hidden = false;
  clearTimeout(hideTimer);
  hideTimer = setTimeout(() => { overlay.hidden = true; }, SHOW_MS);
}

function listen() {
  const es = new EventSource('api/events');
  es.addEventListener('open', () => { linkState.hidden = true; });
  es.addEventListener('error', () => {
    linkState.hidden = false;
    linkState.textContent = '게이트웨이와 연결이 끊겼습니다. 다시 연결 중… / Lost the gateway; reconnecting…';
  });
  es.addEventListener('outcome', (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (ev.kind === 'manual') return; // paper-register entries are not the visitor's scan
    showOutcome(ev);
  });
}

tick();
setInterval(tick, 250);
listen();
