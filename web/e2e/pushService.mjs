// The browser's side of a Web Push subscription, for scripts that stand in for Chromium's push service (headless Chromium
// cannot reach a real one): keys made here, the machine's encrypted push decrypted as a browser does (RFC 8291 §3.4,
// RFC 8188 §2, written again in JavaScript so the server's C# is checked by a second implementation), and a push service
// on 127.0.0.1 that keeps every POST to be awaited.

import { createDecipheriv, createECDH, hkdfSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/** A subscription's keys and its decryption: { publicKey, authSecret, decrypt(body) }. */
export function browserSubscriptionKeys() {
  const browserKey = createECDH('prime256v1');
  browserKey.generateKeys();
  const authSecret = randomBytes(16);
  const decrypt = (body) => {
    const salt = body.subarray(0, 16);
    const idLength = body[20];
    const senderPublic = body.subarray(21, 21 + idLength);
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), browserKey.getPublicKey(), senderPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', browserKey.computeSecret(senderPublic), authSecret, keyInfo, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const record = body.subarray(21 + idLength);
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
    return padded.subarray(0, padded.lastIndexOf(2)).toString('utf8');
  };
  return { publicKey: browserKey.getPublicKey(), authSecret, decrypt };
}

/** A push service on a free loopback port: { endpoint, nextPush() (the next POST, {headers, body}), close() }. */
export async function startPushService() {
  const received = [];
  const waiters = [];
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (c) => chunks.push(c));
    request.on('end', () => {
      const push = { headers: request.headers, body: Buffer.concat(chunks) };
      const waiter = waiters.shift();
      if (waiter) waiter(push);
      else received.push(push);
      response.writeHead(201).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${server.address().port}/push/phone`,
    nextPush: () => (received.length ? Promise.resolve(received.shift()) : new Promise((resolve) => waiters.push(resolve))),
    close: () => server.close(),
  };
}
