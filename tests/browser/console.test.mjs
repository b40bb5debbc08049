// console.test.mjs - the investigator console in Debian's chromium (headless,
// driven by puppeteer-core; no browser is downloaded), against the real
// anshim-consoled that test_console_browser.sh started.  The steps:
//   1 log in (by keyboard);  2 search the demo case by phone;
//   3 its timeline and contacts match 'anshim-cloud trace --json' row for row;
//   4 an investigator asks to reveal;  5 the same user cannot approve their
//   own request (nor can a supervisor approve theirs);  6 a supervisor
//   approves;  7 the names appear;  8 the three audit entries exist and
//   'anshim-cloud audit verify' finds the chain intact, the page shows the
//   log witnessed intact on the broker, then cut off (in red) with its last
//   entry cut, then intact again once restored;  9 the CSV export
//   escapes names that are formulas (=HYPERLINK(...), +1, -2, @x);
//   10 an analyst sees no reveal button and the API answers them 403.
// And: a second case's 600 contacts across the table's pages, row for row;
// the language switch, remembered; a break-glass reveal from the command
// line shown in red; a stopped gateway shown silent, first; a supervisor
// raising the alert level.
// On every page: no script error, no Content-Security-Policy violation,
// every form control labelled.  A screenshot of every page goes to
// $ARTEFACTS.  The browser runs in New York time: the pages must show
// Korea time anyway.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env, check, eq, step, checkCount } from './checks.mjs';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');
const WEB = path.resolve(path.dirname(new globalThis.URL(import.meta.url).pathname), '../../cloud/console/web');
const CATALOGS = [(await import(path.join(WEB, 'js/lang/ko.js'))).default, (await import(path.join(WEB, 'js/lang/en.js'))).default];

const URL = env('CONSOLE_URL');
const CLOUD_CONF = env('CLOUD_CONF');
const ARTEFACTS = env('ARTEFACTS');
const FROM = env('FROM');
const TO = env('TO');
const PHONE = env('CASE_PHONE_SPELLING');
const CROWD_PHONE = env('CROWD_PHONE');
// The command line runs as another Unix user than the console (whose
// requests the reveal service takes as the console's): CLI_AS an operator,
// BREAK_GLASS_AS a member of the break-glass group ("uid:gid").
const CLI_AS = env('CLI_AS');
const BREAK_GLASS_AS = env('BREAK_GLASS_AS');
function runCli(as, args) {
  const [uid, gid] = as.split(':');
  return execFileSync('setpriv', ['--reuid', uid, '--regid', gid, '--clear-groups', 'anshim-cloud', ...args],
    { env: { ...process.env, TZ: 'Asia/Seoul' }, encoding: 'utf8', cwd: '/' });
}
const USERS = Object.fromEntries(env('USERS').split(' ').map((u) => u.split(':')));
const NAMES = {
  '+821070000002': 'Park Bee',
  '+821070000003': '=HYPERLINK("http://evil.example/","click")',
  '+821070000011': '+1',
  '+821070000012': '-2',
  '+821070000013': '@x',
  '+821070000005': 'Eun Ee',
  '+821070000004': 'Dong Dee',
  '+821070000006': 'Fay Scan',
};
const REASON = 'PCR 양성 확진 통보';
const CASE_REF = 'JEJU-2026-0118';
const TIMEOUT = 60000; // a loaded machine: generous, and every wait is for a condition


const problems = [];
async function newPage(context, who) {
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(`${who}: script error: ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`${who}: console error: ${text}`);
    if (/Content Security Policy/i.test(text)) problems.push(`${who}: CSP violation: ${text}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTEFACTS, `${name}.png`), fullPage: true });
}

// Every visible form control has a label.
async function checkLabels(page, where) {
  const bare = await page.$$eval('input, select, textarea', (els) => els
    .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML.slice(0, 80)));
  eq(bare, [], `unlabelled controls on ${where}`);
}

async function go(page, route, selector) {
  // the same address again is no navigation: reload to see the page anew
  if (page.url() === `${URL}/#/${route}`) await page.reload();
  else await page.goto(`${URL}/#/${route}`);
  if (selector) await page.waitForSelector(selector, { visible: true });
  // focus follows the page: a new screen starts at its heading
  eq(await page.evaluate(() => document.activeElement && document.activeElement.tagName), 'H1', `the focus on #/${route} starts at its heading`);
}

