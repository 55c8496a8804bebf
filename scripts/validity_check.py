#!/usr/bin/env python3
"""Outputs as valid as their inputs: dciodvfy (dicom3tools) on every corpus file and on its
de-identified output, under Basic, the TCIA preset and each option alone.

Errors are compared by message class (values, UIDs and item numbers taken out), input against
output, per file: a class of error the output has and its input has not is a new error. Prints the
new errors by class with one example file for each, and exits 1 when there is any.
Usage: python3 scripts/validity_check.py [CORPUS_DIR] [--sets basic,tcia,...]
"""
import collections, concurrent.futures, csv, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
args = [a for a in sys.argv[1:] if not a.startswith('--')]
CORPUS = args[0] if args else os.path.join(ROOT, '..', 'shared', 'corpus')
OPTIONS = ['retain-safe-private', 'retain-uids', 'retain-device-identity', 'retain-institution-identity',
           'retain-patient-characteristics', 'retain-long-full-dates', 'retain-long-modified-dates',
           'clean-descriptors', 'clean-structured-content', 'clean-graphics', 'clean-pixel-data']
SETS = {'basic': ['--preset', 'basic'], 'tcia': ['--preset', 'tcia']}
SETS.update({o: ['--' + o] + (['--release-unmasked'] if o == 'clean-pixel-data' else []) for o in OPTIONS})
for a in sys.argv[1:]:
    if a.startswith('--sets='):
        SETS = {k: SETS[k] for k in a[len('--sets='):].split(',')}


def message_class(line):
    """An error line without the parts that differ between an input and its output (values,
    UIDs, item indices), so the same defect counts once on each side."""
    # The file meta repeats the data set's SOP Instance UID: a defect of that value is one defect.
    line = re.sub(r'\(0x0002,0x0003\) (UI )?Media Storage SOP Instance UID', r'(0x0008,0x0018) \1SOP Instance UID', line)
    line = re.sub(r'<[0-9.]+>', '<uid>', line)
    line = re.sub(r'\b\d+(\.\d+){2,}\b', 'uid', line)
    line = re.sub(r'= <[^>]*>', '= <>', line)
    line = re.sub(r'values are .*$', 'values are …', line)
    line = re.sub(r'\[\d+\]', '[]', line)
    return line.strip()


# dciodvfy stops early on these inputs, so their outputs (which it reads through) cannot be
# compared with them; they are listed apart.
UNREADABLE = ('Error - Dicom dataset read failed', 'Error - Tags out of order')
# An input whose IOD dciodvfy cannot tell (no SOP Class UID in its data set) is only checked at
# the file level; its output, which has one, is checked against its IOD: not comparable either.
NO_IOD = 'Error - Information Object Not found'


def errors(path):
    r = subprocess.run(['dciodvfy', path], capture_output=True, text=True, errors='replace')
    return {message_class(l) for l in (r.stdout + r.stderr).splitlines() if l.startswith('Error')}


def main():
    if not shutil.which('dciodvfy'):
        print('dciodvfy (Debian package dicom3tools) is not installed; validity check skipped')
        return 0
    subprocess.check_call(['cargo', 'build', '--release', '--quiet'], cwd=ROOT)
    exe = os.path.join(ROOT, 'target', 'release', 'dcm-deid')
    pool = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2)
    input_errors = {}
    total_new = 0
    for name, flags in SETS.items():
        with tempfile.TemporaryDirectory() as tmp:
            out, link = os.path.join(tmp, 'out'), os.path.join(tmp, 'link')
            subprocess.run([exe, 'deidentify', CORPUS, '-o', out, '--key', os.path.join(tmp, 'key'),
                            '--linkage', link, *flags], capture_output=True, text=True)
            pairs = [(r['input_path'], os.path.join(out, r['output_name_or_reason']))
                     for r in csv.DictReader(open(os.path.join(link, 'linkage.csv')))
                     if r['status'] == 'deidentified']
            todo = [src for src, _ in pairs if src not in input_errors]
            input_errors.update(zip(todo, pool.map(errors, todo)))
            new, example, apart = collections.Counter(), {}, []
            for (src, _), got in zip(pairs, pool.map(errors, [dst for _, dst in pairs])):
                if any(m.startswith(UNREADABLE) for m in input_errors[src]) or \
                        (NO_IOD in input_errors[src] and NO_IOD not in got):
                    apart.append(os.path.relpath(src, CORPUS))
                    continue
                for message in got - input_errors[src]:
                    new[message] += 1
                    example.setdefault(message, os.path.relpath(src, CORPUS))
            print(f'--- {name}: {len(pairs) - len(apart)} outputs compared, {sum(new.values())} new '
                  f'dciodvfy errors; {len(apart)} inputs dciodvfy cannot read through (not compared)')
            if name == 'basic':
                for a in apart:
                    print(f'        not compared: {a}')
            for message, n in new.most_common():
                print(f'  {n:4}  {message[:200]}  [{example[message]}]')
            total_new += sum(new.values())
    return 1 if total_new else 0


if __name__ == '__main__':
    sys.exit(main())
