// The GraphiQL explorer in a real browser (Debian's chromium through puppeteer-core), against the
// real server that run.sh started (STOREKEY_URL). Every request to a host other than 127.0.0.1 is
// blocked and recorded: the explorer must load and complete `{ cus` to `customer` without one.
// Screenshots go to SCREENSHOT_DIR.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

const base = process.env.STOREKEY_URL;
const storefrontToken = process.env.STOREFRONT_TOKEN;
const screenshots = process.env.SCREENSHOT_DIR;
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
for (const [name, value] of Object.entries({ STOREKEY_URL: base, STOREFRONT_TOKEN: storefrontToken, SCREENSHOT_DIR: screenshots })) {
  if (!value) throw new Error(`${name} is not set (run tests/browser/run.sh)`);
}
mkdirSync(screenshots, { recursive: true });

let browser;
let profile;

before(async () => {
  profile = mkdtempSync(join(tmpdir(), 'storekey-chromium-'));
  browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    userDataDir: profile,
    // As root in CI: no sandbox. The rest keeps Chromium from calling Google's hosts itself
    // (those calls are the browser's, not the page's, and the machine's network refuses them).
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
});

/// A page that lets through only requests to 127.0.0.1 (and data: URLs, which are no request),
/// recording every other one, every CSP violation and every uncaught error.
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
    // The browser asks for /favicon.ico on its own; storekey has none (404), which is fine.
    if (resp.status() >= 400 && new URL(resp.url()).pathname !== '/favicon.ico') {
      problems.push(`${resp.status()} for ${resp.url()}`);
    }
  });
  page.on('console', (msg) => {
    // A failed load is reported above, by URL.
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

function isIntrospection(response) {
  const body = response.request().postData() || '';
  return response.request().method() === 'POST' && body.includes('IntrospectionQuery');
}

/// Types `{ cus` into the query editor and returns what the suggestion list that opens offers
/// (GraphiQL lists completions as you type); then presses Ctrl+Space, which applies the one
/// suggestion, and returns the editor's text. `shot` is taken while the list is open.
async function completeCus(page, shot) {
  const editor = '.graphiql-query-editor .CodeMirror';
  await page.waitForSelector(editor, { visible: true });
  // Completion needs the schema in the editor: GraphiQL hands it over after introspection.
  await page.waitForFunction(
    (sel) => Boolean(document.querySelector(sel).CodeMirror.options.hintOptions?.schema),
    {},
    editor,
  );
  await page.$eval(editor, (el) => el.CodeMirror.setValue(''));
  await page.click(editor);
  await page.keyboard.type('{ cus');
  await page.waitForSelector('.CodeMirror-hints .CodeMirror-hint', { visible: true });
  const offered = await page.$$eval('.CodeMirror-hints .CodeMirror-hint', (items) =>
    items.map((li) => li.textContent.trim()),
  );
  await page.screenshot({ path: shot });
  await page.keyboard.down('Control');
  await page.keyboard.press('Space');
  await page.keyboard.up('Control');
  await page.waitForFunction(
    (sel) => document.querySelector(sel).CodeMirror.getValue() !== '{ cus}',
    {},
    editor,
  );
  const text = await page.$eval(editor, (el) => el.CodeMirror.getValue());
  return { offered, text };
}

test('the Commerce explorer completes { cus to customer with every other host blocked', async () => {
  const { page, blocked, problems } = await guardedPage();
  const introspected = page.waitForResponse(isIntrospection);
  introspected.catch(() => {}); // Awaited below; a failure before then must not go unhandled.
  const resp = await page.goto(`${base}/graphql`, { waitUntil: 'load' });
  assert.equal(resp.status(), 200);
  // Every script and stylesheet has loaded by now: none came from elsewhere.
  assert.deepEqual(blocked, [], 'requests to another host');
  assert.match(resp.headers()['content-security-policy'], /script-src 'self'/);
  const introspection = await introspected;
  assert.equal(introspection.status(), 200);
  assert.ok((await introspection.json()).data.__schema, 'introspection answered a schema');

  const { offered, text } = await completeCus(page, join(screenshots, 'explorer-commerce.png'));
  assert.deepEqual(offered, ['customer']);
  assert.equal(text, '{ customer}');

  // A query runs against the page's own endpoint and its result shows.
  const editor = '.graphiql-query-editor .CodeMirror';
  await page.$eval(editor, (el) => el.CodeMirror.setValue('{ storeConfig { store_code } }'));
  await page.click('button.graphiql-execute-button');
  await page.waitForFunction(
    () => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes('"store_code": "default"'),
  );

  // The docs pane works offline too: the schema's root type is listed.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  await page.waitForSelector('.graphiql-doc-explorer a.graphiql-doc-explorer-type-name', { visible: true });
  await page.screenshot({ path: join(screenshots, 'explorer-commerce-docs.png') });

  assert.deepEqual(blocked, [], 'requests to another host');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the Storefront explorer prefills the token header and completes once a token is entered', async () => {
  const { page, blocked, problems } = await guardedPage();
  const resp = await page.goto(`${base}/api/2026-04/graphql.json`, { waitUntil: 'load' });
  assert.equal(resp.status(), 200);
  const headers = 'section.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror';
  await page.waitForSelector(headers, { visible: true });
  const prefilled = await page.$eval(headers, (el) => el.CodeMirror.getValue());
  assert.deepEqual(JSON.parse(prefilled), { 'X-Shopify-Storefront-Access-Token': '' });

  // A token in the Headers pane: the page introspects with it, and completion follows.
  const introspected = page.waitForResponse(isIntrospection);
  await page.$eval(
    headers,
    (el, token) => el.CodeMirror.setValue(JSON.stringify({ 'X-Shopify-Storefront-Access-Token': token }, null, 2)),
    storefrontToken,
  );
  const introspection = await introspected;
  assert.equal(introspection.status(), 200);
  assert.equal(introspection.request().headers()['x-shopify-storefront-access-token'], storefrontToken);
  const { offered, text } = await completeCus(page, join(screenshots, 'explorer-storefront.png'));
  assert.deepEqual(offered, ['customer']);
  assert.equal(text, '{ customer}');

  assert.deepEqual(blocked, [], 'requests to another host');
  assert.deepEqual(problems, []);
  await page.close();
});
