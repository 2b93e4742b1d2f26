import { RE2JS } from 're2js';

/**
 * Patterns for the `matches` operator (DESIGN §6). Policies are written by workspace admins but
 * evaluated on every execute inside the one process every workspace shares, so a pattern must cost
 * time linear in its input, whatever the input: a backtracking engine given `^(a|a)+$` and 30 `a`s
 * stalls every tenant for seconds. `matches` therefore runs on RE2JS (a port of RE2, an automaton
 * with a linear-time guarantee) instead of `RegExp`, and a pattern is accepted when:
 *
 * - it is at most 256 characters;
 * - it is valid JavaScript with the `u` flag (the syntax the policy language has always used);
 * - RE2 can run it: backreferences and lookaround, which no linear-time engine can, are refused.
 */

export const MAX_PATTERN_LENGTH = 256;

/** A compiled `matches` pattern: `test` is linear in the input's length. */
export interface LinearPattern {
  test(input: string): boolean;
}

/** Why `pattern` is not an acceptable `matches` pattern, or `null` when it is. */
export function regexProblem(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_LENGTH) return `Pattern must be at most ${MAX_PATTERN_LENGTH} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    return `Invalid regular expression: ${error instanceof Error ? error.message : String(error)}`;
  }
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : '';
    return `Pattern cannot run in linear time (backreferences and lookaround are not supported): ${reason}`;
  }
  return null;
}

/** Compiles an accepted pattern (see `regexProblem`) for the linear-time engine. */
export function compilePattern(pattern: string): LinearPattern {
  const re = RE2JS.compile(pattern);
  return { test: (input) => re.test(input) };
}
