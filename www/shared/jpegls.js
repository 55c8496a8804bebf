// JPEG-LS for the library in this worker (Clean Pixel Data, src/pixels/jpegls.rs): CharLS
// compiled to wasm (npm @cornerstonejs/codec-charls, served from the page's own origin as
// pkg/charls.mjs and pkg/charls.wasm), installed as globalThis.dcmDeidJpegLs, which the library
// calls synchronously. Loaded only when Clean Pixel Data is on. If it cannot be loaded the hook
// stays absent and the library holds JPEG-LS images back ("no JPEG-LS decoder is loaded").
let loading = null;

/** Installs the hook once per worker; resolves when it is there (or could not be loaded). */
export function installJpegLs() {
  loading ??= load().catch((err) => {
    console.warn('JPEG-LS codec not loaded:', err?.message ?? err);
  });
  return loading;
}

async function load() {
  const { default: factory } = await import('../pkg/charls.mjs');
  const wasm = new URL('../pkg/charls.wasm', import.meta.url).href;
  const charls = await factory({ locateFile: () => wasm });
  globalThis.dcmDeidJpegLs = {
    /** One JPEG-LS stream → its samples in CharLS's layout (planes for interleave mode 0). */
    decode(stream) {
      const decoder = new charls.JpegLSDecoder();
      try {
        decoder.getEncodedBuffer(stream.length).set(stream);
        decoder.decode();
        // A copy (the view is of the decoder's memory), as a Uint8Array (the view is clamped).
        return new Uint8Array(decoder.getDecodedBuffer());
      } finally {
        decoder.delete();
      }
    },
    /** Samples in CharLS's layout → a lossless JPEG-LS stream (NEAR 0) with these parameters. */
    encode(samples, width, height, bitsPerSample, componentCount, interleaveMode) {
      const encoder = new charls.JpegLSEncoder();
      try {
        encoder.getDecodedBuffer({ width, height, bitsPerSample, componentCount }).set(samples);
        encoder.setNearLossless(0);
        encoder.setInterleaveMode(interleaveMode);
        encoder.encode();
        return new Uint8Array(encoder.getEncodedBuffer());
      } finally {
        encoder.delete();
      }
    },
  };
}
