import { checkOutboundUrl } from '../../../adapters/egress.ts';
import { GatewayError, type Role } from '../../domain/index.ts';
import { appendAudit } from '../../repositories/audit.ts';
import {
  deleteSsoConfig,
  getSsoConfig,
  listSsoDomains,
  putSsoConfig,
  replaceSsoDomains,
  type SsoConfigRow,
} from '../../repositories/sso.ts';
import { type ServiceContext, workspaceOf } from '../context.ts';
import { auditEvent } from '../ledger/index.ts';

/**
 * A workspace's single sign-on settings (issue 22): `/v1/sso` and the console's SSO page. Admins
 * only (the route and the page check the role). The client secret is sealed at rest and never read
 * back out; a domain belongs to one workspace at most.
 */

export interface SsoSettingsInput {
  issuer: string;
  clientId: string;
  /** Required the first time; left out afterwards, the stored one is kept. */
  clientSecret?: string;
  domains: string[];
  scopes: string[];
  roleClaim: string;
  roleMappings: { group: string; role: Role }[];
  defaultRole: Role | null;
  jit: boolean;
  required: boolean;
}

export interface SsoSettingsView {
  issuer: string;
  clientId: string;
  clientSecretSet: true;
  domains: string[];
  scopes: string[];
  roleClaim: string;
  roleMappings: { group: string; role: Role }[];
  defaultRole: Role | null;
  jit: boolean;
  required: boolean;
  /** The redirect URI to register at the identity provider. */
  redirectUri: string;
  createdAt: string;
  updatedAt: string;
}

/** Where the IdP sends the browser back: one address for every workspace (the state names the sign-in). */
export const callbackUrl = (publicBaseUrl: string): string => `${publicBaseUrl}/console/sso/callback`;

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

const invalid = (path: string, message: string) =>
  new GatewayError('VALIDATION_ERROR', message, [{ path, message }]);

function view(row: SsoConfigRow, domains: string[], publicBaseUrl: string): SsoSettingsView {
  return {
    issuer: row.issuer,
    clientId: row.clientId,
    clientSecretSet: true,
    domains,
    scopes: row.scopes,
    roleClaim: row.roleClaim,
    roleMappings: row.roleMappings,
    defaultRole: row.defaultRole,
    jit: row.jit,
    required: row.required,
    redirectUri: callbackUrl(publicBaseUrl),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}

/** The workspace's settings, or null when single sign-on is not set up. */
export async function getSsoSettings({ ctx }: { ctx: ServiceContext }): Promise<SsoSettingsView | null> {
  const workspaceId = workspaceOf(ctx);
  const reader = ctx.deps.db.reader;
  const [row, domains] = await Promise.all([
    getSsoConfig(reader, workspaceId),
    listSsoDomains(reader, workspaceId),
  ]);
  return row ? view(row, domains, ctx.deps.config.publicBaseUrl) : null;
}

/** The lower-cased, de-duplicated domains, each a hostname. */
export function normaliseDomains(domains: readonly string[]): string[] {
  const out = [...new Set(domains.map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean))];
  for (const domain of out) {
    if (!DOMAIN.test(domain))
      throw invalid('domains', `${domain} is not an email domain (such as example.com).`);
  }
  if (out.length === 0) throw invalid('domains', 'List at least one email domain.');
  return out.sort();
}

/** The issuer as an identifier: an absolute URL without query or fragment, https unless allowed. */
function checkIssuer(ctx: ServiceContext, issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw invalid('issuer', 'The issuer must be a URL such as https://login.example.com.');
  }
  if (url.search || url.hash) throw invalid('issuer', 'The issuer has no query or fragment.');
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ctx.deps.config.ssoAllowHttp)) {
    throw invalid('issuer', 'The issuer must be an https URL (SSO_ALLOW_HTTP allows http).');
  }
  const check = checkOutboundUrl(issuer, { allowPrivate: ctx.deps.config.egressAllowPrivate });
  if (!check.ok) throw invalid('issuer', `The issuer is not allowed: ${check.reason}`);
}

/**
 * Sets up or changes the workspace's single sign-on. The issuer's discovery document is read first
 * (a typo is told now, not at the first sign-in); the settings and the domains are written in one
 * transaction, which a domain already routed to another workspace rolls back (409 CONFLICT).
 */
export async function putSsoSettings({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: SsoSettingsInput;
}): Promise<SsoSettingsView> {
  const workspaceId = workspaceOf(ctx);
  const { deps } = ctx;
  const issuer = input.issuer.trim();
  checkIssuer(ctx, issuer);
  const domains = normaliseDomains(input.domains);
  if (!input.scopes.includes('openid')) throw invalid('scopes', 'The scopes must include openid.');
  try {
    const metadata = await deps.sso.metadata(issuer, input.clientId, true);
    const methods = metadata.code_challenge_methods_supported;
    if (methods && !methods.includes('S256')) {
      throw invalid('issuer', 'The identity provider does not support PKCE with S256.');
    }
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid('issuer', `The issuer's discovery document could not be read: ${reason}`);
  }
  const at = deps.clock();
  const row = await deps.db.transaction({ workspaceId }, async (tx) => {
    const existing = await getSsoConfig(tx, workspaceId);
    if (!existing && !input.clientSecret) throw invalid('clientSecret', 'The client secret is required.');
    const next: SsoConfigRow = {
      workspaceId,
      issuer,
      clientId: input.clientId,
      clientSecret: input.clientSecret
        ? deps.sealer.seal(input.clientSecret)
        : (existing?.clientSecret as string),
      scopes: input.scopes,
      roleClaim: input.roleClaim,
      roleMappings: input.roleMappings,
      defaultRole: input.defaultRole,
      jit: input.jit,
      required: input.required,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    await putSsoConfig(tx, next);
    const taken = await replaceSsoDomains(tx, workspaceId, domains);
    if (taken) {
      throw new GatewayError(
        'CONFLICT',
        `${taken} already signs in with another workspace's single sign-on; an email domain routes to one workspace.`,
      );
    }
    await appendAudit(
      tx,
      auditEvent(
        ctx,
        existing ? 'sso.changed' : 'sso.configured',
        workspaceId,
        {
          issuer,
          clientId: input.clientId,
          secretChanged: input.clientSecret !== undefined,
          domains,
          roleClaim: input.roleClaim,
          roleMappings: input.roleMappings,
          defaultRole: input.defaultRole,
          jit: input.jit,
          required: input.required,
        },
        at,
      ),
    );
    return next;
  });
  return view(row, domains, deps.config.publicBaseUrl);
}

/** Turns single sign-on off for the workspace: its domains are free again; sessions stay. */
export async function deleteSsoSettings({ ctx }: { ctx: ServiceContext }): Promise<void> {
  const workspaceId = workspaceOf(ctx);
  const removed = await ctx.deps.db.transaction({ workspaceId }, async (tx) => {
    if (!(await deleteSsoConfig(tx, workspaceId))) return false;
    await appendAudit(tx, auditEvent(ctx, 'sso.removed', workspaceId));
    return true;
  });
  if (!removed) throw new GatewayError('NOT_FOUND', 'Single sign-on is not set up for this workspace.');
}
