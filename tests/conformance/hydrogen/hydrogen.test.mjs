// Shopify Hydrogen against storekey's Storefront dialect: Hydrogen's own Storefront client
// (`createStorefrontClient` from @shopify/hydrogen, which adds `country`/`language` from its i18n
// to every document declaring them, sends its own headers and throws on GraphQL errors) sends the
// account documents of Hydrogen's starter template, unmodified: run.sh unpacks them from
// @shopify/cli-hydrogen 6.1.0 (the last starter on the Storefront API customer flow) and this file
// reads them out of the route modules. Each test plays one route's action as the route does it
// (the same variables), and checks the fields the route then reads.
//
// Environment: STOREKEY_URL, STOREFRONT_TOKEN (unauthenticated_write_customers), ADMIN_KEY,
// OUTBOX_DIR (the server's mail outbox), HYDROGEN_ROUTES (the starter's app/routes directory).
// The server runs with Shopify's link forms: reset.url_template = …/account/reset/{id}/{token};
// activation links keep storekey's default, Shopify's …/account/activate/{id}/{token}.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createStorefrontClient } from '@shopify/hydrogen';

const url = required('STOREKEY_URL');
const routes = required('HYDROGEN_ROUTES');
const outbox = required('OUTBOX_DIR');
const adminKey = required('ADMIN_KEY');

function required(name) {
    const value = process.env[name];
    if (!value) throw new Error(`${name} must be set`);
    return value;
}

// A French-Canadian storefront: every @inContext document carries CA and FR.
const { storefront } = createStorefrontClient({
    storeDomain: url,
    publicStorefrontToken: required('STOREFRONT_TOKEN'),
    storefrontApiVersion: '2023-10',
    i18n: { language: 'FR', country: 'CA' }
});

/** The `#graphql` documents of one starter route module, with `${FRAGMENT}` filled in. */
async function documents(file) {
    const source = await readFile(join(routes, file), 'utf8');
    const found = {};
    for (const m of source.matchAll(/const (\w+) = `#graphql([\s\S]*?)` as const;/g)) {
        found[m[1]] = m[2];
    }
    for (const name of Object.keys(found)) {
        found[name] = found[name].replace(/\$\{(\w+)\}/g, (_, f) => {
            if (!(f in found)) throw new Error(`${file}: ${name} uses unknown ${f}`);
            return found[f];
        });
    }
    return found;
}

const docs = {
    login: await documents('account_.login.tsx'),
    register: await documents('account_.register.tsx'),
    recover: await documents('account_.recover.tsx'),
    reset: await documents('account_.reset.$id.$resetToken.tsx'),
    activate: await documents('account_.activate.$id.$activationToken.tsx'),
    account: await documents('account.tsx'),
    profile: await documents('account.profile.tsx'),
    addresses: await documents('account.addresses.tsx'),
    orders: await documents('account.orders._index.tsx')
};

test('the starter documents were found (a changed layout must not pass silently)', () => {
    const names = Object.fromEntries(Object.entries(docs).map(([k, v]) => [k, Object.keys(v).sort()]));
    assert.deepEqual(names, {
        login: ['LOGIN_MUTATION'],
        register: ['CUSTOMER_CREATE_MUTATION', 'REGISTER_LOGIN_MUTATION'],
        recover: ['CUSTOMER_RECOVER_MUTATION'],
        reset: ['CUSTOMER_RESET_MUTATION'],
        activate: ['CUSTOMER_ACTIVATE_MUTATION'],
        account: ['CUSTOMER_FRAGMENT', 'CUSTOMER_QUERY'],
        profile: ['CUSTOMER_UPDATE_MUTATION'],
        addresses: [
            'CREATE_ADDRESS_MUTATION',
            'DELETE_ADDRESS_MUTATION',
            'UPDATE_ADDRESS_MUTATION',
            'UPDATE_DEFAULT_ADDRESS_MUTATION'
        ],
        orders: ['CUSTOMER_FRAGMENT', 'CUSTOMER_ORDERS_QUERY', 'ORDER_ITEM_FRAGMENT']
    });
    assert.match(docs.account.CUSTOMER_QUERY, /@inContext\(country: \$country, language: \$language\)/);
});

