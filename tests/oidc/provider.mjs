// A real OpenID Connect provider (npm oidc-provider) for atende's staff single sign-on tests.
//
//   OIDC_PORT=4455 node tests/oidc/provider.mjs     → prints "ready http://127.0.0.1:4455"
//
// Env: OIDC_PORT (required), OIDC_CLIENT_SECRET (default "atende-test-secret").
// Two confidential clients, "atende" and "atende-other" (secret + "-other"), both
// client_secret_basic, code flow only, PKCE S256 required. They are registered as
// `native` with a loopback redirect URI so that any port of
// http://127.0.0.1:<port>/api/auth/oidc/callback is accepted (RFC 8252 §7.3): the tests
// start atende on port 0.
//
// Users: any login name is an account whose e-mail is that name; the e-mail is verified
// unless the name starts with "unverified". The interaction is one form (GET/POST
// /interaction/<uid>): `login` (the e-mail) and `mfa` (checked → the ID token's
// `amr` is ["pwd","otp"] and `acr` "urn:atende:mfa"; else `amr` ["pwd"]). Login and
// consent are answered in one step.
import http from 'node:http';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
if (!port) {
  console.error('OIDC_PORT is required');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const secret = process.env.OIDC_CLIENT_SECRET || 'atende-test-secret';
const redirects = [
  'http://127.0.0.1/api/auth/oidc/callback',
  'http://localhost/api/auth/oidc/callback',
];
const client = (id, clientSecret) => ({
  client_id: id,
  client_secret: clientSecret,
  application_type: 'native',
  redirect_uris: redirects,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

const provider = new Provider(issuer, {
  clients: [client('atende', secret), client('atende-other', `${secret}-other`)],
  pkce: { required: () => true },
  features: { devInteractions: { enabled: false } },
  // The e-mail in the ID token itself (atende does not call the userinfo endpoint).
  conformIdTokenClaims: false,
  claims: {
    acr: null, amr: null, auth_time: null, sid: null, openid: ['sub', 'acr', 'amr'], email: ['email', 'email_verified'],
  },
  acrValues: ['urn:atende:mfa'],
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: !id.startsWith('unverified') };
      },
    };
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 600, Grant: 600 },
});

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginPage(uid, clientId) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP</title></head>
<body><main><h1>Test identity provider</h1><p>Signing in to ${escape(clientId)}</p>
<form method="post" action="/interaction/${escape(uid)}">
<label>E-mail <input name="login" type="email" autofocus required></label>
<label><input name="mfa" type="checkbox" value="1"> second factor done</label>
<button type="submit">Sign in</button></form></main></body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(loginPage(uid, details.params.client_id));
    return;
  }
  const form = await readForm(req);
  const accountId = (form.get('login') || '').trim();
  if (!accountId) {
    res.writeHead(400).end('login required');
    return;
  }
  const mfa = form.get('mfa') === '1';
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(String(details.params.scope || 'openid'));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: mfa
      ? { accountId, amr: ['pwd', 'otp'], acr: 'urn:atende:mfa' }
      : { accountId, amr: ['pwd'] },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const handler = provider.callback();
http.createServer((req, res) => {
  const m = /^\/interaction\/([A-Za-z0-9_-]+)\/?$/.exec(new URL(req.url, issuer).pathname);
  if (!m) {
    handler(req, res);
    return;
  }
  interaction(req, res, m[1]).catch((err) => {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end(`interaction failed: ${err.message}`);
  });
}).listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
