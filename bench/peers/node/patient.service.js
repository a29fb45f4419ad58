// The Patient profile's service module: `person` (with `location` and `death`) as Patient.
const { resolveSchema } = require('@asymmetrik/node-fhir-server-core');
const db = require('./db.js');
const { trimmed } = require('./vocab.js');
const { pageSize, rejectOthers, dateRange, dateCondition, token, invalid, Binds, searchset } = require('./search.js');

const GENDER_CONCEPTS = { male: 8507, female: 8532 };
const GENDER_SYSTEM = 'http://hl7.org/fhir/administrative-gender';

const SELECT = `
  SELECT p.person_id, p.gender_concept_id, p.year_of_birth, p.month_of_birth, p.day_of_birth,
         p.person_source_value, l.address_1, l.address_2, l.city, l.state, l.zip,
         (SELECT MIN(d.death_date) FROM death d WHERE d.person_id = p.person_id) AS death_date
  FROM person p LEFT JOIN location l ON l.location_id = p.location_id`;

// The birth date's own range, at the precision the person's year, month and day give.
const BIRTH_START =
  'make_date(p.year_of_birth, COALESCE(p.month_of_birth, 1), COALESCE(p.day_of_birth, 1))';
const BIRTH_END = `(${BIRTH_START} + CASE WHEN p.month_of_birth IS NULL THEN interval '1 year'
  WHEN p.day_of_birth IS NULL THEN interval '1 month' ELSE interval '1 day' END)`;

const pad = (n, width) => String(n).padStart(width, '0');

const toPatient = (row) => {
  const patient = { resourceType: 'Patient', id: String(row.person_id) };
  const identifier = trimmed(row.person_source_value);
  if (identifier) patient.identifier = [{ value: identifier }];
  patient.gender =
    row.gender_concept_id === 8507 ? 'male' : row.gender_concept_id === 8532 ? 'female' : 'unknown';
  const { year_of_birth: y, month_of_birth: m, day_of_birth: d } = row;
  if (y !== null) {
    if (m >= 1 && m <= 12 && d >= 1 && d <= 31) patient.birthDate = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
    else if (m >= 1 && m <= 12) patient.birthDate = `${pad(y, 4)}-${pad(m, 2)}`;
    else patient.birthDate = pad(y, 4);
  }
  if (row.death_date) patient.deceasedDateTime = row.death_date;
  const address = {};
  const lines = [trimmed(row.address_1), trimmed(row.address_2)].filter(Boolean);
  if (lines.length) address.line = lines;
  if (trimmed(row.city)) address.city = trimmed(row.city);
  if (trimmed(row.state)) address.state = trimmed(row.state);
  if (trimmed(row.zip)) address.postalCode = trimmed(row.zip);
  if (Object.keys(address).length) patient.address = [address];
  const Patient = resolveSchema('4_0_0', 'patient');
  return new Patient(patient);
};

module.exports.searchById = async (args) => {
  if (!/^\d{1,18}$/.test(args.id)) return undefined;
  const { rows } = await db.query(`${SELECT} WHERE p.person_id = $1`, [args.id]);
  return rows.length ? toPatient(rows[0]) : undefined;
};

module.exports.search = async (args, context) => {
  rejectOthers(args, ['gender', 'birthdate']);
  const binds = new Binds();
  const where = [];
  if (args.gender) {
    const { system, code } = token(args.gender);
    if (system !== undefined && system !== GENDER_SYSTEM) throw invalid(`unknown gender system ${system}`);
    if (GENDER_CONCEPTS[code]) where.push(`p.gender_concept_id = ${binds.bind(GENDER_CONCEPTS[code])}`);
    else if (code === 'unknown') where.push('p.gender_concept_id NOT IN (8507, 8532)');
    else where.push('false');
  }
  if (args.birthdate) {
    where.push(dateCondition(dateRange(args.birthdate), BIRTH_START, BIRTH_END, binds.bind));
  }
  const count = pageSize(context.req);
  const sql = `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY p.person_id LIMIT ${binds.bind(count)}`;
  const { rows } = await db.query(sql, binds.values);
  return searchset(args, context, 'Patient', rows.map(toPatient));
};
