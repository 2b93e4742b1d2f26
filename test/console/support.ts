import type { Gateway } from '../../gateway/app.ts';
import { call, type Tenant } from '../support/harness.ts';

/** What the console's tests do over `app.request`, as a browser would (forms, cookies, Origin). */

export const ORIGIN = 'http://gateway.test';

export function cookieOf(res: Response): string | undefined {
  const set = res.headers.get('set-cookie') ?? '';
  const value = /warden_console=([^;]*)/.exec(set)?.[1];
  return value ? value : undefined;
}

export async function page(gw: Gateway, path: string, cookie?: string, base = ORIGIN): Promise<Response> {
  return gw.app.request(`${base}${path}`, {
    headers: cookie ? { cookie: `warden_console=${cookie}` } : {},
    redirect: 'manual',
  });
}

/** A browser's visit to the sign-in page: its pre-session cookie and the forms' CSRF field. */
export async function preSession(gw: Gateway, base = ORIGIN): Promise<{ cookie: string; csrf: string }> {
  const res = await gw.app.request(`${base}/console/sign-in`);
  const cookie = /warden_console_pre=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error('no pre-session cookie');
  return { cookie, csrf: csrfOf(await res.text()) };
}

/**
 * Posts a form as a browser does (urlencoded, with its Origin and cookies). Sign-in forms get a
 * pre-session cookie and CSRF field from a fresh visit to the sign-in page unless `pre` is given
 * (or false: none, to test the refusal).
 */
export async function form(
  gw: Gateway,
  path: string,
  fields: Record<string, string>,
  options: {
    cookie?: string;
    origin?: string;
    base?: string;
    pre?: { cookie: string; csrf: string } | false;
  } = {},
): Promise<Response> {
  const base = options.base ?? ORIGIN;
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    origin: options.origin ?? ORIGIN,
  };
  const cookies: string[] = [];
  if (options.cookie) cookies.push(`warden_console=${options.cookie}`);
  let body = { ...fields };
  if (path.startsWith('/console/sign-in') && options.pre !== false) {
    const pre = options.pre ?? (await preSession(gw, base));
    cookies.push(`warden_console_pre=${pre.cookie}`);
    body = { csrf: pre.csrf, ...body };
  }
  if (cookies.length > 0) headers.cookie = cookies.join('; ');
  return gw.app.request(`${base}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(body).toString(),
  });
}

/** Signs in with a member token; answers the session cookie's value. */
export async function signIn(gw: Gateway, memberToken: string): Promise<string> {
  const res = await form(gw, '/console/sign-in/token', { token: memberToken });
  if (res.status !== 303) throw new Error(`sign-in: ${res.status} ${await res.text()}`);
  const cookie = cookieOf(res);
  if (!cookie) throw new Error('sign-in: no cookie');
  return cookie;
}

export function csrfOf(html: string): string {
  const found = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!found) throw new Error('no csrf field in the page');
  return found;
}

/** A page's HTML and its CSRF field. */
export async function open(
  gw: Gateway,
  path: string,
  cookie: string,
): Promise<{ html: string; csrf: string }> {
  const res = await page(gw, path, cookie);
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
  const html = await res.text();
  return { html, csrf: csrfOf(html) };
}

export async function memberToken(gw: Gateway, tenant: Tenant, email: string, role: string): Promise<string> {
  const res = await call(gw, 'POST', '/v1/members', { key: tenant.adminToken, body: { email, role } });
  if (res.status !== 201) throw new Error(`member: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

export const SIGN_IN_LINK = /https?:\/\/[^\s/]+\/console\/sign-in\/link\/wcl_[A-Za-z0-9_-]{43}/g;

export function signInLinks(text: string): string[] {
  return [...text.matchAll(SIGN_IN_LINK)].map((m) => m[0]);
}
