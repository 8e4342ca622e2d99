// Shared by the Apollo Client scripts: the example documents and a fetch that records traffic.
import { readFileSync } from 'node:fs';
import { gql } from '@apollo/client';

const EXAMPLES = new URL('../../examples/', import.meta.url);

export function example(name) {
  return gql(readFileSync(new URL(name, EXAMPLES), 'utf8'));
}

export function exampleText(name) {
  return readFileSync(new URL(name, EXAMPLES), 'utf8');
}

// fetch, plus a log of every exchange: method, URL, JSON body sent, status, JSON body received.
export function recordingFetch(traffic) {
  return async (input, init = {}) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    traffic.push({
      method: init.method ?? 'GET',
      url: String(input),
      sent: init.body ? JSON.parse(init.body) : null,
      status: response.status,
      etag: response.headers.get('etag'),
      received: text ? JSON.parse(text) : null,
    });
    return response;
  };
}

// Of these deployment ids, the first whose version no alias points at (or undefined): an aliased
// version cannot be paused (PROTECTED), and the demo's serving versions carry aliases.
export async function withoutAlias(url, ids) {
  const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Deployment { id aliases } } }';
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables: { ids } }),
  });
  const { data } = await response.json();
  return data.nodes.find((node) => node.aliases.length === 0)?.id;
}