// Reload the audit page until its witness box shows state (or TIMEOUT):
// the state shown; witnessHeadline its headline.
let witnessHeadline = '';
async function witnessShown(page, state) {
  const until = Date.now() + TIMEOUT;
  let shown = '';
  for (;;) {
    await go(page, 'audit', '#audit-witness');
    shown = await page.$eval('#audit-witness', (el) => el.dataset.state);
    witnessHeadline = await page.$eval('#audit-witness strong', (el) => el.textContent);
    if (shown === state || Date.now() > until) return shown;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// An API call from the page's session, with its CSRF token on POST.
async function api(page, method, p, body) {
  return page.evaluate(async (method, p, body) => {
    const me = await fetch('/api/me', { credentials: 'same-origin' });
    const csrf = me.ok ? (await me.json()).csrf : '';
    const init = { method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } };
    if (method === 'POST') init.body = JSON.stringify(body || {});
    const r = await fetch(p, init);
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* CSV or empty */ }
    return { status: r.status, json, text };
  }, method, p, body || null);
}

async function login(page, name) {
  await page.goto(`${URL}/`);
  await page.waitForSelector('input[name=username]', { visible: true });
  // Keyboard only: Tab from the top of the page to the name field.
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  let tabs = 0;
  while (tabs < 10 && !(await page.evaluate(() => document.activeElement && document.activeElement.name === 'username'))) {
    await page.keyboard.press('Tab');
    tabs += 1;
  }
  check(tabs < 10, `the name field is reachable by Tab for ${name}`);
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  eq(await page.evaluate(() => document.activeElement.name), 'password', 'Tab goes from the name to the password');
  await page.keyboard.type(USERS[name]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('input[name=who]', { visible: true });
  eq(await page.$eval('.who-name', (el) => el.textContent), name, 'the masthead names the user');
}

// Search the case in the form, as a user would; the console's trace answer.
async function searchCase(page, phone) {
  await go(page, 'search', 'input[name=who]');
  await page.$eval('input[name=who]', (el) => { el.value = ''; });
  await page.type('input[name=who]', phone || PHONE);
  const setValue = (sel, v) => page.$eval(sel, (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }, v);
  await setValue('input[name=from]', FROM);
  await setValue('input[name=to]', TO);
  await page.select('select[name=depth]', '2');
  await setValue('input[name=min_overlap]', '15');
  await setValue('input[name=incubation]', '14');
  await setValue('input[name=reason]', '');
  await page.type('input[name=reason]', REASON);
  await setValue('input[name=case_ref]', '');
  await page.type('input[name=case_ref]', CASE_REF);
  const traced = page.waitForResponse((r) => r.url().endsWith('/api/trace'));
  await page.click('form button[type=submit]');
  const res = await traced;
  eq(res.status(), 200, 'POST /api/trace status');
  const trace = await res.json();
  await page.waitForSelector('#visits-table', { visible: true });
  return trace;
}

function cliTrace(pid) {
  return JSON.parse(runCli(CLI_AS, ['trace', '--config', CLOUD_CONF, '--pid', pid, '--from', FROM, '--to', TO,
    '--depth', '2', '--min-overlap', '15', '--incubation', '14', '--json', '--reason', '같은 사례, 명령줄로 비교']));
}

const hhmm = (iso) => iso.slice(11, 16);

// The contacts table's rows on every page, turning the pages with "next".
async function allContactRows(page) {
  const rows = [];
  for (let pages = 0; pages < 50; pages++) {
    rows.push(...await page.$$eval('#contacts-table tbody tr.contact-row', (trs) => trs.map((tr) => {
      const d = tr.dataset;
      const name = tr.querySelector('td.name-cell'), phone = tr.querySelector('td.phone-cell');
      return {
        pid: d.pid, order: Number(d.order), venue: Number(d.venue), start: d.start, end: d.end,
        overlap: Number(d.overlap), period: Number(d.period), risk: d.risk, via: d.via, source: d.source,
        extra: Number(d.extra), cells: [...tr.children].map((td) => td.textContent),
        name: name ? name.textContent : null, phone: phone ? phone.dataset.phone : null, shown: phone ? phone.textContent : null,
      };
    })));
    const next = await page.$('.pager button:last-child');
    if (!next || await page.$eval('.pager', (el) => el.hidden) || await next.evaluate((b) => b.disabled)) return rows;
    await next.click();
  }
  throw new Error('the contacts table has more than 50 pages');
}

function expectContacts(rows, cli, what) {
  eq(rows.length, cli.contacts.length, `${what}: contact rows = CLI contacts`);
  cli.contacts.forEach((c, i) => {
    const r = rows[i];
    eq([r.pid, r.order, r.venue, r.start, r.end, r.overlap, r.period, r.risk, r.via, r.source, r.extra],
      [c.pid, c.order, c.venue, c.start, c.end, c.overlap_minutes, c.period_overlap_minutes, c.risk, c.via, c.source, c.headcount_extra || 0],
      `${what}: contact ${i + 1}`);
  });
}

// RFC 4180 CSV into rows of cells.
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i += 1; continue; }
      cell += c; i += 1; continue;
    }
    if (c === '"') { quoted = true; i += 1; continue; }
    if (c === ',') { row.push(cell); cell = ''; i += 1; continue; }
    if (c === '\r' && text[i + 1] === '\n') { i += 1; continue; }
    if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i += 1; continue; }
    cell += c; i += 1;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