const PASSWORD = 'Hydrogen-pass-1';
const unique = prefix => `${prefix}.${Date.now()}.${process.pid}.${Math.floor(Math.random() * 1e6)}@example.com`;

/** The register route: customerCreate, then registerLogin; returns the access token. */
async function register(email, password = PASSWORD) {
    const { customerCreate } = await storefront.mutate(docs.register.CUSTOMER_CREATE_MUTATION, {
        variables: { input: { email, password } }
    });
    assert.deepEqual(customerCreate.customerUserErrors, []);
    assert.match(customerCreate.customer.id, /^gid:\/\/shopify\/Customer\/\d+$/);
    const { customerAccessTokenCreate } = await storefront.mutate(docs.register.REGISTER_LOGIN_MUTATION, {
        variables: { input: { email, password } }
    });
    assert.deepEqual(customerAccessTokenCreate.customerUserErrors, []);
    return customerAccessTokenCreate.customerAccessToken.accessToken;
}

/** The account route's loader: the customer through CUSTOMER_QUERY. */
async function account(accessToken) {
    const { customer } = await storefront.query(docs.account.CUSTOMER_QUERY, {
        variables: {
            customerAccessToken: accessToken,
            country: storefront.i18n.country,
            language: storefront.i18n.language
        },
        cache: storefront.CacheNone()
    });
    return customer;
}

/** Waits (up to 5 s) for a mail to `email` whose text matches `pattern`; returns the match. */
async function mailTo(email, pattern) {
    for (let i = 0; i < 250; i++) {
        let names = [];
        try {
            names = (await readdir(outbox)).filter(n => n.endsWith('.eml'));
        } catch {}
        for (const name of names.sort()) {
            const text = await readFile(join(outbox, name), 'utf8');
            if (!text.includes(`To: ${email}`)) continue;
            const m = text.replace(/=\r?\n/g, '').match(pattern);
            if (m) return m;
        }
        await new Promise(r => setTimeout(r, 20));
    }
    throw new Error(`no mail to ${email} matching ${pattern} in ${outbox}`);
}

test('register, sign in and the account page answer as Hydrogen reads them', async () => {
    const email = unique('hydrogen.register');
    await register(email);
    const { customerAccessTokenCreate } = await storefront.mutate(docs.login.LOGIN_MUTATION, {
        variables: { input: { email, password: PASSWORD } }
    });
    const token = customerAccessTokenCreate.customerAccessToken;
    assert.match(token.accessToken, /^[a-z0-9]{32}$/);
    assert.ok(!Number.isNaN(Date.parse(token.expiresAt)), token.expiresAt);

    const customer = await account(token.accessToken);
    assert.deepEqual(customer, {
        acceptsMarketing: false,
        addresses: { nodes: [] },
        defaultAddress: null,
        email,
        firstName: null,
        lastName: null,
        numberOfOrders: '0',
        phone: null
    });
});

test('a wrong password is refused the way the login route reads it', async () => {
    const email = unique('hydrogen.wrong');
    await register(email);
    const { customerAccessTokenCreate } = await storefront.mutate(docs.login.LOGIN_MUTATION, {
        variables: { input: { email, password: 'not-the-password' } }
    });
    assert.equal(customerAccessTokenCreate.customerAccessToken, null);
    assert.deepEqual(customerAccessTokenCreate.customerUserErrors, [
        { code: 'UNIDENTIFIED_CUSTOMER', field: null, message: 'Unidentified customer' }
    ]);
});

test('the profile route updates names and reads them back', async () => {
    const email = unique('hydrogen.profile');
    const token = await register(email);
    const { customerUpdate } = await storefront.mutate(docs.profile.CUSTOMER_UPDATE_MUTATION, {
        variables: { customerAccessToken: token, customer: { firstName: 'Héloïse', lastName: 'Tremblay' } }
    });
    assert.deepEqual(customerUpdate.customerUserErrors, []);
    assert.equal(customerUpdate.customer.firstName, 'Héloïse');
    assert.equal(customerUpdate.customer.lastName, 'Tremblay');
    assert.equal(customerUpdate.customer.email, email);
    const customer = await account(token);
    assert.equal(customer.firstName, 'Héloïse');
});

