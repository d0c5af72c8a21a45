import type { z } from 'zod';

/**
 * Parses a message that crossed between the main thread and the panel. Both sides are built from
 * this repository, so a mismatch is a bug; the error names the message and the offending fields.
 */
export function parseMessage<Schema extends z.ZodType>(
  schema: Schema,
  raw: unknown,
  direction: string,
): z.infer<Schema> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const type = typeof raw === 'object' && raw !== null && 'type' in raw ? String(raw.type) : 'without a type';
  const problems = result.error.issues
    .map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`)
    .join('; ');
  throw new Error(
    `Ignored a malformed ${direction} message "${type}" (${problems}). The plugin's two halves are out of step: rebuild and reload it.`,
  );
}
