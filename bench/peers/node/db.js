// One pg pool for every service, sized like the facade's (8 connections).
const { Pool, types } = require('pg');

// DATE and TIMESTAMP (without time zone) as their text: node-pg would otherwise turn them into
// JavaScript Dates in the process's local time zone, shifting calendar dates.
types.setTypeParser(types.builtins.DATE, (text) => text);
types.setTypeParser(types.builtins.TIMESTAMP, (text) => text);

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 8 });

module.exports.query = (text, values) => pool.query(text, values);
