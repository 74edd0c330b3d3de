// The hosted customer pages (/account/) in a real browser (Debian's chromium through
// puppeteer-core), as a customer meets them through an OpenID Connect authorization request:
// sign in with the password, with a mailed code, create an account, forgot password → reset,
// the consent page of a third-party app, sign out, the session between apps, a phone screen
// and the keyboard. run.sh started the server (STOREKEY_URL), created the customers offline
// (ACCOUNT_EMAIL / ACCOUNT_PASSWORD, RESET_EMAIL), registered a first-party client (CLIENT_ID,
// CLIENT_SECRET) and a third-party one (THIRD_PARTY_CLIENT_ID) whose redirect and post-logout
// URIs are on RP_ORIGIN, where this file serves the app's pages. Mails are read from the
// server's outbox (OUTBOX_DIR). Requests to any host but 127.0.0.1 are blocked; each test
// runs in its own browser context (its own cookies). Screenshots go to SCREENSHOT_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import puppeteer from 'puppeteer-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return value;
};
const base = env('STOREKEY_URL');
const email = env('ACCOUNT_EMAIL');
const password = env('ACCOUNT_PASSWORD');
const resetEmail = env('RESET_EMAIL');
const outbox = env('OUTBOX_DIR');
const rp = env('RP_ORIGIN');
const clientId = env('CLIENT_ID');
const clientSecret = env('CLIENT_SECRET');
const thirdPartyId = env('THIRD_PARTY_CLIENT_ID');
const screenshots = env('SCREENSHOT_DIR');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(screenshots, { recursive: true });

const CALLBACK = `${rp}/callback`;
const SIGNED_OUT = `${rp}/signed-out`;
const REFUSED =
  'The account sign-in was incorrect or your account is disabled temporarily. Please wait and try again later.';

let browser;
let profile;
let app;

before(async () => {
  // The relying party: a page for whatever storekey sends the browser to.
  app = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Example Shop</title><p>Back at the shop.</p></html>');
  });
  await new Promise((resolve, reject) => {
    app.once('error', reject);
    app.listen(Number(new URL(rp).port), '127.0.0.1', resolve);
  });
  profile = mkdtempSync(join(tmpdir(), 'storekey-chromium-'));
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--window-size=1280,800',
    ],
    defaultViewport: { width: 1280, height: 800 },
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
});

/// The authorization request of a client, as an app's "Sign in" button sends it.
function authorize(client, state, extra = '') {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: client,
    redirect_uri: CALLBACK,
    scope: 'openid email profile',
    state,
    nonce: `nonce-${state}`,
  });
  return `${base}/oauth/authorize?${q}${extra}`;
}

const problemsOf = new WeakMap();

/// A page in a fresh browser context (no cookies) that lets through only requests to
/// 127.0.0.1, recording every other one, every CSP violation, every console error, every
/// error response and every uncaught error.
async function guardedPage() {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.setDefaultNavigationTimeout(15_000);
  const blocked = [];
  const problems = [];
  problemsOf.set(page, problems);
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.protocol === 'data:' || url.hostname === '127.0.0.1') {
      req.continue();
    } else {
      blocked.push(req.url());
      req.abort('blockedbyclient');
    }
  });
  page.on('response', (resp) => {
    if (resp.status() >= 400 && new URL(resp.url()).pathname !== '/favicon.ico') {
      problems.push(`${resp.status()} for ${new URL(resp.url()).pathname}`);
    }
  });
  page.on('console', (msg) => {
    // A failed load is counted by its response above.
    if ((msg.type() === 'error' || msg.type() === 'warn') && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console ${msg.type()}: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const done = async () => {
    assert.deepEqual(blocked, [], 'requests to another host');
    assert.deepEqual(problems, [], 'console errors, CSP violations, error responses');
    await context.close();
  };
  /// The problems so far (then forgotten): for a step that must answer an error status.
  const take = () => problems.splice(0);
  return { page, done, take };
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: join(screenshots, name), fullPage });
}

