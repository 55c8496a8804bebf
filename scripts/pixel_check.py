#!/usr/bin/env python3
"""Clean Pixel Data checked by other toolkits.

Runs the Rust pixel tests (tests/pixels.rs, and tests/jpegls.rs with the corpus's JPEG-LS files
when the corpus is present) with PIXEL_OUT set, so that every image they build (in/) and its
masked output (out/) are written to a folder, then checks each pair with:
  * pydicom (with pylibjpeg for compressed syntaxes): the masked rectangle holds one value per
    sample, and every pixel outside it (outside its 8x8 blocks for JPEG) decodes as the input;
  * dcmtk (Debian package dcmtk), when installed: dcmdump parses the output, and dcmdrle,
    dcmdjpeg or dcmdjpls decompresses input and output, which must agree outside the mask;
  * dciodvfy (Debian package dicom3tools), when installed: no error in the output that the
    input did not have (messages compared with their values removed).
Exits non-zero on any problem.
"""
import os, re, shutil, subprocess, sys, tempfile

try:
    import numpy as np
    import pydicom
    import pylibjpeg  # noqa: F401  (registers the JPEG and JPEG 2000 decoders with pydicom)
except ImportError:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-q', 'numpy', 'pydicom',
                           'pylibjpeg', 'pylibjpeg-libjpeg', 'pylibjpeg-openjpeg'])
    import numpy as np
    import pydicom

MASK = (5, 3, 27, 12)  # x0, y0, x1, y1 (half-open), as tests/pixels.rs
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
problems = []


def frames(ds):
    a = ds.pixel_array
    n = int(getattr(ds, 'NumberOfFrames', 1) or 1)
    return a if n > 1 else a[np.newaxis]


def check_pixels(name, a, b, jpeg):
    x0, y0, x1, y1 = MASK
    if jpeg:  # whole 8x8 blocks that meet the mask
        x0, y0, x1, y1 = x0 // 8 * 8, y0 // 8 * 8, -(-x1 // 8) * 8, -(-y1 // 8) * 8
    inside = np.zeros(a.shape[1:3], bool)
    inside[y0:y1, x0:x1] = True
    if a.shape != b.shape:
        problems.append(f'{name}: decoded shapes differ {a.shape} {b.shape}')
        return
    out_diff = (a != b)[:, ~inside]
    if out_diff.any():
        problems.append(f'{name}: {int(out_diff.sum())} samples changed outside the mask (pydicom)')
    masked = b[:, inside]
    if jpeg:
        if masked.max() > 3:
            problems.append(f'{name}: masked JPEG blocks not dark (max {masked.max()})')
    else:
        flat = masked.reshape(-1, *masked.shape[2:])  # every masked pixel, all frames
        if (flat != flat[0]).any():
            problems.append(f'{name}: the masked rectangle is not constant (pydicom)')


def dcmtk_decode(tool, path, tmp):
    dst = os.path.join(tmp, os.path.basename(path) + '.' + str(abs(hash(path))))
    r = subprocess.run([tool, path, dst], capture_output=True, text=True)
    return frames(pydicom.dcmread(dst)) if r.returncode == 0 else r.stderr.strip()[:200]


def dcmtk(name, src, dst, jpeg):
    """dcmdump parses the output; dcmdrle or dcmdjpeg decompress input and output, and their two
    decodes must agree outside the mask (the same decoder on both sides, so lossy JPEG counts)."""
    if not shutil.which('dcmdump'):
        return
    r = subprocess.run(['dcmdump', '+E', dst], capture_output=True, text=True)
    if r.returncode != 0:
        problems.append(f'{name}: dcmdump cannot parse the output: {r.stderr.strip()[:200]}')
    ts = str(pydicom.dcmread(dst).file_meta.TransferSyntaxUID)
    tool = {'1.2.840.10008.1.2.5': 'dcmdrle', '1.2.840.10008.1.2.4.80': 'dcmdjpls'}.get(ts) \
        or ('dcmdjpeg' if ts.startswith('1.2.840.10008.1.2.4.5') else None)
    if tool and shutil.which(tool):
        with tempfile.TemporaryDirectory() as t:
            a, b = dcmtk_decode(tool, src, t), dcmtk_decode(tool, dst, t)
            if isinstance(b, str):
                problems.append(f'{name}: {tool} cannot decompress the output: {b}')
            elif not isinstance(a, str):
                before = len(problems)
                check_pixels(name, a, b, jpeg)
                problems[before:] = [f'{p} [{tool}]' for p in problems[before:]]


# dciodvfy stops early on these inputs (as in validity_check.py): their outputs, which it reads
# through, cannot be compared with them.
UNREADABLE = ('Error - Dicom dataset read failed', 'Error - Tags out of order')


def dciodvfy_errors(path):
    r = subprocess.run(['dciodvfy', path], capture_output=True, text=True)
    lines = (r.stdout + r.stderr).splitlines()
    return {re.sub(r'<[^>]*>|"[^"]*"|\d+', '#', l) for l in lines if l.startswith('Error')}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PIXEL_OUT=tmp)
        for test in ('pixels', 'jpegls'):
            subprocess.check_call(['cargo', 'test', '--quiet', '--test', test] + sys.argv[1:], cwd=root, env=env,
                                  stdout=subprocess.DEVNULL)
        names = sorted(os.listdir(os.path.join(tmp, 'out')))
        for name in names:
            src, dst = os.path.join(tmp, 'in', name), os.path.join(tmp, 'out', name)
            b_ds = pydicom.dcmread(dst)
            jpeg = str(b_ds.file_meta.TransferSyntaxUID).startswith('1.2.840.10008.1.2.4.5')
            try:
                a = frames(pydicom.dcmread(src))
            except Exception as e:  # JPEG XL, or a corpus input pydicom cannot read: compared in Rust
                print(f'  {name}: pydicom cannot decode the input ({type(e).__name__}); pixels compared in Rust only')
                a = None
            if a is not None and name != 'ybr422':  # pydicom converts native YBR_FULL_422 pairs; checked in Rust
                check_pixels(name, a, frames(b_ds), jpeg)
            dcmtk(name, src, dst, jpeg)
            if shutil.which('dciodvfy'):
                before = dciodvfy_errors(src)
                after = dciodvfy_errors(dst)
                if any(m.startswith(UNREADABLE) for m in before - after):
                    print(f'  {name}: dciodvfy cannot read the input through; output not compared')
                    continue
                new = after - before
                if new:
                    problems.append(f'{name}: dciodvfy errors new in the output: {sorted(new)[:5]}')
        tools = [t for t in ('dcmdump', 'dciodvfy') if shutil.which(t)]
        print(f'pixel check: {len(names)} masked images read by pydicom and {", ".join(tools) or "no other tool"}: '
              f'{len(problems)} problems')
    for p in problems:
        print('  ' + p)
    sys.exit(1 if problems else 0)


main()
