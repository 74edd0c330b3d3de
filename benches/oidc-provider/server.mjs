// panva's OpenID-certified provider (npm oidc-provider) configured as storekey's provider is, for
// the oidc benchmark (benches/oidc.rs) to measure beside storekey on the same machine.
//
// Started by the benchmark as `node server.mjs`, with the client in the environment
// (BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_REDIRECT_URI, BENCH_EMAIL). It listens on
// 127.0.0.1:0 and prints `oidc-provider listening on http://127.0.0.1:PORT` as its first line.
//
// As storekey: one confidential client (client_secret_basic, the one redirect URI, code flow,
// no PKCE), RS256 ID tokens carrying the email and profile claims (conformIdTokenClaims off:
// storekey puts them in the ID token too), a refresh token on every code exchange, rotated on
// every use, codes valid 600 s, access and ID tokens 60 minutes, refresh tokens 30 days.
//
// Storage: oidc-provider's own MemoryAdapter, unchanged, on a larger LRU (its default holds
// 1000 entries, fewer than the codes the benchmark mints before a phase).
//
// POST /__bench/mint?n=N mints N authorization codes in this process, each with a grant of its
// own, as the authorization endpoint would after a sign-in (the benchmark's stand-in for the
// browser step; storekey's codes come through its real /oauth/authorize). The answer is a JSON
// array of the codes. GET /__bench/sign?n=N answers the CPU of one RS256 signature here.
import { createServer } from 'node:http';
import { generateKeyPairSync, sign } from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const env = name => {
    const value = process.env[name];
    if (!value) {
        console.error(`oidc-provider bench server: ${name} is not set`);
        process.exit(2);
    }
    return value;
};
const CLIENT_ID = env('BENCH_CLIENT_ID');
const CLIENT_SECRET = env('BENCH_CLIENT_SECRET');
const REDIRECT_URI = env('BENCH_REDIRECT_URI');
const EMAIL = env('BENCH_EMAIL');
const ACCOUNT = 'bench-account-1';
const SCOPE = 'openid email profile';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const store = new LRU({ maxSize: 4_000_000 });

const configuration = {
    adapter: model => new MemoryAdapter(model, store),
    clients: [
        {
            client_id: CLIENT_ID,
            client_secret: CLIENT_SECRET,
            redirect_uris: [REDIRECT_URI],
            response_types: ['code'],
            grant_types: ['authorization_code', 'refresh_token'],
            token_endpoint_auth_method: 'client_secret_basic',
            id_token_signed_response_alg: 'RS256',
        },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['oidc-bench-cookie-key'] },
    claims: {
        openid: ['sub'],
        email: ['email', 'email_verified'],
        profile: ['given_name', 'family_name'],
    },
    conformIdTokenClaims: false,
    findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({
            sub,
            email: EMAIL,
            email_verified: true,
            given_name: 'Bench',
            family_name: 'Mark',
        }),
    }),
    features: {
        devInteractions: { enabled: false },
        userinfo: { enabled: true },
    },
    pkce: { required: () => false },
    expiresWithSession: async () => false,
    issueRefreshToken: async () => true,
    rotateRefreshToken: true,
    ttl: {
        AccessToken: 3600,
        AuthorizationCode: 600,
        Grant: 30 * 24 * 3600,
        IdToken: 3600,
        RefreshToken: 30 * 24 * 3600,
        Session: 30 * 24 * 3600,
        Interaction: 3600,
    },
};

async function mint(provider, n) {
    const client = await provider.Client.find(CLIENT_ID);
    const authTime = Math.floor(Date.now() / 1000);
    const codes = [];
    for (let i = 0; i < n; i += 1) {
        const grant = new provider.Grant({ accountId: ACCOUNT, clientId: CLIENT_ID });
        grant.addOIDCScope(SCOPE);
        const grantId = await grant.save();
        const code = new provider.AuthorizationCode({
            accountId: ACCOUNT,
            authTime,
            client,
            expiresWithSession: false,
            grantId,
            nonce: 'n-1',
            redirectUri: REDIRECT_URI,
            scope: SCOPE,
            claims: {},
        });
        codes.push(await code.save());
    }
    return codes;
}

const server = createServer();
server.keepAliveTimeout = 120_000;
server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    const issuer = `http://127.0.0.1:${port}`;
    const provider = new Provider(issuer, configuration);
    const callback = provider.callback();
    server.on('request', (req, res) => {
        if (req.url.startsWith('/__bench/sign')) {
            // One RS256 signature's CPU in this process (node's OpenSSL), µs: the floor under
            // every token response, which carries a signed ID token.
            const n = Number(new URL(req.url, issuer).searchParams.get('n') ?? '200');
            const input = Buffer.alloc(600, 'x');
            const before = process.cpuUsage();
            for (let i = 0; i < n; i += 1) sign('sha256', input, privateKey);
            const used = process.cpuUsage(before);
            res.setHeader('content-type', 'application/json');
            res.end(JSON.stringify({ us_per_sign: (used.user + used.system) / n }));
            return;
        }
        if (req.url.startsWith('/__bench/mint')) {
            const n = Number(new URL(req.url, issuer).searchParams.get('n') ?? '0');
            mint(provider, n).then(
                codes => {
                    res.setHeader('content-type', 'application/json');
                    res.end(JSON.stringify(codes));
                },
                error => {
                    res.statusCode = 500;
                    res.end(String(error?.stack ?? error));
                },
            );
            return;
        }
        callback(req, res);
    });
    console.log(`oidc-provider listening on ${issuer}`);
});