test('the addresses route: create as default, update, read on the account page, delete', async () => {
    const token = await register(unique('hydrogen.addresses'));
    // The route copies these form fields into MailingAddressInput as strings.
    const address = {
        address1: '1 Rue Sainte-Catherine',
        address2: 'App. 4',
        city: 'Montréal',
        company: 'Boulangerie',
        country: 'Canada',
        firstName: 'Héloïse',
        lastName: 'Tremblay',
        phone: '+15145550100',
        province: 'Quebec',
        zip: 'H2X 1K4'
    };
    const { customerAddressCreate } = await storefront.mutate(docs.addresses.CREATE_ADDRESS_MUTATION, {
        variables: { customerAccessToken: token, address }
    });
    assert.deepEqual(customerAddressCreate.customerUserErrors, []);
    const id = customerAddressCreate.customerAddress.id;
    assert.match(id, /^gid:\/\/shopify\/MailingAddress\/\d+/);
    // "Set as default address" checked: the route decodes the id and sets it as the default.
    const { customerDefaultAddressUpdate } = await storefront.mutate(
        docs.addresses.UPDATE_DEFAULT_ADDRESS_MUTATION,
        { variables: { customerAccessToken: token, addressId: decodeURIComponent(id) } }
    );
    assert.deepEqual(customerDefaultAddressUpdate.customerUserErrors, []);
    assert.equal(customerDefaultAddressUpdate.customer.defaultAddress.id, id);

    const { customerAddressUpdate } = await storefront.mutate(docs.addresses.UPDATE_ADDRESS_MUTATION, {
        variables: { address: { ...address, address2: 'App. 5' }, customerAccessToken: token, id: decodeURIComponent(id) }
    });
    assert.deepEqual(customerAddressUpdate.customerUserErrors, []);
    assert.equal(customerAddressUpdate.customerAddress.id, id);

    const customer = await account(token);
    const expected = {
        id,
        formatted: customer.defaultAddress?.formatted,
        firstName: 'Héloïse',
        lastName: 'Tremblay',
        company: 'Boulangerie',
        address1: '1 Rue Sainte-Catherine',
        address2: 'App. 5',
        country: 'Canada',
        province: 'Quebec',
        city: 'Montréal',
        zip: 'H2X 1K4',
        phone: '+15145550100'
    };
    assert.deepEqual(customer.defaultAddress, expected);
    assert.deepEqual(customer.addresses.nodes, [expected]);
    // The account page prints `formatted` line by line: street, city/province/zip, country.
    assert.ok(Array.isArray(expected.formatted) && expected.formatted.length >= 3, JSON.stringify(expected.formatted));
    assert.ok(expected.formatted.some(line => line.includes('1 Rue Sainte-Catherine')));
    assert.ok(expected.formatted.some(line => line.includes('Montréal') && line.includes('H2X 1K4')));
    assert.ok(expected.formatted.includes('Canada'));

    const { customerAddressDelete } = await storefront.mutate(docs.addresses.DELETE_ADDRESS_MUTATION, {
        variables: { customerAccessToken: token, id }
    });
    assert.deepEqual(customerAddressDelete.customerUserErrors, []);
    assert.equal(customerAddressDelete.deletedCustomerAddressId, id);
    const after = await account(token);
    assert.deepEqual(after.addresses.nodes, []);
    assert.equal(after.defaultAddress, null);
});

test('an address without a country is refused with the customerUserErrors the route shows', async () => {
    const token = await register(unique('hydrogen.badaddress'));
    const { customerAddressCreate } = await storefront.mutate(docs.addresses.CREATE_ADDRESS_MUTATION, {
        variables: { customerAccessToken: token, address: { address1: '1 Main St', city: 'Ottawa', country: 'Atlantis' } }
    });
    assert.equal(customerAddressCreate.customerAddress, null);
    assert.ok(customerAddressCreate.customerUserErrors.length >= 1);
    assert.deepEqual(customerAddressCreate.customerUserErrors[0].field, ['address', 'country']);
    const customer = await account(token);
    assert.deepEqual(customer.addresses.nodes, []);
});

