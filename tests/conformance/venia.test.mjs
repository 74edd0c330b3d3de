// PWA Studio's Venia against storekey's Commerce dialect: Venia's own documents (imported from the
// pinned @magento/peregrine and @magento/venia-ui files, not copied) sent through Venia's own
// Apollo link chain (peregrine's getLinks: mutation queue, retry, auth, cache-id, store, error,
// and the HTTP link with useGETForQueries) on the @apollo/client version Venia pins. The link
// code is untranspiled ESM + JSX, so it is bundled for node with esbuild first. The run behaves
// as Venia does in a browser: `document` and `navigator.onLine` are set, so RetryLink retries a
// failed request up to five times.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { base, createCustomer, resetTokenFor, unique } from './common.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PASSWORD = 'Venia-pass-1';
let venia;
/** Every request the link chain sent: { method, operationName }. */
const sent = [];

before(async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'venia-')), 'venia.cjs');
    await build({
        entryPoints: [join(here, 'venia-entry.js')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        loader: { '.js': 'jsx' },
        define: { STORE_VIEW_CODE: '"default"' },
        logLevel: 'error',
        outfile: out
    });
    // Browser globals Venia's modules read at load time.
    const items = new Map();
    globalThis.localStorage = {
        getItem: k => (items.has(k) ? items.get(k) : null),
        setItem: (k, v) => items.set(k, String(v)),
        removeItem: k => items.delete(k),
        clear: () => items.clear()
    };
    globalThis.document = { cookie: '' };
    Object.defineProperty(globalThis, 'navigator', {
        value: { onLine: true, userAgent: 'node' },
        configurable: true
    });
    globalThis.window = globalThis;
    // Not an installed home-screen app: peregrine's authLink then reads localStorage.
    globalThis.matchMedia = () => ({ matches: false });
    const realFetch = globalThis.fetch;
    globalThis.fetch = (resource, options = {}) => {
        const url = new URL(String(resource));
        let op = url.searchParams.get('operationName');
        let email;
        if (typeof options.body === 'string') {
            const body = JSON.parse(options.body);
            op = op || body.operationName;
            email = body.variables?.email;
        }
        sent.push({ method: options.method || 'GET', operationName: op, email });
        return realFetch(resource, options);
    };
    venia = createRequire(import.meta.url)(out);
});

function client() {
    const { ApolloClient, ApolloLink, InMemoryCache, getLinks } = venia;
    globalThis.localStorage.clear();
    return new ApolloClient({
        link: ApolloLink.from([...getLinks(`${base}/graphql`).values()]),
        cache: new InMemoryCache()
    });
}

/** What Venia's setToken() does after SignIn: stores the token with its lifetime. */
function setToken(token) {
    new venia.BrowserPersistence().setItem('signin_token', token, 3600);
}

function sentFor(operationName, email) {
    return sent.filter(r => r.operationName === operationName && (email === undefined || r.email === email));
}

async function signIn(c, email, password) {
    const r = await c.mutate({
        mutation: venia.SIGN_IN,
        variables: { email, password },
        fetchPolicy: 'no-cache'
    });
    const token = r.data.generateCustomerToken.token;
    assert.match(token, /^[a-z0-9]{32}$/);
    setToken(token);
    return token;
}

test('Venia: SignIn (generateCustomerToken) over POST', async () => {
    const email = unique('venia-signin');
    await createCustomer(email, PASSWORD);
    const before = sentFor('SignIn').length;
    await signIn(client(), email, PASSWORD);
    const mine = sentFor('SignIn').slice(before);
    assert.deepEqual(mine.map(r => r.method), ['POST']);
});

// Venia sends every query as GET (useGETForQueries).
test('Venia: GetCustomerAfterSignIn and GetCustomerInformation over GET read the signed-in customer', async () => {
    const email = unique('venia-read');
    await createCustomer(email, PASSWORD);
    const c = client();
    await signIn(c, email, PASSWORD);
    const before = sent.length;
    const r = await c.query({ query: venia.GET_CUSTOMER, fetchPolicy: 'network-only' });
    assert.equal(r.data.customer.email, email);
    assert.equal(r.data.customer.firstname, 'Ada');
    assert.equal(r.data.customer.lastname, 'Lovelace');
    assert.equal(r.data.customer.is_subscribed, false);
    const info = await c.query({ query: venia.GET_CUSTOMER_INFORMATION, fetchPolicy: 'network-only' });
    assert.equal(info.data.customer.email, email);
    assert.equal(sent.slice(before).every(r => r.method === 'GET'), true);
});

