import { createSign, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A company's identity provider for the tests (issue 22): the real `oidc-provider` (v9) on port 0,
 * with a minimal login interaction (a form asking who you are, no password) and consent granted
 * on the spot. It signs with an RSA key of its own, which `rotate()` replaces (the old key leaves
 * the JWK Set); `tamper` re-signs the ID token it issues with changed claims, with its real key
 * (or, with `forge`, with a key it does not publish), to stand in for a wrong or hostile answer.
 */

export interface Account {
  email: string;
  groups?: string[];
  emailVerified?: boolean;
}

export interface Idp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The people the IdP knows, by login (their subject). */
  accounts: Map<string, Account>;
  /** The `kid` of every ID token issued, in order. */
  issuedKids: string[];
  /** GETs of the JWK Set. */
  jwksFetches: number;
  /** Changes the claims of the next ID tokens (re-signed); undefined: untouched. */
  tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /** Re-signs with a key the JWK Set does not hold (same kid): the signature cannot verify. */
  forge: boolean;
  /** A new signing key: the IdP signs with it from now on and publishes only it. */
  rotate(): Promise<void>;
  close(): Promise<void>;
}

interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function newKey(): SigningKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function sign(claims: Record<string, unknown>, key: SigningKey): string {
  const input = `${b64({ alg: 'RS256', kid: key.kid, typ: 'JWT' })}.${b64(claims)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key.privateKey).toString('base64url');
  return `${input}.${signature}`;
}

const decodePart = (jwt: string, i: number) =>
  JSON.parse(Buffer.from(jwt.split('.')[i] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The minimal slice of oidc-provider this file drives (the package ships no types). */
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ uid: string; prompt: { name: string } }>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: unknown,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
}
interface KoaContext {
  path: string;
  method: string;
  body: unknown;
  oidc: {
    client: { clientId: string };
    session: { accountId: string; grantIdFor(clientId: string): string | undefined };
    result?: { consent?: { grantId?: string } };
    provider: { Grant: GrantClass };
  };
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  save(): Promise<string>;
}
interface GrantClass {
  new (init: { clientId: string; accountId: string }): GrantInstance;
  find(id: string): Promise<GrantInstance | undefined>;
}
type ProviderClass = new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;

// Imported by a name the type checker does not resolve: oidc-provider ships no declarations.
const OIDC_PROVIDER: string = 'oidc-provider';

const form = (uid: string, error = '') => `<!doctype html>
<html lang="en"><head><title>Acme identity</title></head><body>
<h1>Acme identity provider</h1>
${error ? `<p id="idp-error">${error}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="login">Who are you?</label>
<input id="login" name="login" autocomplete="off">
<button type="submit" id="idp-sign-in">Sign in</button>
</form></body></html>`;

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startIdp(options: {
  /** The redirect URIs Warden registered (its /console/sso/callback). */
  redirectUris: string[];
  accounts?: Record<string, Account>;
  clientId?: string;
  /** How long its ID tokens live (oidc-provider's default is an hour). */
  idTokenTtlSeconds?: number;
}): Promise<Idp> {
  const { default: Provider } = (await import(OIDC_PROVIDER)) as { default: ProviderClass };
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const accounts = new Map(Object.entries(options.accounts ?? {}));
  let key = newKey();
  const idp: Idp = {
    issuer,
    clientId: options.clientId ?? 'warden-console',
    clientSecret: `secret-${randomUUID()}`,
    accounts,
    issuedKids: [],
    jwksFetches: 0,
    tamper: undefined,
    forge: false,
    rotate: async () => {
      key = newKey();
      provider = build();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const build = (): ProviderInstance => {
    const p = new Provider(issuer, {
      clients: [
        {
          client_id: idp.clientId,
          client_secret: idp.clientSecret,
          redirect_uris: options.redirectUris,
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      jwks: { keys: [key.jwk] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      findAccount: (_ctx: unknown, sub: string) => {
        const account = accounts.get(sub);
        if (!account) return undefined;
        return {
          accountId: sub,
          claims: () => ({
            sub,
            email: account.email,
            email_verified: account.emailVerified ?? true,
            ...(account.groups ? { groups: account.groups } : {}),
          }),
        };
      },
      features: { devInteractions: { enabled: false } },
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      // Consent is not what is tested: the first-party client gets what it asked for.
      loadExistingGrant: async (ctx: KoaContext) => {
        const { Grant } = ctx.oidc.provider;
        const grantId =
          ctx.oidc.result?.consent?.grantId ?? ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
        if (grantId) return Grant.find(grantId);
        const grant = new Grant({
          clientId: ctx.oidc.client.clientId,
          accountId: ctx.oidc.session.accountId,
        });
        grant.addOIDCScope('openid email profile groups');
        await grant.save();
        return grant;
      },
      cookies: { keys: ['idp-test-cookie-key'] },
      ttl: { IdToken: options.idTokenTtlSeconds ?? 3600 },
    });
    p.use(async (ctx, next) => {
      if (ctx.method === 'GET' && ctx.path === '/jwks') idp.jwksFetches += 1;
      await next();
      const body = ctx.body as { id_token?: string } | undefined;
      if (ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
      idp.issuedKids.push(String(decodePart(body.id_token, 0).kid));
      if (idp.tamper || idp.forge) {
        const claims = idp.tamper ? idp.tamper(decodePart(body.id_token, 1)) : decodePart(body.id_token, 1);
        const signer = idp.forge ? { ...newKey(), kid: key.kid } : key;
        ctx.body = { ...body, id_token: sign(claims, signer) };
      }
    });
    return p;
  };
  let provider = build();

  handler = (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const match = /^\/interaction\/([^/]+)(\/login)?$/.exec(url.pathname);
    if (!match) return provider.callback()(req, res);
    const current = provider;
    void (async () => {
      try {
        const details = await current.interactionDetails(req, res);
        if (req.method === 'POST' && match[2]) {
          const login = (await readForm(req)).get('login') ?? '';
          if (!accounts.has(login)) {
            res.writeHead(200, { 'content-type': 'text/html' }).end(form(details.uid, 'No such person.'));
            return;
          }
          await current.interactionFinished(
            req,
            res,
            { login: { accountId: login } },
            { mergeWithLastSubmission: false },
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html' }).end(form(details.uid));
      } catch (error) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(error));
      }
    })();
  };
  return idp;
}