/// Clicks (or presses a key) and waits for the page it leads to; when none comes, says what the
/// browser reported (a form blocked by the Content-Security-Policy shows only in the console).
async function go(page, selector, key) {
  const navigation = page.waitForNavigation({ waitUntil: 'load', timeout: 5_000 });
  await (key ? page.keyboard.press(key) : page.click(selector));
  try {
    return await navigation;
  } catch (e) {
    const what = key ? `pressing ${key}` : `clicking ${selector}`;
    throw new assert.AssertionError({
      message: `${what} on ${page.url()} led to no page (${e.message}); the browser reported: ${JSON.stringify(problemsOf.get(page))}`,
    });
  }
}

async function clickLink(page, text) {
  const links = await page.$$eval('nav.links a', (as) => as.map((a) => a.textContent.trim()));
  const i = links.indexOf(text);
  assert.ok(i >= 0, `a link "${text}" among ${JSON.stringify(links)}`);
  return go(page, `nav.links li:nth-child(${i + 1}) a`);
}

const text = (page, selector) => page.$eval(selector, (el) => el.textContent.trim().replace(/\s+/g, ' '));
const pathOf = (page) => new URL(page.url()).pathname;

/// The page is the app's callback with a code for `state` (and the issuer, RFC 9207): the code.
function landedWithCode(page, state) {
  const url = new URL(page.url());
  assert.equal(`${url.origin}${url.pathname}`, CALLBACK, page.url());
  assert.equal(url.searchParams.get('state'), state, page.url());
  assert.equal(url.searchParams.get('iss'), base, page.url());
  assert.equal(url.searchParams.get('error'), null, page.url());
  const code = url.searchParams.get('code');
  assert.match(code ?? '', /^\S{16,}$/, page.url());
  return code;
}

/// The app redeems the code (client_secret_basic): the ID token's claims.
async function redeem(code) {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return JSON.parse(Buffer.from(body.id_token.split('.')[1], 'base64url').toString());
}

/// Checks every visible form control has a label that names it (and the label is wired to
/// it with for/id), and every button has words: [id, label] pairs.
async function labelled(page) {
  const controls = await page.$$eval('main input:not([type=hidden]), main select, main textarea', (els) =>
    els.map((el) => [el.id, [...el.labels].map((l) => l.textContent.trim().replace(/\s+/g, ' '))]),
  );
  for (const [id, labels] of controls) {
    assert.equal(labels.length, 1, `#${id} has one label: ${JSON.stringify(labels)}`);
    assert.ok(labels[0].length > 0, `#${id}'s label has words`);
  }
  const buttons = await page.$$eval('main button', (bs) => bs.map((b) => b.textContent.trim()));
  for (const b of buttons) assert.ok(b.length > 0, 'every button has words');
  return controls.map(([id, labels]) => [id, labels[0]]);
}

/// Nothing is wider than the screen: no horizontal scroll, every control inside the viewport.
async function fits(page) {
  const m = await page.evaluate(() => ({
    viewport: document.documentElement.clientWidth,
    scroll: document.documentElement.scrollWidth,
    outside: [...document.querySelectorAll('main, main input, main button, main a, main p, h1')]
      .map((el) => [el.tagName + (el.id ? `#${el.id}` : ''), el.getBoundingClientRect()])
      .filter(([, r]) => r.width > 0 && (r.left < 0 || r.right > document.documentElement.clientWidth + 0.5))
      .map(([name, r]) => `${name} ${Math.round(r.left)}..${Math.round(r.right)}`),
  }));
  assert.ok(m.scroll <= m.viewport, `no horizontal scroll: ${m.scroll} wide in ${m.viewport}`);
  assert.deepEqual(m.outside, [], `every element inside the ${m.viewport}px viewport`);
}

/// The mail to `to` with `subject` that arrives after `seen` (the outbox's names before).
async function mailTo(to, subject, seen) {
  for (let i = 0; i < 100; i++) {
    let names = [];
    try {
      names = readdirSync(outbox).filter((n) => n.endsWith('.eml') && !seen.has(n));
    } catch {
      // The outbox appears with the first mail.
    }
    for (const name of names.sort().reverse()) {
      const mail = readFileSync(join(outbox, name), 'utf8').replace(/\r\n/g, '\n');
      const [head, ...body] = mail.split('\n\n');
      const headers = head.replace(/\n[ \t]+/g, ' ');
      if (new RegExp(`^To: .*${to.replace(/[.+]/g, '\\$&')}`, 'mi').test(headers) && headers.includes(`\nSubject: ${subject}`)) {
        return body.join('\n\n');
      }
    }
    await sleep(100);
  }
  throw new Error(`no mail "${subject}" to ${to} in ${outbox}`);
}

