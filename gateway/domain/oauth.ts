/**
 * The error codes an OAuth endpoint answers with (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7591 §3.2.2,
 * RFC 8707 §2, RFC 6750 §3.1), as `{error, error_description}`: OAuth clients read these, not the
 * gateway's envelope, so the token, revocation and registration endpoints answer in this form.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  | 'server_error';

export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly status: 400 | 401 | 403 = 400,
  ) {
    super(description);
  }

  get body(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/** The scopes a member can grant a client: the agent key scopes (DESIGN §4). */
export const OAUTH_SCOPES = ['discover', 'query', 'execute'] as const;
