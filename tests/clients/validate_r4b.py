"""Validates resources with fhir.resources' R4B models, independently of the JSON schema.

Usage: validate_r4b.py FILE, where FILE holds a JSON array of resources. Prints a JSON array of
error strings, empty when every resource is valid.
"""

import json
import sys

from fhir.resources.R4B import get_fhir_model_class


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        resources = json.load(f)
    errors = []
    for resource in resources:
        label = f"{resource.get('resourceType')}/{resource.get('id')}"
        try:
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        except Exception as error:  # pydantic's ValidationError, or an unknown type
            errors.append(f"{label}: {error}")
    print(json.dumps({"validated": len(resources), "errors": errors}))


if __name__ == "__main__":
    main()
