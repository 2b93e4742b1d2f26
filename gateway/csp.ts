/**
 * The Content-Security-Policy of the gateway's pages (issue 14): scripts and styles from this origin
 * only (no inline code), nothing framed, forms posted here only. A page that needs more names the
 * directives it widens, so the difference from the console's policy is in one place.
 */
const BASE = {
  'default-src': "'none'",
  'script-src': "'self'",
  'style-src': "'self'",
  'img-src': "'self'",
  'connect-src': "'self'",
  'form-action': "'self'",
  'frame-ancestors': "'none'",
  'base-uri': "'none'",
} as const;

export type CspDirective = keyof typeof BASE | 'font-src' | 'worker-src';

export function contentSecurityPolicy(widen: Partial<Record<CspDirective, string>> = {}): string {
  return Object.entries({ ...BASE, ...widen })
    .map(([name, value]) => `${name} ${value}`)
    .join('; ');
}
