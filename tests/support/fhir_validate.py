#!/usr/bin/env python3
"""Validate a FHIR Bundle written by atende with an independent implementation.

Parses the bundle with the PyPI `fhir.resources` models of FHIR R4B (R4B changed none of
the resources atende writes from R4), then each entry's resource with the model of its own
type (so a mistake inside a resource is not hidden behind the bundle's generic entry), and
checks that every reference points at an entry of the bundle. Exits non-zero on any error.

    python3 tests/support/fhir_validate.py bundle.json   (or - for standard input)
"""

import json
import sys
from collections import Counter

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle


def references(value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                out.append(item)
            references(item, out)
    elif isinstance(value, list):
        for item in value:
            references(item, out)


def main(path):
    raw = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    data = json.loads(raw)
    errors = []
    try:
        Bundle.model_validate(data)
    except Exception as err:  # pydantic's ValidationError, or a FHIR-specific one
        errors.append(f"Bundle: {err}")
    urls = set()
    kinds = Counter()
    for i, entry in enumerate(data.get("entry", [])):
        resource = entry.get("resource", {})
        kind = resource.get("resourceType", "?")
        kinds[kind] += 1
        urls.add(entry.get("fullUrl"))
        try:
            get_fhir_model_class(kind).model_validate(resource)
        except Exception as err:
            errors.append(f"entry {i} ({kind}): {err}")
    refs = []
    references(data, refs)
    for ref in refs:
        if ref not in urls:
            errors.append(f"reference {ref} does not resolve inside the bundle")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"INVALID: {len(errors)} error(s)", file=sys.stderr)
        return 1
    summary = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    print(f"valid FHIR R4B Bundle ({data.get('type')}): {summary}; {len(refs)} references resolved")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