test('recover, then the reset route with the id and token from the mailed link', async () => {
    const email = unique('hydrogen.recover');
    await register(email);
    const { customerRecover } = await storefront.mutate(docs.recover.CUSTOMER_RECOVER_MUTATION, {
        variables: { email }
    });
    assert.deepEqual(customerRecover.customerUserErrors, []);
    const [, id, resetToken] = await mailTo(email, /\/account\/reset\/(\d+)\/([0-9a-f]{32})/);
    const { customerReset } = await storefront.mutate(docs.reset.CUSTOMER_RESET_MUTATION, {
        variables: { id: `gid://shopify/Customer/${id}`, input: { password: 'Hydrogen-new-2', resetToken } }
    });
    assert.deepEqual(customerReset.customerUserErrors, []);
    const customer = await account(customerReset.customerAccessToken.accessToken);
    assert.equal(customer.email, email);
    // The link works once.
    const again = await storefront.mutate(docs.reset.CUSTOMER_RESET_MUTATION, {
        variables: { id: `gid://shopify/Customer/${id}`, input: { password: 'Hydrogen-new-3', resetToken } }
    });
    assert.equal(again.customerReset.customerAccessToken, null);
    assert.equal(again.customerReset.customerUserErrors[0].code, 'TOKEN_INVALID');
});

test('an admin invite, then the activate route with the id and token from the mailed link', async () => {
    const email = unique('hydrogen.invite');
    const admin = (method, path, body) =>
        fetch(`${url}${path}`, {
            method,
            headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json' },
            body: body && JSON.stringify(body)
        });
    const created = await admin('POST', '/rest/V1/customers', {
        customer: { email, firstname: 'Invitée', lastname: 'Gagnon' }
    });
    assert.equal(created.status, 200);
    const customerId = (await created.json()).id;
    const invited = await admin('POST', `/rest/V1/customers/${customerId}/invite`);
    assert.equal(invited.status, 200, await invited.clone().text());
    assert.equal(await invited.json(), true);

    const [, id, activationToken] = await mailTo(email, /\/account\/activate\/(\d+)\/([A-Za-z0-9_-]+)/);
    assert.equal(Number(id), customerId);
    const activate = password =>
        storefront.mutate(docs.activate.CUSTOMER_ACTIVATE_MUTATION, {
            variables: { id: `gid://shopify/Customer/${id}`, input: { password, activationToken } }
        });
    const { customerActivate } = await activate('Hydrogen-act-1');
    assert.deepEqual(customerActivate.customerUserErrors, []);
    const customer = await account(customerActivate.customerAccessToken.accessToken);
    assert.equal(customer.email, email);
    assert.equal(customer.firstName, 'Invitée');
    // Signed in with the password just set, through the login route.
    const { customerAccessTokenCreate } = await storefront.mutate(docs.login.LOGIN_MUTATION, {
        variables: { input: { email, password: 'Hydrogen-act-1' } }
    });
    assert.deepEqual(customerAccessTokenCreate.customerUserErrors, []);
    // The link works once.
    const again = await activate('Hydrogen-act-2');
    assert.equal(again.customerActivate.customerAccessToken, null);
    assert.equal(again.customerActivate.customerUserErrors.length, 1);
});

test('the orders page gets an error naming `orders`, never an empty list', async () => {
    const token = await register(unique('hydrogen.orders'));
    await assert.rejects(
        storefront.query(docs.orders.CUSTOMER_ORDERS_QUERY, {
            variables: {
                customerAccessToken: token,
                country: storefront.i18n.country,
                language: storefront.i18n.language,
                first: 20
            },
            cache: storefront.CacheNone()
        }),
        err => {
            // storekey's own refusal, not a validation error about the order types below it.
            assert.match(err.message, /`?orders`?/);
            assert.doesNotMatch(err.message, /Unknown (field|type)/);
            return true;
        }
    );
});
