"""Validates FHIR resources with a second, independent model: PyPI fhir.resources, R4B classes.

Reads one JSON resource per line on stdin and prints one JSON object: how many were checked and,
for each failure, the resource's type and id and the model's error messages. Exits 0 either way;
the caller decides. R4B is used because fhir.resources' R4 (4.0.1) models are no longer shipped;
the resources the facades serve are the same in both versions.
"""

import json
import sys

from fhir.resources.R4B import get_fhir_model_class


def main() -> None:
    checked = 0
    failures = []
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        resource = json.loads(line)
        checked += 1
        kind = resource.get("resourceType", "?")
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except Exception as error:  # noqa: BLE001 - every model error is a finding
            failures.append({"type": kind, "id": resource.get("id"), "error": str(error)[:2000]})
    json.dump({"checked": checked, "failures": failures}, sys.stdout)


if __name__ == "__main__":
    main()
