import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in of Slack's Web API on port 0: it checks the bot token (`Authorization: Bearer`) as
 * Slack does (`invalid_auth` otherwise), answers `chat.postMessage`, `chat.update` and `users.info`
 * in Slack's shapes, and records every call with its arguments (form or JSON, as the client sends).
 */
export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** What the stand-in answered. */
  result?: Record<string, unknown>;
}

export interface SlackUser {
  email: string;
  confirmed: boolean;
}

export interface SlackStandIn {
  /** What to give SLACK_API_URL. */
  apiUrl: string;
  calls: SlackCall[];
  of(method: string): SlackCall[];
  users: Map<string, SlackUser>;
  /** While set, every call is answered with this HTTP status (an outage). */
  failWith: number | null;
  close(): Promise<void>;
}

export async function startSlack(botToken: string): Promise<SlackStandIn> {
  const calls: SlackCall[] = [];
  const users = new Map<string, SlackUser>();
  let ts = 1_700_000_000;
  const state = { failWith: null as number | null };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (body: Record<string, unknown>, status = 200) => {
        const last = calls.at(-1);
        if (last && !last.result && status === 200) last.result = body;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (state.failWith !== null) return reply({ ok: false, error: 'fatal_error' }, state.failWith);
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
      if (req.headers.authorization !== `Bearer ${botToken}`)
        return reply({ ok: false, error: 'invalid_auth' });
      const raw = Buffer.concat(chunks).toString('utf8');
      const args: Record<string, unknown> = {};
      if ((req.headers['content-type'] ?? '').includes('application/json'))
        Object.assign(args, JSON.parse(raw));
      else {
        for (const [k, v] of new URLSearchParams(raw)) {
          // The client sends objects and arrays (blocks) as JSON inside the form.
          args[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
        }
      }
      calls.push({ method, args });
      switch (method) {
        case 'chat.postMessage': {
          ts += 1;
          const channel = String(args.channel);
          // A direct message to a user id lands in the DM conversation with the app.
          const conversation = channel.startsWith('U') ? `D${channel.slice(1)}` : channel;
          return reply({ ok: true, channel: conversation, ts: `${ts}.000100`, message: { text: args.text } });
        }
        case 'chat.update':
          return reply({ ok: true, channel: args.channel, ts: args.ts, text: args.text });
        case 'users.info': {
          const user = users.get(String(args.user));
          if (!user) return reply({ ok: false, error: 'user_not_found' });
          return reply({
            ok: true,
            user: {
              id: args.user,
              deleted: false,
              is_bot: false,
              is_email_confirmed: user.confirmed,
              profile: { email: user.email },
            },
          });
        }
        default:
          return reply({ ok: false, error: 'unknown_method' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    calls,
    of: (method) => calls.filter((c) => c.method === method),
    users,
    get failWith() {
      return state.failWith;
    },
    set failWith(v) {
      state.failWith = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An interactive callback as Slack sends it: the form-encoded payload, signed per Slack's v0 scheme. */
export function slackCallback(input: {
  signingSecret: string;
  /** Epoch seconds. */
  timestamp: number;
  userId: string;
  actionId: string;
  value: string;
}): { rawBody: string; headers: Record<string, string> } {
  const payload = {
    type: 'block_actions',
    user: { id: input.userId, username: input.userId.toLowerCase(), team_id: 'T0WARDEN' },
    team: { id: 'T0WARDEN' },
    actions: [{ type: 'button', action_id: input.actionId, block_id: 'warden_decision', value: input.value }],
    response_url: 'https://hooks.slack.test/actions/T0/1/x',
  };
  const rawBody = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const signature = `v0=${createHmac('sha256', input.signingSecret)
    .update(`v0:${input.timestamp}:${rawBody}`)
    .digest('hex')}`;
  return {
    rawBody,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(input.timestamp),
      'x-slack-signature': signature,
    },
  };
}
