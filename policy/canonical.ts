import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** The deepest nesting a request body may have; deeper ones are refused before anything walks them. */
export const MAX_JSON_DEPTH = 64;

export interface JsonProblem {
  /** Dot path of the offending value (`request.items.0.name`); '' for the root. */
  path: string;
  message: string;
}

/**
 * Why RFC 8785 cannot canonicalise `value`, or null when it can (DESIGN §4 "Canonical hashing"):
 * nesting deeper than `maxDepth`, a number outside IEEE 754 double range (`1e400` parses to
 * Infinity), or a string or key holding a lone UTF-16 surrogate (RFC 8785 §3.2.2.2 serialises
 * strings as UTF-8, which cannot carry one). Iterative, so no input can exhaust the stack.
 */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonProblem | null {
  // Each entry keeps its parent and key, so a path is built only for the value that fails.
  const stack: Node[] = [{ value, depth: 0, parent: null, key: '' }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    const v = node.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return problem(node, 'Number is outside the IEEE 754 double range');
    } else if (typeof v === 'string') {
      if (!v.isWellFormed()) return problem(node, 'String holds a lone UTF-16 surrogate');
    } else if (v !== null && typeof v === 'object') {
      if (node.depth >= maxDepth) return problem(node, `Nesting is deeper than ${maxDepth} levels`);
      const depth = node.depth + 1;
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], depth, parent: node, key: i });
      } else {
        for (const key of Object.keys(v)) {
          const child = { value: (v as Record<string, unknown>)[key], depth, parent: node, key };
          if (!key.isWellFormed()) return problem(child, 'Key holds a lone UTF-16 surrogate');
          stack.push(child);
        }
      }
    }
  }
  return null;
}

interface Node {
  value: unknown;
  depth: number;
  parent: Node | null;
  key: string | number;
}

function problem(node: Node, message: string): JsonProblem {
  const path: (string | number)[] = [];
  for (let at: Node | null = node; at?.parent; at = at.parent) path.push(at.key);
  return { path: path.reverse().join('.'), message };
}

/** RFC 8785 (JCS) canonical JSON: key order and number formatting no longer change the hash. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('Value cannot be canonicalised as JSON.');
  return text;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** SHA-256 of the RFC 8785 canonical form; what tokens, idempotency keys and approvals bind to. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
