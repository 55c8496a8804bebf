#!/usr/bin/env python3
"""Writes a native multi-frame CT of about SIZE_MB megabytes (512x512, 16-bit frames) without
holding it in memory, for the large-file benchmarks: python3 scripts/gen_big.py OUT SIZE_MB
[--encapsulated] [--deflated] (encapsulated: each frame one fragment, with a basic offset table,
or an extended one past 4 GB; a native value cannot pass 4 GB, its length being 32-bit;
deflated: native frames in Deflated Explicit VR Little Endian, SIZE_MB counting the data set
inflated)."""
import random
import struct
import sys
import zlib


class Deflating:
    """A file whose writes are deflated (raw deflate, as PS3.5 A.5 wants) from now on."""

    def __init__(self, f):
        self.f, self.z = f, zlib.compressobj(1, zlib.DEFLATED, -15)

    def write(self, b):
        self.f.write(self.z.compress(b))

    def close(self):
        self.f.write(self.z.flush())


def el(group, elem, vr, value):
    if isinstance(value, str):
        value = value.encode('ascii')
        if len(value) % 2:
            value += b'\0' if vr == 'UI' else b' '
    if vr in ('OB', 'OW', 'OV', 'SQ', 'UN', 'UT'):
        return struct.pack('<HH2sHI', group, elem, vr.encode(), 0, len(value)) + value
    return struct.pack('<HH2sH', group, elem, vr.encode(), len(value)) + value


def main():
    out, size_mb = sys.argv[1], int(sys.argv[2])
    encapsulated = '--encapsulated' in sys.argv
    deflated = '--deflated' in sys.argv
    frame = bytes(i % 251 for i in range(512 * 512 * 2))
    # Deflated frames are noise, so that the file is about as large as its data set (a real
    # image deflates by 2-3x; gen_big's ramp would shrink a thousandfold).
    noise = [random.Random(k).randbytes(len(frame)) for k in range(16)] if deflated else None
    frames = max(1, size_mb * 1_000_000 // len(frame))
    ts = ('1.2.840.10008.1.2.1.98' if encapsulated
          else '1.2.840.10008.1.2.1.99' if deflated else '1.2.840.10008.1.2.1')
    sop = '1.2.826.0.1.3680043.8.498.9%d' % size_mb
    meta_body = (el(2, 1, 'OB', b'\0\1') + el(2, 2, 'UI', '1.2.840.10008.5.1.4.1.1.2')
                 + el(2, 3, 'UI', sop) + el(2, 0x10, 'UI', ts))
    us = lambda n: struct.pack('<H', n)
    body = b''.join([
        el(8, 0x16, 'UI', '1.2.840.10008.5.1.4.1.1.2'), el(8, 0x18, 'UI', sop),
        el(8, 0x20, 'DA', '20240102'), el(8, 0x60, 'CS', 'CT'),
        el(0x10, 0x10, 'PN', 'BIG^PATIENT'), el(0x10, 0x20, 'LO', 'BIG-%d' % size_mb),
        el(0x20, 0xd, 'UI', sop + '.1'), el(0x20, 0xe, 'UI', sop + '.2'),
        el(0x28, 2, 'US', us(1)), el(0x28, 4, 'CS', 'MONOCHROME2'), el(0x28, 8, 'IS', str(frames)),
        el(0x28, 0x10, 'US', us(512)), el(0x28, 0x11, 'US', us(512)), el(0x28, 0x100, 'US', us(16)),
        el(0x28, 0x101, 'US', us(16)), el(0x28, 0x102, 'US', us(15)), el(0x28, 0x103, 'US', us(0)),
    ])
    with open(out, 'wb') as plain:
        plain.write(b'\0' * 128 + b'DICM' + el(2, 0, 'UL', struct.pack('<I', len(meta_body))) + meta_body)
        f = Deflating(plain) if deflated else plain
        f.write(body)
        if encapsulated:
            step = len(frame) + 8
            if frames * step < 1 << 32:
                offsets = b''.join(struct.pack('<I', i * step) for i in range(frames))
            else:
                # Past 4 GB the basic offset table cannot count: an Extended Offset Table and its
                # lengths (PS3.3 C.7.6.3.1.8), and an empty basic table.
                offsets = b''
                f.write(el(0x7fe0, 1, 'OV', b''.join(struct.pack('<Q', i * step) for i in range(frames))))
                f.write(el(0x7fe0, 2, 'OV', b''.join(struct.pack('<Q', len(frame)) for _ in range(frames))))
            f.write(struct.pack('<HH2sHI', 0x7fe0, 0x10, b'OB', 0, 0xffffffff))
            f.write(struct.pack('<HHI', 0xfffe, 0xe000, len(offsets)) + offsets)
            for _ in range(frames):
                f.write(struct.pack('<HHI', 0xfffe, 0xe000, len(frame)) + frame)
            f.write(struct.pack('<HHI', 0xfffe, 0xe0dd, 0))
        else:
            f.write(struct.pack('<HH2sHI', 0x7fe0, 0x10, b'OW', 0, frames * len(frame)))
            for k in range(frames):
                f.write(noise[k % len(noise)] if deflated else frame)
        if deflated:
            f.close()


main()
