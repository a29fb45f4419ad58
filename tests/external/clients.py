"""Runs searches with real Python FHIR clients and prints the ids they get.

    python clients.py BASE_URL < QUERIES.json

The queries on stdin are a list of {"type": "Observation", "params": [["patient", "p1"], ...]}. Each query
runs through SMART's fhirclient (strict R4 models: a resource or Bundle it cannot parse is an
error) and through fhirpy, each following every `next` link. Prints
{"fhirclient": [result, ...], "fhirpy": [result, ...]}, one result per query: {"ids": [...]} in
the order served, or {"error": "..."}.
"""

import json
import sys

from fhirclient import client as fhirclient_client
from fhirclient.models.fhirsearch import FHIRSearch, FHIRSearchParam
from fhirpy import SyncFHIRClient


def with_fhirclient(base: str, queries: list) -> list:
    smart = fhirclient_client.FHIRClient(settings={"app_id": "fhir-facade-contract", "api_base": base})
    results = []
    for query in queries:
        try:
            module = __import__(f"fhirclient.models.{query['type'].lower()}", fromlist=["x"])
            search = FHIRSearch(getattr(module, query["type"]))
            search.params = [FHIRSearchParam(name, value) for name, value in query["params"]]
            ids = [
                entry.resource.id
                for bundle in search.perform_iter(smart.server)
                for entry in (bundle.entry or [])
                if entry.search is None or entry.search.mode in (None, "match")
            ]
            results.append({"ids": ids})
        except Exception as error:  # noqa: BLE001 - reported per query
            results.append({"error": f"{type(error).__name__}: {error}"[:2000]})
    return results


def with_fhirpy(base: str, queries: list) -> list:
    client = SyncFHIRClient(base)
    results = []
    for query in queries:
        try:
            search = client.resources(query["type"])
            for name, value in query["params"]:
                # One call per pair: repeated names are ANDed, as the query list means them.
                search = search.search(**{name: value})
            ids = [r["id"] for r in search.fetch_all() if r["resourceType"] == query["type"]]
            results.append({"ids": ids})
        except Exception as error:  # noqa: BLE001 - reported per query
            results.append({"error": f"{type(error).__name__}: {error}"[:2000]})
    return results


def main() -> None:
    base = sys.argv[1].rstrip("/") + "/"
    queries = json.load(sys.stdin)
    json.dump({"fhirclient": with_fhirclient(base, queries), "fhirpy": with_fhirpy(base, queries)}, sys.stdout)


if __name__ == "__main__":
    main()
