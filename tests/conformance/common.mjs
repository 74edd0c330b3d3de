// Shared by the Commerce-dialect client runs: storekey's URL, plain-fetch setup steps (not the
// subject under test), and reading reset links from the outbox storekey writes in the temp dir.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const base = process.env.STOREKEY_URL;
export const outbox = process.env.OUTBOX_DIR;

/** A plain POST to /graphql for setting up a test (not the client under test). */
export async function gql(query, variables = {}, token) {
    const headers = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables })
    });
    return { status: res.status, body: await res.json() };
}

/** Creates a customer with createCustomerV2; fails the test if storekey refuses. */
export async function createCustomer(email, password) {
    const { status, body } = await gql(
        'mutation($e:String!,$p:String!){ createCustomerV2(input:{firstname:"Ada", lastname:"Lovelace", email:$e, password:$p}) { customer { email } } }',
        { e: email, p: password }
    );
    if (status !== 200 || body.errors) {
        throw new Error(`createCustomerV2 answered ${status}: ${JSON.stringify(body)}`);
    }
}

/** Waits (up to 5 s) for a mail to `email` with a reset link; returns its token. */
export async function resetTokenFor(email) {
    for (let i = 0; i < 250; i++) {
        let names = [];
        try {
            names = (await readdir(outbox)).filter(n => n.endsWith('.eml'));
        } catch {}
        for (const name of names.sort()) {
            const text = await readFile(join(outbox, name), 'utf8');
            if (!text.includes(`To: ${email}`)) continue;
            const m = text.match(/[?&]token=([0-9a-f]{32})/);
            if (m) return m[1];
        }
        await new Promise(r => setTimeout(r, 20));
    }
    throw new Error(`no reset mail to ${email} in ${outbox}`);
}

export const unique = prefix => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
