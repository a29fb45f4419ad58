// A real OpenID Connect provider (oidc-provider) for the auth integration tests.
//
// Listens on 127.0.0.1 on a free port, prints {"issuer": ...} as its first stdout line, and
// issues RS256 JWT access tokens for the facade's audience (resource indicators) to two clients,
// shaped like the Keycloak realm in deploy/keycloak:
//
// - a confidential backend service (client_credentials, `system/` scopes);
// - a public SMART app (authorization code, PKCE S256 required, loopback redirect URI as a native
//   app registers it: any port on 127.0.0.1), for one test user whose `patient` and `fhirUser`
//   attributes become claims, as Keycloak's user-attribute mappers add them.
//
// The login and consent pages are minimal interaction routes on the provider's interaction API
// (below): they answer JSON instead of HTML so that a script (pkce.mjs) can drive them without a
// browser, but they check the user's password and grant only what the consent prompt lists, like
// a real login page would. Everything comes from the environment the test sets.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};
const audience = env('OIDC_TEST_AUDIENCE');
const clientId = env('OIDC_TEST_CLIENT_ID');
const clientSecret = env('OIDC_TEST_CLIENT_SECRET');
// The backend service's launch patient (a client_credentials token has no user to take it from).
const backendPatient = env('OIDC_TEST_PATIENT');
const appClientId = env('OIDC_TEST_APP_CLIENT_ID');
// The one user: name, password, and the attributes Keycloak's mappers turn into claims.
const user = {
  username: env('OIDC_TEST_USERNAME'),
  password: env('OIDC_TEST_PASSWORD'),
  patient: env('OIDC_TEST_USER_PATIENT'),
  fhirUser: `Patient/${env('OIDC_TEST_USER_PATIENT')}`,
};

const systemScopes = ['system/*.rs', 'system/Observation.rs'];
const patientScopes = ['launch/patient', 'patient/Patient.rs', 'patient/Observation.rs'];
// What the facade's access tokens may carry; `openid` and `fhirUser` are identity scopes.
const resourceScopes = [...systemScopes, ...patientScopes].join(' ');

// A fresh key per run: nothing signed here can outlive the test.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

function findAccount(_ctx, sub) {
  if (sub !== user.username) {
    return undefined;
  }
  return {
    accountId: sub,
    // The id token and userinfo: `fhirUser` with the `fhirUser` scope (Keycloak's mapper).
    claims: () => ({ sub, fhirUser: user.fhirUser }),
  };
}

// Claims the facade reads from its access token, as the realm's mappers add them: `patient` with
// `launch/patient` (user attribute), `fhirUser` with `fhirUser`. A backend token carries the
// configured patient, as the client_credentials test expects.
async function extraTokenClaims(ctx, token) {
  if (!token.accountId) {
    return { patient: backendPatient };
  }
  const claims = {};
  if (token.scopes.has('launch/patient')) {
    claims.patient = user.patient;
  }
  // A resource server's access token carries only its own scopes, so whether `fhirUser` (an
  // identity scope) was granted is read from the grant the token came from.
  const grant = ctx.oidc.entities.Grant ?? await ctx.oidc.provider.Grant.find(token.grantId);
  if (grant?.getOIDCScope().split(' ').includes('fhirUser')) {
    claims.fhirUser = user.fhirUser;
  }
  return claims;
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: systemScopes.join(' '),
      },
      {
        client_id: appClientId,
        // A public client: no secret, so PKCE is all that binds the code to the app.
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // Loopback redirect of a native app (RFC 8252 §7.3): any port on 127.0.0.1.
        redirect_uris: ['http://127.0.0.1/callback'],
        scope: ['openid', 'fhirUser', ...patientScopes].join(' '),
      },
    ],
    jwks: { keys: [signingKey] },
    scopes: ['openid', 'fhirUser', ...systemScopes, ...patientScopes],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    findAccount,
    pkce: { required: () => true },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== audience) {
            throw new Error('unknown resource');
          }
          return {
            scope: resourceScopes,
            audience,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims,
  });

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^\/interaction\/([\w-]+)(\/login|\/confirm)?$/.exec(req.url);
    if (!match) {
      callback(req, res);
      return;
    }
    interaction(provider, req, res, match[2] ?? '').catch((err) => {
      // Never the request itself: it may carry a password.
      process.stderr.write(`interaction failed: ${err.message}\n`);
      json(res, 500, { error: 'server_error' });
    });
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

function json(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

async function form(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
  }
  return new URLSearchParams(body);
}

// GET  /interaction/:uid          the prompt: { prompt: "login" | "consent", details }
// POST /interaction/:uid/login    username, password → back to the authorization endpoint
// POST /interaction/:uid/confirm  grants exactly what the consent prompt asked for
async function interaction(provider, req, res, action) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (req.method === 'GET' && action === '') {
    json(res, 200, { uid: details.uid, prompt: prompt.name, details: prompt.details, client_id: params.client_id });
    return;
  }
  if (req.method === 'POST' && action === '/login' && prompt.name === 'login') {
    const input = await form(req);
    if (input.get('username') !== user.username || input.get('password') !== user.password) {
      json(res, 401, { error: 'access_denied', error_description: 'wrong username or password' });
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
    return;
  }
  if (req.method === 'POST' && action === '/confirm' && prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const { missingOIDCScope, missingOIDCClaims, missingResourceScopes } = prompt.details;
    if (missingOIDCScope) {
      grant.addOIDCScope(missingOIDCScope.join(' '));
    }
    if (missingOIDCClaims) {
      grant.addOIDCClaims(missingOIDCClaims);
    }
    for (const [indicator, scopes] of Object.entries(missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  json(res, 400, { error: 'invalid_request', error_description: `no ${req.method} ${action || '/'} during ${prompt.name}` });
}

// The test closes stdin when it is done; exit then even if it could not kill us.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
