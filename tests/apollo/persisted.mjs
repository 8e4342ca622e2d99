// Usage: node persisted.mjs http://127.0.0.1:PORT/graphql
// Apollo Client's PersistedQueryLink (hashed queries over GET) against a running server with demo
// data, checking the HTTP traffic it sends. Exits non-zero on the first failed assertion.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { example, recordingFetch, withoutAlias } from './common.mjs';

const url = process.argv[2];
const traffic = [];
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

// A new client per step, as a reloaded page would be: nothing is remembered but on the server.
function client() {
  return new ApolloClient({
    cache: new InMemoryCache(),
    link: new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(
      new HttpLink({ uri: url, fetch: recordingFetch(traffic) }),
    ),
  });
}

function exchanges() {
  return traffic.splice(0).map((t) => ({ ...t, params: new URL(t.url).searchParams }));
}

// The first time a query is sent: the hash alone by GET, not found; then the query with its hash
// by POST. From then on (even from a new client): the hash alone by GET, one short request.
async function firstThenByHash(query, variables) {
  const first = await client().query({ query, variables });
  const [miss, register, ...more] = exchanges();
  assert.deepEqual(more, []);
  assert.equal(miss.method, 'GET');
  assert.equal(miss.params.get('query'), null, 'a hashed GET carries no query text');
  const hash = JSON.parse(miss.params.get('extensions')).persistedQuery.sha256Hash;
  assert.match(hash, /^[0-9a-f]{64}$/);
  assert.deepEqual(
    miss.received.errors.map((e) => e.extensions.code),
    ['PERSISTED_QUERY_NOT_FOUND'],
  );
  assert.equal(register.method, 'POST');
  assert.equal(register.sent.extensions.persistedQuery.sha256Hash, hash);
  assert.equal(sha256(register.sent.query), hash);
  assert.equal(register.status, 200);

  const second = await client().query({ query, variables });
  const [hit, ...rest] = exchanges();
  assert.deepEqual(rest, [], 'one request: no retry');
  assert.equal(hit.method, 'GET');
  assert.equal(hit.status, 200);
  assert.equal(hit.params.get('query'), null);
  assert.ok(hit.etag, 'hashed GETs carry an ETag');
  return { first: first.data, second: second.data, hit, query: register.sent.query };
}

// 1. The table, with its variables in the URL.
const variables = { first: 6, status: ['ACTIVE'] };
const table = await firstThenByHash(example('deployments-table.graphql'), variables);
assert.equal(table.first.deployments.edges.length, 6);
assert.deepEqual(
  table.second.deployments.edges.map((e) => e.node.id),
  table.first.deployments.edges.map((e) => e.node.id),
);
assert.deepEqual(JSON.parse(table.hit.params.get('variables')), { orderBy: [{ field: 'CREATED_AT', direction: 'DESC' }], ...variables });
// short: the whole URL is shorter than the query text it stands for would be in it
const urlLength = table.hit.url.length;
assert.ok(urlLength < encodeURIComponent(table.query).length, `${urlLength} characters`);

// 2. A poll of an unchanged result revalidates with the ETag: 304, no body.
const catalog = await firstThenByHash(example('base-models.graphql'), undefined);
assert.ok(catalog.second.baseModels.length > 0);
const poll = await fetch(catalog.hit.url, { headers: { 'If-None-Match': catalog.hit.etag } });
assert.equal(poll.status, 304);
assert.equal(await poll.text(), '');

// 3. Mutations through the same link go by POST only, and register like queries.
const active = await withoutAlias(url, table.second.deployments.edges.map((e) => e.node.id));
assert.ok(active, 'an ACTIVE deployment without an alias on the page');
const paused = await client().mutate({ mutation: example('pause.graphql'), variables: { id: active } });
assert.equal(paused.data.pauseDeployment.deployment.status, 'PAUSED');
const sent = exchanges();
assert.deepEqual(sent.map((t) => t.method), ['POST', 'POST']);
assert.equal(sent[0].sent.query, undefined);
assert.equal(sent[0].received.errors[0].extensions.code, 'PERSISTED_QUERY_NOT_FOUND');

console.log(JSON.stringify({ ok: true, tableUrlLength: urlLength, queryLength: table.query.length }));
