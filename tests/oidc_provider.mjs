// An OpenID provider for tests/test_oauth.py: panva's oidc-provider (installed by scripts/install-client-tools.sh),
// configured from the JSON file named by argv[2], which the test writes:
//   {"entry": path of oidc-provider's lib/index.js, "issuer": "http://127.0.0.1:PORT", "port": PORT,
//    "keys": [private JWKs, the first signs], "resources": [resource indicators it issues tokens for]}
//
// What an MCP host meets at a real provider: discovery, dynamic client registration, the authorization code flow
// with PKCE, and JWT access tokens for the resource the client names (RFC 8707), whose audience is that resource.
// The login and consent pages are replaced by one route a test's stand-in browser calls with ?login=NAME: it signs
// NAME in and grants what the client asked for, as a person clicking through the pages would.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const { default: Provider, errors } = await import(pathToFileURL(config.entry).href);

const provider = new Provider(config.issuer, {
  jwks: { keys: config.keys },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, email: `${id}@example.test`, email_verified: true }),
  }),
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access'],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => undefined,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (!config.resources.includes(resource)) {
          throw new errors.InvalidTarget();
        }
        return {
          scope: 'tavus',
          audience: resource,
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // The email travels in the access token too, for servers that map users by email.
  extraTokenClaims: async (ctx, token) => ({ email: `${token.accountId}@example.test`, email_verified: true }),
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  cookies: { keys: ['test-cookie-signing-key'] },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!match || ctx.method !== 'GET') {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === 'login') {
    if (!ctx.query.login) {
      ctx.status = 400;
      ctx.body = 'say who signs in: ?login=NAME';
      return;
    }
    result = { login: { accountId: ctx.query.login } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    result = { consent: { grantId: await grant.save() } };
  } else {
    ctx.status = 400;
    ctx.body = `unexpected prompt ${prompt.name}`;
    return;
  }
  ctx.status = 303;
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: true }));
});

provider.listen(config.port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${config.issuer}`);
});
