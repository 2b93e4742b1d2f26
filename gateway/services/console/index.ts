/**
 * Console sessions: sign-in by token or emailed link, session resume and sign-out, CSRF.
 */
export {
  type ConsoleSession,
  checkConsoleCsrf,
  consoleContext,
  consoleCsrf,
  peekSignInLink,
  requestSignInLinks,
  resumeSession,
  signInWithLink,
  signInWithToken,
  signOut,
  signOutEverywhere,
} from './console-sessions.ts';
