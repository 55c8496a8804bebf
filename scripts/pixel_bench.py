#!/usr/bin/env python3
"""Clean Pixel Data cost by transfer syntax: the release CLI on the corpus files of each syntax
(one job, best of 3), Basic alone against Basic + Clean Pixel Data with a script that masks a
100x30 band of every frame. Usage: python3 scripts/pixel_bench.py [WORD] (from the repository root;
WORD keeps the syntaxes whose name holds it, e.g. JPEG-LS)."""
import csv, os, subprocess, sys, tempfile, time, shutil, collections
corpus='../shared/corpus'
rows=list(csv.DictReader(open(corpus+'/MANIFEST.csv')))
groups=collections.defaultdict(list)
for r in rows:
    if r['modality'] in ('SR','(DICOMDIR)','SEG','PR','KO','RTSTRUCT'): continue
    groups[r['transfer_syntax']].append((r['path'], int(r['frames'] or 1)))
exe='./target/release/dcm-deid'
script='/tmp/all.script'; open(script,'w').write('{ true } (0,0,99,29)\n')
for ts, files in sorted(groups.items()):
    if ts not in ('Explicit VR Little Endian','RLE Lossless','JPEG Baseline (Process 1)','JPEG Extended (Process 2 and 4)','JPEG 2000 Image Compression','JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])','Explicit VR Big Endian',
                  'JPEG-LS Lossless Image Compression','JPEG-LS Lossy (Near-Lossless) Image Compression',
                  '1.2.840.10008.1.2.4.111'): continue
    if len(sys.argv) > 1 and sys.argv[1] not in ts: continue
    with tempfile.TemporaryDirectory() as t:
        d=os.path.join(t,'in'); os.makedirs(d)
        frames=0
        for i,(p,f) in enumerate(files):
            shutil.copy(os.path.join(corpus,p), os.path.join(d,f'{i}.dcm')); frames+=f
        def run(extra):
            best=1e9
            for _ in range(3):
                o=os.path.join(t,'o'); shutil.rmtree(o, ignore_errors=True)
                t0=time.perf_counter(); subprocess.run([exe,'deidentify',d,'-o',o,'--key',t+'/k','-j','1']+extra,capture_output=True); best=min(best,time.perf_counter()-t0)
            return best
        base=run([]); cpd=run(['--clean-pixel-data','--pixel-script',script,'--release-unmasked'])
        print(f'{ts[:40]:40} files {len(files):3} frames {frames:5}  deid {base*1000:7.0f} ms  +CPD {cpd*1000:7.0f} ms  masking {(cpd-base)*1000/frames:6.2f} ms/frame  ratio {cpd/base:4.1f}x')
