import { request } from 'undici';
import { z } from 'zod';
import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { OAuthError } from '../../domain/index.ts';
import { newId } from '../../ids.ts';
import { findClient, insertClient } from '../../repositories/oauth.ts';
import type { Deps } from '../context.ts';

/** A client as the authorization endpoint needs it: who it says it is and where codes may go. */
export interface OAuthClient {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  /** Identified by a Client ID Metadata Document (its client_id is the document's URL). */
  metadataDocument: boolean;
}

/** Schemes a redirect URI may never use: they run code or read files in the browser. */
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:']);
const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * A redirect URI a client may register (RFC 6749 §3.1.2, RFC 8252 §7, OAuth 2.1 §2.3.1): absolute,
 * no fragment; https, http only to a loopback address (a native app on this machine), or a
 * private-use scheme of a native app. Later compared character for character.
 */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `${uri} is not an absolute URI.`;
  }
  if (url.hash || uri.includes('#')) return `${uri} has a fragment.`;
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `${uri} uses a scheme that is not allowed.`;
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
    return `${uri} is plain http to a host that is not loopback; use https.`;
  }
  return undefined;
}

/** The client metadata this server reads (RFC 7591 §2); the rest is ignored. */
const clientMetadata = z
  .object({
    redirect_uris: z.array(z.string().max(2_000)).min(1).max(20),
    client_name: z.string().max(200).optional(),
    token_endpoint_auth_method: z.string().optional(),
    grant_types: z.array(z.string()).optional(),
    response_types: z.array(z.string()).optional(),
  })
  .passthrough();
type ClientMetadata = z.infer<typeof clientMetadata>;

/** What a public client of this server may ask for; anything else is invalid_client_metadata. */
function checkMetadata(m: ClientMetadata): void {
  for (const uri of m.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new OAuthError('invalid_redirect_uri', problem);
  }
  if (m.token_endpoint_auth_method !== undefined && m.token_endpoint_auth_method !== 'none') {
    throw new OAuthError(
      'invalid_client_metadata',
      'Only public clients are supported: token_endpoint_auth_method must be "none" (PKCE protects the code).',
    );
  }
  const grants = m.grant_types ?? ['authorization_code'];
  if (grants.some((g) => g !== 'authorization_code' && g !== 'refresh_token')) {
    throw new OAuthError(
      'invalid_client_metadata',
      'grant_types may hold authorization_code and refresh_token only.',
    );
  }
  if ((m.response_types ?? ['code']).some((r) => r !== 'code')) {
    throw new OAuthError('invalid_client_metadata', 'response_types may hold code only.');
  }
}

/** RFC 7591 §3.2.1: what a registration answers. */
export interface RegisteredClient {
  client_id: string;
  client_id_issued_at: number;
  client_name?: string;
  redirect_uris: string[];
  token_endpoint_auth_method: 'none';
  grant_types: string[];
  response_types: string[];
}

