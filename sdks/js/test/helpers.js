'use strict';

const http = require('node:http');

/**
 * A stub HTTP server for retry tests (never the API itself): answers each request with the next
 * scripted reply and records what it received. A reply is { status, headers, body } or
 * { destroy: true } (drop the connection) or { delayMs } (answer late).
 */
async function startStub(replies) {
  const queue = [...replies];
  const received = [];
  const timers = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      received.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        at: performance.now(),
      });
      const reply = queue.length > 1 ? queue.shift() : queue[0];
      if (reply.destroy) {
        req.socket.destroy();
        return;
      }
      const send = () => {
        const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status || 200, { 'Content-Type': 'application/json', ...(reply.headers || {}) });
        res.end(body);
      };
      if (reply.delayMs) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, reply.delayMs);
        timers.add(timer);
      } else {
        send();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

/** A port nothing listens on (bound, then closed). */
async function closedPort() {
  const server = http.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// A 2×2 PNG (Pillow reads it; the API turns it into a JPEG thumbnail).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8UaHBwMDAxMDAwMDAAAARqgFsecZ2JgAAAABJRU5ErkJggg==',
  'base64',
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

module.exports = { startStub, closedPort, PNG, UUID };