const outboxNow = () => {
  try {
    return new Set(readdirSync(outbox));
  } catch {
    return new Set();
  }
};

const codeIn = (body) => {
  const line = body.split('\n').map((l) => l.trim()).find((l) => /^\d{6}$/.test(l));
  assert.ok(line, `a six-digit code in ${body}`);
  return line;
};

/// Starts an authorization for `client` and expects the sign-in page (a password is asked).
async function toSignIn(page, client, state) {
  const resp = await page.goto(authorize(client, state), { waitUntil: 'load' });
  assert.equal(pathOf(page), '/account/sign-in', `a password is asked: ${page.url()}`);
  assert.equal(resp.status(), 200);
  return resp;
}

async function signIn(page, who, secret) {
  await page.type('#email', who);
  await page.type('#password', secret);
  return go(page, 'main form button[type=submit]');
}

test('the sign-in page: labelled, styled by its own stylesheet, no script errors or CSP violations, fits a phone and a desktop', async () => {
  const { page, done } = await guardedPage();
  const resp = await toSignIn(page, clientId, 'look');
  const csp = resp.headers()['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /form-action 'self'/);
  assert.equal(await page.title(), 'Sign in · Store account');
  assert.equal(await text(page, 'h1'), 'Sign in');
  assert.equal(await text(page, 'main p.hint'), 'to continue to Example Shop');
  assert.deepEqual(await labelled(page), [
    ['email', 'Email'],
    ['password', 'Password'],
  ]);
  assert.equal(await page.$eval('#email', (el) => el.autocomplete), 'username');
  assert.equal(await page.$eval('#password', (el) => el.autocomplete), 'current-password');
  const links = await page.$$eval('nav.links a', (as) =>
    as.map((a) => [a.textContent.trim(), new URL(a.href).pathname, new URL(a.href).searchParams.get('return_to')]),
  );
  const returnTo = new URL(page.url()).searchParams.get('return_to');
  assert.match(returnTo, /^\/oauth\/authorize\?/);
  assert.deepEqual(links, [
    ['Email me a sign-in code instead', '/account/code', returnTo],
    ['Forgot password?', '/account/forgot', returnTo],
    ['Create account', '/account/register', returnTo],
  ]);
  // The stylesheet loaded (from this server) and applies: the card is narrower than the screen.
  const sheets = await page.evaluate(() =>
    [...document.styleSheets].map((s) => [new URL(s.href).pathname.replace(/[0-9a-f]{12}/, '…'), s.cssRules.length]),
  );
  assert.equal(sheets.length, 1);
  assert.equal(sheets[0][0], '/account/assets/…/account.css');
  assert.ok(sheets[0][1] > 0, 'the stylesheet has rules');

  // Desktop.
  const card = await page.$eval('main', (m) => m.getBoundingClientRect().width);
  assert.ok(card < 800, `the form is a card on a desktop, not the full width: ${card}px`);
  await fits(page);
  // The desktop shot (docs/account-sign-in.png is a copy): the card and the page around it.
  const bottom = await page.$eval('main', (m) => m.getBoundingClientRect().bottom);
  await page.screenshot({
    path: join(screenshots, 'account-sign-in.png'),
    clip: { x: 0, y: 0, width: 1280, height: Math.ceil(bottom) + 32 },
  });

  // A 375px phone: the same page, nothing wider than the screen.
  await page.setViewport({ width: 375, height: 740, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await page.reload({ waitUntil: 'load' });
  await fits(page);
  const widths = await page.$$eval('main input:not([type=hidden]), main button', (els) =>
    els.map((el) => el.getBoundingClientRect().width),
  );
  for (const w of widths) assert.ok(w >= 200, `a control is wide enough to tap on a phone: ${w}px`);
  await shot(page, 'account-sign-in-phone.png');
  await done();
});

test('an authorization request: a wrong password is refused on the page, the right one lands on the app with a code', async () => {
  const { page, done, take } = await guardedPage();
  await toSignIn(page, clientId, 'first');

  // A wrong password: the one refusal, the email kept, the password not.
  const refused = await signIn(page, email, 'not-the-password');
  assert.equal(refused.status(), 401);
  assert.deepEqual(take(), ['401 for /account/sign-in']);
  assert.equal(pathOf(page), '/account/sign-in');
  assert.equal(await text(page, 'main p.error[role=alert]'), REFUSED);
  assert.equal(await page.$eval('#email', (el) => el.value), email);
  assert.equal(await page.$eval('#password', (el) => el.value), '');
  assert.equal(await text(page, 'main p.hint'), 'to continue to Example Shop', 'still for the app');
  await shot(page, 'account-sign-in-refused.png');

  await page.type('#password', password);
  await go(page, 'main form button[type=submit]');
  const claims = await redeem(landedWithCode(page, 'first'));
  assert.equal(claims.email, email);
  assert.equal(claims.nonce, 'nonce-first');
  await done();
});

test('the session: signed in once, an authorization comes straight back with a code; Sign out on the account page asks for the password again', async () => {
  const { page, done } = await guardedPage();
  // Signed in on the hosted page itself (no app waiting: it ends on the account page).
  await page.goto(`${base}/account/sign-in`, { waitUntil: 'load' });
  assert.equal(await page.$('main p.hint'), null, 'no app named');
  await signIn(page, email, password);
  assert.equal(pathOf(page), '/account');
  assert.equal(await text(page, 'h1'), 'Your account');
  assert.equal(await text(page, 'main > p:not(.brand)'), `Signed in as ${email}`);
  await shot(page, 'account-page.png');
  const [session] = (await page.cookies(base)).filter((c) => c.name === 'storekey_account');
  assert.ok(session, 'the session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');

  // An app's authorization in the same browser: straight back with a code, no page between.
  const again = await page.goto(authorize(clientId, 'session'), { waitUntil: 'load' });
  const claims = await redeem(landedWithCode(page, 'session'));
  assert.equal(claims.email, email);
  const chain = again.request().redirectChain().map((r) => new URL(r.url()).pathname);
  assert.deepEqual(chain, ['/oauth/authorize'], 'no sign-in page on the way');

  // The account page's Sign out button ends the session.
  await page.goto(`${base}/account`, { waitUntil: 'load' });
  await go(page, 'main form[action="/account/sign-out"] button');
  assert.equal(await text(page, 'h1'), 'Signed out');
  assert.equal(await text(page, 'main > p:not(.brand)'), 'You are signed out.');
  await shot(page, 'account-signed-out.png');
  const cookies = await page.cookies(base);
  assert.deepEqual(cookies.filter((c) => c.name === 'storekey_account'), [], 'the session cookie is gone');
  await toSignIn(page, clientId, 'after-sign-out');
  await page.goto(`${base}/account`, { waitUntil: 'load' });
  assert.equal(pathOf(page), '/account/sign-in', 'the account page asks to sign in');
  await done();
});

test('the keyboard alone: Tab reaches the email field first, Tab to the password, Enter signs in', async () => {
  const { page, done } = await guardedPage();
  await toSignIn(page, clientId, 'keys');
  // `autofocus` is applied after load, on the browser's next rendering step: wait (briefly)
  // for it rather than reading the focus at the instant the load event fired.
  await page
    .waitForFunction(() => document.activeElement?.id === 'email', { timeout: 2000 })
    .catch(() => {});
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'the email field has the focus on load');
  // From the top of the page (a click on the heading), the first Tab stop is the email field.
  await page.click('h1');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'BODY');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'email', 'the first Tab stop');
  await page.keyboard.type(email);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'password', 'the second Tab stop');
  await page.keyboard.type(password);
  // The focused field shows where it is.
  const outline = await page.$eval('#password', (el) => {
    const s = getComputedStyle(el);
    return `${s.outlineStyle} ${s.outlineWidth} ${s.boxShadow}`;
  });
  assert.ok(!/^none 0px none$/.test(outline), `a visible focus ring: ${outline}`);
  await go(page, null, 'Enter');
  landedWithCode(page, 'keys');
  await done();
});

