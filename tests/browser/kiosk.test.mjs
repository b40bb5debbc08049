// kiosk.test.mjs - the gateway's staff screen in Debian's chromium
// (headless, driven by puppeteer-core; no browser is downloaded), against
// the real anshim-gatewayd that test_kiosk_browser.sh started, at the size
// of the Raspberry Pi's 7-inch touchscreen (800x480).  The checks:
//   1 the kiosk shows a code that zbarimg decodes from a screenshot and
//     'anshim-gw verify-code' accepts;
//   2 after a slot the code changes without a page reload;
//   3 a scan through the socket source shows the green outcome, a second
//     scan of the same visitor amber, a forged pass red with its reason in
//     Korean and English, and, once the authority lowers the alert level,
//     a scan grey (not collecting); each goes away after 2 seconds;
//   4 staff log in with the PIN; 5 wrong PINs lock the device out (even
//     the right PIN is then refused), while the session already open
//     stays;
//   5 a register entry typed in the form (first with a bad phone, marked
//     and asked again) is recorded, reaches the cloud and is found by
//     'anshim-cloud trace';
//   6 a CSV upload with 2 bad rows reports them by line;
//   7 (with the script) every HTTP response body is saved to
//     responses.txt, for the script to search for names and phones; here,
//     the register's answers are checked to hold neither.
// And on every page: no script error and no Content-Security-Policy
// violation; the status page says what is wrong in plain words.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { env, check, eq, step, checkCount } from './checks.mjs';

const require = createRequire(import.meta.url);
const puppeteer = require('puppeteer-core');

const URL = env('GW_URL');
const GW_CONF = env('GW_CONF');
const CLOUD_CONF = env('CLOUD_CONF');
const ARTEFACTS = env('ARTEFACTS');
const PIN = env('PIN');
const WALLET = env('WALLET_DIR');
const CSV_FILE = env('CSV_FILE');
const SLOT = Number(env('SLOT_SECONDS'));
const FROM = env('FROM');
const TO = env('TO');
const TIMEOUT = 60000; // a loaded machine: generous; every wait is for a condition
const TYPED = { name: 'Han Form', phone: '010-7300-0001' };
const SECRETS = [TYPED.name, TYPED.phone, '01073000001', '+821073000001', 'Upload One', '010-7500-0001'];

const sleepless = (ms) => new Promise((r) => setTimeout(r, ms)); // only to poll, never to synchronise

