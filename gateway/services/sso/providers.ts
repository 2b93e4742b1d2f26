import * as oidc from 'openid-client';
import { type Dispatcher, fetch as undiciFetch } from 'undici';

/**
 * The identity providers console single sign-on talks to (issue 22), through `openid-client` (a
 * certified relying party library, so no OAuth is written by hand here): discovery documents are
 * cached per issuer for SSO_DISCOVERY_TTL_SECONDS; every request goes through the egress-checked
 * dispatcher (EGRESS_ALLOW_PRIVATE), so an admin cannot point the gateway at the cloud's metadata
 * address; plain http only when SSO_ALLOW_HTTP.
 *
 * Each sign-in gets a Configuration of its own built from the cached metadata. openid-client keeps a
 * JWKS cache per Configuration and, within it, fetches the set again on an unknown `kid` only once a
 * minute; a fresh Configuration per sign-in fetches the IdP's current key set, so a key the IdP
 * rotated in is used at once (a sign-in is a person's action: one extra small GET is nothing).
 */
export interface IdentityProvidersOptions {
  dispatcher: Dispatcher;
  discoveryTtlMs: number;
  allowHttp: boolean;
  /** Seconds for each request to the IdP. */
  timeoutSeconds?: number;
  /** The gateway's clock: ID token times are checked against it (openid-client's clockSkew). */
  clock: () => number;
}

export interface ClientSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

interface Discovered {
  metadata: oidc.ServerMetadata;
  at: number;
}

export class IdentityProviders {
  private readonly discovered = new Map<string, Discovered>();
  private readonly fetch: oidc.CustomFetch;

  constructor(private readonly options: IdentityProvidersOptions) {
    const dispatcher = options.dispatcher;
    this.fetch = async (url, init) =>
      (await undiciFetch(url, { ...init, dispatcher } as Parameters<
        typeof undiciFetch
      >[1])) as unknown as Response;
  }

  /** The issuer's metadata: cached, else read from its discovery document (issuer checked by openid-client). */
  async metadata(issuer: string, clientId: string, refresh = false): Promise<oidc.ServerMetadata> {
    const cached = this.discovered.get(issuer);
    const now = this.options.clock();
    if (!refresh && cached && now - cached.at < this.options.discoveryTtlMs) return cached.metadata;
    const config = await oidc.discovery(new URL(issuer), clientId, undefined, undefined, {
      [oidc.customFetch]: this.fetch,
      execute: this.options.allowHttp ? [oidc.allowInsecureRequests] : [],
      timeout: this.options.timeoutSeconds ?? 10,
    });
    // Plain data only: the helpers serverMetadata() adds would not survive Configuration's clone.
    const metadata = JSON.parse(JSON.stringify(config.serverMetadata())) as oidc.ServerMetadata;
    this.discovered.set(issuer, { metadata, at: now });
    return metadata;
  }

  /**
   * A client for one sign-in: ID token signatures checked against the IdP's JWKS (openid-client
   * would otherwise rely on TLS alone for a token fetched from the token endpoint), its times
   * against the gateway's clock.
   */
  async client(settings: ClientSettings): Promise<oidc.Configuration> {
    const metadata = await this.metadata(settings.issuer, settings.clientId);
    // RFC 6749 §2.3.1: Basic is the method every server supports; Post only when the IdP says so alone.
    const methods = metadata.token_endpoint_auth_methods_supported;
    const auth =
      methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')
        ? oidc.ClientSecretPost(settings.clientSecret)
        : oidc.ClientSecretBasic(settings.clientSecret);
    const skew = Math.round((this.options.clock() - Date.now()) / 1000);
    const config = new oidc.Configuration(
      metadata,
      settings.clientId,
      { client_secret: settings.clientSecret, [oidc.clockSkew]: skew },
      auth,
    );
    config[oidc.customFetch] = this.fetch;
    config.timeout = this.options.timeoutSeconds ?? 10;
    if (this.options.allowHttp) oidc.allowInsecureRequests(config);
    oidc.enableNonRepudiationChecks(config);
    return config;
  }
}
