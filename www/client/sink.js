// Where the zip goes: straight to a file chosen with the File System Access API when the
// browser has it, otherwise a Blob assembled from its parts at the end. Parts are Uint8Arrays
// (zip headers) and Blobs (the outputs' OPFS files, the audit): their bytes are never read here.

export function canSaveDirectly() {
  return typeof window.showSaveFilePicker === 'function';
}

export async function openSink(direct) {
  if (direct) {
    const handle = await window.showSaveFilePicker({
      suggestedName: 'deidentified.zip',
      types: [{ description: 'Zip archive', accept: { 'application/zip': ['.zip'] } }],
    });
    const writable = await handle.createWritable();
    return {
      kind: 'file',
      name: handle.name,
      write: (part) => writable.write(part),
      close: async () => { await writable.close(); return null; },
      abort: () => writable.abort().catch(() => {}),
    };
  }
  const parts = [];
  return {
    kind: 'blob',
    write: async (part) => { parts.push(part); },
    close: async () => new Blob(parts, { type: 'application/zip' }),
    abort: async () => { parts.length = 0; },
  };
}