const responses = fs.openSync(path.join(ARTEFACTS, 'responses.txt'), 'w');
const problems = [];
async function newPage(context, what) {
  const page = await context.newPage();
  await page.setViewport({ width: 800, height: 480 });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => problems.push(`${what}: page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4(01|22|29)/.test(m.text()))
      problems.push(`${what}: console error: ${m.text()}`);
  });
  page.on('response', async (r) => {
    if (r.url().includes('/api/events')) return; // a stream: never ends
    try {
      const body = await r.text();
      fs.writeSync(responses, `--- ${r.status()} ${r.url()}\n${body}\n`);
    } catch (e) { /* a redirect or a body already gone */ }
  });
  return page;
}
async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTEFACTS, name) });
}
function run(cmd, args) {
  return execFileSync(cmd, args, { encoding: 'utf8', env: { ...process.env, TZ: 'Asia/Seoul' } });
}
function decode(file) {
  return run('zbarimg', ['--nodbus', '--raw', '-q', file]).trim();
}
function verifyCode(text) {
  try {
    return { ok: true, out: run('anshim-gw', ['verify-code', '--config', GW_CONF, text]) };
  } catch (e) {
    return { ok: false, out: String(e.stdout) + String(e.stderr) };
  }
}
function scan(text) {
  try {
    return run('anshim-gw', ['scan', '--config', GW_CONF, text]).trim();
  } catch (e) {
    return String(e.stdout).trim();
  }
}
function pass() {
  return run('anshim-wallet', ['pass', '--dir', WALLET, '--format', 'text']).trim();
}
// One Base45 character moved by one in the alphabet, inside the part the
// issuer's signature covers: a forged pass that still parses.
function forge(text, i) {
  const A = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
  const c = A.indexOf(text[i]);
  return text.slice(0, i) + (c > 0 ? A[c - 1] : A[c + 1]) + text.slice(i + 1);
}

const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--lang=ko-KR', '--font-render-hinting=none'],
});
try {
  // ---- the kiosk --------------------------------------------------------
  const kctx = await browser.createBrowserContext();
  const kiosk = await newPage(kctx, 'kiosk');
  await kiosk.goto(URL + 'kiosk', { waitUntil: 'load' });
  await kiosk.waitForFunction(() => {
    const img = document.getElementById('code');
    return !img.hidden && img.complete && img.naturalWidth > 0;
  });

  step(1, 'the code on the screen decodes and verifies');
  // Take the shot early in a slot, so the code is current when verified.
  await kiosk.waitForFunction((s) => Number(document.getElementById('countdown').textContent) >= s - 2, {}, SLOT);
  await shot(kiosk, 'kiosk-code.png');
  const text1 = decode(path.join(ARTEFACTS, 'kiosk-code.png'));
  check(text1.startsWith('AV1:'), `zbarimg decoded a venue code from the screenshot (got '${text1.slice(0, 12)}')`);
  const v1 = verifyCode(text1);
  check(v1.ok && /valid/.test(v1.out), `anshim-gw verify-code accepts the kiosk's code: ${v1.out}`);
  const slot1 = await kiosk.$eval('#code', (img) => img.dataset.slot);
  const left = Number(await kiosk.$eval('#countdown', (e) => e.textContent));
  check(left >= 1 && left <= SLOT, `the seconds left are shown (${left} of ${SLOT})`);

  step(2, 'after a slot the code changes without a reload');
  await kiosk.evaluate(() => { window.__sameDocument = true; });
  await kiosk.waitForFunction((s) => document.getElementById('code').dataset.slot !== s &&
    document.getElementById('code').complete, { timeout: (SLOT * 3 + 10) * 1000 }, slot1);
  check(await kiosk.evaluate(() => window.__sameDocument === true), 'the page was not reloaded');
  const slot2 = await kiosk.$eval('#code', (img) => img.dataset.slot);
  eq(Number(slot2) - Number(slot1) >= SLOT, true, 'the new code is for a later slot');
  await kiosk.waitForFunction((s) => Number(document.getElementById('countdown').textContent) >= s - 2, {}, SLOT);
  await shot(kiosk, 'kiosk-code-next.png');
  const text2 = decode(path.join(ARTEFACTS, 'kiosk-code-next.png'));
  check(text2 !== text1, 'the decoded code changed');
  check(verifyCode(text2).ok, 'the next code verifies too');

  step(3, 'scans: accepted green, duplicate amber, forged red with the reason');
  const GREEN = 'rgb(22, 128, 60)', AMBER = 'rgb(184, 110, 0)', RED = 'rgb(179, 38, 30)', GREY = 'rgb(95, 99, 104)';
  async function outcomeShown(outcome, color, file) {
    await kiosk.waitForFunction((o) => {
      const el = document.getElementById('outcome');
      return !el.hidden && el.dataset.outcome === o;
    }, {}, outcome);
    const bg = await kiosk.$eval('#outcome', (el) => getComputedStyle(el).backgroundColor);
    eq(bg, color, `${outcome}: the screen's colour`);
    const box = await kiosk.$eval('#outcome', (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; });
    eq(box, [800, 480], `${outcome}: the outcome fills the screen`);
    if (file) await shot(kiosk, file);
    const shownAt = Date.now();
    await kiosk.waitForFunction(() => document.getElementById('outcome').hidden, { timeout: 10000 });
    const shownFor = Date.now() - shownAt;
    check(shownFor < 6000, `${outcome}: hidden again after about 2 s (${shownFor} ms after it was seen)`);
  }
  eq(scan(pass()), 'accepted', 'a fresh pass through the socket source');
  await outcomeShown('accepted', GREEN, 'kiosk-accepted.png');
  eq(scan(pass()), 'duplicate', 'the same visitor again');
  await outcomeShown('duplicate', AMBER, 'kiosk-duplicate.png');
  const forged = forge(pass(), 19);
  eq(scan(forged), 'rejected bad-issuer-signature', 'a forged pass');
  await kiosk.waitForFunction(() => !document.getElementById('outcome').hidden);
  const reason = await kiosk.$eval('#outcome', (el) => [el.dataset.reason, el.querySelector('#outcome-reason').textContent]);
  eq(reason[0], 'bad-issuer-signature', 'the red screen carries the reason');
  check(/위조/.test(reason[1]) && /forged/i.test(reason[1]), `the reason in Korean and English: '${reason[1]}'`);
  await outcomeShown('rejected', RED, 'kiosk-rejected.png');
  // The authority lowers the alert level: a scan is answered grey.
  async function setLevel(level) {
    run('anshim-cloud', ['policy', 'set', '--config', CLOUD_CONF, '--level', String(level)]);
    for (const deadline = Date.now() + TIMEOUT; Date.now() < deadline;) {
      const st = JSON.parse(run('anshim-gw', ['status', '--json', '--config', GW_CONF]));
      if (st.alert_level === level) return;
      await sleepless(200);
    }
    throw new Error(`the gateway never got alert level ${level}`);
  }
  await setLevel(2);
  eq(scan(pass()), 'not-collecting', 'a scan at alert level 2');
  await outcomeShown('not-collecting', GREY, 'kiosk-not-collecting.png');
  await setLevel(3);

  // ---- the staff pages --------------------------------------------------
  step(4, 'staff log in with the PIN; 5 wrong PINs lock a device out');
  const sctx = await browser.createBrowserContext();
  const staff = await newPage(sctx, 'staff');
  await staff.goto(URL + 'staff', { waitUntil: 'load' });
  await staff.waitForSelector('#login:not([hidden])');
  await shot(staff, 'staff-login.png');
  const statusBefore = await staff.evaluate(async () => (await fetch('api/status')).status);
  eq(statusBefore, 401, 'the status needs a login');
  for (const digit of PIN) await staff.click(`#keypad button[data-key="${digit}"]`);
  await staff.click('#login-go');
  await staff.waitForSelector('#register:not([hidden])');
  check(await staff.$eval('#tabs', (e) => !e.hidden), 'logged in: the tabs are shown');

  const lctx = await browser.createBrowserContext();
  const other = await newPage(lctx, 'staff (another device)');
  await other.goto(URL + 'staff', { waitUntil: 'load' });
  await other.waitForSelector('#login:not([hidden])');
  const clearMsg = () => other.$eval('#login-msg', (e) => { e.hidden = true; e.textContent = ''; });
  const nextMsg = async () => {
    await other.waitForFunction(() => !document.getElementById('login-msg').hidden &&
      !document.getElementById('login-go').disabled);
    return other.$eval('#login-msg', (e) => e.textContent);
  };
  for (let i = 1; i <= 5; i++) {
    await clearMsg();
    await other.type('#pin', String(1000 + i));
    await other.click('#login-go');
    const msg = await nextMsg();
    if (i < 5) check(msg.includes(String(5 - i)), `wrong PIN ${i}: ${5 - i} tries left shown ('${msg}')`);
    else check(/잠겼습니다/.test(msg), `the 5th wrong PIN locks ('${msg}')`);
  }
  await clearMsg();
  await other.type('#pin', PIN);
  await other.click('#login-go');
  check(/잠겼습니다/.test(await nextMsg()), 'locked: the right PIN gets the lock-out message');
  check(await other.$eval('#register', (e) => e.hidden), 'locked out: the right PIN is refused too');
  const lockedAnswer = await other.evaluate(async (pin) => {
    const r = await fetch('api/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pin }) });
    return [r.status, r.headers.get('Retry-After')];
  }, PIN);
  eq(lockedAnswer[0], 429, 'locked out: the API answers 429');
  check(Number(lockedAnswer[1]) > 500, `with Retry-After of about 10 minutes (${lockedAnswer[1]})`);
  await shot(other, 'staff-locked.png');
  const stillIn = await staff.evaluate(async () => (await fetch('api/status')).status);
  eq(stillIn, 200, 'the session opened before stays');

  step(5, 'a register entry typed in the form reaches the cloud');
  await staff.type('#f-name', TYPED.name);
  await staff.type('#f-phone', '010-73');
  await staff.click('#f-headcount', { clickCount: 3 });
  await staff.type('#f-headcount', '2');
  const defaults = await staff.evaluate(() => [document.getElementById('f-date').value, document.getElementById('f-time').value]);
  check(/^\d{4}-\d\d-\d\d$/.test(defaults[0]) && /^\d\d:\d\d$/.test(defaults[1]), `entry date and time default to now (${defaults})`);
  await staff.click('#register-go');
  await staff.waitForSelector('.field[data-field="phone"].bad');
  const marked = await staff.$$eval('.field.bad', (els) => els.map((e) => e.dataset.field));
  eq(marked, ['phone'], 'only the bad field is marked');
  eq(await staff.$eval('#f-name', (e) => e.value), TYPED.name, 'the other fields are kept');
  check(await staff.evaluate(() => document.activeElement.id) === 'f-phone', 'the bad field is asked again (focused)');
  await shot(staff, 'staff-register-error.png');
  await staff.click('#f-phone', { clickCount: 3 });
  await staff.type('#f-phone', TYPED.phone);
  const answer = staff.waitForResponse((r) => r.url().endsWith('/api/register'));
  await staff.click('#register-go');
  const body = await (await answer).text();
  eq(JSON.parse(body), { result: 'recorded' }, 'the answer says only "recorded"');
  for (const s of SECRETS) check(!body.includes(s), 'the answer holds no name or phone');
  await staff.waitForFunction(() => /기록되었습니다/.test(document.getElementById('register-msg').textContent));
  eq(await staff.$eval('#f-name', (e) => e.value), '', 'the name is cleared from the form');
  eq(await staff.$eval('#f-phone', (e) => e.value), '', 'the phone is cleared from the form');
  await shot(staff, 'staff-register.png');
  let traced = null;
  for (const deadline = Date.now() + TIMEOUT; Date.now() < deadline;) {
    const st = JSON.parse(run('anshim-gw', ['status', '--json', '--config', GW_CONF]));
    if (st.unsent === 0 && st.acked_seq === st.last_seq) {
      traced = JSON.parse(run('anshim-cloud', ['trace', '--config', CLOUD_CONF, '--phone', TYPED.phone,
        '--from', FROM, '--to', TO, '--json', '--reason', 'browser test: staff screen']));
      if (traced.visits && traced.visits.length) break;
    }
    await sleepless(250);
  }
  check(traced && traced.visits.length === 1, 'the trace finds the typed entry');
  eq([traced.visits[0].venue, traced.visits[0].source], [1, 'manual'], 'at venue 1, from the paper register');

  step(6, 'a CSV upload with 2 bad rows reports them by line');
  await staff.click('.tab[data-tab="upload"]');
  const input = await staff.waitForSelector('#csv');
  await input.uploadFile(CSV_FILE);
  await staff.click('#upload-go');
  await staff.waitForSelector('#upload-report:not([hidden])');
  const report = await staff.$eval('#upload-report', (e) => e.textContent);
  fs.writeFileSync(path.join(ARTEFACTS, 'upload-report.txt'), report);
  const badLines = await staff.$$eval('#upload-report .bad-line', (els) => els.map((e) => e.textContent.match(/^line (\d+):/)[1]));
  eq(badLines, ['3', '5'], 'the bad rows by line, in red');
  check(/line 3: rejected: date:/.test(report), 'line 3: the date, with the reason');
  check(/line 5: rejected: phone:/.test(report), 'line 5: the phone, with the reason');
  check(/3 imported, 0 already imported, 0 rejected by the gateway, 2 invalid rows/.test(report), `the summary ('${report.trim().split('\n').pop()}')`);
  for (const s of ['Upload Bad Date', 'Upload Bad Phone', '010-75,']) check(!report.includes(s), 'the report quotes no name or phone');
  await shot(staff, 'staff-upload.png');

  step('status', 'the status page says what to do in plain words');
  await staff.click('.tab[data-tab="status"]');
  await staff.waitForSelector('#status-list li');
  const items = await staff.$$eval('#status-list li', (els) => els.map((e) => [e.dataset.level, e.textContent]));
  check(items.some(([, t]) => /기록 중 \(경보 단계 3\)/.test(t)), 'collecting and the level');
  check(items.some(([, t]) => /보내지 않은 기록/.test(t)), 'the backlog');
  check(items.some(([, t]) => /마지막 전송 확인/.test(t)), 'the last sync');
  check(items.some(([, t]) => /시계/.test(t)), 'the clock');
  check(items.some(([, t]) => /저장 공간/.test(t)), 'the journal space');
  check(items.some(([l, t]) => l === 'ok' && /스캐너: socket:/.test(t)), 'the scanner source, working');
  check(items.some(([, t]) => /마지막 오류/.test(t)), 'the last error');
  await shot(staff, 'staff-status.png');
  await staff.click('#lang');
  await staff.waitForFunction(() => /Recording \(alert level 3\)/.test(document.getElementById('status-list').textContent));
  await shot(staff, 'staff-status-en.png');

  step(7, 'no problems on any page');
  eq(problems, [], 'no script errors or CSP violations');
} finally {
  fs.closeSync(responses);
  await browser.close();
}
console.log(`kiosk.test.mjs: ${checkCount()} checks passed`);