/** RFC 7591: dynamic registration of a public client, unless the operator turned it off. */
export async function registerClient({
  deps,
  input,
}: {
  deps: Deps;
  input: unknown;
}): Promise<RegisteredClient> {
  if (!deps.config.oauth.dynamicRegistration) {
    throw new OAuthError(
      'access_denied',
      'Dynamic client registration is turned off on this server: identify the client by a Client ID Metadata Document (an https client_id).',
      403,
    );
  }
  const parsed = clientMetadata.safeParse(input);
  if (!parsed.success) {
    throw new OAuthError(
      'invalid_client_metadata',
      `The client metadata is not valid: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const m = parsed.data;
  checkMetadata(m);
  const now = deps.clock();
  const client = {
    id: newId('oauthClient'),
    clientName: m.client_name ?? null,
    redirectUris: m.redirect_uris,
    createdAt: now,
  };
  await deps.db.transaction({}, (tx) => insertClient(tx, client));
  return {
    client_id: client.id,
    client_id_issued_at: Math.floor(now / 1000),
    ...(m.client_name ? { client_name: m.client_name } : {}),
    redirect_uris: m.redirect_uris,
    token_endpoint_auth_method: 'none',
    grant_types: m.grant_types ?? ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  };
}

/**
 * A Client ID Metadata Document URL (draft-ietf-oauth-client-id-metadata-document §3): https, a
 * path, no fragment, no credentials, no dot segments.
 */
export function isMetadataDocumentId(clientId: string): boolean {
  if (!clientId.startsWith('https://')) return false;
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return false;
  }
  if (url.pathname === '/' || url.hash || clientId.includes('#') || url.username || url.password)
    return false;
  return !/\/\.\.?(\/|$)/.test(clientId.slice('https://'.length).split('?')[0] ?? '');
}

/** Documents are small: a client's name and its redirect URIs. */
const MAX_DOCUMENT_BYTES = 5_120;
const FETCH_TIMEOUT_MS = 5_000;
/** How long a fetched document is trusted before it is fetched again. */
const CACHE_MS = 5 * 60_000;
/** Per gateway (its Deps): several gateways may share a process, each with its own clock. */
const caches = new WeakMap<Deps, Map<string, { client: OAuthClient; until: number }>>();
function cacheOf(deps: Deps): Map<string, { client: OAuthClient; until: number }> {
  let cache = caches.get(deps);
  if (!cache) {
    cache = new Map();
    caches.set(deps, cache);
  }
  return cache;
}

/**
 * Fetches a client's metadata document from its client_id URL, with the outbound checks of every
 * other URL the gateway calls (EGRESS_ALLOW_PRIVATE, checked again at connect time), no redirects,
 * a size and time limit; the document must name itself as client_id.
 */
async function fetchMetadataDocument(deps: Deps, clientId: string): Promise<OAuthClient> {
  const now = deps.clock();
  const cache = cacheOf(deps);
  const cached = cache.get(clientId);
  if (cached && cached.until > now) return cached.client;
  const check = checkOutboundUrl(clientId, { allowPrivate: deps.config.egressAllowPrivate });
  if (!check.ok)
    throw new OAuthError('invalid_client', `The client_id URL is not allowed: ${check.reason}`, 401);
  let text: string;
  try {
    const res = await request(clientId, {
      dispatcher: deps.clientMetadataDispatcher,
      headers: { accept: 'application/json' },
      // undici's request follows no redirect: a 3xx is refused below (the document is at its id).
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_DOCUMENT_BYTES) {
        res.body.destroy();
        throw new OAuthError('invalid_client', 'The client metadata document is larger than 5 KiB.', 401);
      }
      chunks.push(chunk as Buffer);
    }
    if (res.statusCode !== 200) {
      throw new OAuthError('invalid_client', `The client metadata document answered ${res.statusCode}.`, 401);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof OAuthError) throw error;
    throw new OAuthError('invalid_client', 'The client metadata document could not be fetched.', 401);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_client', 'The client metadata document is not JSON.', 401);
  }
  const parsed = clientMetadata.extend({ client_id: z.string() }).safeParse(body);
  if (!parsed.success)
    throw new OAuthError('invalid_client', 'The client metadata document is not valid.', 401);
  if (parsed.data.client_id !== clientId) {
    throw new OAuthError('invalid_client', 'The client metadata document names another client_id.', 401);
  }
  try {
    checkMetadata(parsed.data);
  } catch (error) {
    throw error instanceof OAuthError ? new OAuthError('invalid_client', error.description, 401) : error;
  }
  const client: OAuthClient = {
    clientId,
    clientName: parsed.data.client_name ?? null,
    redirectUris: parsed.data.redirect_uris,
    metadataDocument: true,
  };
  if (cache.size > 500) cache.clear();
  cache.set(clientId, { client, until: now + CACHE_MS });
  return client;
}

/** The client a client_id names: a metadata document URL, or a dynamically registered id. */
export async function resolveClient(deps: Deps, clientId: string): Promise<OAuthClient> {
  if (isMetadataDocumentId(clientId)) return fetchMetadataDocument(deps, clientId);
  const found = clientId.length <= 64 ? await findClient(deps.db.reader, clientId) : undefined;
  if (!found) throw new OAuthError('invalid_client', 'Unknown client_id.', 401);
  return {
    clientId: found.id,
    clientName: found.clientName,
    redirectUris: found.redirectUris,
    metadataDocument: false,
  };
}
