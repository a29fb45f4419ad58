// Runs searches with npm fhir-kit-client and prints the ids it gets.
//
//   node fhir_kit.mjs BASE_URL < QUERIES.json
//
// Same input and output shape as clients.py: {"fhir-kit-client": [{"ids": [...]} | {"error": ...}]}.
// Every `next` link is followed with the client's own nextPage().
import { readFileSync } from 'node:fs';
import { Client } from 'fhir-kit-client';

const [base] = process.argv.slice(2);
const queries = JSON.parse(readFileSync(0, 'utf8'));
const client = new Client({ baseUrl: base });
const results = [];
for (const query of queries) {
  try {
    // Repeated names become arrays, which the client sends as repeated parameters (AND).
    const searchParams = {};
    for (const [name, value] of query.params) {
      if (name in searchParams) {
        searchParams[name] = [].concat(searchParams[name], value);
      } else {
        searchParams[name] = value;
      }
    }
    const ids = [];
    let bundle = await client.search({ resourceType: query.type, searchParams });
    for (let pages = 0; bundle && pages < 1000; pages += 1) {
      for (const entry of bundle.entry ?? []) {
        if (!entry.search || entry.search.mode === 'match') ids.push(entry.resource.id);
      }
      bundle = bundle.link?.some((l) => l.relation === 'next') ? await client.nextPage(bundle) : null;
    }
    results.push({ ids });
  } catch (error) {
    results.push({ error: String(error?.message ?? error).slice(0, 2000) });
  }
}
process.stdout.write(JSON.stringify({ 'fhir-kit-client': results }));
