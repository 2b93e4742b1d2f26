import { createHash } from 'node:crypto';
import { COUNTDOWN_JS } from './countdown.ts';
import { PENDING_JS } from './pending.ts';
import { POLICY_EDITOR_JS } from './policy-editor.ts';
import { CONSOLE_CSS } from './styles.ts';

/**
 * The console's static files, fingerprinted: /console/assets/<name>.<hash>.<ext>, the hash of the
 * content, so a changed file gets a new address and every address can be cached for a year.
 */
export interface Asset {
  file: string;
  type: string;
  body: string;
}

const TYPES = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' } as const;

function asset(name: string, ext: keyof typeof TYPES, body: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { file: `${name}.${hash}.${ext}`, type: TYPES[ext], body };
}

export const ASSETS = {
  css: asset('console', 'css', CONSOLE_CSS),
  countdown: asset('countdown', 'js', COUNTDOWN_JS),
  policyEditor: asset('policy-editor', 'js', POLICY_EDITOR_JS),
  pending: asset('pending', 'js', PENDING_JS),
} as const;

const BY_FILE = new Map<string, Asset>(Object.values(ASSETS).map((a) => [a.file, a]));

export const assetByFile = (file: string): Asset | undefined => BY_FILE.get(file);
export const assetUrl = (a: Asset): string => `/console/assets/${a.file}`;
export const ASSET_TYPES = ['text/css', 'text/javascript'] as const;
