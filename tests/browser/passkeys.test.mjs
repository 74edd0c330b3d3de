// Passkeys in a real browser (Debian's chromium through puppeteer-core) with Chrome's DevTools
// WebAuthn virtual authenticator (WebAuthn.addVirtualAuthenticator: CTAP2, internal transport,
// resident keys, user verification), as SPEC §11 and issue 26 describe: a customer adds a
// passkey on the account page, signs out, and signs in with it through an OpenID Connect flow
// started by openid-client, which redeems the code; an admin adds a passkey on the console and
// signs in with it after the password, instead of the authenticator code.
//
// WebAuthn needs a secure context whose host is the relying party id: http://localhost is one,
// an IP address never is. So this file starts its own storekey (STOREKEY_BIN) on a free port
// with issuer http://localhost:<port>, webauthn.rp_id = localhost and that origin, in a temp
// dir, with a customer and an admin made offline; run.sh's server stays on 127.0.0.1.
// Screenshots go to SCREENSHOT_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import puppeteer from 'puppeteer-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
  return value;
};
const bin = env('STOREKEY_BIN');
const screenshots = env('SCREENSHOT_DIR');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(screenshots, { recursive: true });

const EMAIL = 'eve.rowe@example.com';
const PASSWORD = 'Eve-Rowe-2026!';
const ADMIN_KEY = 'passkey-browser-test-admin-key';

let work;
let server;
let base;
let app;
let rp;
let browser;
let profile;
let registered;
let setupPath;
const ADMIN = 'owner';
const ADMIN_PASSWORD = 'Owner-pass-2026!';

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function serverEnv(port) {
  // This runner's own STOREKEY_* variables are not the server's configuration.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('STOREKEY_')),
  );
  return {
    ...inherited,
    STOREKEY_ADMIN_KEY: ADMIN_KEY,
    STOREKEY_PASSWORD_ARGON2_MEMORY_KIB: '256',
    STOREKEY_PASSWORD_ARGON2_ITERATIONS: '1',
    STOREKEY_STORAGE_PATH: join(work, 'storekey.redb'),
    STOREKEY_MAIL_OUTBOX_DIR: join(work, 'outbox'),
    STOREKEY_OIDC_ENABLED: 'true',
    STOREKEY_OIDC_KEY_FILE: join(work, 'oidc.kek'),
    STOREKEY_OIDC_ISSUER: `http://localhost:${port}`,
    STOREKEY_WEBAUTHN_RP_ID: 'localhost',
    STOREKEY_WEBAUTHN_RP_NAME: 'Example Shop',
    STOREKEY_WEBAUTHN_ORIGINS: `["http://localhost:${port}"]`,
  };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'storekey-passkeys-'));
  const port = await freePort();
  const offline = (...args) =>
    execFileSync(bin, args, { cwd: work, env: serverEnv(port), encoding: 'utf8' });
  offline('customer', 'add', '--email', EMAIL, '--password', PASSWORD,
    '--firstname', 'Eve', '--lastname', 'Rowe', '--confirmed');
  setupPath = offline('admin', 'add', '--name', ADMIN).match(/\/admin\/setup\?code=[0-9a-f]+/)[0];

  server = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`], {
    cwd: work,
    env: serverEnv(port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += d));
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/storekey listening on (http:\/\/\S+)/);
      if (m) resolve(`http://localhost:${port}`);
    });
    server.once('exit', (code) => reject(new Error(`storekey exited ${code}: ${stderr}`)));
  });

  // The relying party's pages, on another origin.
  app = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>Example Shop</title><p>Back at the shop.</p></html>');
  });
  const rpPort = await freePort();
  await new Promise((resolve) => app.listen(rpPort, '127.0.0.1', resolve));
  rp = `http://localhost:${rpPort}`;
  const res = await fetch(`${base}/rest/V1/oidc/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      name: 'Example Shop',
      redirect_uris: [`${rp}/callback`],
      post_logout_redirect_uris: [`${rp}/signed-out`],
      first_party: true,
    }),
  });
  registered = await res.json();
  assert.equal(res.status, 200, JSON.stringify(registered));

  profile = mkdtempSync(join(tmpdir(), 'storekey-chromium-'));
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync',
      '--disable-background-networking', '--disable-component-update', '--window-size=1280,800'],
    defaultViewport: { width: 1280, height: 800 },
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
  }
  await new Promise((resolve) => (app ? app.close(resolve) : resolve()));
  if (profile) rmSync(profile, { recursive: true, force: true });
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A page in a fresh context with a virtual platform authenticator; its CDP session too. */
async function pageWithAuthenticator() {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const cdp = await page.createCDPSession();
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

async function shot(page, name) {
  await page.screenshot({ path: join(screenshots, name), fullPage: true });
}

test('a customer adds a passkey, signs out, and signs in with it through openid-client', async () => {
  const { context, page, cdp, authenticatorId } = await pageWithAuthenticator();
  try {
    // Password sign-in on the hosted pages, then the account page.
    await page.goto(`${base}/account/sign-in`);
    await page.type('#email', EMAIL);
    await page.type('#password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.match(await page.content(), /You have no passkeys yet/);

    await page.type('#passkey-name', 'This laptop');
    await Promise.all([
      page.waitForNavigation(),
      page.click('form[data-passkey-add] button[type="submit"]'),
    ]);
    assert.equal(new URL(page.url()).search, '?passkey=added');
    const listed = await page.$eval('.passkey-list', (el) => el.textContent);
    assert.match(listed, /This laptop/);
    assert.match(listed, /not used yet/);
    await shot(page, 'account-passkeys.png');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(credentials[0].rpId, 'localhost');

    await Promise.all([page.waitForNavigation(), page.click('form[action="/account/sign-out"] button')]);
    assert.match(await page.content(), /signed out/i);

    // openid-client starts the flow; the browser signs in with the passkey alone.
    const config = await client.discovery(new URL(base), registered.client_id, undefined,
      client.ClientSecretBasic(registered.client_secret), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp}/callback`,
      scope: 'openid email profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    // The page also asks for a passkey through the browser's autofill (conditional
    // mediation), which the virtual authenticator would answer at once: no presence until the
    // screenshot is taken, then the button's request (which replaces the autofill's).
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    await page.goto(url.href);
    assert.equal(new URL(page.url()).pathname, '/account/sign-in');
    await page.waitForSelector('button[data-passkey-sign-in]:not([hidden])');
    assert.equal(await page.$eval('#email', (el) => el.getAttribute('autocomplete')), 'username webauthn');
    await shot(page, 'account-sign-in-passkey.png');
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    await Promise.all([
      page.waitForNavigation({ waitUntil: 'load' }),
      page.click('button[data-passkey-sign-in]'),
    ]);
    // Chromium follows the authorization endpoint's redirect on to the app.
    for (let i = 0; i < 50 && !page.url().startsWith(`${rp}/callback`); i++) await sleep(100);
    const callback = new URL(page.url());
    assert.equal(callback.origin + callback.pathname, `${rp}/callback`, page.url());
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.email, EMAIL);
    assert.deepEqual(claims.amr, ['hwk']);

    // The account page shows the use.
    await page.goto(`${base}/account`);
    const after = await page.$eval('.passkey-list', (el) => el.textContent);
    assert.match(after, /last used/);
    const { credentials: used } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(used[0].signCount >= 1, JSON.stringify(used[0]));
  } finally {
    await context.close();
  }
});

