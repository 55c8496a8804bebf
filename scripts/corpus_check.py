#!/usr/bin/env python3
"""Extended run over a folder of real DICOM files (default ../shared/corpus).

De-identifies everything with the release CLI (TCIA preset), then checks with a second reader
(pydicom) that every output parses, that SOP Class, transfer syntax and pixel data are unchanged,
and that every input is accounted for: found = de-identified + skipped + failed.
Usage: python3 scripts/corpus_check.py [CORPUS_DIR]
"""
import csv, json, os, shutil, subprocess, sys, tempfile

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'corpus')
try:
    import pydicom
except ImportError:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', 'pydicom'])
    import pydicom

# Attributes whose values must not survive under the TCIA preset (which keeps device identity,
# patient characteristics and shifted dates, and cleans descriptors).
PHI_KEYWORDS = {'PatientName', 'PatientID', 'OtherPatientIDs', 'OtherPatientNames', 'PatientBirthName',
                'PatientMotherBirthName', 'AccessionNumber', 'InstitutionName', 'InstitutionAddress',
                'PatientAddress', 'PatientTelephoneNumbers', 'ReferringPhysicianName', 'PatientBirthDate',
                'PerformingPhysicianName', 'OperatorsName', 'RequestingPhysician', 'MedicalRecordLocator',
                'InstitutionalDepartmentName', 'PhysiciansOfRecord', 'NameOfPhysiciansReadingStudy'}

DCMDUMP = shutil.which('dcmdump')  # dcmtk, when installed (Debian package dcmtk)
KEPT_BY_BASIC = {'Manufacturer', 'ManufacturerModelName', 'SoftwareVersions', 'SeriesNumber',
                 'InstanceNumber', 'AcquisitionNumber', 'Modality', 'BodyPartExamined'}


def phi_values(ds):
    """Identifying values of a data set, less those that attributes the Basic profile keeps also
    hold, such as an institution named like the manufacturer."""
    out, others = set(), set()
    for el in ds.iterall():
        if el.keyword in KEPT_BY_BASIC:
            others.add(str(el.value).strip())
        if el.keyword in PHI_KEYWORDS or el.VR == 'PN':
            vals = el.value if isinstance(el.value, (list, pydicom.multival.MultiValue)) else [el.value]
            for v in vals:
                v = str(v).strip()
                if len(v) >= 6 and not v.isdigit() and v.upper() not in ('ANONYMOUS', 'ANONYMIZED', 'UNKNOWN'):
                    out.add(v)
    return {v for v in out if not any(v in o for o in others)}


root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
subprocess.check_call(['cargo', 'build', '--release', '--quiet'], cwd=root)
exe = os.path.join(root, 'target', 'release', 'dcm-deid')


def run(preset, check_phi):
    """De-identifies the corpus with a preset and checks every output; returns the problem count."""
    problems = checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        out, link = os.path.join(tmp, 'out'), os.path.join(tmp, 'linkage')
        r = subprocess.run([exe, 'deidentify', corpus, '-o', out, '--preset', preset, '--key',
                            os.path.join(tmp, 'key'), '--linkage', link], capture_output=True, text=True)
        print(f'--- preset {preset}: {r.stdout.splitlines()[0]}')
        summary = [json.loads(l) for l in open(os.path.join(out, 'audit.jsonl'))][-1]
        assert summary['found'] == summary['deidentified'] + summary['skipped'] + summary['failed']
        for row in csv.DictReader(open(os.path.join(link, 'linkage.csv'))):
            if row['status'] != 'deidentified':
                continue
            src, dst = row['input_path'], os.path.join(out, row['output_name_or_reason'])
            try:
                b = pydicom.dcmread(dst)
                for el in b.iterall():
                    _ = el.value
            except Exception as e:
                problems += 1
                print(f'PROBLEM output of {src}: {type(e).__name__}: {str(e)[:120]}')
                continue
            try:
                a = pydicom.dcmread(src, force=True)
                for el in a.iterall():
                    _ = el.value
            except Exception as e:
                print(f'note: pydicom cannot read the original {src} ({type(e).__name__}); output parses')
                checked += 1
                continue
            sop = lambda d: str(d.get('SOPClassUID') or getattr(getattr(d, 'file_meta', None), 'MediaStorageSOPClassUID', ''))
            try:
                ts_a = str(getattr(a.file_meta, 'TransferSyntaxUID', '')) if hasattr(a, 'file_meta') else ''
                assert not ts_a or ts_a == str(b.file_meta.TransferSyntaxUID), 'transfer syntax changed'
                assert sop(a) == sop(b), 'SOP Class changed'
                if 'PixelData' in a:
                    assert a.PixelData == b.PixelData, 'pixel data changed'
                if DCMDUMP and subprocess.run([DCMDUMP, '-q', dst], capture_output=True).returncode != 0:
                    # A third reader: only a problem when dcmtk reads the original.
                    assert subprocess.run([DCMDUMP, '-q', src], capture_output=True).returncode != 0, \
                        'dcmtk reads the original but not the output'
                if check_phi:
                    raw = open(dst, 'rb').read()
                    for value in phi_values(a):
                        assert value.encode('utf-8', 'ignore') not in raw, f'identifying value of {value[:2]}… survives'
                checked += 1
            except Exception as e:
                problems += 1
                print(f'PROBLEM {src}: {type(e).__name__}: {str(e)[:120]}')
    print(f'{checked} outputs verified with pydicom {pydicom.__version__}, {problems} problems')
    return problems


# TCIA exercises safe private attributes, date shifting and cleaning; Basic keeps no patient
# characteristic, so every identifying value of the original must be gone from the bytes.
sys.exit(1 if run('tcia', False) + run('basic', True) else 0)
