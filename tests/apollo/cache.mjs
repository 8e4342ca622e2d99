// Usage: node cache.mjs http://127.0.0.1:PORT/graphql
// Apollo Client's InMemoryCache, configured by the snippet in examples/README.md, against a running
// server with demo data and instant rollouts: page the table twice, deploy, pause, and see the cache
// follow. Exits non-zero on the first failed assertion.
import assert from 'node:assert/strict';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { example, exampleText, withoutAlias } from './common.mjs';

const url = process.argv[2];
const possibleTypes = JSON.parse(exampleText('possibleTypes.json'));

// The cache set-up is the README's own snippet, run as written (minus its imports).
function cacheFromReadme() {
  const readme = exampleText('README.md');
  const snippet = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1])
    .find((code) => code.includes('typePolicies'));
  assert.ok(snippet, 'examples/README.md has a js snippet with typePolicies');
  const code = snippet
    .split('\n')
    .filter((line) => !line.startsWith('import '))
    .join('\n');
  return new Function('InMemoryCache', 'relayStylePagination', 'possibleTypes', `${code}\nreturn cache;`)(
    InMemoryCache,
    relayStylePagination,
    possibleTypes,
  );
}

const cache = cacheFromReadme();
const client = new ApolloClient({ cache, link: new HttpLink({ uri: url }) });
const Table = example('deployments-table.graphql');
const variables = { first: 5 };
const ids = (table) => table.deployments.edges.map((e) => e.node.id);
const cachedTable = () => client.readQuery({ query: Table, variables });
const seen = []; // every result the watching table rendered

// The watching table's latest render, once it satisfies `check` (renders follow cache writes a
// tick later).
async function rendered(check) {
  for (let i = 0; i < 100; i++) {
    const last = seen.at(-1);
    if (last && check(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`the watching table never rendered as expected: ${JSON.stringify(seen.at(-1))}`);
}

// 1. Page 1, then "next page" with fetchMore: the cache holds both pages as one list.
const table = client.watchQuery({ query: Table, variables });
const subscription = table.subscribe({ next: (result) => result.data && seen.push(result.data) });
const page1 = await rendered((data) => data.deployments.edges.length > 0);
assert.equal(page1.deployments.edges.length, 5);
assert.ok(page1.deployments.pageInfo.hasNextPage);
const page2 = (await table.fetchMore({ variables: { after: page1.deployments.pageInfo.endCursor } })).data;
assert.equal(page2.deployments.edges.length, 5);
const merged = cachedTable();
assert.deepEqual(ids(merged), [...ids(page1), ...ids(page2)]);
assert.equal(new Set(ids(merged)).size, 10);
assert.equal(merged.deployments.pageInfo.endCursor, page2.deployments.pageInfo.endCursor);
assert.equal(merged.deployments.totalCount, page1.deployments.totalCount);
// what the watching table renders is the merged list too
await rendered((data) => ids(data).join() === ids(merged).join());

// Another filter is another list: paging it leaves the first alone.
const activeOnly = { first: 2, status: ['ACTIVE'] };
await client.query({ query: Table, variables: activeOnly });
assert.equal(client.readQuery({ query: Table, variables: activeOnly }).deployments.edges.length, 2);
assert.deepEqual(ids(cachedTable()), ids(merged));

// 2. Pause an ACTIVE row: the mutation's returned deployment updates the cached row by its id.
const rows = merged.deployments.edges.map((e) => e.node);
const free = await withoutAlias(url, rows.filter((node) => node.status === 'ACTIVE').map((node) => node.id));
const row = rows.find((node) => node.id === free);
assert.ok(row, 'an ACTIVE deployment without an alias in the first two pages');
const paused = await client.mutate({ mutation: example('pause.graphql'), variables: { id: row.id } });
assert.deepEqual(paused.data.pauseDeployment.errors, []);
const rowAfter = cachedTable().deployments.edges.find((e) => e.node.id === row.id).node;
assert.equal(rowAfter.status, 'PAUSED');
await rendered((data) => data.deployments.edges.find((e) => e.node.id === row.id).node.status === 'PAUSED');
assert.equal(cache.extract()[cache.identify(row)].status, 'PAUSED');

// 3. Deploy a COMPLETE training job: a new deployment, normalised under its id.
const jobs = await client.query({
  query: gql`query DeployableJob { trainingJobs(first: 1, filter: { deployable: true }) { nodes { id } } }`,
});
const jobId = jobs.data.trainingJobs.nodes[0].id;
const deployed = await client.mutate({ mutation: example('deploy.graphql'), variables: { jobId } });
assert.deepEqual(deployed.data.deployJob.errors, []);
const deployment = deployed.data.deployJob.deployment;
assert.equal(deployment.status, 'DEPLOYING');
const key = cache.identify(deployment);
assert.equal(key, `Deployment:${deployment.id}`);
assert.equal(cache.extract()[key].status, 'DEPLOYING');

// The rollout is instant on this server: refetching the node (a query on the Node interface)
// updates the same cache entry, ACTIVE (or FAILED for a small deterministic share).
const refetched = await client.query({
  query: example('refetch-node.graphql'),
  variables: { id: deployment.id },
  fetchPolicy: 'network-only',
});
assert.ok(['ACTIVE', 'FAILED'].includes(refetched.data.node.status), refetched.data.node.status);
assert.equal(cache.extract()[key].status, refetched.data.node.status);

// 4. possibleTypes: a fragment on the Node interface matches the cached Deployment. Without the
// generated file, the same cache contents do not match it: the fragment's fields are missing.
const OnNode = gql`fragment NodeId on Node { id }`;
assert.deepEqual(cache.readFragment({ id: key, fragment: OnNode }), { __typename: 'Deployment', id: deployment.id });
const bare = new InMemoryCache();
bare.restore(cache.extract());
assert.deepEqual(bare.readFragment({ id: key, fragment: OnNode }), { __typename: 'Deployment' }); // no `id`

subscription.unsubscribe();
console.log(JSON.stringify({ ok: true, pages: seen.length, paused: row.id, deployed: deployment.id }));
