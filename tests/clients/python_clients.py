"""Scripted sessions of two real Python FHIR clients against a running facade.

Usage: python_clients.py BASE SEARCHES_JSON PATIENT_ID
SEARCHES_JSON is a list of [resource type, [[name, value], ...]]. Each client reads
Patient/PATIENT_ID, runs every search and follows every `next` link; the output is JSON:
{"fhirclient": {"read": id, "searches": [[ids...], ...]}, "fhirpy": {...}}, or an "error" per
client. The Rust contract suite compares the ids with its own.
"""

import json
import sys
import traceback


def fhirclient_session(base, searches, patient_id):
    from fhirclient import client
    from fhirclient.models.fhirsearch import FHIRSearch, FHIRSearchParam
    from fhirclient.models.patient import Patient

    smart = client.FHIRClient(settings={"app_id": "contract-suite", "api_base": base})
    patient = Patient.read(patient_id, smart.server)
    results = []
    for resource_type, params in searches:
        module = __import__(
            "fhirclient.models." + resource_type.lower(), fromlist=[resource_type]
        )
        model = getattr(module, resource_type)
        # Parameters as written (no struct expansion), so that modifiers and commas pass as is.
        search = FHIRSearch(model)
        search.params = [FHIRSearchParam(name, value) for name, value in params]
        ids = []
        for bundle in search.perform_iter(smart.server):
            for entry in bundle.entry or []:
                if entry.search is None or entry.search.mode == "match":
                    ids.append(entry.resource.id)
        results.append(ids)
    return {"read": patient.id, "searches": results}


def fhirpy_session(base, searches, patient_id):
    from fhirpy import SyncFHIRClient

    fhir = SyncFHIRClient(base)
    patient = fhir.reference("Patient", patient_id).to_resource()
    results = []
    for resource_type, params in searches:
        query = fhir.resources(resource_type)
        for name, value in params:
            query = query.search(**{name: value})
        results.append([r["id"] for r in query.fetch_all()])
    return {"read": patient["id"], "searches": results}


def main():
    base, searches, patient_id = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    out = {}
    for name, session in [("fhirclient", fhirclient_session), ("fhirpy", fhirpy_session)]:
        try:
            out[name] = session(base, searches, patient_id)
        except Exception:  # reported to the suite, which fails the client's check
            out[name] = {"error": traceback.format_exc(limit=3)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
