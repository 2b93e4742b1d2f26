/**
 * Console single sign-on with OpenID Connect (issue 22): each workspace's identity provider settings,
 * the sign-in by authorization code with PKCE, and the cached clients of the providers.
 */
export { IdentityProviders, type IdentityProvidersOptions } from './providers.ts';
export {
  callbackUrl,
  deleteSsoSettings,
  getSsoSettings,
  putSsoSettings,
  type SsoSettingsInput,
  type SsoSettingsView,
} from './settings.ts';
export {
  finishSsoSignIn,
  roleFor,
  SSO_SIGN_IN_TTL_MS,
  type SsoFailure,
  SsoSignInError,
  startSsoSignIn,
} from './sign-in.ts';
