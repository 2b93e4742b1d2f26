import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { contentSecurityPolicy } from '../../csp.ts';

/**
 * The API reference page (GET /docs) without a network: Scalar's standalone bundle is served from
 * the installed package at a fingerprinted address (/docs/assets/scalar.<hash>.js, cached for a
 * year), configured by attributes rather than inline code, and told not to fetch its web fonts.
 */

interface Bundle {
  file: string;
  body: string;
}

let bundle: Bundle | undefined;

/** Read and hashed on first use (3 MB): gateways that never serve /docs never read it. */
export function scalarBundle(): Bundle {
  if (!bundle) {
    const path = createRequire(import.meta.url).resolve('@scalar/api-reference/browser/standalone.js');
    const body = readFileSync(path, 'utf8');
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    bundle = { file: `scalar.${hash}.js`, body };
  }
  return bundle;
}

/**
 * The console's CSP, widened as little as the bundle needs: it adds its styles as `<style>`
 * elements and `style` attributes at run time, and draws icons from `data:` images. Scripts stay
 * this origin's only (no inline code, no eval), and it connects to nothing else.
 */
export const DOCS_CSP = contentSecurityPolicy({
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
});

/** What the reference is told (Scalar's configuration): no web fonts, nothing sent elsewhere. */
const CONFIGURATION = {
  withDefaultFonts: false,
  hideClientButton: true,
  telemetry: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
};

/** The page: a visible link to the document, and the element the bundle mounts the reference on. */
function DocsPage({ specUrl }: { specUrl: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Warden API</title>
      </head>
      <body>
        <p style="margin:0;padding:0.75rem 1rem;font:14px/1.4 system-ui,sans-serif;border-bottom:1px solid #ddd">
          <a href={specUrl}>The OpenAPI document ({specUrl})</a>: generate a client from it.
        </p>
        {/* Not JavaScript (the type says so): the bundle reads its attributes. */}
        <script
          id="api-reference"
          type="application/x-scalar-config"
          data-url={specUrl}
          data-configuration={JSON.stringify(CONFIGURATION)}
        />
        <script src={`/docs/assets/${scalarBundle().file}`} />
      </body>
    </html>
  );
}

/** The page's HTML, with its doctype. */
export const docsPage = (specUrl: string): string => `<!doctype html>${<DocsPage specUrl={specUrl} />}`;
