// A real OpenID provider (npm oidc-provider, OpenID certified) for the citizen vault's integration tests.
//
// Usage: node provider.mjs [--port N] [--issuer URL]   (or OIDC_PORT / OIDC_ISSUER in the environment;
//        OIDC_JWKS_FILE names a private JWKS to sign with)
//
// - client credentials for API tests: one confidential client per test principal, secret = "<client>-secret";
//   access tokens are RFC 9068 JWTs (typ at+jwt) for the resource indicator "urn:citizen-vault", whose
//   audience is "citizen-vault"; the principal's `roles` and `agency` are added as claims.
// - authorization code + PKCE through the built-in devInteractions login pages, for a genuine ID token.
//   That client is called "citizen-vault" on purpose: its ID tokens then carry aud = citizen-vault, the same
//   audience as the API's access tokens, so only the RFC 9068 `typ` check tells them apart.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: { port: { type: 'string' }, issuer: { type: 'string' } },
});
const port = Number(args.port ?? process.env.OIDC_PORT ?? 0);
if (!Number.isInteger(port) || port <= 0) {
  console.error('provider.mjs: give the port with --port N or OIDC_PORT');
  process.exit(2);
}
const issuer = args.issuer ?? process.env.OIDC_ISSUER ?? `http://127.0.0.1:${port}`;

const RESOURCE = 'urn:citizen-vault';
const AUDIENCE = 'citizen-vault';
const BROWSER_CLIENT = 'citizen-vault';
const BROWSER_REDIRECT_URI = 'http://127.0.0.1/callback';
// The web portal's relying party: a confidential native client, so its loopback redirect URIs match on any
// port (RFC 8252, 7.3) and the portal under test can listen wherever it was given a free port.
const PORTAL_CLIENT = 'citizen-vault-portal';

// The test principals: client id -> claims added to its access tokens.
const PRINCIPALS = {
  'citizen-a': { roles: ['citizen'] },
  'citizen-b': { roles: ['citizen'] },
  'agency-x': { roles: ['agency'], agency: 'tax-office' },
  'agency-y': { roles: ['agency'], agency: 'city-registry' },
  auditor: { roles: ['auditor'] },
  admin: { roles: ['admin'] },
  norole: {},
};

const serviceClients = Object.keys(PRINCIPALS).map((clientId) => ({
  client_id: clientId,
  client_secret: `${clientId}-secret`,
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
}));

const browserClient = {
  client_id: BROWSER_CLIENT,
  client_secret: `${BROWSER_CLIENT}-secret`,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [BROWSER_REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
};

const portalClient = {
  client_id: PORTAL_CLIENT,
  client_secret: `${PORTAL_CLIENT}-secret`,
  application_type: 'native',
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: ['http://127.0.0.1/auth/callback'],
  post_logout_redirect_uris: ['http://127.0.0.1/?signed_out=1'],
  token_endpoint_auth_method: 'client_secret_basic',
};

// OIDC_JWKS_FILE: a private JWKS to sign with (the tests hold the key so they can forge tokens that differ
// from a genuine one in exactly one claim); without it a fresh RSA key is generated.
function signingKeys() {
  if (process.env.OIDC_JWKS_FILE) {
    return JSON.parse(readFileSync(process.env.OIDC_JWKS_FILE, 'utf8'));
  }
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  return { keys: [{ ...key, kid: randomUUID(), alg: 'RS256', use: 'sig' }] };
}

const configuration = {
  clients: [...serviceClients, browserClient, portalClient],
  jwks: signingKeys(),
  cookies: { keys: [randomUUID()] },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'documents',
          audience: AUDIENCE,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: async (_ctx, token) => {
    if (token.kind === 'ClientCredentials') {
      const principal = PRINCIPALS[token.clientId];
      return principal ? { ...principal } : undefined;
    }
    // a browser login as one of the test principals' names: its access token carries that principal's roles
    const account = token.kind === 'AccessToken' ? PRINCIPALS[token.accountId] : undefined;
    return account ? { ...account } : undefined;
  },
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    IdToken: 600,
    Grant: 600,
    Interaction: 600,
    Session: 600,
    AuthorizationCode: 60,
  },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on 127.0.0.1:${port}, issuer ${issuer}`);
});

const shutdown = () => process.exit(0);
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
