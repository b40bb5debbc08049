// checks.mjs - the browser tests' small assertion kit: env() for a required
// variable, check() and eq() that count and throw with what failed, step()
// to print where the test is, and checkCount() for the summary line.
let checks = 0;

export function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
}

export function check(cond, what) {
  checks += 1;
  if (!cond) throw new Error(`check failed: ${what}`);
}

export function eq(actual, expected, what) {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  checks += 1;
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

export function step(n, text) { console.log(`step ${n}: ${text}`); }

export function checkCount() { return checks; }
