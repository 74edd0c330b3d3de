// Conformance of storekey's Storefront dialect with clients nobody here wrote: multipassify
// (the npm Multipass encoder) makes the tokens, Shopify's own @shopify/storefront-api-client
// sends the operations. Run by run.sh against a freshly started server.
//
// Environment: STOREKEY_URL (http://IP:PORT), STOREFRONT_TOKEN (a public storefront token with
// unauthenticated_write_customers), MULTIPASS_SECRET (the server's multipass.secret).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStorefrontApiClient } from '@shopify/storefront-api-client';
import Multipassify from 'multipassify';

const url = required('STOREKEY_URL');
const publicAccessToken = required('STOREFRONT_TOKEN');
const secret = required('MULTIPASS_SECRET');
const apiVersion = '2026-04';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

// The client forces https (it keeps only the origin of storeDomain); storekey here is plain HTTP.
const customFetchApi = (u, init) => fetch(u.replace(/^https:/, 'http:'), init);

function client(token = publicAccessToken) {
  return createStorefrontApiClient({ storeDomain: url, apiVersion, publicAccessToken: token, customFetchApi });
}

const MULTIPASS = `mutation customerAccessTokenCreateWithMultipass($multipassToken: String!) {
  customerAccessTokenCreateWithMultipass(multipassToken: $multipassToken) {
    customerAccessToken { accessToken expiresAt }
    customerUserErrors { code field message }
  }
}`;

const CUSTOMER = `query customer($customerAccessToken: String!) {
  customer(customerAccessToken: $customerAccessToken) { id email firstName lastName displayName }
}`;

const DELETE = `mutation customerAccessTokenDelete($customerAccessToken: String!) {
  customerAccessTokenDelete(customerAccessToken: $customerAccessToken) { deletedAccessToken userErrors { field message } }
}`;

function show(label, value) {
  console.log(`${label}: ${JSON.stringify(value)}`);
}

const unique = `${Date.now()}-${process.pid}`;
const email = `nic.potts.${unique}@example.com`;

test('a multipassify token signs in and the customer reads back', async () => {
  const multipass = new Multipassify(secret);
  const token = multipass.encode({
    email,
    first_name: 'Nic',
    last_name: 'Potts',
    identifier: `nic-${unique}`,
    tag_string: 'canadian, premium',
  });
  const sf = client();

  const signIn = await sf.request(MULTIPASS, { variables: { multipassToken: token } });
  show('customerAccessTokenCreateWithMultipass', { data: signIn.data, errors: signIn.errors });
  assert.equal(signIn.errors, undefined);
  const payload = signIn.data.customerAccessTokenCreateWithMultipass;
  assert.deepEqual(payload.customerUserErrors, []);
  const { accessToken, expiresAt } = payload.customerAccessToken;
  assert.match(accessToken, /^[a-z0-9]{32}$/);
  assert.match(expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const days = (Date.parse(expiresAt) - Date.now()) / 86_400_000;
  assert.ok(days > 41.9 && days < 42.1, `expiresAt ${expiresAt} is about 42 days away`);

  const read = await sf.request(CUSTOMER, { variables: { customerAccessToken: accessToken } });
  show('customer', { data: read.data, errors: read.errors });
  assert.equal(read.errors, undefined);
  assert.equal(read.data.customer.email, email);
  assert.equal(read.data.customer.firstName, 'Nic');
  assert.equal(read.data.customer.lastName, 'Potts');
  assert.equal(read.data.customer.displayName, 'Nic Potts');
  assert.match(read.data.customer.id, /^gid:\/\/shopify\/Customer\/\d+$/);

  // Each Multipass token works once.
  const replay = await sf.request(MULTIPASS, { variables: { multipassToken: token } });
  show('replayed customerAccessTokenCreateWithMultipass', { data: replay.data, errors: replay.errors });
  assert.equal(replay.errors, undefined);
  assert.deepEqual(replay.data.customerAccessTokenCreateWithMultipass, {
    customerAccessToken: null,
    customerUserErrors: [
      { code: 'INVALID_MULTIPASS_REQUEST', field: ['multipassToken'], message: 'Invalid Multipass request' },
    ],
  });

  // Sign out: the token is gone.
  const del = await sf.request(DELETE, { variables: { customerAccessToken: accessToken } });
  show('customerAccessTokenDelete', { data: del.data, errors: del.errors });
  assert.equal(del.data.customerAccessTokenDelete.deletedAccessToken, accessToken);
  const after = await sf.request(CUSTOMER, { variables: { customerAccessToken: accessToken } });
  show('customer after delete', { data: after.data, errors: after.errors });
  assert.deepEqual(after.data, { customer: null });
  assert.equal(after.errors, undefined);
});

test('a token made with another secret is refused with the generic Multipass error', async () => {
  const token = new Multipassify('not the shop secret').encode({ email });
  const res = await client().request(MULTIPASS, { variables: { multipassToken: token } });
  show('foreign-secret customerAccessTokenCreateWithMultipass', { data: res.data, errors: res.errors });
  assert.equal(res.data.customerAccessTokenCreateWithMultipass.customerAccessToken, null);
  assert.equal(res.data.customerAccessTokenCreateWithMultipass.customerUserErrors[0].code, 'INVALID_MULTIPASS_REQUEST');
});

test('an unknown storefront token is a 401 the client reports as a network error', async () => {
  const res = await client('not-a-storefront-token').request(CUSTOMER, {
    variables: { customerAccessToken: 'x' },
  });
  show('unknown storefront token', { data: res.data, errors: { networkStatusCode: res.errors?.networkStatusCode, message: res.errors?.message } });
  assert.equal(res.data, undefined);
  assert.equal(res.errors.networkStatusCode, 401);
});