test('a passkey the server no longer knows is refused on the sign-in page with the one message', async () => {
  const { context, page } = await pageWithAuthenticator();
  try {
    // This context's authenticator holds no passkey for the page: register one, remove it on
    // the account page, then try it.
    await page.goto(`${base}/account/sign-in`);
    await page.type('#email', EMAIL);
    await page.type('#password', PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button.primary')]);
    await page.type('#passkey-name', 'Spare key');
    await Promise.all([
      page.waitForNavigation(),
      page.click('form[data-passkey-add] button[type="submit"]'),
    ]);
    const rows = await page.$$('.passkey-list li');
    const spare = rows[rows.length - 1];
    assert.match(await spare.evaluate((el) => el.textContent), /Spare key/);
    await Promise.all([page.waitForNavigation(), spare.$eval('button', (b) => b.click())]);
    assert.equal(new URL(page.url()).search, '?passkey=removed');
    await Promise.all([page.waitForNavigation(), page.click('form[action="/account/sign-out"] button')]);

    await page.goto(`${base}/account/sign-in`);
    await page.waitForSelector('button[data-passkey-sign-in]:not([hidden])');
    await page.click('button[data-passkey-sign-in]');
    await page.waitForSelector('[data-passkey-status]:not([hidden])');
    const said = await page.$eval('[data-passkey-status]', (el) => el.textContent);
    assert.equal(said, 'That passkey was not accepted. Please try again, or sign in another way.');
    assert.equal(new URL(page.url()).pathname, '/account/sign-in');
    await shot(page, 'account-sign-in-passkey-refused.png');
  } finally {
    await context.close();
  }
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

test('an admin adds a passkey on the console and signs in with it instead of the code', async () => {
  const { context, page } = await pageWithAuthenticator();
  try {
    // Setup: password and the authenticator app, as every admin starts.
    await page.goto(`${base}${setupPath}`);
    const secret = await page.$eval('#totp-secret', (el) => el.textContent.trim());
    await page.type('#password', ADMIN_PASSWORD);
    await page.type('#confirmation', ADMIN_PASSWORD);
    await page.type('#totp', totp(secret, Math.floor(Date.now() / 30000)));
    await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname, '/admin/customers');

    // The Passkeys page: add one.
    await Promise.all([page.waitForNavigation(), page.click('a[href="/admin/passkeys"]')]);
    await page.waitForSelector('form[data-passkey-add]:not([hidden])');
    await page.type('#passkey-name', 'Support laptop');
    await Promise.all([
      page.waitForNavigation(),
      page.click('form[data-passkey-add] button[type="submit"]'),
    ]);
    const rows = await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.textContent));
    assert.equal(rows.length, 1);
    assert.match(rows[0], /Support laptop/);
    await shot(page, 'console-passkeys.png');

    // Sign out; sign in with the password, then the passkey instead of the code.
    await Promise.all([page.waitForNavigation(), page.click('form.signout button')]);
    assert.equal(new URL(page.url()).pathname, '/admin/sign-in');
    await page.type('#name', ADMIN);
    await page.type('#password', ADMIN_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[name="factor"][value="passkey"]')]);
    await page.waitForSelector('button[data-passkey-sign-in]:not([hidden])');
    assert.match(await page.content(), /Password accepted for <strong>owner<\/strong>/);
    await shot(page, 'console-sign-in-passkey.png');
    await Promise.all([page.waitForNavigation(), page.click('button[data-passkey-sign-in]')]);
    assert.equal(new URL(page.url()).pathname, '/admin/customers');
    assert.match(await page.content(), /owner/);

    // The passkey's use is on its row.
    await page.goto(`${base}/admin/passkeys`);
    const used = await page.$$eval('tbody tr td', (tds) => tds.map((td) => td.textContent.trim()));
    assert.notEqual(used[2], '', JSON.stringify(used));
  } finally {
    await context.close();
  }
});
