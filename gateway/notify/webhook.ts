import { Webhook } from 'standardwebhooks';
import type { Dispatcher } from 'undici';

/** How much of a failing receiver's answer is kept as the delivery's last error. */
const ERROR_BODY_CHARS = 200;

/**
 * One Standard Webhooks delivery: the JSON event, `webhook-id` (the event id, the same on every
 * retry, so receivers can drop duplicates), timestamp and signature. Anything but a 2xx throws.
 */
export async function postSigned(
  dispatcher: Dispatcher,
  d: { url: string; secret: string; eventId: string; payload: unknown },
): Promise<void> {
  const body = JSON.stringify(d.payload);
  // Wall time, not the injectable clock: receivers check the timestamp against their own clock.
  const now = new Date();
  const url = new URL(d.url);
  const response = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Warden-Webhooks/1',
      'webhook-id': d.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(d.secret).sign(d.eventId, now, body),
    },
    body,
  });
  const text = await readSome(response.body, ERROR_BODY_CHARS);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`HTTP ${response.statusCode}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`);
  }
}

/**
 * A plain JSON POST, unsigned: for receivers that cannot check a signature, such as a Microsoft
 * Teams Workflows webhook, whose URL is its secret (issue 23). Anything but a 2xx throws.
 */
export async function postJson(dispatcher: Dispatcher, d: { url: string; payload: unknown }): Promise<void> {
  const url = new URL(d.url);
  const response = await dispatcher.request({
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Warden-Webhooks/1' },
    body: JSON.stringify(d.payload),
  });
  const text = await readSome(response.body, ERROR_BODY_CHARS);
  if (response.statusCode < 200 || response.statusCode >= 300) {
    throw new Error(`HTTP ${response.statusCode}${text ? `: ${text.slice(0, ERROR_BODY_CHARS)}` : ''}`);
  }
}

/** The start of a body, at most `limit` bytes; the rest is not read (a receiver may answer anything). */
async function readSome(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    chunks.push(buf);
    size += buf.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}
