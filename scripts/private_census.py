#!/usr/bin/env python3
"""Counts the private elements in a de-identified output folder (BENCHMARKS.md, "Private
elements under the TCIA preset").

Retained: private data elements (not creators) in the output files, at every depth, read back by
pydicom. From the audit (audit.jsonl): private data elements removed (X; a removed sequence
counts once, not its contents), UIDs remapped (U) and values shifted (C).
Usage: python3 scripts/private_census.py OUTPUT_DIR
"""
import json, os, re, sys

import pydicom

LAST_LEVEL = re.compile(r'<\(([0-9a-f]{4}),("[^"]*",[0-9a-f]{2}|[0-9a-f]{4})\)>$')


def private_data_element(path):
    """Whether an audit path ends at a private data element (not a creator)."""
    m = LAST_LEVEL.search(path)
    if not m or int(m.group(1), 16) % 2 == 0:
        return False
    return m.group(2).startswith('"') or int(m.group(2), 16) >= 0x1000


def retained(ds):
    n = 0
    for el in ds:
        if el.tag.is_private and el.tag.element >= 0x1000:
            n += 1
        if el.VR == 'SQ':
            n += sum(retained(item) for item in el.value)
    return n


def main(out):
    kept = files = 0
    for root, _, names in os.walk(out):
        for name in names:
            if name.endswith('.dcm'):
                kept += retained(pydicom.dcmread(os.path.join(root, name)))
                files += 1
    actions = {'X': 0, 'U': 0, 'C': 0}
    with open(os.path.join(out, 'audit.jsonl')) as f:
        for line in f:
            record = json.loads(line)
            for path, code in record.get('actions', []):
                if code in actions and private_data_element(path):
                    actions[code] += 1
    print(f'files {files}: private elements retained {kept}, removed {actions["X"]}, '
          f'UIDs remapped {actions["U"]}, shifted {actions["C"]}')


if __name__ == '__main__':
    main(sys.argv[1])
