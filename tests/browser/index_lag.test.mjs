// index_lag.test.mjs - the console on an index node (cluster mode), in
// Debian's chromium (headless, puppeteer-core), against the real daemons
// test_console_index_browser.sh started: an investigator searches the
// case by phone; the trace answer carries "index" (how far behind
// PostgreSQL the index node was), and the case bar of the timeline and
// of the contacts page says so in Korean and in English, with the time in
// Korea time; the contacts are the app check-ins the index node copied.
// No script error, no Content-Security-Policy violation.  Screenshots go
// to $ARTEFACTS.
import { createRequire } from 'node:module';
import path from 'node:path';
import { env, check, eq, step, checkCount } from './checks.mjs';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');

const URL = env('CONSOLE_URL');
const ARTEFACTS = env('ARTEFACTS');
const FROM = env('FROM');
const TO = env('TO');
const PHONE = env('CASE_PHONE');
const USER = env('USER_NAME');
const PASSWORD = env('USER_PASSWORD');
const TIMEOUT = 60000;

const problems = [];
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=ko-KR', '--no-first-run'],
  env: { ...process.env, TZ: 'America/New_York' },
  timeout: 60000,
});
const shot = (page, name) => page.screenshot({ path: path.join(ARTEFACTS, `${name}.png`), fullPage: true });
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console error: ${text}`);
    if (/Content Security Policy/i.test(text)) problems.push(`CSP violation: ${text}`);
  });

  step(1, 'log in and search the case by phone');
  await page.goto(`${URL}/`);
  await page.waitForSelector('input[name=username]', { visible: true });
  await page.type('input[name=username]', USER);
  await page.type('input[name=password]', PASSWORD);
  await page.click('form button[type=submit]');
  await page.waitForSelector('input[name=who]', { visible: true });
  await page.type('input[name=who]', PHONE);
  const setValue = (sel, v) => page.$eval(sel, (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }, v);
  await setValue('input[name=from]', FROM);
  await setValue('input[name=to]', TO);
  await page.type('input[name=reason]', '확진 통보 (클러스터)');
  await page.type('input[name=case_ref]', 'JEJU-2026-0200');
  const traced = page.waitForResponse((r) => r.url().endsWith('/api/trace'));
  await page.click('form button[type=submit]');
  const res = await traced;
  eq(res.status(), 200, 'POST /api/trace status');
  const trace = await res.json();
  await page.waitForSelector('#visits-table', { visible: true });

  step(2, 'the trace answer and the timeline say how far behind the index node is');
  check(trace.index && typeof trace.index === 'object', 'the answer carries "index"');
  eq(trace.index.behind, 0, 'the index node is caught up');
  check(trace.index.age_seconds >= 0 && trace.index.age_seconds <= 60, 'its reading is recent');
  eq(trace.contacts.map((c) => [c.order, c.source]), [[1, 'app']], 'the other wallet, by app, is the contact');
  const note = await page.$eval('.casebar .index-lag', (el) => ({ text: el.textContent, cls: el.className }));
  // "2026. 12. 06. 20:01:07": the reading's time in Korea time, to the second
  const kst = new Date(Date.parse(trace.index.read_at) + 9 * 3600 * 1000).toISOString().slice(11, 19);
  check(note.text.startsWith('인덱스 노드:') && note.text.includes('PostgreSQL을 모두 반영'), `the note, in Korean: ${note.text}`);
  check(note.text.includes(kst), `the note gives the reading's time in Korea time (${kst}): ${note.text}`);
  check(/이 조회 \d+초 전/.test(note.text), `the note says how long before the trace: ${note.text}`);
  check(note.cls.includes('notice-info'), 'caught up and recent: an information, not a warning');
  await shot(page, 'index-01-timeline-ko');

  step(3, 'the contacts page, in English');
  await page.goto(`${URL}/#/contacts`);
  await page.waitForSelector('#contacts-table', { visible: true });
  await page.click('#lang-toggle');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  await page.waitForSelector('.casebar .index-lag', { visible: true });
  const en = await page.$eval('.casebar .index-lag', (el) => el.textContent);
  check(en.startsWith('Index node: caught up with PostgreSQL at ') && en.includes(kst) &&
        /\(\d+ s before this trace\)\.$/.test(en), `the note, in English: ${en}`);
  await shot(page, 'index-02-contacts-en');
  eq(problems, [], 'no script error or CSP violation');
  console.log(`index_lag.test.mjs: ${checkCount()} checks passed`);
} finally {
  await browser.close();
}
