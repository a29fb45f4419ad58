// OMOP vocabularies and the FHIR code systems they are served under, and the shared pieces of
// the OMOP → FHIR mapping.
const SYSTEMS = {
  LOINC: 'http://loinc.org',
  SNOMED: 'http://snomed.info/sct',
  RxNorm: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  UCUM: 'http://unitsofmeasure.org',
  ICD10CM: 'http://hl7.org/fhir/sid/icd-10-cm',
  ICD9CM: 'http://hl7.org/fhir/sid/icd-9-cm',
  CPT4: 'http://www.ama-assn.org/go/cpt',
  NDC: 'http://hl7.org/fhir/sid/ndc',
};

const VOCABULARY_OF_SYSTEM = Object.fromEntries(
  Object.entries(SYSTEMS).map(([vocabulary, uri]) => [uri, vocabulary])
);

const trimmed = (value) => {
  if (value === null || value === undefined) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
};

// A CodeableConcept from a concept's code, name and vocabulary (code null for concept 0), with
// the source value as text when there is no name; undefined when there is nothing.
const codeableConcept = (code, display, vocabulary, sourceValue) => {
  const concept = {};
  const c = trimmed(code);
  const d = trimmed(display);
  if (c) {
    const coding = {};
    if (SYSTEMS[vocabulary]) coding.system = SYSTEMS[vocabulary];
    coding.code = c;
    if (d) coding.display = d;
    concept.coding = [coding];
  }
  const text = d || trimmed(sourceValue);
  if (text) concept.text = text;
  return Object.keys(concept).length ? concept : undefined;
};

module.exports = { SYSTEMS, VOCABULARY_OF_SYSTEM, trimmed, codeableConcept };