test('sign in with a code from the email', async () => {
  const { page, done } = await guardedPage();
  await toSignIn(page, clientId, 'code');
  await clickLink(page, 'Email me a sign-in code instead');
  assert.equal(pathOf(page), '/account/code');
  assert.equal(await text(page, 'h1'), 'Sign in with a code');
  assert.deepEqual(await labelled(page), [['email', 'Email']]);
  await page.type('#email', email);
  await shot(page, 'account-code-email.png');
  const seen = outboxNow();
  await go(page, 'main form button[type=submit]');
  assert.equal(
    await text(page, 'main p.notice[role=status]'),
    'If an account exists for that address, we sent a code to it.',
  );
  assert.deepEqual(await labelled(page), [['code', 'Code']]);
  assert.equal(await page.$eval('#code', (el) => el.autocomplete), 'one-time-code');
  assert.equal(await page.$eval('#code', (el) => el.inputMode), 'numeric');
  await shot(page, 'account-code.png');
  const code = codeIn(await mailTo(email, 'Your sign-in code', seen));
  await page.type('#code', code);
  await go(page, 'main form button[type=submit]');
  const claims = await redeem(landedWithCode(page, 'code'));
  assert.equal(claims.email, email);
  await done();
});

test('create an account: the code from the email verifies the address, and the app gets a code', async () => {
  const { page, done } = await guardedPage();
  const newEmail = `eve.new.${Date.now()}@example.com`;
  await toSignIn(page, clientId, 'register');
  await clickLink(page, 'Create account');
  assert.equal(pathOf(page), '/account/register');
  assert.equal(await text(page, 'h1'), 'Create account');
  assert.deepEqual(await labelled(page), [['email', 'Email']]);
  await page.type('#email', newEmail);
  const seen = outboxNow();
  await go(page, 'main form button[type=submit]');
  assert.equal(
    await text(page, 'main p.notice[role=status]'),
    'We sent an email to that address. Enter the code from it to create your account.',
  );
  assert.deepEqual(await labelled(page), [
    ['code', 'Code'],
    ['password', 'Password'],
    ['firstname', 'First name (optional)'],
    ['lastname', 'Last name (optional)'],
  ]);
  assert.equal(await page.$eval('#password', (el) => el.autocomplete), 'new-password');
  const code = codeIn(await mailTo(newEmail, 'Verify your email address', seen));
  await page.type('#code', code);
  await page.type('#password', 'Eve-New-2026!');
  await page.type('#firstname', 'Eve');
  await page.type('#lastname', 'New');
  await shot(page, 'account-register.png');
  await go(page, 'main form button[type=submit]');
  const claims = await redeem(landedWithCode(page, 'register'));
  assert.equal(claims.email, newEmail);
  assert.equal(claims.email_verified, true);
  assert.equal(claims.given_name, 'Eve');
  assert.equal(claims.family_name, 'New');
  await done();

  // The new password signs in from another browser.
  const other = await guardedPage();
  await toSignIn(other.page, clientId, 'register-2');
  await signIn(other.page, newEmail, 'Eve-New-2026!');
  landedWithCode(other.page, 'register-2');
  await other.done();
});

