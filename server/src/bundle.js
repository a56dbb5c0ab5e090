// Put in front of the chunk loader by the server (server/src/bundle.rs): the parts a
// lazy page needs come in one response instead of one request each. The loader asks
// for a page's parts one by one within the same turn of the event loop; they are
// gathered, fetched together from `parts?want=…` (the names sorted and joined by
// commas: the address the page's HTML preloads) and each handed back as a response of
// its own. A part that cannot be had fails its load, and the loader may ask again.
let wagesWanted = null;

function wagesPart(url) {
  const file = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  const name = file.endsWith('.wasm') ? file.slice(0, -'.wasm'.length) : file;
  if (wagesWanted === null) {
    wagesWanted = new Map();
    queueMicrotask(wagesFetch);
  }
  let entry = wagesWanted.get(name);
  if (entry === undefined) {
    entry = {};
    entry.promise = new Promise((resolve, reject) => {
      entry.resolve = resolve;
      entry.reject = reject;
    });
    wagesWanted.set(name, entry);
  }
  return entry.promise;
}

// Each part comes as its length (4 bytes, little-endian) and its bytes, in the order
// asked for.
async function wagesFetch() {
  const wanted = wagesWanted;
  wagesWanted = null;
  const names = [...wanted.keys()].sort();
  try {
    const response = await fetch(new URL(`./parts?want=${names.join(',')}`, import.meta.url));
    if (!response.ok) throw new Error(`parts: ${response.status} ${response.statusText}`);
    const bytes = await response.arrayBuffer();
    const view = new DataView(bytes);
    let at = 0;
    for (const name of names) {
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > bytes.byteLength) throw new Error(`parts: ${name} cut short`);
      const part = bytes.slice(at, at + length);
      at += length;
      wanted.get(name).resolve(new Response(part, { headers: { 'content-type': 'application/wasm' } }));
    }
  } catch (error) {
    for (const entry of wanted.values()) entry.reject(error);
  }
}
