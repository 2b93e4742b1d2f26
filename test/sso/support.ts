import { expect } from 'vitest';
import type { Gateway } from '../../gateway/app.ts';
import { sql } from '../../gateway/db/types.ts';
import { ORIGIN, preSession } from '../console/support.ts';
import { call, type Tenant } from '../support/harness.ts';
import type { Idp } from './idp.ts';

/** Single sign-on driven over HTTP as a browser would (issue 22): the gateway by app.request, the IdP by fetch. */

export const CALLBACK = `${ORIGIN}/console/sso/callback`;

export interface Browser {
  /** The pre-session cookie the sign-in page set, and its forms' CSRF field. */
  pre: { cookie: string; csrf: string };
}

export async function newBrowser(gw: Gateway): Promise<Browser> {
  return { pre: await preSession(gw) };
}

/** Posts the single sign-on form; answers the gateway's response (the page on to the IdP, or a refusal). */
export async function startSso(
  gw: Gateway,
  browser: Browser,
  email: string,
  next = '/console',
): Promise<Response> {
  return await gw.app.request(`${ORIGIN}/console/sign-in/sso`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: ORIGIN,
      cookie: `warden_console_pre=${browser.pre.cookie}`,
    },
    body: new URLSearchParams({ csrf: browser.pre.csrf, email, next }).toString(),
    redirect: 'manual',
  });
}

/** Where the page answering the single sign-on form moves on to (its meta refresh, and its link). */
export async function idpUrlOf(res: Response): Promise<string> {
  const html = await res.text();
  const decode = (s: string) => s.replaceAll('&amp;', '&');
  const link = /<a id="sso-continue" href="([^"]+)"/.exec(html)?.[1];
  const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)"/.exec(html)?.[1];
  if (!link || !refresh) throw new Error(`no way on to the IdP in: ${html.slice(0, 300)}`);
  expect(decode(refresh)).toBe(decode(link));
  return decode(link);
}

/**
 * At the IdP: follows its redirects with a cookie jar, answers its login form as `login`, and
 * answers the URL it finally sends the browser to (Warden's callback with code, state and iss).
 */
export async function atIdp(idp: Idp, authorizeUrl: string, login: string): Promise<string> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookie = () => [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
  let url = authorizeUrl;
  let posted = false;
  for (let hop = 0; hop < 12; hop += 1) {
    if (!url.startsWith(idp.issuer)) return url;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: cookie() } });
    keep(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await res.text();
    const uid = /action="\/interaction\/([^/"]+)\/login"/.exec(html)?.[1];
    if (!uid || posted) throw new Error(`the IdP answered ${res.status}: ${html.slice(0, 300)}`);
    const post = await fetch(`${idp.issuer}/interaction/${uid}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login }).toString(),
    });
    keep(post);
    posted = true;
    const next = post.headers.get('location');
    if (!next) throw new Error(`the IdP refused the login ${login}: ${post.status} ${await post.text()}`);
    url = new URL(next, url).href;
  }
  throw new Error('the IdP redirected too many times');
}

/** The browser back at Warden's callback, with its pre-session cookie. */
export async function callback(gw: Gateway, browser: Browser, url: string): Promise<Response> {
  return await gw.app.request(url, {
    headers: { cookie: `warden_console_pre=${browser.pre.cookie}` },
    redirect: 'manual',
  });
}

/** The whole sign-in: the form, the IdP as `login`, the callback. Answers the callback's response and URL. */
export async function ssoSignIn(
  gw: Gateway,
  idp: Idp,
  email: string,
  login: string,
  browser?: Browser,
): Promise<{ res: Response; url: string; browser: Browser }> {
  const b = browser ?? (await newBrowser(gw));
  const start = await startSso(gw, b, email);
  expect(start.status).toBe(200);
  const location = await idpUrlOf(start);
  expect(location.startsWith(`${idp.issuer}/`)).toBe(true);
  const url = await atIdp(idp, location, login);
  expect(url.startsWith(CALLBACK)).toBe(true);
  return { res: await callback(gw, b, url), url, browser: b };
}

export const sessionCookieOf = (res: Response): string | undefined =>
  /warden_console=(wcs_[^;]+)/.exec(res.headers.get('set-cookie') ?? '')?.[1];

/** Configures a workspace's single sign-on with `idp` through the API (as its admin). */
export async function configureSso(
  gw: Gateway,
  tenant: Tenant,
  idp: Idp,
  settings: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const res = await call(gw, 'PUT', '/v1/sso', {
    key: tenant.adminToken,
    body: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, ...settings },
  });
  if (res.status !== 200) throw new Error(`PUT /v1/sso: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.sso as Record<string, unknown>;
}

const COUNT = (table: string) => sql(`SELECT count(*) FROM ${table}`, (r) => Number(r[0]));

/** What a sign-in writes: members, audit events, console sessions (a refusal leaves them as they were). */
export async function written(
  gw: Gateway,
): Promise<{ members: number; audit_events: number; console_sessions: number }> {
  const count = async (table: string) => (await gw.deps.db.reader.get(COUNT(table))) ?? 0;
  return {
    members: await count('members'),
    audit_events: await count('audit_events'),
    console_sessions: await count('console_sessions'),
  };
}
