// storekey's OpenID Connect provider driven by openid-client (panva's OpenID-certified relying
// party library): discovery, the code flow with PKCE through the hosted sign-in pages (plain
// HTTP form posts with a cookie jar, as a browser would send them), ID token validation
// against the JWKS, userinfo, refresh rotation and reuse, RP-initiated logout. The negative
// cases carry the names of the OpenID conformance suite's modules (basic and RP-initiated
// logout plans). The server runs with oidc.refresh_grace_seconds = 0, oidc.code_seconds = 3
// and oidc.key_publish_minutes = 0 (run.sh).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';

const base = process.env.STOREKEY_URL;
const adminKey = process.env.ADMIN_KEY;
const CALLBACK = 'https://rp.example/callback';
const AFTER_LOGOUT = 'https://rp.example/signed-out';
const PASSWORD = 'Conformance-2026!';

async function admin(method, path, body) {
    const res = await fetch(`${base}/rest/V1${path}`, {
        method,
        headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(json)}`);
    return json;
}

async function registerClient(extra = {}) {
    return admin('POST', '/oidc/clients', {
        name: 'Conformance RP',
        redirect_uris: [CALLBACK],
        post_logout_redirect_uris: [AFTER_LOGOUT],
        public: false,
        first_party: true,
        scopes: ['openid', 'email', 'profile', 'address', 'phone', 'offline_access'],
        ...extra,
    });
}

// Created by the merchant (the admin API, confirmed): its address is verified, so ID tokens say
// email_verified: true (a createCustomerV2 sign-up's is not until a mailed code or reset is used).
async function createCustomer(email) {
    await admin('POST', '/customers', {
        customer: { email, firstname: 'Ada', lastname: 'Lovelace', confirmed: true },
        password: PASSWORD,
    });
}

const unique = prefix => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

/** A browser: a cookie jar, redirects followed by hand so each hop can be checked. */
class Browser {
    constructor() {
        this.jar = new Map();
    }
    keep(res) {
        for (const line of res.headers.getSetCookie()) {
            const [pair] = line.split(';');
            const at = pair.indexOf('=');
            const name = pair.slice(0, at);
            const value = pair.slice(at + 1);
            if (value === '' || /max-age=0/i.test(line)) this.jar.delete(name);
            else this.jar.set(name, value);
        }
    }
    cookie() {
        return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    async get(url) {
        const res = await fetch(new URL(url, base), { redirect: 'manual', headers: { cookie: this.cookie() } });
        this.keep(res);
        return res;
    }
    async post(url, form) {
        const res = await fetch(new URL(url, base), {
            method: 'POST',
            redirect: 'manual',
            headers: { cookie: this.cookie(), 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(form),
        });
        this.keep(res);
        return res;
    }
    /** Follows an authorization URL through the sign-in page; the redirect to the client. */
    async signIn(authorizationUrl, email) {
        let res = await this.get(authorizationUrl);
        assert.equal(res.status, 302);
        const signInPage = res.headers.get('location');
        assert.match(signInPage, /^\/account\/sign-in\?return_to=/);
        res = await this.get(signInPage);
        assert.equal(res.status, 200);
        const html = await res.text();
        const csrf = html.match(/name="csrf" value="([^"]+)"/)[1];
        const returnTo = new URL(signInPage, base).searchParams.get('return_to');
        res = await this.post('/account/sign-in', { csrf, return_to: returnTo, email, password: PASSWORD });
        assert.equal(res.status, 303, await res.text());
        res = await this.get(res.headers.get('location'));
        assert.equal(res.status, 302);
        return new URL(res.headers.get('location'));
    }
}

const insecure = { execute: [client.allowInsecureRequests] };

async function configFor(registered, auth) {
    return client.discovery(new URL(base), registered.client_id, undefined, auth, insecure);
}

/** One full sign-in: the tokens and what the relying party checked. */
async function codeFlow(config, email, extra = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email profile offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...extra,
    });
    const browser = new Browser();
    const callback = await browser.signIn(url, email);
    const tokens = await client.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
        expectedNonce: nonce,
        idTokenExpected: true,
    });
    return { tokens, browser, callback, verifier, state, nonce };
}

test('discovery: openid-client reads the document and the issuer is exact', async () => {
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, base);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.ok(meta.id_token_signing_alg_values_supported.includes('RS256'));
    assert.deepEqual(meta.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'none']);
    // RFC 8414's path answers the same document.
    const oauth = await client.discovery(new URL(base), registered.client_id, undefined,
        client.ClientSecretBasic(registered.client_secret), { ...insecure, algorithm: 'oauth2' });
    assert.equal(oauth.serverMetadata().issuer, base);
});

test('code flow with PKCE (client_secret_basic): ID token verified with the JWKS, userinfo, refresh rotation and reuse, end session', async () => {
    const email = unique('rp');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const { tokens, browser } = await codeFlow(config, email);
    const claims = tokens.claims();
    assert.equal(claims.iss, base);
    assert.equal(claims.aud, registered.client_id);
    assert.equal(claims.email, email);
    assert.equal(claims.email_verified, true);
    assert.equal(claims.given_name, 'Ada');
    assert.notEqual(claims.sub, email);
    assert.equal(typeof claims.sid, 'string');
    assert.equal(tokens.token_type, 'bearer');
    assert.ok(tokens.expires_in > 0);

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.email, email);
    assert.equal(info.family_name, 'Lovelace');

    // The access token is a storekey access token: the Commerce dialect accepts it.
    const me = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ query: '{ customer { email } }' }),
    }).then(r => r.json());
    assert.equal(me.data.customer.email, email);

    // Refresh: a new refresh token each time; the old one used again ends the family.
    const renewed = await client.refreshTokenGrant(config, tokens.refresh_token);
    assert.notEqual(renewed.refresh_token, tokens.refresh_token);
    assert.equal(renewed.claims().sub, claims.sub);
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token),
        e => e.error === 'invalid_grant');
    await assert.rejects(client.refreshTokenGrant(config, renewed.refresh_token),
        e => e.error === 'invalid_grant', 'the reuse ended the whole family');

    // RP-initiated logout: back to the registered URI with the state; the session is gone.
    const end = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: AFTER_LOGOUT,
        state: 'bye-1',
    });
    const res = await browser.get(end);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${AFTER_LOGOUT}?state=bye-1`);
    assert.equal(browser.jar.has('storekey_account'), false);
});

