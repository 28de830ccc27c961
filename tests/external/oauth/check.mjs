// A strict OAuth 2.1 client (oauth4webapi 3.8.8, the published library) against a live
// prodlink: every response is validated by the library, which refuses anything off-spec.
//   node check.mjs SITE_URL EMAIL PASSWORD CONFIDENTIAL_CLIENT_ID CONFIDENTIAL_CLIENT_SECRET
// Covers: RFC 8414 discovery (issuer equality), RFC 7591 registration, the code flow with
// PKCE S256 and RFC 8707 resource, RFC 9207 iss validation, refresh rotation and reuse
// detection, RFC 7009 revocation, RFC 7662 introspection by a confidential client, and the
// access token at the MCP endpoint.
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { Browser } from './browser.mjs';

const [site, email, password, confId, confSecret] = process.argv.slice(2);
if (!confSecret) {
  console.error('usage: node check.mjs SITE_URL EMAIL PASSWORD CLIENT_ID CLIENT_SECRET');
  process.exit(2);
}
// prodlink runs on plain http on 127.0.0.1 in tests; the library refuses http otherwise.
const insecure = { [oauth.allowInsecureRequests]: true };
const issuer = new URL(site);
const resource = `${site}/mcp/http`;
const redirectUri = 'http://127.0.0.1:53682/callback';

const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
assert.equal(as.issuer, site);
assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
assert.equal(as.authorization_response_iss_parameter_supported, true);
console.log('ok: discovery (issuer, S256, iss parameter)');

// Dynamic client registration.
const registered = await oauth.processDynamicClientRegistrationResponse(
  await oauth.dynamicClientRegistrationRequest(as, {
    client_name: 'oauth4webapi check',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    scope: 'qr:generate',
  }, insecure),
);
const client = { client_id: registered.client_id, token_endpoint_auth_method: 'none' };
assert.ok(client.client_id.length >= 16);
assert.equal(registered.client_secret, undefined, 'public clients get no secret');
console.log('ok: dynamic client registration');

async function codeFlow(c, auth, browser) {
  const verifier = oauth.generateRandomCodeVerifier();
  const challenge = await oauth.calculatePKCECodeChallenge(verifier);
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: c.client_id,
    redirect_uri: redirectUri,
    scope: 'qr:generate',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    resource,
  }).toString();
  const callback = await browser.authorize(url);
  const params = oauth.validateAuthResponse(as, c, callback, state);
  const response = await oauth.authorizationCodeGrantRequest(as, c, auth, params, redirectUri, verifier, {
    ...insecure,
    additionalParameters: { resource },
  });
  assert.equal(response.headers.get('cache-control'), 'no-store');
  return oauth.processAuthorizationCodeResponse(as, c, response);
}

const browser = new Browser({ email, password });
const tokens = await codeFlow(client, oauth.None(), browser);
assert.equal(tokens.token_type, 'bearer');
assert.equal(tokens.scope, 'qr:generate');
assert.equal(tokens.expires_in, 86400, 'access tokens live 24 h');
assert.ok(tokens.refresh_token);
assert.equal(browser.consentPages, 1, 'the user was asked once');
console.log('ok: authorization code + PKCE + resource, iss validated, token response strict');

// The token works at the MCP endpoint for the protected tool.
async function qr(token) {
  const res = await fetch(resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'generate_qr_url', arguments: { gtin: '614141123452' } } }),
  });
  return { status: res.status, body: await res.json(), challenge: res.headers.get('www-authenticate') };
}
let r = await qr(tokens.access_token);
assert.equal(r.status, 200, JSON.stringify(r.body));
assert.equal(r.body.result.structuredContent.qr_url, `${site}/01/00614141123452`);
console.log('ok: access token unlocks generate_qr_url');

// Refresh rotation; replaying the old refresh token fails and ends the family.
const rotated = await oauth.processRefreshTokenResponse(as, client,
  await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure));
assert.notEqual(rotated.refresh_token, tokens.refresh_token);
assert.notEqual(rotated.access_token, tokens.access_token);
await assert.rejects(
  async () => oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, insecure)),
  (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
);
await assert.rejects(
  async () => oauth.processRefreshTokenResponse(as, client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), rotated.refresh_token, insecure)),
  (e) => e instanceof oauth.ResponseBodyError && e.error === 'invalid_grant',
  'reuse detection revoked the rotated token too',
);
console.log('ok: refresh rotation and reuse detection');

// A second authorization asks again: this client only redirects to loopback, where anyone on
// the machine could pose as it, so prodlink never skips consent for it. Then revoke and
// introspect with a confidential client.
const conf = { client_id: confId, token_endpoint_auth_method: 'client_secret_basic' };
const confAuth = oauth.ClientSecretBasic(confSecret);
const fresh = await codeFlow(client, oauth.None(), browser);
assert.equal(browser.consentPages, 2, 'loopback-only clients are asked every time');
const intro = async (token) => oauth.processIntrospectionResponse(as, conf,
  await oauth.introspectionRequest(as, conf, confAuth, token, insecure));
let info = await intro(fresh.access_token);
assert.equal(info.active, true);
assert.equal(info.client_id, client.client_id);
assert.equal(info.scope, 'qr:generate');
assert.equal(info.token_type, 'Bearer');
assert.ok(info.aud === resource || (Array.isArray(info.aud) && info.aud.includes(resource)), JSON.stringify(info));
await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, oauth.None(), fresh.access_token, insecure));
info = await intro(fresh.access_token);
assert.equal(info.active, false);
assert.deepEqual(Object.keys(info), ['active'], 'inactive tokens reveal nothing');
await assert.rejects(
  async () => oauth.processIntrospectionResponse(as, conf,
    await oauth.introspectionRequest(as, conf, oauth.ClientSecretBasic('wrong-secret'), fresh.refresh_token, insecure)),
  (e) => e instanceof oauth.WWWAuthenticateChallengeError || (e instanceof oauth.ResponseBodyError && e.error === 'invalid_client'),
);
console.log('ok: revocation and introspection (confidential client, bad secret refused)');

// A refused user: Deny sends access_denied back to the client.
const denier = new Browser({ email, password, decision: 'deny' });
const other = await oauth.processDynamicClientRegistrationResponse(
  await oauth.dynamicClientRegistrationRequest(as, {
    client_name: 'denied app', redirect_uris: [redirectUri], token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'], response_types: ['code'],
  }, insecure));
const state = oauth.generateRandomState();
const url = new URL(as.authorization_endpoint);
url.search = new URLSearchParams({
  response_type: 'code', client_id: other.client_id, redirect_uri: redirectUri, state,
  code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
  code_challenge_method: 'S256',
}).toString();
const denied = await denier.authorize(url);
assert.throws(
  () => oauth.validateAuthResponse(as, { client_id: other.client_id }, denied, state),
  (e) => e instanceof oauth.AuthorizationResponseError && e.error === 'access_denied',
);
console.log('ok: deny returns access_denied with iss and state');
console.log('oauth4webapi: all checks passed');
