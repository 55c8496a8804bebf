#!/usr/bin/env python3
"""Checks a de-identified large file against its input without holding either: pydicom reads
the output's header (patient replaced, frames kept), and the Pixel Data value, the last bytes
of both files, is compared in chunks. Usage: check_big.py INPUT OUTPUT [ZIP] [--same-as=FILE]
[--masked=X0,Y0,X1,Y1]: with ZIP, OUTPUT is the name of the entry in that zip; --same-as also
compares the output with FILE; --masked compares frame by frame (16-bit MONOCHROME2 frames as
scripts/gen_big.py writes them): 0 inside the rectangle, the input's samples outside. A deflated
data set is compared inflated, as it is read."""
import struct
import sys
import zipfile
import zlib

import numpy as np
import pydicom

CHUNK = 1 << 24


def open_output(args):
    if len(args) > 3:
        z = zipfile.ZipFile(args[3])
        return z.open(args[2]), z.getinfo(args[2]).file_size
    f = open(args[2], 'rb')
    f.seek(0, 2)
    size = f.tell()
    f.seek(0)
    return f, size


class DataSet:
    """A Part 10 file read forward as its data set's bytes: after the meta group, inflated when
    the transfer syntax is Deflated Explicit VR Little Endian; `unread` gives bytes back."""

    def __init__(self, f, deflated):
        head = f.read(144)
        f.read(struct.unpack('<I', head[140:144])[0])  # the meta group
        self.f, self.back = f, b''
        self.z = zlib.decompressobj(-15) if deflated else None

    def read(self, n):
        while len(self.back) < n:
            # Small reads of compressed bytes: deflate can expand them a thousandfold.
            raw = self.f.read(64 << 10 if self.z else n - len(self.back))
            if not raw:
                self.back += self.z.flush() if self.z else b''
                break
            self.back += self.z.decompress(raw) if self.z else raw
        out, self.back = self.back[:n], self.back[n:]
        return out

    def unread(self, b):
        self.back = b + self.back


def value_start(f):
    """Moves `f` to the first byte of the Pixel Data value (explicit VR: tag, OB/OW, reserved,
    length), found in the first 64 MB."""
    head = f.read(64 << 20)
    at = max(head.find(b'\xe0\x7f\x10\x00' + vr) for vr in (b'OB', b'OW'))
    assert at >= 0, 'Pixel Data found'
    f.unread(head[at + 12:])


def compare_masked(a, b, src, encapsulated, rect):
    """Compares every frame: the output is 0 inside `rect`, the input's samples outside; item
    headers (and the offset table, whose lengths masking in place keeps) are equal."""
    x0, y0, x1, y1 = rect
    rows, cols = int(src.Rows), int(src.Columns)
    outside = np.ones((rows, cols), bool)
    outside[y0:y1, x0:x1] = False
    if encapsulated:
        header = a.read(8)
        assert header == b.read(8), 'offset table item header'
        n = int.from_bytes(header[4:], 'little')
        assert a.read(n) == b.read(n), 'offset table'
    for k in range(int(src.NumberOfFrames)):
        if encapsulated:
            assert a.read(8) == b.read(8), f'frame {k}: item header'
        x = np.frombuffer(a.read(rows * cols * 2), '<u2').reshape(rows, cols)
        y = np.frombuffer(b.read(rows * cols * 2), '<u2').reshape(rows, cols)
        assert not y[~outside].any(), f'frame {k}: the rectangle is 0'
        assert (x[outside] == y[outside]).all(), f'frame {k}: the input outside the rectangle'


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    argv_flags = [a for a in argv if a.startswith('--')]
    run(args, argv_flags)


def run(args, flags):
    src = pydicom.dcmread(args[1], stop_before_pixels=True)
    out_f, out_size = open_output(args)
    out = pydicom.dcmread(out_f, stop_before_pixels=True)
    assert out.PatientName != src.PatientName and str(out.PatientID).startswith('ANON'), 'patient replaced'
    assert out.NumberOfFrames == src.NumberOfFrames, 'frames kept'
    assert out.file_meta.TransferSyntaxUID == src.file_meta.TransferSyntaxUID
    masked = next((a.split('=', 1)[1] for a in flags if a.startswith('--masked=')), None)
    if masked:
        assert out.BurnedInAnnotation == 'NO', 'Burned In Annotation NO once masked'
    out_f.close()
    # Pixel Data is the last element of both: everything from its value on must be equal.
    out_f, _ = open_output(args)
    deflated = src.file_meta.TransferSyntaxUID == '1.2.840.10008.1.2.1.99'
    out_f = DataSet(out_f, deflated)
    with open(args[1], 'rb') as a:
        a = DataSet(a, deflated)
        value_start(a)
        value_start(out_f)
        if masked:
            rect = [int(v) for v in masked.split(',')]
            encapsulated = src.file_meta.TransferSyntaxUID.is_encapsulated
            compare_masked(a, out_f, src, encapsulated, rect)
        while True:
            x, y = a.read(CHUNK), out_f.read(CHUNK)
            assert x == y, 'pixel bytes differ'
            if not x:
                break
    same_as = next((a.split('=', 1)[1] for a in flags if a.startswith('--same-as=')), None)
    if same_as:
        out_f, _ = open_output(args)
        with open(same_as, 'rb') as b:
            while True:
                x, y = out_f.read(CHUNK), b.read(CHUNK)
                assert x == y, 'the two outputs differ'
                if not x:
                    break
    what = 'masked frames checked' if masked else 'pixel bytes equal'
    print(f'ok: {args[2]} ({out_size} bytes), header read by pydicom, {what}')


main(sys.argv)
