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


def even(ds):
    """Pixel data as its values or fragments, each padded to even length as PS3.5 asks (the
    writer pads an odd value and an odd last fragment)."""
    data = ds.PixelData or b''
    pad = lambda b: b + b'\0' * (len(b) % 2)
    if not ds['PixelData'].is_undefined_length:
        return [pad(data)]
    from pydicom.encaps import generate_fragments
    return [pad(f) for f in generate_fragments(data)]


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
        for src, dst in written(out, link):
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
                # A file with two meta groups: pydicom takes the last, dcmtk and we the first.
                two_metas = open(src, 'rb').read(4096).count(b'\x02\x00\x00\x00UL') > 1
                assert not ts_a or two_metas or ts_a == str(b.file_meta.TransferSyntaxUID), \
                    'transfer syntax changed'
                assert sop(a) == sop(b), 'SOP Class changed'
                if 'PixelData' in a:
                    assert even(a) == even(b), 'pixel data changed'
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
        problems += readable_but_not_deidentified(link) if preset == 'tcia' else 0
    print(f'{checked} outputs verified with pydicom {pydicom.__version__}, {problems} problems')
    return problems


def written(out, link):
    """(input, output) paths of the files a run de-identified, from its linkage table."""
    for row in csv.DictReader(open(os.path.join(link, 'linkage.csv'))):
        if row['status'] == 'deidentified':
            yield row['input_path'], os.path.join(out, row['output_name_or_reason'])


def other_readers(path):
    """The other toolkits that read a file completely: pydicom (without force) and dcmtk."""
    readers = []
    try:
        ds = pydicom.dcmread(path)
        for el in ds.iterall():
            _ = el.value
        readers.append('pydicom')
    except Exception:
        pass
    if DCMDUMP and subprocess.run([DCMDUMP, '-q', path], capture_output=True).returncode == 0:
        readers.append('dcmtk')
    return readers


# Inputs another toolkit reads in part that must still be refused, with why.
MUST_REFUSE = {
    'gh-dcm4che/3gb-bulk-data-truncated':
        'truncated: Pixel Data declares 3 GiB and the file ends 2 KB later; pydicom returns the few '
        'bytes there are, a de-identifier must not write a file whose content is missing',
    'gh-fo-dicom/FO-DICOM.Tests/Test Data/GH179B.dcm':
        'corrupt: at byte 1408 a second Pixel Padding Value header has neither VR nor length; every '
        'reader loses its place (dcmtk fails, fo-dicom keeps a partial data set, pydicom swallows the '
        'rest of the file, accession number included, into one opaque value), so no reader can '
        'say where the identifying elements are',
}


def readable_but_not_deidentified(link):
    """Of the inputs pydicom or dcmtk read, how many were de-identified (target: all); the rest
    by reason. A DICOMDIR or a duplicate is skipped by design and does not count."""
    readable, missed = 0, []
    for row in csv.DictReader(open(os.path.join(link, 'linkage.csv'))):
        reason = row['output_name_or_reason']
        if row['status'] == 'skipped' and ('DICOMDIR' in reason or 'duplicate' in reason):
            continue
        readers = other_readers(row['input_path'])
        if not readers:
            continue
        readable += 1
        if row['status'] not in ('deidentified', 'quarantined'):
            relative = os.path.relpath(row['input_path'], corpus)
            if relative in MUST_REFUSE:
                print(f'  refused, as it must be: {relative}: {MUST_REFUSE[relative]}')
                readable -= 1
                continue
            missed.append((row['input_path'], '+'.join(readers), reason))
    print(f'--- of {readable} inputs that pydicom or dcmtk read, {readable - len(missed)} de-identified')
    for path, readers, reason in missed:
        print(f'PROBLEM read by {readers} but {reason[:120]}: {os.path.relpath(path, corpus)}')
    return len(missed)


