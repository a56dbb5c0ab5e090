// Run by the page as it arrives (the shell puts it in the `<head>`, the base path
// filled in, these comments left out): on the dashboard it opens the fleet's stream, on a scale's page
// that scale's readings, and keeps the frames that come until the page's WASM takes the
// socket over (app/src/live_socket.rs). Past a thousand frames unread it gives up, and
// the page opens its own.
(() => {
  const base = __BASE__;
  const at = location.pathname.slice(base.length);
  const scale = at.match(/^\/devices\/([A-Za-z0-9_-]{1,64})$/);
  const stream = at === '' || at === '/' ? '/api/live' : scale ? `/api/devices/${scale[1]}/live` : null;
  if (stream === null || !('WebSocket' in window)) return;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${base}${stream}`;
  const early = { socket: new WebSocket(url), frames: [] };
  early.socket.binaryType = 'arraybuffer';
  early.socket.addEventListener('message', (e) => {
    if (early.frames === null) return;
    if (early.frames.length >= 1000) early.socket.close(); else early.frames.push(e.data);
  });
  window.wagesEarly = { [url]: early };
})();
