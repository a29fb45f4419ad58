"""The fhirstarter peer: a FHIRStarter app with one FHIRProvider whose handlers read the OMOP CDM
in PostgreSQL through an asyncpg pool, as fhirstarter's README and example.py show, mounted under
/fhir."""

import os

os.environ.setdefault("FHIR_SEQUENCE", "R4B")

import contextlib  # noqa: E402
import datetime  # noqa: E402
import re  # noqa: E402
from collections.abc import AsyncIterator  # noqa: E402

import asyncpg  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fhir.resources.R4B.bundle import Bundle  # noqa: E402
from fhir.resources.R4B.observation import Observation  # noqa: E402
from fhir.resources.R4B.patient import Patient  # noqa: E402

from fhirstarter import FHIRProvider, FHIRStarter, InteractionContext  # noqa: E402
from fhirstarter.exceptions import (  # noqa: E402
    FHIRBadRequestError,
    FHIRResourceNotFoundError,
)

SYSTEMS = {
    "LOINC": "http://loinc.org",
    "SNOMED": "http://snomed.info/sct",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "CVX": "http://hl7.org/fhir/sid/cvx",
    "UCUM": "http://unitsofmeasure.org",
    "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD9CM": "http://hl7.org/fhir/sid/icd-9-cm",
    "CPT4": "http://www.ama-assn.org/go/cpt",
    "NDC": "http://hl7.org/fhir/sid/ndc",
}
VOCABULARY_OF_SYSTEM = {uri: vocabulary for vocabulary, uri in SYSTEMS.items()}
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
GENDER_SYSTEM = "http://hl7.org/fhir/administrative-gender"
GENDER_CONCEPTS = {"male": 8507, "female": 8532}
# The LOINC codes of the FHIR R4 vital signs profiles.
VITAL_SIGNS = {
    "85353-1", "9279-1", "8867-4", "2708-6", "59408-5", "8310-5", "8302-2", "9843-4", "29463-7",
    "39156-5", "85354-9", "8480-6", "8462-4", "8478-0", "59576-9", "8289-1", "77606-2",
}  # fmt: skip
DEFAULT_COUNT = 20
MAX_COUNT = 1000
# Query parameters every search accepts besides its own: fhirstarter's format options.
RESULT_PARAMETERS = {"_count", "_format", "_pretty"}

pool: asyncpg.Pool


class Binds:
    """Collects bound values and hands out their `$n` placeholders."""

    def __init__(self) -> None:
        self.values: list[object] = []

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def reject_others(context: InteractionContext, supported: set[str]) -> None:
    for name in context.request.query_params:
        if name.split(":")[0] not in supported | RESULT_PARAMETERS:
            raise FHIRBadRequestError(
                code="not-supported", details_text=f"search parameter {name} is not supported"
            )


def page_size(count: str | None) -> int:
    if count is None:
        return DEFAULT_COUNT
    if not count.isdigit():
        raise FHIRBadRequestError(code="invalid", details_text="_count must be a number")
    return min(int(count), MAX_COUNT)


def token(value: str) -> tuple[str | None, str]:
    """A token's system and code: `system|code`, `|code` (no system) or `code` (any system)."""
    system, bar, code = value.partition("|")
    return (system, code) if bar else (None, value)


