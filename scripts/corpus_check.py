#!/usr/bin/env python3
"""Extended run over a folder of real DICOM files (default ../shared/corpus).

De-identifies everything with the release CLI (TCIA preset), then checks with a second reader
(pydicom) that every output parses, that SOP Class, transfer syntax and pixel data are unchanged,
and that every input is accounted for: found = de-identified + skipped + failed.
Usage: python3 scripts/corpus_check.py [CORPUS_DIR]
"""
import csv, json, os, subprocess, sys, tempfile

corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'corpus')
try:
    import pydicom
except ImportError:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', 'pydicom'])
    import pydicom

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
subprocess.check_call(['cargo', 'build', '--release', '--quiet'], cwd=root)
exe = os.path.join(root, 'target', 'release', 'dcm-deid')
with tempfile.TemporaryDirectory() as tmp:
    out, link = os.path.join(tmp, 'out'), os.path.join(tmp, 'linkage')
    r = subprocess.run([exe, 'deidentify', corpus, '-o', out, '--preset', 'tcia', '--key',
                        os.path.join(tmp, 'key'), '--linkage', link], capture_output=True, text=True)
    print(r.stdout)
    summary = [json.loads(l) for l in open(os.path.join(out, 'audit.jsonl'))][-1]
    assert summary['found'] == summary['deidentified'] + summary['skipped'] + summary['failed']
    problems = 0
    checked = 0
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
            checked += 1
        except Exception as e:
            problems += 1
            print(f'PROBLEM {src}: {type(e).__name__}: {str(e)[:120]}')
    print(f'{checked} outputs verified with pydicom {pydicom.__version__}, {problems} problems')
    sys.exit(1 if problems else 0)
