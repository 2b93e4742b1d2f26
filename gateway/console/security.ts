import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { contentSecurityPolicy } from '../csp.ts';
import type { GatewayEnv } from '../env.ts';
import type { Deps } from '../services/context.ts';

/** The session cookie: HttpOnly, SameSite=Lax, only sent to /console. */
export const COOKIE = 'warden_console';
const PATH = '/console';

/** The console's CSP (issue 14), the gateway's base policy as is (gateway/csp.ts). */
export const CSP = contentSecurityPolicy();

/** Secure unless this is development or test over plain http (a local browser would drop it). */
function secure(deps: Deps, c: Context<GatewayEnv>): boolean {
  if (deps.config.nodeEnv === 'production') return true;
  return new URL(c.req.url).protocol !== 'http:';
}

export function setSessionCookie(deps: Deps, c: Context<GatewayEnv>, token: string): void {
  setCookie(c, COOKIE, token, { httpOnly: true, sameSite: 'Lax', path: PATH, secure: secure(deps, c) });
}

export function clearSessionCookie(deps: Deps, c: Context<GatewayEnv>): void {
  deleteCookie(c, COOKIE, { httpOnly: true, sameSite: 'Lax', path: PATH, secure: secure(deps, c) });
}

export const sessionToken = (c: Context<GatewayEnv>): string | undefined => getCookie(c, COOKIE);

/**
 * Before sign-in there is no session to bind a form to: the sign-in pages set this random cookie
 * and their forms carry an HMAC of it (login CSRF: another site cannot sign a browser in as someone
 * else). It is the pre-session token the CSRF field is computed from.
 */
export const PRE_COOKIE = 'warden_console_pre';
const PRE_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The browser's pre-session token, set now when it has none. */
export function preSession(deps: Deps, c: Context<GatewayEnv>): string {
  const existing = getCookie(c, PRE_COOKIE);
  if (existing && PRE_SHAPE.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  setCookie(c, PRE_COOKIE, token, { httpOnly: true, sameSite: 'Lax', path: PATH, secure: secure(deps, c) });
  return token;
}

export const presentedPreSession = (c: Context<GatewayEnv>): string | undefined => {
  const value = getCookie(c, PRE_COOKIE);
  return value && PRE_SHAPE.test(value) ? value : undefined;
};

export function clearPreSession(deps: Deps, c: Context<GatewayEnv>): void {
  deleteCookie(c, PRE_COOKIE, { httpOnly: true, sameSite: 'Lax', path: PATH, secure: secure(deps, c) });
}

/**
 * Refuses cross-site form posts besides the CSRF field: an Origin, or else a Referer, when the
 * browser sent one, must be this gateway's own (PUBLIC_BASE_URL or the request's). The sign-in forms
 * carry the HMAC of a pre-session cookie instead of the session's.
 */
export function sameOrigin(c: Context<GatewayEnv>, publicBaseUrl: string): boolean {
  const allowed = new Set([new URL(publicBaseUrl).origin, new URL(c.req.url).origin]);
  const origin = c.req.header('origin');
  if (origin !== undefined) return allowed.has(origin);
  const referer = c.req.header('referer');
  if (referer === undefined) return true;
  try {
    return allowed.has(new URL(referer).origin);
  } catch {
    return false;
  }
}

/** Only a console path of this site is a place to go back to after sign-in. */
export function safeNext(next: string | undefined): string {
  if (!next || !/^\/console(?:[/?][^\s\\]*)?$/.test(next) || next.includes('//')) return '/console';
  return next;
}

/** The form fields as strings (files are ignored). */
export async function formOf(c: Context<GatewayEnv>): Promise<Record<string, string>> {
  let parsed: Awaited<ReturnType<typeof c.req.parseBody>>;
  try {
    parsed = await c.req.parseBody();
  } catch {
    // A body that does not parse as its Content-Type says (never one of our forms) is an empty
    // form: it has no CSRF field, so it is refused as a form from elsewhere (403 page), not a 500.
    return {};
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') out[name] = value;
  return out;
}
