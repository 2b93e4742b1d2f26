/** JSON is stored as text on both dialects: exactly the bytes written, as hashes and replays need. */
export const toJson = (value: unknown): string | null => (value === undefined ? null : JSON.stringify(value));
export const fromJson = <T>(text: string | null): T => (text === null ? null : JSON.parse(text)) as T;
