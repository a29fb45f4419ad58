// The Observation profile's service module: `measurement` (`meas-N`) and `observation`
// (`obs-N`) rows as Observations, searched together as one UNION ALL ordered by id.
const { resolveSchema } = require('@asymmetrik/node-fhir-server-core');
const db = require('./db.js');
const { SYSTEMS, VOCABULARY_OF_SYSTEM, trimmed, codeableConcept } = require('./vocab.js');
const { pageSize, rejectOthers, token, invalid, Binds, searchset } = require('./search.js');

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
// The LOINC codes of the FHIR R4 vital signs profiles.
const VITAL_SIGNS = new Set([
  '85353-1', '9279-1', '8867-4', '2708-6', '59408-5', '8310-5', '8302-2', '9843-4', '29463-7',
  '39156-5', '85354-9', '8480-6', '8462-4', '8478-0', '59576-9', '8289-1', '77606-2',
]);

// One branch of the union: table `t` with its key, date, value and source columns; the code is
// the concept, or the source concept when the concept is 0. Rows are ordered by branch and key,
// as the facade orders them.
const branch = (prefix, table, t, name, valueAsString, where) => `
  SELECT '${prefix}' || ${t}.${name}_id AS id, '${prefix}' AS src, ${t}.${name}_id AS row_key,
         ${t}.person_id,
         ${t}.visit_occurrence_id, ${t}.${name}_date AS obs_date, ${t}.${name}_datetime AS obs_datetime,
         ${t}.value_as_number, ${valueAsString} AS value_as_string,
         ${t}.${name}_source_value AS source_value, ${t}.unit_source_value,
         c.concept_id AS code_id, c.concept_code AS code_code, c.concept_name AS code_name,
         c.vocabulary_id AS code_vocabulary,
         u.concept_id AS unit_id, u.concept_code AS unit_code, u.concept_name AS unit_name,
         u.vocabulary_id AS unit_vocabulary,
         vc.concept_id AS value_id, vc.concept_code AS value_code, vc.concept_name AS value_name,
         vc.vocabulary_id AS value_vocabulary
  FROM ${table} ${t}
  LEFT JOIN concept c ON c.concept_id = CASE WHEN ${t}.${name}_concept_id = 0
    THEN ${t}.${name}_source_concept_id ELSE ${t}.${name}_concept_id END
  LEFT JOIN concept u ON u.concept_id = ${t}.unit_concept_id
  LEFT JOIN concept vc ON vc.concept_id = ${t}.value_as_concept_id
  ${where.length ? `WHERE ${where.map((w) => w.replaceAll('$t', t)).join(' AND ')}` : ''}`;

// Concept 0 ("No matching concept") has neither code nor display.
const concept = (row, prefix) => {
  const known = row[`${prefix}_id`] !== null && Number(row[`${prefix}_id`]) !== 0;
  return {
    code: known ? row[`${prefix}_code`] : null,
    display: known ? row[`${prefix}_name`] : null,
    vocabulary: row[`${prefix}_vocabulary`],
  };
};

// The date alone at midnight (OMOP stores many dates as datetimes), the UTC instant otherwise.
const effective = (date, datetime) => {
  if (datetime) {
    const [day, time = '00:00:00'] = datetime.split(' ');
    const seconds = time.slice(0, 8);
    return seconds === '00:00:00' ? day : `${day}T${seconds}Z`;
  }
  return date || undefined;
};

const toObservation = (row) => {
  const code = concept(row, 'code');
  const category =
    row.src === 'obs-'
      ? 'survey'
      : code.vocabulary === 'LOINC' && VITAL_SIGNS.has(row.code_code)
        ? 'vital-signs'
        : 'laboratory';
  const observation = {
    resourceType: 'Observation',
    id: row.id,
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: category }] }],
    code: codeableConcept(code.code, code.display, code.vocabulary, row.source_value) || {
      text: 'unknown',
    },
    subject: { reference: `Patient/${row.person_id}` },
  };
  if (row.visit_occurrence_id !== null && Number(row.visit_occurrence_id) !== 0) {
    observation.encounter = { reference: `Encounter/${row.visit_occurrence_id}` };
  }
  const when = effective(row.obs_date, row.obs_datetime);
  if (when) observation.effectiveDateTime = when;
  const value = concept(row, 'value');
  if (row.value_as_number !== null) {
    const unit = concept(row, 'unit');
    const quantity = { value: Number(row.value_as_number) };
    const unitCode = trimmed(unit.code);
    const text = trimmed(unit.display) || unitCode || trimmed(row.unit_source_value);
    if (text) quantity.unit = text;
    if (SYSTEMS[unit.vocabulary] && unitCode) {
      quantity.system = SYSTEMS[unit.vocabulary];
      quantity.code = unitCode;
    }
    observation.valueQuantity = quantity;
  } else if (codeableConcept(value.code, value.display, value.vocabulary)) {
    observation.valueCodeableConcept = codeableConcept(value.code, value.display, value.vocabulary);
  } else if (trimmed(row.value_as_string)) {
    observation.valueString = trimmed(row.value_as_string);
  }
  const Observation = resolveSchema('4_0_0', 'observation');
  return new Observation(observation);
};

module.exports.search = async (args, context) => {
  rejectOthers(args, ['patient', 'subject', 'code']);
  const binds = new Binds();
  const where = [];
  const patient = args.patient || args.subject;
  if (patient) {
    const id = patient.replace(/^Patient\//, '');
    if (!/^\d{1,18}$/.test(id)) throw invalid(`not a Patient id: ${patient}`);
    where.push(`$t.person_id = ${binds.bind(id)}`);
  }
  if (args.code) {
    const { system, code } = token(args.code);
    where.push(`c.concept_id <> 0 AND c.concept_code = ${binds.bind(code)}`);
    if (system === '') {
      where.push(`(c.vocabulary_id IS NULL OR c.vocabulary_id <> ALL(${binds.bind(Object.keys(SYSTEMS))}))`);
    } else if (system !== undefined) {
      // A system no vocabulary is served under matches nothing.
      where.push(`c.vocabulary_id = ${binds.bind(VOCABULARY_OF_SYSTEM[system] || null)}`);
    }
  }
  const count = pageSize(context.req);
  const sql = `SELECT * FROM (
      ${branch('meas-', 'measurement', 'm', 'measurement', 'NULL::text', where)}
      UNION ALL
      ${branch('obs-', 'observation', 'o', 'observation', 'o.value_as_string', where)}
    ) obsv ORDER BY obsv.src, obsv.row_key LIMIT ${binds.bind(count)}`;
  const { rows } = await db.query(sql, binds.values);
  return searchset(args, context, 'Observation', rows.map(toObservation));
};
