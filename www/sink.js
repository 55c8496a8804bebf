// Where the zip goes: straight to a file chosen with the File System Access API when the
// browser has it, otherwise Blob parts assembled at the end (browsers keep large Blobs on disk).

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
      write: (bytes) => writable.write(bytes),
      close: async () => { await writable.close(); return null; },
      abort: () => writable.abort().catch(() => {}),
    };
  }
  const parts = [];
  return {
    kind: 'blob',
    write: async (bytes) => { parts.push(new Blob([bytes])); },
    close: async () => new Blob(parts, { type: 'application/zip' }),
    abort: async () => { parts.length = 0; },
  };
}