test('forgot password: the mailed link sets a new password and signs in back to the app', async () => {
  const { page, done } = await guardedPage();
  await toSignIn(page, clientId, 'reset');
  const returnTo = new URL(page.url()).searchParams.get('return_to');
  await clickLink(page, 'Forgot password?');
  assert.equal(pathOf(page), '/account/forgot');
  assert.equal(await text(page, 'h1'), 'Forgot password');
  assert.deepEqual(await labelled(page), [['email', 'Email']]);
  await page.type('#email', resetEmail);
  const seen = outboxNow();
  await go(page, 'main form button[type=submit]');
  assert.equal(
    await text(page, 'main p.notice[role=status]'),
    'If an account exists for that address, we sent a link to set a new password.',
  );
  await shot(page, 'account-forgot.png');
  const body = await mailTo(resetEmail, 'Reset your password', seen);
  const link = body.split('\n').map((l) => l.trim()).find((l) => l.startsWith('http'));
  assert.ok(link, `a link in ${body}`);
  const url = new URL(link);
  assert.equal(url.origin, base, 'the link is on the issuer');
  assert.equal(url.pathname, '/account/reset');
  assert.equal(url.searchParams.get('return_to'), returnTo, 'the link carries the app request');

  // The link opens in the same browser (the mail app hands it over).
  await page.goto(link, { waitUntil: 'load' });
  assert.equal(await text(page, 'h1'), 'Set a new password');
  assert.deepEqual(await labelled(page), [['password', 'New password']]);
  assert.equal(await page.$eval('#password', (el) => el.autocomplete), 'new-password');
  await page.type('#password', 'Dee-Moss-New-2026!');
  await shot(page, 'account-reset.png');
  await go(page, 'main form button[type=submit]');
  const claims = await redeem(landedWithCode(page, 'reset'));
  assert.equal(claims.email, resetEmail);
  await done();

  // Another browser: the old password is refused, the new one signs in.
  const other = await guardedPage();
  await toSignIn(other.page, clientId, 'reset-2');
  const refused = await signIn(other.page, resetEmail, 'Dee-Moss-2026!');
  assert.equal(refused.status(), 401);
  assert.deepEqual(other.take(), ['401 for /account/sign-in']);
  await other.page.type('#password', 'Dee-Moss-New-2026!');
  await go(other.page, 'main form button[type=submit]');
  landedWithCode(other.page, 'reset-2');
  await other.done();
});

