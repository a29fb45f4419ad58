// The node-fhir-server-core peer: the server config of its Getting Started and Server
// Configuration guides, with one profile per resource type whose service module queries the
// OMOP CDM in PostgreSQL.
const { initialize, constants } = require('@asymmetrik/node-fhir-server-core');

const [port, databaseUrl] = process.argv.slice(2);
if (!port || !databaseUrl) {
  console.error('usage: node index.js PORT DATABASE_URL');
  process.exit(2);
}
// The services read the URL when they open their pool.
process.env.DATABASE_URL = databaseUrl;

const { VERSIONS } = constants;
const config = {
  server: { port: Number(port) },
  logging: { level: 'error' },
  profiles: {
    patient: { service: require('./patient.service.js'), versions: [VERSIONS['4_0_0']] },
    observation: { service: require('./observation.service.js'), versions: [VERSIONS['4_0_0']] },
  },
};

initialize(config).listen(Number(port), '127.0.0.1');
