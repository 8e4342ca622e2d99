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