def pixels():
    """Clean Pixel Data on every image of the corpus: a script whose one signature matches
    everything masks the top-left pixel of every frame, so every transfer syntax goes through its
    masking path. Prints a table by input transfer syntax (masked, held back, by reason); every
    masked output must decode in pydicom to the input's pixels outside the top-left 16x16 block
    (a JPEG block or MCU). Then the plain run: every image at risk is masked or held back."""
    import collections
    problems = 0
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, 'all.script')
        open(script, 'w').write('{ true } (0,0,0,0)\n')
        out, link = os.path.join(tmp, 'out'), os.path.join(tmp, 'linkage')
        subprocess.run([exe, 'deidentify', corpus, '-o', out, '--clean-pixel-data', '--pixel-script', script,
                        '--key', os.path.join(tmp, 'key'), '--linkage', link], capture_output=True, text=True)
        lines = [json.loads(l) for l in open(os.path.join(out, 'audit.jsonl'))]
        table = collections.defaultdict(collections.Counter)
        for l in lines:
            if l['record'] == 'file' and 'masked' in l.get('pixels', {}):
                m = l['pixels']['masked']
                table[m['transfer_syntax_in']][f"masked ({m['method']} -> {m['transfer_syntax_out']})"] += m['frames']
            elif l['record'] == 'quarantined':
                table['(held back)'][l['reason'].split('(')[-1].rstrip(')')[:90]] += 1
        print('--- Clean Pixel Data over the corpus (frames masked, or files held back, by input syntax)')
        for ts in sorted(table):
            for what, n in sorted(table[ts].items()):
                print(f'  {ts:28} {n:6}  {what}')
        for src, dst in written(out, link):
            try:
                b = pydicom.dcmread(dst)
                if 'PixelData' not in b:
                    continue
                try:
                    a = pydicom.dcmread(src, force=True)
                    pa = a.pixel_array
                except Exception:
                    continue  # pydicom cannot read or decode the input: nothing to compare with
                pb = b.pixel_array
                assert pa.shape == pb.shape, f'decoded shape {pa.shape} became {pb.shape}'
                frames = int(getattr(a, 'NumberOfFrames', 1) or 1)
                pa, pb = (pa, pb) if frames > 1 else (pa[None], pb[None])
                # A lossy JPEG changes whole MCUs (up to 16x16), and a decoder's chroma
                # upsampling reaches one pixel further: compare beyond 24x24 there.
                lossy = str(a.file_meta.TransferSyntaxUID) in ('1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51')
                edge = 24 if lossy else 16
                keep = pa.copy(); keep[:, :edge, :edge] = 0
                got = pb.copy(); got[:, :edge, :edge] = 0
                assert (keep == got).all(), f'{int((keep != got).sum())} samples changed outside the mask'
            except Exception as e:
                problems += 1
                print(f'PROBLEM masked {src}: {type(e).__name__}: {str(e)[:140]}')
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'out')
        subprocess.run([exe, 'deidentify', corpus, '-o', out, '--preset', 'tcia', '--clean-pixel-data',
                        '--key', os.path.join(tmp, 'key')], capture_output=True, text=True)
        s = [json.loads(l) for l in open(os.path.join(out, 'audit.jsonl'))][-1]
        print(f"--- TCIA + Clean Pixel Data: {s['masked']} masked by CTP's library, {s['quarantined']} held back, "
              f"{s['at_risk_unmasked']} at risk written unmasked")
        assert s['found'] == s['deidentified'] + s['skipped'] + s['failed'] + s['quarantined']
        if s['at_risk_unmasked']:
            problems += 1
            print('PROBLEM images at risk were written unmasked with Clean Pixel Data on')
    return problems


# TCIA exercises safe private attributes, date shifting and cleaning; Basic keeps no patient
# characteristic, so every identifying value of the original must be gone from the bytes.
sys.exit(1 if run('tcia', False) + run('basic', True) + pixels() else 0)
