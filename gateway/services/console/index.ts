/**
 * Console sessions: sign-in by token or emailed link (single sign-on opens them through
 * `openSessionStep`), session resume and sign-out, CSRF.
 */
export {
  type ConsoleSession,
  checkConsoleCsrf,
  consoleContext,
  consoleCsrf,
  openSessionStep,
  peekSignInLink,
  requestSignInLinks,
  resumeSession,
  SSO_REQUIRED,
  SsoRequiredError,
  signInWithLink,
  signInWithToken,
  signOut,
  signOutEverywhere,
} from './console-sessions.ts';
