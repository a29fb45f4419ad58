// The browser's part of a SMART standalone launch, as a script: authorization code with PKCE
// (S256) against the provider of server.mjs, no browser.
//
// It listens on a loopback redirect URI as a native app does, sends the user agent to the
// authorization endpoint with a code_challenge, follows the redirects to the provider's login and
// consent interactions, submits the user's credentials and consent there, receives the code at the
// redirect URI, and exchanges it at the token endpoint with the code_verifier. On the way it checks
// what the provider must refuse: a wrong password, an authorization request without
// code_challenge, and a token request with a wrong or missing code_verifier (made with the very
// code that the right verifier then redeems, so the verifier is the only difference).
//
// Input (environment): OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_RESOURCE, OIDC_SCOPE, OIDC_USERNAME,
// OIDC_PASSWORD. Output: one JSON line on stdout, { token: <token response>, refused: {...} },
// for the test to read. Nothing secret is written anywhere else.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set`);
  }
  return value;
};
const issuer = env('OIDC_ISSUER');
const clientId = env('OIDC_CLIENT_ID');
const resource = env('OIDC_RESOURCE');
const scope = env('OIDC_SCOPE');
const username = env('OIDC_USERNAME');
const password = env('OIDC_PASSWORD');

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');

/** The redirect URI: a loopback listener that hands over the first query it receives. */
async function listen() {
  let deliver;
  const received = new Promise((resolve) => { deliver = resolve; });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end('You may close this window.');
    deliver(url.searchParams);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { uri: `http://127.0.0.1:${server.address().port}/callback`, received, server };
}

/** A user agent: remembers cookies (one provider, so by name), never follows redirects itself. */
class Browser {
  cookies = new Map();

  async fetch(url, init = {}) {
    const headers = { ...(init.headers ?? {}) };
    if (this.cookies.size > 0) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a));
      if (expired) {
        this.cookies.delete(name);
      } else {
        this.cookies.set(name, pair.slice(at + 1).trim());
      }
    }
    return response;
  }
}

/**
 * Runs the front channel from `authorizationUrl` until the redirect URI is reached, acting as the
 * user on the interaction pages. Returns the redirect's query, and the statuses of interaction
 * steps the user got wrong on purpose (`wrongPasswordFirst`).
 */
async function frontChannel(authorizationUrl, redirect, { wrongPasswordFirst = false } = {}) {
  const browser = new Browser();
  const refusals = {};
  let url = new URL(authorizationUrl);
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.href.startsWith(redirect.uri)) {
      await browser.fetch(url);
      return { query: await redirect.received, refusals };
    }
    const response = await browser.fetch(url);
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get('location'), url);
      continue;
    }
    if (!url.pathname.startsWith('/interaction/') || response.status !== 200) {
      throw new Error(`unexpected ${response.status} at ${url.pathname}: ${await response.text()}`);
    }
    const page = await response.json();
    const submit = (action, fields) => browser.fetch(new URL(`${url.pathname}/${action}`, url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
    let answer;
    if (page.prompt === 'login') {
      if (wrongPasswordFirst) {
        const refused = await submit('login', { username, password: `${password}-wrong` });
        refusals.wrongPassword = { status: refused.status, ...(await refused.json()) };
        wrongPasswordFirst = false;
      }
      answer = await submit('login', { username, password });
    } else if (page.prompt === 'consent') {
      answer = await submit('confirm', {});
    } else {
      throw new Error(`unexpected prompt ${page.prompt}`);
    }
    if (answer.status !== 303) {
      throw new Error(`the ${page.prompt} was answered with ${answer.status}: ${await answer.text()}`);
    }
    url = new URL(answer.headers.get('location'), url);
  }
  throw new Error('too many redirects');
}

/** POST to the token endpoint; the status and the JSON answer. */
async function tokenRequest(endpoint, fields) {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: response.status, body: await response.json() };
}

/**
 * One launch: a fresh user agent and redirect listener, the authorization request with `extra`
 * parameters, the front channel to the redirect URI. The redirect's query, the redirect URI and
 * the refusals met on the way.
 */
async function launch(discovery, extra, options) {
  const redirect = await listen();
  try {
    const url = new URL(discovery.authorization_endpoint);
    const params = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirect.uri,
      scope,
      nonce: base64url(randomBytes(16)),
      resource,
      ...extra,
    };
    for (const [name, value] of Object.entries(params)) {
      url.searchParams.set(name, value);
    }
    const { query, refusals } = await frontChannel(url, redirect, options);
    return { query, refusals, redirectUri: redirect.uri };
  } finally {
    redirect.server.close();
  }
}

async function main() {
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  const refused = {};

  // Without a code_challenge the provider refuses the request, at the redirect URI.
  const bare = await launch(discovery, { state: 'bare' });
  refused.noCodeChallenge = {
    error: bare.query.get('error'),
    error_description: bare.query.get('error_description'),
  };

  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(16));
  const { query, refusals, redirectUri } = await launch(
    discovery,
    { state, code_challenge: challenge, code_challenge_method: 'S256' },
    { wrongPasswordFirst: true },
  );
  Object.assign(refused, refusals);
  if (query.get('state') !== state || query.get('iss') !== discovery.issuer) {
    throw new Error('the authorization response lacks our state or the issuer (RFC 9207)');
  }
  const code = query.get('code');
  if (!code) {
    throw new Error(`no code: ${query.get('error')} ${query.get('error_description')}`);
  }
  const exchange = (codeVerifier) => tokenRequest(discovery.token_endpoint, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: redirectUri,
    client_id: clientId,
    resource,
    ...(codeVerifier === undefined ? {} : { code_verifier: codeVerifier }),
  });
  const wrong = await exchange(base64url(randomBytes(32)));
  refused.wrongCodeVerifier = { status: wrong.status, error: wrong.body.error };
  const missing = await exchange(undefined);
  refused.missingCodeVerifier = { status: missing.status, error: missing.body.error };
  const token = await exchange(verifier);
  if (token.status !== 200) {
    throw new Error(`the token request with the right verifier failed: ${token.status} ${token.body.error}`);
  }
  // Redeemed once; a replay is refused.
  const replay = await exchange(verifier);
  refused.replayedCode = { status: replay.status, error: replay.body.error };
  process.stdout.write(`${JSON.stringify({ token: token.body, refused })}\n`);
}

main().catch((err) => {
  process.stderr.write(`pkce.mjs: ${err.message}${err.cause ? ` (${err.cause.message ?? err.cause})` : ""}\n`);
  process.exit(1);
});
