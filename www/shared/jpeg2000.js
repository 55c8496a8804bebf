// JPEG 2000 and HTJ2K for the library in this worker (src/pixels/j2k.rs): OpenJPEG 2.5 compiled to
// wasm (npm @cornerstonejs/codec-openjpeg, its decoder-only build, served from the page's own
// origin as pkg/openjpeg.mjs and pkg/openjpeg.wasm), installed as globalThis.dcmDeidJpeg2000,
// which the library calls synchronously. The library's own OpenJPEG translation traps in wasm32,
// so without this hook the page holds JPEG 2000 images back ("no JPEG 2000 decoder is loaded").
// Loaded only when a worker may decode pixels: Clean Pixel Data on (masking, text detection), or
// the studio's viewer.
let loading = null;

/** Installs the hook once per worker; resolves when it is there (or could not be loaded). */
export function installJpeg2000() {
  loading ??= load().catch((err) => {
    console.warn('JPEG 2000 codec not loaded:', err?.message ?? err);
  });
  return loading;
}

async function load() {
  const { default: factory } = await import('../pkg/openjpeg.mjs');
  const wasm = new URL('../pkg/openjpeg.wasm', import.meta.url).href;
  // OpenJPEG prints an [INFO] line or three per frame on stdout: only its errors reach the console.
  const print = (line) => { if (/\[ERROR\]/.test(line)) console.warn('OpenJPEG:', line); };
  const openjpeg = await factory({ locateFile: () => wasm, print, printErr: print });
  globalThis.dcmDeidJpeg2000 = {
    /**
     * One codestream → its samples and what the decoder says of them. The samples are
     * interleaved, one byte each up to 8 bits per sample, else two (little endian, signed if
     * isSigned); the library checks all of it against the codestream's SIZ and the header.
     */
    decode(stream) {
      const decoder = new openjpeg.J2KDecoder();
      try {
        decoder.getEncodedBuffer(stream.length).set(stream);
        decoder.decode();
        const info = decoder.getFrameInfo();
        // getDecodedBuffer is a view into the decoder's own heap, which delete() below frees:
        // its bytes are copied out first.
        const out = decoder.getDecodedBuffer();
        return {
          pixels: new Uint8Array(out.buffer, out.byteOffset, out.byteLength).slice(),
          width: info.width,
          height: info.height,
          componentCount: info.componentCount,
          bitsPerSample: info.bitsPerSample,
          isSigned: info.isSigned,
        };
      } finally {
        decoder.delete();
      }
    },
  };
}
