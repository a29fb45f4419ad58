// A scripted session of npm's fhir-kit-client against a running facade.
// Usage: node fhir_kit_client.mjs BASE SEARCHES_JSON PATIENT_ID, with FHIR_KIT_CLIENT naming the package's
// installed ESM entry point (.cache/contract-clients/node/node_modules/fhir-kit-client/dist/index.js).
// Reads Patient/PATIENT_ID, runs every search and follows every next link; prints
// {"read": id, "searches": [[ids...], ...]} or {"error": ...}.
import { pathToFileURL } from "node:url";

const [base, searchesJson, patientId] = process.argv.slice(2);
try {
  const { Client } = await import(pathToFileURL(process.env.FHIR_KIT_CLIENT).href);
  const client = new Client({ baseUrl: base });
  const patient = await client.read({ resourceType: "Patient", id: patientId });
  const results = [];
  for (const [resourceType, params] of JSON.parse(searchesJson)) {
    const searchParams = {};
    for (const [name, value] of params) {
      searchParams[name] = name in searchParams ? [].concat(searchParams[name], value) : value;
    }
    const ids = [];
    let bundle = await client.search({ resourceType, searchParams });
    while (bundle) {
      for (const entry of bundle.entry ?? []) {
        if (!entry.search || entry.search.mode === "match") ids.push(entry.resource.id);
      }
      bundle = await client.nextPage({ bundle });
    }
    results.push(ids);
  }
  console.log(JSON.stringify({ read: patient.id, searches: results }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error?.stack ?? error) }));
}
