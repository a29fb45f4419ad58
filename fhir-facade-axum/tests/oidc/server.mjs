// A real OpenID Connect provider (oidc-provider) for the auth integration test.
//
// Listens on 127.0.0.1 on a free port, prints {"issuer": ...} as its first stdout line, and
// issues RS256 JWT access tokens through client_credentials with resource indicators. The
// audience, client and patient come from the environment the test sets.
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const audience = process.env.OIDC_TEST_AUDIENCE;
const clientId = process.env.OIDC_TEST_CLIENT_ID;
const clientSecret = process.env.OIDC_TEST_CLIENT_SECRET;
const patient = process.env.OIDC_TEST_PATIENT;
const scopes = 'system/*.rs system/Observation.rs';

// A fresh key per run: nothing signed here can outlive the test.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: scopes,
    }],
    jwks: { keys: [signingKey] },
    scopes: scopes.split(' '),
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
            scope: scopes,
            audience,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    extraTokenClaims: () => ({ patient }),
  });
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

// The test closes stdin when it is done; exit then even if it could not kill us.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
