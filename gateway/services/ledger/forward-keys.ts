import { signDirectory } from '../../../adapters/http/message-signature.ts';
import type { ServiceContext } from '../context.ts';
import type { DirectoryJwk } from './signing-keys.ts';

/** The media type of a key directory (draft-meunier-webbotauth-httpsig-directory §4). */
export const DIRECTORY_MEDIA_TYPE = 'application/http-message-signatures-directory+json';

export interface ForwardKeyDirectory {
  keys: DirectoryJwk[];
  /** `Signature-Input` and `Signature` of the answer, one signature per listed key. */
  headers: { 'signature-input': string; signature: string };
}

/**
 * GET /.well-known/http-message-signatures-directory (issue 24): the Ed25519 keys that sign forwarded
 * requests (RFC 9421), as a JWK Set in Web Bot Auth's directory format: the current key, and each
 * key a rotation retired less than FORWARD_SIGNING_KEY_OVERLAP_SECONDS ago. The answer is signed by
 * every key it lists, over the authority it was asked at.
 */
export async function forwardKeyDirectory({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { authority: string };
}): Promise<ForwardKeyDirectory> {
  const { deps } = ctx;
  const now = deps.clock();
  const published = await deps.forwardKeys.published(now, deps.config.forwardKeyOverlapMs);
  // `created`/`expires` are wall-clock, as on forwards: a verifier holds them against its own clock.
  const headers = signDirectory(
    published.map((p) => ({ kid: p.jwk.kid, key: p.key })),
    input.authority,
    Math.floor(Date.now() / 1000),
  );
  return { keys: published.map((p) => p.jwk), headers };
}
