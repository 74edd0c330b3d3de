// The admin console in a real browser (Debian's chromium through puppeteer-core), against the
// real server run.sh started (STOREKEY_URL). The admin was created offline by
// `storekey admin add` (ADMIN_SETUP_PATH), the customer by `storekey customer add`
// (CUSTOMER_EMAIL, CUSTOMER_PASSWORD). Requests to any host but 127.0.0.1 are blocked.
// Screenshots go to SCREENSHOT_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.STOREKEY_URL;
const setupPath = process.env.ADMIN_SETUP_PATH;
const customerEmail = process.env.CUSTOMER_EMAIL;
const customerPassword = process.env.CUSTOMER_PASSWORD;
const screenshots = process.env.SCREENSHOT_DIR;
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({
  STOREKEY_URL: base,
  ADMIN_SETUP_PATH: setupPath,
  CUSTOMER_EMAIL: customerEmail,
  CUSTOMER_PASSWORD: customerPassword,
  SCREENSHOT_DIR: screenshots,
})) {
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
}
mkdirSync(screenshots, { recursive: true });

const ADMIN = 'support';
const PASSWORD = 'browser test 2026';

let browser;
let profile;

before(async () => {
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
      '--window-size=1280,900',
    ],
    defaultViewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/// RFC 6238 as authenticator apps compute it: HMAC-SHA1 over the 30-second step, 6 digits.
function totp(base32, step) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const word = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(word % 1_000_000).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 1000 / 30);

async function graphql(path, query, variables, headers = {}) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: await res.json() };
}

/// A page that lets through only requests to 127.0.0.1, recording every other one, every CSP
/// violation, every error response and every uncaught error.
async function guardedPage() {
  const page = await browser.newPage();
  const blocked = [];
  const problems = [];
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
      problems.push(`${resp.status()} for ${resp.url()}`);
    }
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, blocked, problems };
}

async function submit(page, selector = 'main form button[type=submit]') {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

test('an admin sets up, signs in, and logs in as a customer with a code the customer signs in with', async () => {
  const { page, blocked, problems } = await guardedPage();

  // Setup: password and the authenticator app (the code computed here from the shown key).
  const setup = await page.goto(`${base}${setupPath}`, { waitUntil: 'load' });
  assert.equal(setup.status(), 200);
  assert.match(setup.headers()['content-security-policy'], /script-src 'self'/);
  assert.ok(await page.$('figure.qr svg'), 'the QR code is drawn');
  const secret = await page.$eval('#totp-secret', (el) => el.textContent.trim());
  await page.type('#password', PASSWORD);
  await page.type('#confirmation', PASSWORD);
  const setupStep = stepNow();
  await page.type('#totp', totp(secret, setupStep));
  await page.screenshot({ path: join(screenshots, 'console-setup.png'), fullPage: true });
  await submit(page);
  assert.equal(new URL(page.url()).pathname, '/admin/customers');

  // Sign out, then sign in with password and a code of a later step (the setup used its own).
  await submit(page, 'form.signout button');
  assert.equal(new URL(page.url()).pathname, '/admin/sign-in');
  await page.type('#name', ADMIN);
  await page.type('#password', PASSWORD);
  await page.type('#code', totp(secret, Math.max(stepNow(), setupStep + 1)));
  await page.screenshot({ path: join(screenshots, 'console-sign-in.png') });
  await submit(page);
  assert.equal(new URL(page.url()).pathname, '/admin/customers');

  // Find the customer and open their page.
  await page.type('#q', customerEmail.split('@')[0]);
  await submit(page, 'form.search button');
  const link = `a[href^="/admin/customers/"]`;
  const found = await page.$$eval('tbody a', (as) => as.map((a) => a.textContent.trim()));
  assert.deepEqual(found, [customerEmail]);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(`tbody ${link}`)]);
  await page.screenshot({ path: join(screenshots, 'console-customer.png'), fullPage: true });

  // Login as Customer: the confirmation asks for the reason; the code shows with its countdown.
  await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('a[href$="/login-as"]'),
  ]);
  assert.match(await page.$eval('main', (m) => m.textContent), /You are about to Login as Customer/);
  await page.type('#reason', 'customer asked for help with the cart');
  await submit(page);
  const code = await page.$eval('#otc', (el) => el.textContent.trim());
  assert.match(code, /^[0-9a-f]{32}$/);
  await page.waitForFunction(
    () => /^\d+ seconds/.test(document.querySelector('[data-expires-in]').textContent),
  );
  await page.screenshot({ path: join(screenshots, 'console-code.png'), fullPage: true });

  // The code signs the customer in through generateCustomerToken, once.
  const signIn = await graphql(
    '/graphql',
    'mutation($e:String!,$p:String!){ generateCustomerToken(email:$e, password:$p) { token } }',
    { e: customerEmail, p: code },
  );
  assert.equal(signIn.status, 200);
  assert.equal(typeof signIn.body.data.generateCustomerToken.token, 'string', JSON.stringify(signIn.body));

  // The log grid shows the issue and the use, by this admin, with the reason.
  await page.goto(`${base}/admin/log`, { waitUntil: 'load' });
  const rows = await page.$$eval('tbody tr', (trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())),
  );
  const actions = rows.map((r) => [r[1], r[3], r[4], r[5]]);
  assert.deepEqual(actions, [
    [ADMIN, customerEmail, 'Code used', 'customer asked for help with the cart'],
    [ADMIN, customerEmail, 'Code issued', 'customer asked for help with the cart'],
  ]);
  await page.screenshot({ path: join(screenshots, 'console-log.png'), fullPage: true });

  // A storefront token made here works on the Storefront endpoint.
  await page.goto(`${base}/admin/tokens`, { waitUntil: 'load' });
  await page.type('#title', 'browser test storefront');
  for (const box of await page.$$('input[name=scope]')) await box.click();
  await submit(page);
  const token = await page.$eval('#token', (el) => el.textContent.trim());
  await page.screenshot({ path: join(screenshots, 'console-tokens.png'), fullPage: true });
  const storefront = await graphql(
    '/api/2026-04/graphql.json',
    'mutation($e:String!,$p:String!){ customerAccessTokenCreate(input:{email:$e, password:$p}) { customerAccessToken { accessToken } customerUserErrors { message } } }',
    { e: customerEmail, p: customerPassword },
    { 'X-Shopify-Storefront-Access-Token': token },
  );
  assert.equal(storefront.status, 200, JSON.stringify(storefront.body));
  assert.equal(
    typeof storefront.body.data.customerAccessTokenCreate.customerAccessToken.accessToken,
    'string',
    JSON.stringify(storefront.body),
  );

  await page.goto(`${base}/admin/overview`, { waitUntil: 'load' });
  assert.ok(await page.$('figure.chart svg'), 'the chart is drawn');
  await page.screenshot({ path: join(screenshots, 'console-overview.png'), fullPage: true });

  // On a phone: the customer list still fits and reads.
  await page.setViewport({ width: 390, height: 844, isMobile: true });
  await page.goto(`${base}/admin/customers`, { waitUntil: 'load' });
  await page.screenshot({ path: join(screenshots, 'console-phone.png'), fullPage: true });

  assert.deepEqual(blocked, [], 'requests to another host');
  assert.deepEqual(problems, []);
  await page.close();
});