test('a third-party app asks for consent: Deny sends access_denied back, Allow a code', async () => {
  const { page, done } = await guardedPage();
  await toSignIn(page, thirdPartyId, 'deny');
  assert.equal(await text(page, 'main p.hint'), 'to continue to Gift Card Wallet');
  await signIn(page, email, password);

  // Signed in: the consent page, not the app yet.
  assert.equal(pathOf(page), '/oauth/authorize', page.url());
  assert.equal(await text(page, 'h1'), 'Allow access?');
  assert.equal(await text(page, 'main > p:not(.brand):not(.hint)'), 'Share the following with Gift Card Wallet:');
  assert.deepEqual(await page.$$eval('ul.scopes li', (lis) => lis.map((li) => li.textContent.trim())), [
    'that it is you',
    'your email address',
    'your name',
  ]);
  assert.equal(await text(page, 'main p.hint'), `Signed in as ${email}`);
  assert.deepEqual(await page.$$eval('main form button', (bs) => bs.map((b) => b.textContent.trim())), [
    'Allow',
    'Deny',
  ]);
  await shot(page, 'account-consent.png');
  await go(page, 'main form button[value=deny]');
  const url = new URL(page.url());
  assert.equal(`${url.origin}${url.pathname}`, CALLBACK, page.url());
  assert.equal(url.searchParams.get('error'), 'access_denied');
  assert.equal(url.searchParams.get('state'), 'deny');
  assert.equal(url.searchParams.get('code'), null);

  // Asked again (the session lives on): Allow.
  await page.goto(authorize(thirdPartyId, 'allow'), { waitUntil: 'load' });
  assert.equal(await text(page, 'h1'), 'Allow access?');
  await go(page, 'main form button[value=allow]');
  landedWithCode(page, 'allow');
  await done();
});

test("the app's logout (RP-initiated) signs out and returns to the app; the next sign-in asks for the password", async () => {
  const { page, done } = await guardedPage();
  await page.goto(`${base}/account/sign-in`, { waitUntil: 'load' });
  await signIn(page, email, password);
  assert.equal(pathOf(page), '/account');
  await page.goto(authorize(clientId, 'before-logout'), { waitUntil: 'load' });
  landedWithCode(page, 'before-logout');

  // The app's "Sign out" link, without an id_token_hint: storekey asks first (nothing names
  // this browser's session), and the customer's answer goes on to the app.
  const q = new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: SIGNED_OUT, state: 'bye' });
  await page.goto(`${base}/oauth/logout?${q}`, { waitUntil: 'load' });
  assert.equal(pathOf(page), '/oauth/logout');
  assert.match(await page.$eval('main', (m) => m.textContent), /Sign out of your store account on this device\?/);
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('button[name="confirm"]'),
  ]);
  const url = new URL(page.url());
  assert.equal(`${url.origin}${url.pathname}`, SIGNED_OUT, page.url());
  assert.equal(url.searchParams.get('state'), 'bye');
  const cookies = await page.cookies(base);
  assert.deepEqual(cookies.filter((c) => c.name === 'storekey_account'), [], 'the session cookie is gone');

  await toSignIn(page, clientId, 'after-logout');
  await done();
});
