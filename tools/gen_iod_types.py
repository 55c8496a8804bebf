#!/usr/bin/env python3
"""Derive profiles/iod_attribute_types.csv and profiles/sop_class_iods.csv from the PS3.3/PS3.4
tables in ../shared/standards (DICOM 2024c).

Only attributes whose Table E.1-1 Basic action is a compound code (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) or
X are kept: those are the ones whose action depends on the Type in the IOD (a removal that the IOD
forbids becomes D or Z). Macros are expanded
recursively; each row records the tag of the enclosing sequence (empty at the top level) so nested
attributes are resolved in their context. Functional-group macros of enhanced IODs are placed under
the Shared (5200,9229) and Per-Frame (5200,9230) Functional Groups Sequences.

Run from the repository root:  python3 tools/gen_iod_types.py ../shared/standards
"""
import csv, sys, os, re

std = sys.argv[1] if len(sys.argv) > 1 else '../shared/standards'
rd = lambda n: list(csv.DictReader(open(os.path.join(std, n), encoding='utf-8')))

e11 = rd('profiles_table_e1_1.csv')
wanted = {r['tag_pattern'] for r in e11 if 'X' in r['basic_profile'] or '/' in r['basic_profile']}

tables = {}
for r in rd('part03_attribute_tables.csv'):
    tables.setdefault(r['table_id'], []).append(r)

def tag_of(s):
    m = re.match(r'\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)', s or '')
    return (m.group(1) + m.group(2)).upper() if m else None

RANK = {'1': 0, '1C': 1, '2': 2, '2C': 3, '3': 4}

def expand(table_id, base_depth, seen):
    """Yield (depth, tag, type) for a table with its macros expanded."""
    if table_id in seen or table_id not in tables:
        return
    seen = seen | {table_id}
    for r in tables[table_id]:
        d = base_depth + int(r['depth'] or 0)
        if r['include_table_id']:
            yield from expand(r['include_table_id'], d, seen)
        else:
            t = tag_of(r['tag'])
            if t:
                yield d, t, r['type']

def with_parents(rows, root_parent=''):
    stack = []  # (depth, tag)
    for d, t, ty in rows:
        while stack and stack[-1][0] >= d:
            stack.pop()
        parent = stack[-1][1] if stack else root_parent
        yield parent, t, ty
        stack.append((d, t))

out = {}
def add(iod, parent, tag, ty):
    if tag not in wanted or ty not in RANK:
        return
    k = (iod, parent, tag)
    if k not in out or RANK[ty] < RANK[out[k]]:
        out[k] = ty

iods = {}
for r in rd('part03_iod_modules.csv'):
    iods.setdefault(r['iod_table_id'], []).append(r)
for iod, mods in iods.items():
    for m in mods:
        for tid in filter(None, m['module_table_ids'].split(';')):
            for p, t, ty in with_parents(expand(tid, 0, frozenset())):
                add(iod, p, t, ty)

prefix = lambda s: s.replace('PS3.3_', '').rsplit('-', 1)[0]
by_prefix = {}
for iod in iods:
    by_prefix.setdefault(prefix(iod), []).append(iod)
for r in rd('part03_iod_functional_group_macros.csv'):
    for iod in by_prefix.get(prefix(r['fg_table_id']), []):
        for tid in filter(None, r['macro_table_ids'].split(';')):
            for fg in ('52009229', '52009230'):
                for p, t, ty in with_parents(expand(tid, 0, frozenset()), fg):
                    add(iod, p, t, ty)

with open('profiles/iod_attribute_types.csv', 'w', newline='') as f:
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['iod_table_id', 'parent_tag', 'tag', 'type'])
    for (iod, p, t), ty in sorted(out.items()):
        w.writerow([iod, p, t, ty])

with open('profiles/sop_class_iods.csv', 'w', newline='') as f:
    w = csv.writer(f, lineterminator='\n')
    w.writerow(['sop_class_uid', 'iod_table_id', 'sop_class_name'])
    for r in rd('part04_sop_class_to_iod.csv'):
        w.writerow([r['sop_class_uid'], r['iod_table_ids'].split(';')[0], r['sop_class_name']])
print(len(out), 'type rows;', len(wanted), 'compound-coded tags')