def date_condition(value: str, lower: str, upper: str, bind: Binds) -> str:
    """The SQL condition of a date search on a value whose own range is [lower, upper), with the
    FHIR prefix meanings: eq contains, ge/gt overlap what is at/after, le/lt what is before."""
    m = re.fullmatch(r"(eq|gt|lt|ge|le)?(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if not m:
        raise FHIRBadRequestError(code="invalid", details_text=f"unsupported date {value}")
    prefix, y, mo, d = m.group(1) or "eq", int(m.group(2)), m.group(3), m.group(4)
    start = datetime.date(y, int(mo or 1), int(d or 1))
    if d:
        end = start + datetime.timedelta(days=1)
    elif mo:
        end = datetime.date(y + start.month // 12, start.month % 12 + 1, 1)
    else:
        end = datetime.date(y + 1, 1, 1)
    if prefix == "eq":
        return f"({lower} >= {bind(start)} AND {upper} <= {bind(end)})"
    if prefix == "ge":
        return f"{upper} > {bind(start)}"
    if prefix == "gt":
        return f"{upper} > {bind(end)}"
    if prefix == "le":
        return f"{lower} < {bind(end)}"
    return f"{lower} < {bind(start)}"


def trimmed(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def codeable_concept(
    code: str | None, display: str | None, vocabulary: str | None, source_value: str | None = None
) -> dict | None:
    """A CodeableConcept from a concept's code, name and vocabulary (code None for concept 0),
    with the source value as text when there is no name; None when there is nothing."""
    concept: dict = {}
    code, display = trimmed(code), trimmed(display)
    if code:
        coding = {"system": SYSTEMS[vocabulary]} if vocabulary in SYSTEMS else {}
        coding["code"] = code
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    text = display or trimmed(source_value)
    if text:
        concept["text"] = text
    return concept or None


def searchset(context: InteractionContext, resources: list) -> Bundle:
    # A type-level search's own URL is the type's endpoint under the mount's prefix.
    endpoint = str(context.request.url.replace(query=""))
    entries = [
        {"fullUrl": f"{endpoint}/{r.id}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    return Bundle(type="searchset", entry=entries or None)


# --- Patient -------------------------------------------------------------------------------------

PATIENT_SELECT = """
  SELECT p.person_id, p.gender_concept_id, p.year_of_birth, p.month_of_birth, p.day_of_birth,
         p.person_source_value, l.address_1, l.address_2, l.city, l.state, l.zip,
         (SELECT MIN(d.death_date) FROM death d WHERE d.person_id = p.person_id) AS death_date
  FROM person p LEFT JOIN location l ON l.location_id = p.location_id"""
# The birth date's own range, at the precision the person's year, month and day give.
BIRTH_START = (
    "make_date(p.year_of_birth, COALESCE(p.month_of_birth, 1), COALESCE(p.day_of_birth, 1))"
)
BIRTH_END = (
    f"({BIRTH_START} + CASE WHEN p.month_of_birth IS NULL THEN interval '1 year' "
    "WHEN p.day_of_birth IS NULL THEN interval '1 month' ELSE interval '1 day' END)"
)


def to_patient(row: asyncpg.Record) -> Patient:
    patient: dict = {"id": str(row["person_id"])}
    if identifier := trimmed(row["person_source_value"]):
        patient["identifier"] = [{"value": identifier}]
    patient["gender"] = {8507: "male", 8532: "female"}.get(row["gender_concept_id"], "unknown")
    y, m, d = row["year_of_birth"], row["month_of_birth"], row["day_of_birth"]
    if y is not None:
        if m is not None and 1 <= m <= 12 and d is not None and 1 <= d <= 31:
            patient["birthDate"] = f"{y:04}-{m:02}-{d:02}"
        elif m is not None and 1 <= m <= 12:
            patient["birthDate"] = f"{y:04}-{m:02}"
        else:
            patient["birthDate"] = f"{y:04}"
    if row["death_date"] is not None:
        patient["deceasedDateTime"] = row["death_date"].isoformat()
    address: dict = {}
    if lines := [t for t in (trimmed(row["address_1"]), trimmed(row["address_2"])) if t]:
        address["line"] = lines
    for key, column in (("city", "city"), ("state", "state"), ("postalCode", "zip")):
        if value := trimmed(row[column]):
            address[key] = value
    if address:
        patient["address"] = [address]
    return Patient(**patient)


# --- Observation ---------------------------------------------------------------------------------


def observation_branch(prefix: str, table: str, t: str, value_as_string: str, where: list[str]):
    """One branch of the union over `measurement` and `observation`: the code is the concept, or
    the source concept when the concept is 0. Rows are ordered by branch and key, as the facade
    orders them."""
    conditions = " AND ".join(w.replace("$t", t) for w in where)
    return f"""
  SELECT '{prefix}-' || {t}.{table}_id AS id, '{prefix}' AS src, {t}.{table}_id AS row_key,
         {t}.person_id,
         {t}.visit_occurrence_id, {t}.{table}_date AS obs_date,
         {t}.{table}_datetime AS obs_datetime, {t}.value_as_number,
         {value_as_string} AS value_as_string, {t}.{table}_source_value AS source_value,
         {t}.unit_source_value,
         c.concept_id AS code_id, c.concept_code AS code_code, c.concept_name AS code_name,
         c.vocabulary_id AS code_vocabulary,
         u.concept_id AS unit_id, u.concept_code AS unit_code, u.concept_name AS unit_name,
         u.vocabulary_id AS unit_vocabulary,
         vc.concept_id AS value_id, vc.concept_code AS value_code,
         vc.concept_name AS value_name, vc.vocabulary_id AS value_vocabulary
  FROM {table} {t}
  LEFT JOIN concept c ON c.concept_id = CASE WHEN {t}.{table}_concept_id = 0
    THEN {t}.{table}_source_concept_id ELSE {t}.{table}_concept_id END
  LEFT JOIN concept u ON u.concept_id = {t}.unit_concept_id
  LEFT JOIN concept vc ON vc.concept_id = {t}.value_as_concept_id
  {"WHERE " + conditions if conditions else ""}"""


def concept(row: asyncpg.Record, prefix: str) -> tuple[str | None, str | None, str | None]:
    """Code, display and vocabulary; concept 0 ("No matching concept") has no code or display."""
    known = row[f"{prefix}_id"] not in (None, 0)
    return (
        row[f"{prefix}_code"] if known else None,
        row[f"{prefix}_name"] if known else None,
        row[f"{prefix}_vocabulary"],
    )


def effective(date: datetime.date | None, at: datetime.datetime | None) -> str | None:
    """The date alone at midnight (OMOP stores many dates as datetimes), the UTC instant
    otherwise."""
    if at is not None:
        if at.time() == datetime.time(0):
            return at.date().isoformat()
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return date.isoformat() if date is not None else None


def to_observation(row: asyncpg.Record) -> Observation:
    code, display, vocabulary = concept(row, "code")
    if row["src"] == "obs":
        category = "survey"
    elif vocabulary == "LOINC" and row["code_code"] in VITAL_SIGNS:
        category = "vital-signs"
    else:
        category = "laboratory"
    o: dict = {
        "id": row["id"],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}],
        "code": codeable_concept(code, display, vocabulary, row["source_value"])
        or {"text": "unknown"},
        "subject": {"reference": f"Patient/{row['person_id']}"},
    }
    if row["visit_occurrence_id"] not in (None, 0):
        o["encounter"] = {"reference": f"Encounter/{row['visit_occurrence_id']}"}
    if when := effective(row["obs_date"], row["obs_datetime"]):
        o["effectiveDateTime"] = when
    if row["value_as_number"] is not None:
        unit_code, unit_display, unit_vocabulary = concept(row, "unit")
        unit_code = trimmed(unit_code)
        quantity: dict = {"value": row["value_as_number"]}
        if unit := trimmed(unit_display) or unit_code or trimmed(row["unit_source_value"]):
            quantity["unit"] = unit
        if unit_vocabulary in SYSTEMS and unit_code:
            quantity["system"] = SYSTEMS[unit_vocabulary]
            quantity["code"] = unit_code
        o["valueQuantity"] = quantity
    elif value := codeable_concept(*concept(row, "value")):
        o["valueCodeableConcept"] = value
    elif text := trimmed(row["value_as_string"]):
        o["valueString"] = text
    return Observation(**o)


# --- The provider and the app --------------------------------------------------------------------

provider = FHIRProvider()


@provider.read(Patient)
async def patient_read(context: InteractionContext, id_: str) -> Patient:
    row = None
    if id_.isdigit() and len(id_) <= 18:
        row = await pool.fetchrow(f"{PATIENT_SELECT} WHERE p.person_id = $1", int(id_))
    if row is None:
        raise FHIRResourceNotFoundError
    return to_patient(row)


@provider.search_type(Patient)
async def patient_search_type(
    context: InteractionContext,
    gender: str | None,
    birthdate: str | None,
    _count: str | None,
) -> Bundle:
    reject_others(context, {"gender", "birthdate"})
    bind = Binds()
    where = []
    if gender is not None:
        system, code = token(gender)
        if system is not None and system != GENDER_SYSTEM:
            raise FHIRBadRequestError(code="invalid", details_text=f"unknown system {system}")
        if code in GENDER_CONCEPTS:
            where.append(f"p.gender_concept_id = {bind(GENDER_CONCEPTS[code])}")
        elif code == "unknown":
            where.append("p.gender_concept_id NOT IN (8507, 8532)")
        else:
            where.append("false")
    if birthdate is not None:
        where.append(date_condition(birthdate, BIRTH_START, BIRTH_END, bind))
    sql = (
        f"{PATIENT_SELECT} {'WHERE ' + ' AND '.join(where) if where else ''} "
        f"ORDER BY p.person_id LIMIT {bind(page_size(_count))}"
    )
    rows = await pool.fetch(sql, *bind.values)
    return searchset(context, [to_patient(row) for row in rows])


@provider.search_type(Observation)
async def observation_search_type(
    context: InteractionContext,
    patient: str | None,
    subject: str | None,
    code: str | None,
    _count: str | None,
) -> Bundle:
    reject_others(context, {"patient", "subject", "code"})
    bind = Binds()
    where = []
    if (reference := patient or subject) is not None:
        person = reference.removeprefix("Patient/")
        if not person.isdigit() or len(person) > 18:
            raise FHIRBadRequestError(code="invalid", details_text=f"not a Patient: {reference}")
        where.append(f"$t.person_id = {bind(int(person))}")
    if code is not None:
        system, value = token(code)
        where.append(f"c.concept_id <> 0 AND c.concept_code = {bind(value)}")
        if system == "":
            where.append(
                f"(c.vocabulary_id IS NULL OR c.vocabulary_id <> ALL({bind(list(SYSTEMS))}))"
            )
        elif system is not None:
            # A system no vocabulary is served under matches nothing.
            where.append(f"c.vocabulary_id = {bind(VOCABULARY_OF_SYSTEM.get(system))}")
    sql = f"""SELECT * FROM (
        {observation_branch("meas", "measurement", "m", "NULL::text", where)}
        UNION ALL
        {observation_branch("obs", "observation", "o", "o.value_as_string", where)}
      ) obsv ORDER BY obsv.src, obsv.row_key LIMIT {bind(page_size(_count))}"""
    rows = await pool.fetch(sql, *bind.values)
    return searchset(context, [to_observation(row) for row in rows])


fhir = FHIRStarter(title="fhirstarter peer over OMOP")
fhir.add_providers(provider)


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    # Sized like the facade's pool; min_size opens them all before the first request.
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=8, max_size=8)
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None)
app.mount("/fhir", fhir)