test('client_secret_post and a public client (none + PKCE) complete the flow', async () => {
    const email = unique('post');
    await createCustomer(email);
    const confidential = await registerClient();
    const post = await configFor(confidential, client.ClientSecretPost(confidential.client_secret));
    const viaPost = await codeFlow(post, email);
    assert.equal(viaPost.tokens.claims().email, email);

    const publicClient = await registerClient({ public: true });
    assert.equal(publicClient.client_secret, undefined);
    const none = await configFor(publicClient, client.None());
    const viaNone = await codeFlow(none, email);
    assert.equal(viaNone.tokens.claims().aud, publicClient.client_id);
});

test('OIDCCAuthCodeReuse: a reused code is refused and what it issued is revoked', async () => {
    const email = unique('reuse');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const { tokens, callback, verifier, state, nonce } = await codeFlow(config, email);
    await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
        e => e.error === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub),
        e => e.status === 401);
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token), e => e.error === 'invalid_grant');
});

test('wrong nonce: openid-client refuses the ID token', async () => {
    const email = unique('nonce');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        nonce: 'the-nonce-sent',
    });
    const callback = await new Browser().signIn(url, email);
    await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: 'another-nonce' }),
        e => /"nonce" claim/.test(e.cause?.message ?? ''));
});

test('OIDCCEnsureRegisteredRedirectUri: an unregistered redirect_uri is shown, never redirected to', async () => {
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: 'https://attacker.example/cb',
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
    });
    const res = await new Browser().get(url);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.match(await res.text(), /redirect_uri is not registered/);
});

test('missing PKCE for a public client: the error comes back to the client, openid-client raises it', async () => {
    const publicClient = await registerClient({ public: true });
    const config = await configFor(publicClient, client.None());
    const url = client.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid', state: 's-pkce' });
    const res = await new Browser().get(url);
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get('location'));
    assert.equal(back.searchParams.get('error'), 'invalid_request');
    await assert.rejects(
        client.authorizationCodeGrant(config, back, { expectedState: 's-pkce', pkceCodeVerifier: client.randomPKCECodeVerifier() }),
        e => e.error === 'invalid_request');
});

test('expired code: refused after oidc.code_seconds', async () => {
    const email = unique('expired');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
    });
    const callback = await new Browser().signIn(url, email);
    await new Promise(r => setTimeout(r, 4500));
    await assert.rejects(
        client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
        e => e.error === 'invalid_grant');
});

test('OIDCCPromptNoneNotLoggedIn: prompt=none without a session answers login_required', async () => {
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        prompt: 'none',
        state: 's-none',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
    });
    const res = await new Browser().get(url);
    assert.equal(res.status, 302);
    const back = new URL(res.headers.get('location'));
    assert.equal(back.searchParams.get('error'), 'login_required');
    assert.equal(back.searchParams.get('state'), 's-none');
    assert.equal(back.searchParams.get('iss'), base);
});

test('OIDCCServerRotateKeys: after a rotation, new ID tokens carry the new key and verify', async () => {
    const email = unique('rotate');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const before = await codeFlow(config, email);
    const kidOf = jwt => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url')).kid;
    const oldKid = kidOf(before.tokens.id_token);
    const rotated = await admin('POST', '/oidc/keys/rotate');
    assert.notEqual(rotated.kid, oldKid);
    const jwks = await fetch(`${base}/.well-known/jwks.json`).then(r => r.json());
    const kids = jwks.keys.map(k => k.kid);
    assert.ok(kids.includes(oldKid) && kids.includes(rotated.kid), JSON.stringify(kids));
    // A fresh relying party (no cached JWKS) verifies a token signed by the new key.
    const fresh = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const after = await codeFlow(fresh, email);
    assert.equal(kidOf(after.tokens.id_token), rotated.kid);
});

test('OIDCCRpInitiatedLogoutBadLogoutRedirectUri: an unregistered post_logout_redirect_uri is refused', async () => {
    const email = unique('logout');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const { tokens, browser } = await codeFlow(config, email);
    const end = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: 'https://attacker.example/after',
    });
    const res = await browser.get(end);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    assert.ok(browser.jar.has('storekey_account'), 'the session stays');
});

test('OIDCCRpInitiatedLogoutModifiedIdTokenHint: a tampered hint is refused', async () => {
    const email = unique('hint');
    await createCustomer(email);
    const registered = await registerClient();
    const config = await configFor(registered, client.ClientSecretBasic(registered.client_secret));
    const { tokens, browser } = await codeFlow(config, email);
    const [h, p, s] = tokens.id_token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    payload.sub = 'someone-else';
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    const res = await browser.get(client.buildEndSessionUrl(config, { id_token_hint: forged, post_logout_redirect_uri: AFTER_LOGOUT }));
    assert.equal(res.status, 400);
    assert.ok(browser.jar.has('storekey_account'));
});