test('Venia: ChangeCustomerPassword, then the new password signs in and the old one does not', async () => {
    const email = unique('venia-change');
    await createCustomer(email, PASSWORD);
    const c = client();
    await signIn(c, email, PASSWORD);
    const r = await c.mutate({
        mutation: venia.CHANGE_CUSTOMER_PASSWORD,
        variables: { currentPassword: PASSWORD, newPassword: 'Venia-pass-2' },
        fetchPolicy: 'no-cache'
    });
    assert.equal(r.data.changeCustomerPassword.email, email);
    await signIn(client(), email, 'Venia-pass-2');
    await assert.rejects(
        client().mutate({
            mutation: venia.SIGN_IN,
            variables: { email, password: PASSWORD },
            fetchPolicy: 'no-cache'
        }),
        err => {
            assert.match(
                venia.deriveErrorMessage([err]),
                /The account sign-in was incorrect or your account is disabled temporarily/
            );
            return true;
        }
    );
});

test('Venia: SignOutFromMenu (revokeCustomerToken) ends the token', async () => {
    const email = unique('venia-signout');
    await createCustomer(email, PASSWORD);
    const c = client();
    const token = await signIn(c, email, PASSWORD);
    const r = await c.mutate({ mutation: venia.SIGN_OUT, fetchPolicy: 'no-cache' });
    assert.equal(r.data.revokeCustomerToken.result, true);
    const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ customer { email } }' })
    });
    assert.equal(res.status, 401);
});

test('Venia: requestPasswordResetEmail, then resetPassword with the mailed token', async () => {
    const email = unique('venia-reset');
    await createCustomer(email, PASSWORD);
    const c = client();
    const r = await c.mutate({
        mutation: venia.REQUEST_PASSWORD_RESET_EMAIL_MUTATION,
        variables: { email },
        fetchPolicy: 'no-cache'
    });
    assert.equal(r.data.requestPasswordResetEmail, true);
    const token = await resetTokenFor(email);
    const done = await c.mutate({
        mutation: venia.RESET_PASSWORD_MUTATION,
        variables: { email, token, newPassword: 'Venia-pass-3' },
        fetchPolicy: 'no-cache'
    });
    assert.equal(done.data.resetPassword, true);
    await signIn(client(), email, 'Venia-pass-3');
});

test('Venia: a wrong password retried by RetryLink counts once toward lockout', async () => {
    // Three wrong submits are fifteen requests (RetryLink re-sends a 401 five times); with
    // lockout.max_failures = 10 they would lock the account if each request counted.
    const email = unique('venia-retry');
    await createCustomer(email, PASSWORD);
    // Counted for this email only: another test's background retries may still be in flight.
    const before = sentFor('SignIn', email).length;
    for (const wrong of ['Wrong-1', 'Wrong-2', 'Wrong-3']) {
        await assert.rejects(
            client().mutate({
                mutation: venia.SIGN_IN,
                variables: { email, password: wrong },
                fetchPolicy: 'no-cache'
            })
        );
    }
    // The form gets the 401's GraphQL errors at once; RetryLink re-sends in the background
    // (300 ms initial delay, doubling): wait for all of them before the right password.
    for (let i = 0; i < 200 && sentFor('SignIn', email).length - before < 15; i++) {
        await new Promise(r => setTimeout(r, 50));
    }
    assert.equal(sentFor('SignIn', email).length - before, 15, 'RetryLink sends each submit five times');
    await signIn(client(), email, PASSWORD);
});

// Venia's CreateAccount uses the deprecated createCustomer(input: CustomerInput) and selects
// is_confirmed.
test('Venia: CreateAccount (deprecated createCustomer) then SignIn', async () => {
    const email = unique('venia-create');
    const c = client();
    const r = await c.mutate({
        mutation: venia.CREATE_ACCOUNT,
        variables: {
            email,
            firstname: 'Ada',
            lastname: 'Lovelace',
            password: PASSWORD,
            is_subscribed: false
        },
        fetchPolicy: 'no-cache'
    });
    assert.equal(r.data.createCustomer.customer.email, email);
    await signIn(client(), email, PASSWORD);
});