async function waitForFile(dir, deadlineMs) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const files = fs.readdirSync(dir).filter((f) => !f.endsWith('.crdownload'));
    if (files.length) return path.join(dir, files[0]);
    if (Date.now() > end) throw new Error(`no file was downloaded into ${dir} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--lang=ko-KR', '--no-first-run'],
  env: { ...process.env, TZ: 'America/New_York' },
  timeout: 60000,
});
try {
  // ---- 1: log in ----
  step(1, 'log in');
  const invCtx = browser.defaultBrowserContext();
  const inv = await newPage(invCtx, 'inv.lee');
  await inv.goto(`${URL}/`);
  await inv.waitForSelector('input[name=username]', { visible: true });
  eq(await inv.evaluate(() => document.documentElement.lang), 'ko', 'Korean by default');
  await checkLabels(inv, 'the login page');
  // a wrong password: refused, said so
  await inv.type('input[name=username]', 'inv.lee');
  await inv.type('input[name=password]', 'not-the-password');
  await inv.click('form button[type=submit]');
  await inv.waitForSelector('.login-panel .notice-error', { visible: true });
  await shot(inv, '01-login');
  await login(inv, 'inv.lee');

  // ---- 2: search the case by phone ----
  step(2, 'search the case by phone');
  await checkLabels(inv, 'the search page');
  await shot(inv, '02-search');
  const trace = await searchCase(inv);
  check(/^[0-9a-f]{32}$/.test(trace.case.pid), 'the case pid');
  check(Number.isInteger(trace.audit_seq), 'the trace answer names its audit entry');
  // The test's phones in any spelling; a bare "7000" could be part of a hex id.
  check(!/10[- ]?7[02]00[- ]?\d{4}/.test(JSON.stringify(trace)), 'no phone in the trace answer');
  // An embedded store: nothing of an index node (test_console_index_browser.sh has one).
  check(!('index' in trace), 'no "index" in the answer of an embedded store');
  eq(await inv.$$eval('.index-lag', (x) => x.length), 0, 'no index-node note on an embedded store');
  await shot(inv, '03-timeline');

  // ---- 3: timeline and contacts match the CLI row for row ----
  step(3, 'the timeline and the contacts match anshim-cloud trace --json');
  const cli = cliTrace(trace.case.pid);
  eq(cli.case.pid, trace.case.pid, 'same case');
  const visitRows = await inv.$$eval('#visits-table tbody tr', (trs) => trs.map((tr) => ({
    start: tr.dataset.start, end: tr.dataset.end, venue: Number(tr.dataset.venue), source: tr.dataset.source,
    time: tr.children[2].textContent, venueText: tr.children[3].textContent, category: tr.children[4].textContent,
  })));
  eq(visitRows.length, cli.visits.length, 'timeline rows = CLI visits');
  check(cli.visits.length === 2, 'the case has two visits in the window');
  cli.visits.forEach((v, i) => {
    const r = visitRows[i];
    eq([r.start, r.end, r.venue, r.source], [v.start, v.end, v.venue, v.source], `visit ${i + 1}`);
    eq(r.time, `${hhmm(v.start)}–${hhmm(v.end)}`, `visit ${i + 1} shown in Korea time`);
    check(r.venueText.includes(v.venue_name), `visit ${i + 1} names its venue`);
    eq(r.category, { cafe: '카페', museum: '박물관' }[v.venue_category], `visit ${i + 1}: the venue's category, in Korean`);
  });
  eq(await inv.$$eval('svg.timeline g.visit', (gs) => gs.length) >= cli.visits.length, true, 'one bar per visit in the SVG timeline');
  eq(await inv.$eval('svg.timeline', (el) => el.getAttribute('role')), 'img', 'the timeline is a labelled image');

  await go(inv, 'contacts', '#contacts-table');
  await inv.select('.filters select[id^=psize]', '500');
  const contactRows = await allContactRows(inv);
  eq(cli.contacts.length, 8, 'the demo case has 8 contacts');
  expectContacts(contactRows, cli, 'the demo case');
  cli.contacts.forEach((c, i) => {
    const r = contactRows[i];
    eq(r.cells[0], String(c.order), `contact ${i + 1}: order shown`);
    check(r.cells[1].includes(c.venue_name), `contact ${i + 1}: venue shown`);
    eq(r.cells[4], `${c.period_overlap_minutes}분`, `contact ${i + 1}: exposure in the period shown`);
    eq(r.cells[5], `${c.overlap_minutes}분`, `contact ${i + 1}: total exposure shown`);
    check(r.cells[6].startsWith(c.risk === 'high' ? '고위험' : '저위험'), `contact ${i + 1}: risk shown`);
    check(r.cells[3].includes(hhmm(c.start)), `contact ${i + 1}: first exposure in Korea time`);
  });
  eq(await inv.$$eval('#contacts-table tbody tr.group-row', (x) => x.length) > 1, true, 'grouped by order and venue');
  eq(await inv.$$eval('svg.graph g.node', (x) => x.length), cli.contacts.length + 1, 'the exposure graph has the case and every contact');
  eq(await inv.$$eval('svg.graph path.edge', (x) => x.length), cli.contacts.length, 'one edge per contact, from its via');
  // sorting: by total exposure, descending, by the header button
  await inv.click('#contacts-table th[data-key=overlap_minutes] button');
  await inv.click('#contacts-table th[data-key=overlap_minutes] button');
  eq(await inv.$eval('#contacts-table th[data-key=overlap_minutes]', (th) => th.getAttribute('aria-sort')), 'descending', 'aria-sort');
  const sortedOverlaps = await inv.$$eval('#contacts-table tbody tr.contact-row', (trs) => trs.map((tr) => Number(tr.dataset.overlap)));
  // grouped: descending within each order and venue group
  const groups = await inv.$$eval('#contacts-table tbody tr.contact-row', (trs) => trs.map((tr) => `${tr.dataset.order}|${tr.dataset.venue}`));
  for (let i = 1; i < sortedOverlaps.length; i++) {
    if (groups[i] === groups[i - 1]) check(sortedOverlaps[i] <= sortedOverlaps[i - 1], 'sorted by total exposure, descending, within a group');
  }
  // filtering: high risk only
  await inv.select('.filters select[name=risk]', 'high');
  const highRows = await inv.$$eval('#contacts-table tbody tr.contact-row', (trs) => trs.map((tr) => tr.dataset.risk));
  eq(highRows.length, cli.contacts.filter((c) => c.risk === 'high').length, 'the risk filter');
  await inv.select('.filters select[name=risk]', '');
  await inv.select('.filters select[id^=psize]', '100');

  await checkLabels(inv, 'the contacts page');
  await shot(inv, '04-contacts');

  // a case with 600 contacts: the table pages past 500 rows
  const crowd = await searchCase(inv, CROWD_PHONE);
  const crowdCli = cliTrace(crowd.case.pid);
  eq(crowdCli.contacts.length, 600, 'the crowd case has 600 contacts');
  await go(inv, 'contacts', '#contacts-table');
  await inv.select('.filters select[id^=psize]', '500');
  eq(await inv.$eval('.pager .page-of', (el) => el.textContent), '2쪽 중 1쪽', 'two pages of 500 rows');
  eq(await inv.$$eval('#contacts-table tbody tr.contact-row', (x) => x.length), 500, '500 rows on the first page');
  expectContacts(await allContactRows(inv), crowdCli, 'the crowd case, page by page');
  eq(await inv.$eval('.pager .page-of', (el) => el.textContent), '2쪽 중 2쪽', 'the last page');
  eq(await inv.$eval('svg.graph .graph-more', (el) => el.textContent), '외 560명', 'the graph draws 40 people of a column and counts the rest');
  await shot(inv, '04b-contacts-page-2');

  // the language: English one click away, remembered
  await inv.click('#lang-toggle');
  await inv.waitForFunction(() => document.documentElement.lang === 'en');
  eq(await inv.$eval('h1', (el) => el.textContent), 'Contacts', 'English page heading');
  await shot(inv, '04c-contacts-english');
  await inv.reload();
  await inv.waitForSelector('h1');
  eq(await inv.evaluate(() => document.documentElement.lang), 'en', 'the language is remembered');
  await inv.click('#lang-toggle');
  await inv.waitForFunction(() => document.documentElement.lang === 'ko');
  // the reload dropped the case from memory: trace it again
  await searchCase(inv);
  await go(inv, 'contacts', '#contacts-table');

  // ---- 4: the investigator asks to reveal ----
  step(4, 'an investigator asks to reveal');
  await inv.click('#reveal-ask');
  await inv.waitForSelector('#reveal-form', { visible: true });
  eq(await inv.$eval('#reveal-reason', (el) => el.value), REASON, 'the reason carries over');
  eq(await inv.$eval('#reveal-case-ref', (el) => el.value), CASE_REF, 'the case reference carries over');
  const asked = inv.waitForResponse((r) => r.url().endsWith('/api/reveals/ask'));
  await inv.click('#reveal-form button[type=submit]');
  const askRes = await asked;
  eq(askRes.status(), 200, 'POST /api/reveals/ask status');
  const requestId = (await askRes.json()).id;
  check(Number.isInteger(requestId) && requestId > 0, 'a request id');
  await inv.waitForSelector('#reveal-form .notice-ok', { visible: true });
  check((await inv.$eval('#reveal-form .notice-ok', (el) => el.textContent)).includes(String(requestId)), 'the request id is shown');

  // ---- 5: the same user cannot approve their own request ----
  step(5, 'the asker cannot approve their own request');
  await go(inv, 'reveals', '#reveals-table');
  check(await inv.$(`#reveals-table tr[data-id="${requestId}"]`) !== null, 'the request is listed for its asker');
  eq(await inv.$$eval('button.approve, button.refuse', (b) => b.length), 0, 'an investigator has no approve button');
  const selfDecide = await api(inv, 'POST', '/api/reveals/decide', { id: requestId, approve: true, reason: 'self' });
  eq(selfDecide.status, 403, 'the API refuses the asker (an investigator) approving their own request');
  // a supervisor's own request: no button, and the API refuses it (409)
  const supKimCtx = await browser.createBrowserContext();
  const supKim = await newPage(supKimCtx, 'sup.kim');
  await login(supKim, 'sup.kim');
  const ownAsk = await api(supKim, 'POST', '/api/reveals/ask', {
    pid: trace.case.pid, from: FROM, to: TO, depth: 2, reason: '야간 연락 준비', case_ref: CASE_REF,
  });
  eq(ownAsk.status, 200, 'a supervisor may ask');
  const ownId = ownAsk.json.id;
  await go(supKim, 'reveals', '#reveals-table');
  check(await supKim.$(`#reveals-table tr[data-id="${ownId}"]`) !== null, 'the supervisor sees their own request');
  eq(await supKim.$$eval(`button.approve[data-id="${ownId}"]`, (b) => b.length), 0, 'no approve button on one\'s own request');
  check(await supKim.$(`button.approve[data-id="${requestId}"]`) !== null, 'but one on the investigator\'s request');
  const ownDecide = await api(supKim, 'POST', '/api/reveals/decide', { id: ownId, approve: true, reason: 'self' });
  eq(ownDecide.status, 409, 'the API refuses a supervisor approving their own request');
  await supKimCtx.close();

  // ---- 6: a supervisor approves ----
  step(6, 'a supervisor approves');
  const supCtx = await browser.createBrowserContext();
  const sup = await newPage(supCtx, 'sup.park');
  await login(sup, 'sup.park');
  await go(sup, 'reveals', `button.approve[data-id="${requestId}"]`);
  await checkLabels(sup, 'the approval queue');
  await shot(sup, '05-reveals');
  await sup.click(`button.approve[data-id="${requestId}"]`);
  await sup.waitForSelector('#decision-reason', { visible: true });
  eq(await sup.evaluate(() => document.activeElement.id), 'decision-reason', 'focus moves to the decision');
  await sup.type('#decision-reason', '오늘 안에 접촉자 연락');
  const decided = sup.waitForResponse((r) => r.url().endsWith('/api/reveals/decide'));
  await sup.click('#decision-confirm');
  eq((await decided).status(), 200, 'POST /api/reveals/decide status');
  await sup.waitForSelector('main .notice-ok', { visible: true });
  // and refuses the other supervisor's request: a reason is required
  await go(sup, 'reveals', `button.refuse[data-id="${ownId}"]`);
  await sup.click(`button.refuse[data-id="${ownId}"]`);
  await sup.waitForSelector('#decision-reason', { visible: true });
  await sup.click('#decision-confirm');
  eq(await sup.evaluate(() => document.activeElement.id), 'decision-reason', 'a refusal without a reason stays, at the reason');
  await sup.type('#decision-reason', '사건 번호 확인 필요');
  const refused = sup.waitForResponse((r) => r.url().endsWith('/api/reveals/decide'));
  await sup.click('#decision-confirm');
  eq((await refused).status(), 200, 'POST /api/reveals/decide (refuse) status');
  await sup.waitForSelector('main .notice-ok', { visible: true });
  const all = await api(sup, 'GET', '/api/reveals?state=all');
  const req = all.json.requests.find((r) => r.id === requestId);
  eq(req && req.state, 'approved', 'the request is approved');
  eq(all.json.requests.find((r) => r.id === ownId).state, 'refused', 'the other request is refused');

  // ---- 7: the names appear ----
  step(7, 'the names appear for the asker');
  await go(inv, 'reveals', `a.open-reveal[data-id="${requestId}"]`);
  await inv.click(`a.open-reveal[data-id="${requestId}"]`);
  await inv.waitForSelector('#contacts-table td.personal', { visible: true });
  await inv.select('.filters select[id^=psize]', '500');
  const revealed = await allContactRows(inv);
  eq(revealed.length, cli.contacts.length, 'every contact revealed');
  for (const r of revealed) {
    check(r.phone in NAMES, `revealed phone ${r.phone} is one of the demo's contacts`);
    eq(r.name, NAMES[r.phone], `the name of ${r.phone}`);
    eq(r.shown, `010-${r.phone.slice(5, 9)}-${r.phone.slice(9)}`, `${r.phone} shown as dialled in Korea`);
  }
  eq(new Set(revealed.map((r) => r.phone)).size, cli.contacts.length, 'each contact once');
  eq(revealed.map((r) => r.pid), cli.contacts.map((c) => c.pid), 'the revealed rows are the trace\'s contacts, in its order');
  check(await inv.$('.notice-personal') !== null, 'the personal-data warning');
  await shot(inv, '06-revealed');

  // ---- 8: the audit entries and the chain ----
  step(8, 'the three audit entries, and audit verify');
  await go(sup, 'audit', '#audit-verify');
  check(await sup.$('#audit-verify.verify-ok') !== null, 'the console shows the chain intact');
  // beside it, the witness: the log holds the head anshim-cloudd witnessed
  // on the broker (the console keeps a fetched head up to 30 s)
  eq(await witnessShown(sup, 'intact'), 'intact', 'the audit page shows the witness intact');
  check(await sup.$('#audit-witness.verify-ok') !== null, 'the witness intact is styled as the chain intact');
  check(CATALOGS.some((c) => c.audit_witness_intact === witnessHeadline), `the witness headline: ${witnessHeadline}`);
  const audit = await api(sup, 'GET', '/api/audit');
  eq(audit.status, 200, 'GET /api/audit status');
  eq(audit.json.verify.intact, true, 'the API says the chain is intact');
  const seqOf = (e) => e.seq ?? e.entry;
  const ask = audit.json.entries.find((e) => e.action === 'ask' && seqOf(e) === requestId);
  const approve = audit.json.entries.find((e) => e.action === 'approve' && e.request === requestId);
  const reveal = audit.json.entries.find((e) => e.action === 'reveal' && e.request === requestId);
  check(ask && ask.who === 'inv.lee', 'the ask entry, by the investigator');
  check(approve && approve.who === 'sup.park', 'the approve entry, by the supervisor');
  check(reveal && reveal.who === 'inv.lee', 'the reveal entry, for the investigator');
  for (const a of ['ask', 'approve', 'reveal']) {
    check(await sup.$(`#audit-table tr[data-action="${a}"]`) !== null, `the audit page lists the ${a} entry`);
  }
  // a break-glass reveal from the command line: red in the queue and the log
  runCli(BREAK_GLASS_AS, ['trace', '--config', CLOUD_CONF, '--pid', trace.case.pid, '--from', FROM, '--to', TO,
    '--reveal', '--json', '--reason', '야간 긴급 연락', '--case-ref', CASE_REF]);
  await go(sup, 'audit', '#audit-verify');
  const bgRow = await sup.$('#audit-table tr.row-break-glass[data-action="break-glass"]');
  check(bgRow !== null, 'the audit page lists the break-glass entry');
  eq(await bgRow.evaluate((tr) => getComputedStyle(tr.querySelector('td')).backgroundColor), 'rgb(253, 236, 234)', 'the break-glass entry is red');
  check(await sup.$('#audit-verify.verify-ok') !== null, 'the chain is still intact');
  // the log is the reveal service's (mode 0600): verified as its owner
  const verify = execFileSync('anshim-cloud', ['audit', 'verify', '--config', CLOUD_CONF], { encoding: 'utf8' });
  check(/chain intact/.test(verify), `anshim-cloud audit verify: ${verify.trim()}`);
  await checkLabels(sup, 'the audit page');
  await shot(sup, '07-audit');
  // the last entry cut off the log: the chain still verifies, the witness
  // says cut off, in red; restored, intact again
  const until = Date.now() + TIMEOUT;
  let w = (await api(sup, 'GET', '/api/audit')).json.verify;
  while (!(w.witness.state === 'intact' && w.witness.seq === w.entries) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    w = (await api(sup, 'GET', '/api/audit')).json.verify;
  }
  eq([w.witness.state, w.witness.seq], ['intact', w.entries], 'the witnessed head is the last entry');
  const logPath = env('AUDIT_LOG');
  const good = fs.readFileSync(logPath);
  const lines = good.toString('utf8').split('\n').filter((l) => l.length);
  fs.writeFileSync(logPath, `${lines.slice(0, -1).join('\n')}\n`);
  try {
    eq(await witnessShown(sup, 'cut'), 'cut', 'the audit page shows the witness cut off');
    check(await sup.$('#audit-verify.verify-ok') !== null, 'the chain alone still verifies');
    check(await sup.$('#audit-witness.verify-bad[role="alert"]') !== null, 'the cut is an alert, styled as a broken chain');
    check(CATALOGS.some((c) => c.audit_witness_cut === witnessHeadline), `the cut headline: ${witnessHeadline}`);
    await shot(sup, '07-audit-cut');
  } finally {
    fs.writeFileSync(logPath, good);
  }
  eq(await witnessShown(sup, 'intact'), 'intact', 'restored: the witness intact again');
  await go(sup, 'reveals', '#reveals-table');
  const bgQueue = await sup.$$eval('#break-glass-table tr.row-break-glass', (trs) => trs.map((tr) => getComputedStyle(tr.querySelector('td')).color));
  eq(bgQueue.length, 1, 'the break-glass reveal under the approval queue');
  eq(bgQueue[0], 'rgb(122, 26, 20)', 'in red');
  await sup.click('#rv-mode-all');
  await sup.waitForFunction(() => document.querySelectorAll('#reveals-table tbody tr[data-id]').length >= 2);
  await shot(sup, '07b-reveals-break-glass');

  // ---- 9: the CSV export escapes formulas ----
  step(9, 'the CSV export escapes cells that a spreadsheet would run');
  const downloads = fs.mkdtempSync(path.join(ARTEFACTS, 'download-'));
  const cdp = await inv.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
  await go(inv, `reveal/${requestId}`, '#contacts-table td.personal');
  await inv.click('#export-csv');
  const file = await waitForFile(downloads, TIMEOUT);
  const rows = parseCsv(fs.readFileSync(file, 'utf8'));
  const header = rows[0];
  check(header.includes('name') && header.includes('phone'), `the CSV has name and phone columns: ${header}`);
  const nameCol = header.indexOf('name');
  const body = rows.slice(1).filter((r) => r.length > 1);
  eq(body.length, cli.contacts.length, 'one CSV row per contact');
  const names = body.map((r) => r[nameCol]).sort();
  for (const bad of ['=HYPERLINK("http://evil.example/","click")', '+1', '-2', '@x']) {
    check(names.includes(`'${bad}`), `the name ${bad} is written as '${bad}`);
    check(!names.includes(bad), `the name ${bad} is never written bare`);
  }
  check(names.includes('Park Bee'), 'a plain name is written as it is');
  for (const r of body) {
    for (const cell of r) {
      check(!/^[=+\-@]/.test(cell), `a CSV cell a spreadsheet would run: ${cell}`);
      check(!/[\t\r]/.test(cell) || cell.startsWith("'"), `a CSV cell with a tab or CR not escaped: ${cell}`);
    }
  }
  await cdp.detach();

  // ---- 10: an analyst ----
  step(10, 'an analyst sees no reveal button and the API refuses them');
  const anaCtx = await browser.createBrowserContext();
  const ana = await newPage(anaCtx, 'ana.choi');
  await login(ana, 'ana.choi');
  await searchCase(ana);
  eq(await ana.$('#reveal-ask'), null, 'no reveal button on the timeline');
  await go(ana, 'contacts', '#contacts-table');
  eq(await ana.$('#reveal-ask'), null, 'no reveal button on the contacts');
  eq(await ana.$('a[href="#/reveals"]'), null, 'no reveal requests in the analyst\'s navigation');
  eq(await ana.$('a[href="#/audit"]'), null, 'no audit log in the analyst\'s navigation');
  await shot(ana, '08-analyst-contacts');
  eq((await api(ana, 'POST', '/api/reveals/ask', { pid: trace.case.pid, from: FROM, to: TO, reason: 'analyst' })).status, 403, 'ask as analyst');
  eq((await api(ana, 'GET', '/api/reveals?state=all')).status, 403, 'list requests as analyst');
  eq((await api(ana, 'POST', '/api/reveals/open', { id: requestId })).status, 403, 'open as analyst');
  eq((await api(ana, 'POST', '/api/reveals/decide', { id: requestId, approve: false, reason: 'x' })).status, 403, 'decide as analyst');
  eq((await api(ana, 'GET', '/api/audit')).status, 403, 'the audit log as analyst');
  await anaCtx.close();

  // gateways: stop gateway A; once it is silent it comes first, marked
  // (on a loaded machine gateway B may miss a heartbeat and show silent
  // for a moment too: the order is checked, not that B is heard)
  const gatewayRows = () => sup.$$eval('#gateways-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.gateway, tr.dataset.status]));
  await go(sup, 'gateways', '#gateways-table');
  eq((await gatewayRows()).length, 2, 'both gateways listed');
  process.kill(Number(env('GW_A_PID')), 'SIGTERM');
  const silentBy = Date.now() + TIMEOUT;
  for (;;) {
    await go(sup, 'gateways', '#gateways-table');
    const rows = await gatewayRows();
    if (rows.some(([id, st]) => id === env('GW_A_ID') && st === 'silent')) {
      const firstHeard = rows.findIndex(([, st]) => st !== 'silent');
      check(firstHeard === -1 || rows.slice(firstHeard).every(([, st]) => st !== 'silent'), `silent gateways first: ${JSON.stringify(rows)}`);
      break;
    }
    if (Date.now() > silentBy) throw new Error(`gateway A was not shown silent within the deadline: ${JSON.stringify(rows)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  check(await sup.$('.notice-warn') !== null, 'a warning names the silent gateways');
  await shot(sup, '09-gateways');
  await go(sup, 'policy', '#policy-table');
  eq(await sup.$eval('.level-n', (el) => el.textContent), '3', 'the alert level in force');
  await checkLabels(sup, 'the policy page');
  // a supervisor raises the alert level: confirmed, signed, published
  const historyBefore = await sup.$$eval('#policy-table tbody tr', (trs) => trs.length);
  await sup.select('#policy-level', '4');
  sup.once('dialog', (d) => d.accept());
  const set = sup.waitForResponse((r) => r.url().endsWith('/api/policy') && r.request().method() === 'POST');
  await sup.click('form.panel button[type=submit]');
  eq((await set).status(), 200, 'POST /api/policy status');
  await sup.waitForFunction(() => document.querySelector('.level-n') && document.querySelector('.level-n').textContent === '4');
  eq(await sup.$$eval('#policy-table tbody tr', (trs) => trs.length), historyBefore + 1, 'the new policy heads the history');
  await shot(sup, '10-policy');
  await supCtx.close();

  eq(problems, [], 'script errors or CSP violations in the pages');
  console.log(`PASS: console.test.mjs (${checkCount()} checks)`);
} catch (e) {
  console.error(`FAIL: ${e.message}`);
  if (problems.length) console.error(problems.join('\n'));
  process.exitCode = 1;
} finally {
  await browser.close();
}
